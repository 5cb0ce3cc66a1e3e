// The location store alone: the strictly-newer rule, the change counter, iteration, growth across
// many (incremental) rehashes, arbitrary client bytes, records of every size class.
#include "locationstore.h"

#include <QRandomGenerator>
#include <QSet>
#include <QTest>
#include <algorithm>
#include <map>

using herd::ClientRecord;
using herd::LocationStore;
using herd::protocol::Timestamp;

namespace {

QByteArray timeText(Timestamp t)
{
    return QByteArray::number(t.sec) + '.' + QByteArray::number(t.nsec).rightJustified(9, '0');
}

// "AT <origin> <skew> <client> <location> <time>"; `pad` lengthens the location field, so one
// client's lines can change size class between updates.
QByteArray atLine(QByteArrayView client, Timestamp t, QByteArrayView origin = "Hill", int pad = 0)
{
    QByteArray loc = "+34.068930-118.445127";
    if (pad > 0)
        loc.append(QByteArray(pad, '7'));
    return "AT " + origin.toByteArray() + " +0.000123456 " + client.toByteArray() + ' ' + loc + ' '
           + timeText(t);
}

bool offer(LocationStore &s, QByteArrayView client, Timestamp t, QByteArrayView origin = "Hill", int pad = 0)
{
    return s.offer(client, t, atLine(client, t, origin, pad));
}

QByteArray clientId(int i)
{
    return "client-" + QByteArray::number(i).rightJustified(7, '0');
}

} // namespace

class tst_Store : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void strictlyNewerToTheNanosecond();
    void seqCountsStoresOnly();
    void epochIsRandomAndNonZero();
    void iterationVisitsEachOnce();
    void iterationWhileGrowing();
    void growthWithEveryFindChecked();
    void arbitraryClientBytes();
    void longLinesAndClassChanges();
    void lineFromTheStoreItself();
    void refusesALineOfAnotherClient();
    void randomAgainstAModel();
};

void tst_Store::strictlyNewerToTheNanosecond()
{
    LocationStore s;
    QVERIFY(!s.find("kiwi"));
    QVERIFY(offer(s, "kiwi", {1621464827, 959498503}));
    QVERIFY(!offer(s, "kiwi", {1621464827, 959498503}, "Jaquez"));   // equal: not stored
    QVERIFY(!offer(s, "kiwi", {1621464827, 959498502}, "Jaquez"));   // 1 ns older
    QVERIFY(!offer(s, "kiwi", {1621464826, 999999999}, "Jaquez"));
    QCOMPARE(s.find("kiwi")->atLine(), atLine("kiwi", {1621464827, 959498503}));
    QVERIFY(offer(s, "kiwi", {1621464827, 959498504}, "Smith"));      // 1 ns newer
    QCOMPARE(s.find("kiwi")->atLine(), atLine("kiwi", {1621464827, 959498504}, "Smith"));
    QCOMPARE(s.find("kiwi")->time(), (Timestamp{1621464827, 959498504}));
    QVERIFY(offer(s, "kiwi", {1621464828, 0}, "Hill"));
    QCOMPARE(s.find("kiwi")->time(), (Timestamp{1621464828, 0}));
    QCOMPARE(s.find("kiwi")->client(), "kiwi");
    QCOMPARE(s.size(), 1);
    QVERIFY(!s.find("kiw"));
    QVERIFY(!s.find("kiwi2"));
    QVERIFY(!s.find(""));
}

void tst_Store::seqCountsStoresOnly()
{
    LocationStore s;
    QCOMPARE(s.seq(), 0u);
    QVERIFY(offer(s, "a", {10, 0}));
    QCOMPARE(s.seq(), 1u);
    QCOMPARE(s.find("a")->seq(), 1u);
    QVERIFY(offer(s, "b", {10, 0}));
    QCOMPARE(s.seq(), 2u);
    QVERIFY(!offer(s, "a", {10, 0}));
    QVERIFY(!offer(s, "a", {9, 0}));
    QCOMPARE(s.seq(), 2u);
    QCOMPARE(s.find("a")->seq(), 1u);
    QVERIFY(offer(s, "a", {11, 0}));
    QCOMPARE(s.seq(), 3u);
    QCOMPARE(s.find("a")->seq(), 3u);
    QCOMPARE(s.find("b")->seq(), 2u);
}

void tst_Store::epochIsRandomAndNonZero()
{
    LocationStore a, b;
    QVERIFY(a.epoch() != 0);
    QVERIFY(b.epoch() != 0);
    QVERIFY(a.epoch() != b.epoch());   // 2^-63 to fail
}

void tst_Store::iterationVisitsEachOnce()
{
    LocationStore s;
    QSet<QByteArray> expected;
    for (int i = 0; i < 5000; ++i) {
        QVERIFY(offer(s, clientId(i), {1000 + i, 0}));
        expected.insert(clientId(i));
    }
    for (int i = 0; i < 5000; i += 3)
        QVERIFY(offer(s, clientId(i), {9000 + i, 0}, "Smith", i % 40));   // some change class
    QSet<QByteArray> seen;
    qsizetype visits = 0;
    quint64 changed = 0;
    s.forEach([&](const ClientRecord &r) {
        ++visits;
        seen.insert(r.client().toByteArray());
        changed += r.seq() > 5000 ? 1 : 0;
        QCOMPARE(r.atLine(), s.find(r.client())->atLine());
    });
    QCOMPARE(visits, 5000);
    QCOMPARE(seen, expected);
    QCOMPARE(changed, 1667u);
}

void tst_Store::iterationWhileGrowing()
{
    // 64 slots, then 128, ... each doubling above 4096 slots migrates 16 slots per offer: check
    // iteration and finds at every step of such migrations.
    LocationStore s;
    int n = 0;
    for (; n < 3200; ++n)
        QVERIFY(offer(s, clientId(n), {1, 0}));
    for (; n < 7200; ++n) {   // crosses 0.8 * 4096 = 3276 and 0.8 * 8192 = 6553
        QVERIFY(offer(s, clientId(n), {1, 0}));
        if (n % 7 == 0) {
            qsizetype visits = 0;
            s.forEach([&](const ClientRecord &) { ++visits; });
            QCOMPARE(visits, n + 1);
        }
        QVERIFY(s.find(clientId(n / 2)));
        QVERIFY(!offer(s, clientId(n / 3), {1, 0}));   // a duplicate also drives the migration
    }
    for (int i = 0; i < n; ++i)
        QCOMPARE(s.find(clientId(i))->client(), clientId(i));
}

void tst_Store::growthWithEveryFindChecked()
{
    constexpr int kClients = 300'000;   // past 0.8 * 2^18: a 2 MiB table, unmapped in pieces
    std::vector<int> order(kClients);
    for (int i = 0; i < kClients; ++i)
        order[size_t(i)] = i;
    QRandomGenerator rng(42);
    std::shuffle(order.begin(), order.end(), rng);

    LocationStore s;
    for (int k = 0; k < kClients; ++k) {
        const int i = order[size_t(k)];
        const Timestamp t{1'600'000'000 + i, i % 1'000'000'000};
        if (s.find(clientId(i)))
            QFAIL(qPrintable(QStringLiteral("found before it was offered: %1").arg(i)));
        QVERIFY(offer(s, clientId(i), t));
        const ClientRecord *r = s.find(clientId(i));
        if (!r || r->atLine() != atLine(clientId(i), t) || r->time() != t || r->seq() != quint64(k + 1))
            QFAIL(qPrintable(QStringLiteral("wrong record for %1 after %2 offers").arg(i).arg(k)));
        const int earlier = order[size_t(rng.bounded(k + 1))];   // any earlier one, mid-growth
        if (!s.find(clientId(earlier)) || s.find(clientId(earlier))->client() != clientId(earlier))
            QFAIL(qPrintable(QStringLiteral("lost %1 after %2 offers").arg(earlier).arg(k)));
        if (k + 1 < kClients && s.find(clientId(order[size_t(k + 1)])))
            QFAIL("found the next one before its offer");
    }
    QCOMPARE(s.size(), kClients);
    for (int i = 0; i < kClients; ++i) {
        const ClientRecord *r = s.find(clientId(i));
        if (!r || r->atLine() != atLine(clientId(i), {1'600'000'000 + i, i % 1'000'000'000}))
            QFAIL(qPrintable(QStringLiteral("wrong record for %1 at the end").arg(i)));
    }
    // ~112-byte blocks and <= 20 bytes of table per client, nothing free yet (no class changes).
    QVERIFY2(s.memoryBytes() < qint64(kClients) * 140, QByteArray::number(s.memoryBytes()).constData());
}

void tst_Store::arbitraryClientBytes()
{
    // A client ID is any run of non-white-space bytes: UTF-8, bytes >= 0x80, NUL, control bytes.
    const QList<QByteArray> ids = {
        QByteArray("\xc3\xa9t\xc3\xa9-\xe5\x8c\x97\xe4\xba\xac-\xf0\x9f\x90\x91"),
        QByteArray("a\0b", 3), QByteArray("a\0c", 3), QByteArray("\0", 1), QByteArray("a\0", 2),
        "a", "ab", "A", QByteArray("\x01\x7f\xff\xfe", 4), QByteArray(300, 'x'), QByteArray(301, 'x'),
    };
    LocationStore s;
    for (qsizetype i = 0; i < ids.size(); ++i)
        QVERIFY(offer(s, ids[i], {100, int(i)}));
    QCOMPARE(s.size(), ids.size());
    for (qsizetype i = 0; i < ids.size(); ++i) {
        const ClientRecord *r = s.find(ids[i]);
        QVERIFY2(r, ids[i].toHex().constData());
        QCOMPARE(r->client(), ids[i]);
        QCOMPARE(r->time(), (Timestamp{100, int(i)}));
    }
    QVERIFY(!s.find(QByteArray("a\0d", 3)));
    QVERIFY(!s.find(QByteArray("\0\0", 2)));
    QVERIFY(!s.find(QByteArray(299, 'x')));
    // The client field past byte 255 of the line (long origin): located by scanning instead.
    const QByteArray origin(400, 'N');
    QVERIFY(offer(s, "far", {5, 0}, origin));
    QCOMPARE(s.find("far")->client(), "far");
    QCOMPARE(s.find("far")->atLine(), atLine("far", {5, 0}, origin));
    QVERIFY(!offer(s, "far", {5, 0}));
    QVERIFY(offer(s, "far", {6, 0}));   // and back under 256
    QCOMPARE(s.find("far")->atLine(), atLine("far", {6, 0}));
}

void tst_Store::longLinesAndClassChanges()
{
    // Every kind of block: small (8-byte classes), medium (8 per doubling), big (its own chunk),
    // one client moving between all of them and back, others around it intact.
    LocationStore s;
    for (int i = 0; i < 100; ++i)
        QVERIFY(offer(s, clientId(i), {1, 0}, "Hill", i * 37));
    const QList<int> pads = {0, 1, 8, 2000, 2100, 5000, 40'000, 70'000, 200'000, 3, 70'001, 0, 65'000, 16};
    qint64 sec = 10;
    for (int pad : pads) {
        QVERIFY(offer(s, "mover", {++sec, 0}, "Hill", pad));
        QCOMPARE(s.find("mover")->atLine(), atLine("mover", {sec, 0}, "Hill", pad));
        for (int i = 0; i < 100; i += 9)
            QCOMPARE(s.find(clientId(i))->atLine(), atLine(clientId(i), {1, 0}, "Hill", i * 37));
    }
    for (int round = 0; round < 3; ++round) {   // all of them change class, several times
        for (int i = 0; i < 100; ++i)
            QVERIFY(offer(s, clientId(i), {2 + round, 0}, "Jaquez", (i * 53 + round * 1000) % 9000));
    }
    for (int i = 0; i < 100; ++i)
        QCOMPARE(s.find(clientId(i))->atLine(), atLine(clientId(i), {4, 0}, "Jaquez", (i * 53 + 2000) % 9000));
    QCOMPARE(s.size(), 101);
    QVERIFY(s.freeBytes() > 0);
    QVERIFY(s.freeBytes() < s.memoryBytes());
}

void tst_Store::lineFromTheStoreItself()
{
    LocationStore s;
    QVERIFY(offer(s, "self", {1, 0}));
    // Same class: rewritten in place from its own bytes.
    const ClientRecord *r = s.find("self");
    QVERIFY(s.offer(r->client(), {2, 0}, r->atLine()));
    QCOMPARE(s.find("self")->atLine(), atLine("self", {1, 0}));
    QCOMPARE(s.find("self")->time(), (Timestamp{2, 0}));
    // Another client's longer line in the store's bytes: copied before its old block is freed.
    QVERIFY(offer(s, "other", {1, 0}, "Hill", 500));
    const ClientRecord *o = s.find("other");
    const QByteArray cut = o->atLine().first(o->atLine().size() - 20).toByteArray();
    QVERIFY(s.offer(o->client(), {3, 0}, o->atLine().first(o->atLine().size() - 20)));
    QCOMPARE(s.find("other")->atLine(), cut);
    QCOMPARE(s.find("other")->time(), (Timestamp{3, 0}));
}

void tst_Store::refusesALineOfAnotherClient()
{
    LocationStore s;
    QVERIFY(!s.offer("kiwi", {1, 0}, atLine("kiwi2", {1, 0})));
    QVERIFY(!s.offer("kiwi", {1, 0}, "AT Hill +0.1"));
    QVERIFY(!s.offer("kiwi", {1, 0}, ""));
    QCOMPARE(s.size(), 0);
    QCOMPARE(s.seq(), 0u);
    QVERIFY(s.offer("kiwi", {1, 0}, "  AT\tHill  +0.1 kiwi +1+2 1"));   // any white space
    QCOMPARE(s.find("kiwi")->client(), "kiwi");
    QVERIFY(s.offer("kiwi", {2, 0}, "AT Hill +0.1 kiwi"));   // the store needs only 4 fields
    QCOMPARE(s.find("kiwi")->client(), "kiwi");
}

void tst_Store::randomAgainstAModel()
{
    struct Held {
        Timestamp time;
        quint64 seq;
        QByteArray line;
    };
    std::map<QByteArray, Held> model;
    LocationStore s;
    QRandomGenerator rng(7);
    quint64 seq = 0;
    for (int step = 0; step < 300'000; ++step) {
        const QByteArray id = "c" + QByteArray::number(rng.bounded(60'000));
        const Timestamp t{qint64(rng.bounded(50)), qint32(rng.bounded(3))};
        const QByteArray line = atLine(id, t, step % 2 ? "Hill" : "Singleton", rng.bounded(100));
        auto it = model.find(id);
        const bool newer = it == model.end() || t > it->second.time;
        QCOMPARE(s.offer(id, t, line), newer);
        if (newer)
            model[id] = Held{t, ++seq, line};
        QCOMPARE(s.seq(), seq);
        if (step % 5 == 0) {
            const QByteArray probe = "c" + QByteArray::number(rng.bounded(60'000));
            const ClientRecord *r = s.find(probe);
            auto m = model.find(probe);
            QCOMPARE(r != nullptr, m != model.end());
            if (r) {
                QCOMPARE(r->atLine(), m->second.line);
                QCOMPARE(r->seq(), m->second.seq);
                QCOMPARE(r->time(), m->second.time);
            }
        }
    }
    QCOMPARE(s.size(), qsizetype(model.size()));
    qsizetype visits = 0;
    s.forEach([&](const ClientRecord &r) {
        ++visits;
        auto m = model.find(r.client().toByteArray());
        QVERIFY(m != model.end());
        QCOMPARE(r.atLine(), m->second.line);
        QCOMPARE(r.seq(), m->second.seq);
    });
    QCOMPARE(visits, qsizetype(model.size()));
}

QTEST_GUILESS_MAIN(tst_Store)
#include "tst_store.moc"
