// The hostile-input corpus (tests/hostile) against a live two-node herd: every
// input on a fresh connection to Hill, its expected outcome checked byte for byte, and then no
// crash, no state change, no flood, the peer link untouched, and the node still serving.
#include "herd.h"
#include "node.h"
#include "testclient.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMap>
#include <QRegularExpression>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>

#ifndef HERD_HOSTILE_DIR
#error "HERD_HOSTILE_DIR must name the corpus directory"
#endif

using herd::HerdConfig;
using herd::NodeConfig;
using herdtest::TestClient;

namespace {

constexpr int kMaxLine = 4096;   // the default limit, which the corpus is written against
const QByteArray kSeedClient = "hostile-seed";
const QByteArray kSeedLine = "IAMAT hostile-seed +34.068930-118.445127 2000000000.5\n";
// Older than the seed: answered with an AT line, never stored, so it changes nothing.
const QByteArray kControl = "IAMAT hostile-seed +0+0 1\n";
const QStringList kCategories = {QStringLiteral("framing"), QStringLiteral("bytes"), QStringLiteral("arity"),
                                 QStringLiteral("coordinates"), QStringLiteral("timestamps"),
                                 QStringLiteral("whatsat"), QStringLiteral("peer")};
const QStringList kOutcomes = {QStringLiteral("none"), QStringLiteral("echo"), QStringLiteral("at"),
                               QStringLiteral("stale"), QStringLiteral("places"), QStringLiteral("closed"),
                               QStringLiteral("refused"), QStringLiteral("welcome-echo")};
const QRegularExpression kSkew(QStringLiteral(R"(^[+-]\d+\.\d{9}$)"));
const QRegularExpression kWelcome(QStringLiteral(R"(^HERD-WELCOME Hill [0-9a-f]{32} [0-9a-f]{64}$)"));

struct Row {
    QString file;
    QString category;
    QString outcome;
    bool halfClose = false;
};

// MANIFEST: "file category outcome [halfclose]", "#" to the end of a line is a comment.
QList<Row> readManifest(QString *error)
{
    QFile f(QStringLiteral(HERD_HOSTILE_DIR "/MANIFEST"));
    if (!f.open(QIODevice::ReadOnly)) {
        *error = f.errorString();
        return {};
    }
    QList<Row> rows;
    int lineNo = 0;
    for (QByteArray line : f.readAll().split('\n')) {
        ++lineNo;
        if (const qsizetype hash = line.indexOf('#'); hash >= 0)
            line.truncate(hash);
        const QByteArrayList cols = line.simplified().split(' ');
        if (line.simplified().isEmpty())
            continue;
        if (cols.size() < 3 || cols.size() > 4 || (cols.size() == 4 && cols[3] != "halfclose")) {
            *error = QStringLiteral("MANIFEST:%1: expected \"file category outcome [halfclose]\"").arg(lineNo);
            return {};
        }
        rows.append(Row{QString::fromLatin1(cols[0]), QString::fromLatin1(cols[1]),
                        QString::fromLatin1(cols[2]), cols.size() == 4});
    }
    return rows;
}

bool isSpaceByte(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

bool isBlank(const QByteArray &line)
{
    return std::all_of(line.begin(), line.end(), isSpaceByte);
}

QByteArrayList fieldsOf(const QByteArray &line)
{
    QByteArrayList out;
    qsizetype i = 0;
    while (i < line.size()) {
        while (i < line.size() && isSpaceByte(line[i]))
            ++i;
        const qsizetype begin = i;
        while (i < line.size() && !isSpaceByte(line[i]))
            ++i;
        if (i > begin)
            out.append(line.mid(begin, i - begin));
    }
    return out;
}

// The protocol's framing written out plainly: the test's own reference, independent of LineFramer.
struct Framed {
    QByteArrayList lines;    // every line the node handles, blank ones included
    bool overlong = false;   // the input ends in a line over the limit
    bool unterminated = false;   // a tail without "\n" that no one will ever finish
};

Framed frame(const QByteArray &input, bool halfClose)
{
    Framed out;
    qsizetype pos = 0;
    for (qsizetype nl; (nl = input.indexOf('\n', pos)) >= 0; pos = nl + 1) {
        QByteArray line = input.mid(pos, nl - pos);
        if (line.endsWith('\r'))
            line.chop(1);
        if (line.size() > kMaxLine) {
            out.overlong = true;
            return out;
        }
        out.lines.append(line);
    }
    const QByteArray tail = input.mid(pos);
    if (tail.size() > kMaxLine + 1 || (halfClose && tail.size() > kMaxLine))
        out.overlong = true;
    else if (halfClose && !tail.isEmpty())
        out.lines.append(tail);   // "\r" and all: only "\r\n" loses it
    else if (!tail.isEmpty())
        out.unterminated = true;
    return out;
}

QByteArray show(const QByteArray &bytes)
{
    QByteArray s;
    for (char c : bytes.left(160)) {
        const auto u = static_cast<unsigned char>(c);
        s += (u >= 0x20 && u < 0x7f && u != '\\') ? QByteArray(1, c)
                                                   : "\\x" + QByteArray::number(u, 16).rightJustified(2, '0');
    }
    return bytes.size() > 160 ? s + "...(" + QByteArray::number(bytes.size()) + " bytes)" : s;
}

// The AT reply Hill gives to the IAMAT `line`: its name, a signed skew, then the last three
// fields byte for byte.
QString checkAtReply(const QByteArray &reply, const QByteArray &iamatLine)
{
    const QByteArrayList in = fieldsOf(iamatLine);
    const QByteArrayList out = reply.split(' ');
    if (in.size() != 4 || out.size() != 6 || out[0] != "AT" || out[1] != "Hill"
        || !kSkew.match(QString::fromLatin1(out[2])).hasMatch() || out[3] != in[1] || out[4] != in[2]
        || out[5] != in[3])
        return QStringLiteral("expected the AT reply to [%1], got [%2]")
            .arg(QString::fromLatin1(show(iamatLine)), QString::fromLatin1(show(reply)));
    return {};
}

// What Hill owes for a row, as a list of reply lines: exact bytes, or (for AT replies and the
// handshake) a line to check by shape.
struct Expected {
    enum Kind { Exact, At, Welcome } kind;
    QByteArray bytes;   // Exact: the reply line; At: the IAMAT it answers
};

QString checkLine(const QByteArray &got, const Expected &e)
{
    switch (e.kind) {
    case Expected::Exact:
        return got == e.bytes ? QString()
                              : QStringLiteral("expected [%1], got [%2]")
                                    .arg(QString::fromLatin1(show(e.bytes)), QString::fromLatin1(show(got)));
    case Expected::At:
        return checkAtReply(got, e.bytes);
    case Expected::Welcome:
        return kWelcome.match(QString::fromLatin1(got)).hasMatch()
            ? QString() : QStringLiteral("expected a HERD-WELCOME, got [%1]").arg(QString::fromLatin1(show(got)));
    }
    return {};
}

struct Snapshot {
    quint64 seqA = 0, seqB = 0;
    qsizetype sizeA = 0, sizeB = 0;
    quint64 floodsSentA = 0, floodsReceivedA = 0, floodsSentB = 0, floodsReceivedB = 0;
    quint64 duplicatesA = 0, duplicatesB = 0, authFailuresA = 0, authFailuresB = 0;
    bool upA = false, upB = false;
    quint64 timesUpA = 0, timesDownA = 0, timesUpB = 0, timesDownB = 0;
};

qint64 procStatusKb(const char *key)
{
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : f.readAll().split('\n')) {
        if (line.startsWith(key))
            return line.mid(qstrlen(key)).trimmed().split(' ').value(0).toLongLong();
    }
    return -1;
}

} // namespace

class tst_Hostile : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void manifestCoversCorpus();
    void corpus_data();
    void corpus();
    void herdStillWhole();
    void cleanupTestCase();

private:
    herd::Node *hill() const { return m_herd->node(QStringLiteral("Hill")); }
    herd::Node *jaquez() const { return m_herd->node(QStringLiteral("Jaquez")); }
    void startHerd();
    Snapshot snapshot() const;
    void checkControl(TestClient &c);

    QTemporaryDir m_dir;
    std::unique_ptr<herd::Herd> m_herd;
    QByteArray m_seedAt;      // the seed's AT line as Hill stored it
    qint64 m_hwmBeforeKb = -1;
    int m_herdStarts = 0;
    bool m_herdSuspect = false;   // the last row failed: the next one gets a fresh herd
};

void tst_Hostile::initTestCase()
{
    QVERIFY(m_dir.isValid());
    // Peer auth on: a forged handshake must fail the HMAC, not merely the name check.
    qputenv("HERD_HOSTILE_SECRET", "hostile-corpus-secret");
    startHerd();
    m_hwmBeforeKb = procStatusKb("VmHWM:");
}

// A fresh herd: Hill and Jaquez linked, settled, and the seed client known to both.
void tst_Hostile::startHerd()
{
    m_herd.reset();
    HerdConfig c;
    c.nodes = {NodeConfig{QStringLiteral("Hill"), QStringLiteral("127.0.0.1"), 0},
               NodeConfig{QStringLiteral("Jaquez"), QStringLiteral("127.0.0.1"), 0}};
    c.links = {{QStringLiteral("Hill"), QStringLiteral("Jaquez")}};
    c.logDir = m_dir.filePath(QStringLiteral("logs%1").arg(++m_herdStarts));
    c.places.provider = QStringLiteral("offline");
    c.peerSecretEnv = QStringLiteral("HERD_HOSTILE_SECRET");
    c.peers.heartbeatMs = 100;   // a stall or a dropped link shows within the run
    QCOMPARE(c.limits.maxLineBytes, kMaxLine);
    m_herd = std::make_unique<herd::Herd>(c);
    QVERIFY2(m_herd->start(), qPrintable(m_herd->lastError()));
    // Settled: the link up on both sides and past its first heartbeats (start-up catch-up over).
    QTRY_VERIFY_WITH_TIMEOUT(snapshot().upA && snapshot().upB
                                 && hill()->stats().links.value(0).stats.acksReceived >= 2
                                 && jaquez()->stats().links.value(0).stats.acksReceived >= 2,
                             5000);

    TestClient seed(hill()->port());
    seed.send(kSeedLine);
    m_seedAt = seed.readLine();
    QVERIFY2(checkAtReply(m_seedAt, kSeedLine.trimmed()).isEmpty(), m_seedAt.constData());
    QTRY_VERIFY(jaquez()->store().find(kSeedClient) != nullptr);
    QCOMPARE(jaquez()->store().find(kSeedClient)->atLine(), m_seedAt);
}

void tst_Hostile::manifestCoversCorpus()
{
    QString error;
    const QList<Row> rows = readManifest(&error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QSet<QString> listed;
    QMap<QString, int> byCategory;
    for (const Row &r : rows) {
        QVERIFY2(!listed.contains(r.file), qPrintable(r.file + QStringLiteral(": listed twice")));
        listed.insert(r.file);
        QVERIFY2(QFile::exists(QStringLiteral(HERD_HOSTILE_DIR "/") + r.file), qPrintable(r.file + QStringLiteral(": no such file")));
        QVERIFY2(kCategories.contains(r.category), qPrintable(r.file + QStringLiteral(": unknown category ") + r.category));
        QVERIFY2(kOutcomes.contains(r.outcome), qPrintable(r.file + QStringLiteral(": unknown outcome ") + r.outcome));
        ++byCategory[r.category];
    }
    const QStringList files = QDir(QStringLiteral(HERD_HOSTILE_DIR)).entryList({QStringLiteral("*.in")}, QDir::Files);
    for (const QString &f : files)
        QVERIFY2(listed.contains(f), qPrintable(f + QStringLiteral(": not in MANIFEST, so never run")));
    QVERIFY2(rows.size() >= 60, "the corpus must keep at least 60 hostile inputs");
    QStringList counts;
    for (const QString &cat : kCategories) {
        QVERIFY2(byCategory.value(cat) > 0, qPrintable(QStringLiteral("no input in category ") + cat));
        counts << QStringLiteral("%1 %2").arg(cat).arg(byCategory.value(cat));
    }
    qInfo("hostile corpus: %d inputs (%s)", int(rows.size()), qPrintable(counts.join(QStringLiteral(", "))));
}

void tst_Hostile::corpus_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QString>("outcome");
    QTest::addColumn<bool>("halfClose");
    QString error;
    const QList<Row> rows = readManifest(&error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    for (const Row &r : rows) {
        QFile f(QStringLiteral(HERD_HOSTILE_DIR "/") + r.file);
        QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(r.file));
        QTest::newRow(qPrintable(r.file)) << f.readAll() << r.outcome << r.halfClose;
    }
}

Snapshot tst_Hostile::snapshot() const
{
    Snapshot s;
    const herd::NodeStats a = hill()->stats();
    const herd::NodeStats b = jaquez()->stats();
    s.seqA = hill()->store().seq();
    s.seqB = jaquez()->store().seq();
    s.sizeA = hill()->store().size();
    s.sizeB = jaquez()->store().size();
    s.floodsSentA = a.floodsSent;
    s.floodsReceivedA = a.floodsReceived;
    s.floodsSentB = b.floodsSent;
    s.floodsReceivedB = b.floodsReceived;
    s.duplicatesA = a.duplicatesDropped;
    s.duplicatesB = b.duplicatesDropped;
    s.authFailuresA = a.authFailures;
    s.authFailuresB = b.authFailures;
    const herd::LinkInfo la = a.links.value(0);
    const herd::LinkInfo lb = b.links.value(0);
    s.upA = la.up;
    s.upB = lb.up;
    s.timesUpA = la.stats.timesUp;
    s.timesDownA = la.stats.timesDown;
    s.timesUpB = lb.stats.timesUp;
    s.timesDownB = lb.stats.timesDown;
    return s;
}

// The control line's reply: the node still parses and answers, and nothing came before it.
void tst_Hostile::checkControl(TestClient &c)
{
    c.send(kControl);
    bool ok = false;
    const QByteArray reply = c.readLine(&ok);
    QVERIFY2(ok, "no reply to the control line");
    const QString problem = checkAtReply(reply, kControl.trimmed());
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
}

void tst_Hostile::corpus()
{
    QFETCH(QByteArray, input);
    QFETCH(QString, outcome);
    QFETCH(bool, halfClose);

    const Framed framed = frame(input, halfClose);
    QByteArrayList lines;   // the non-blank ones: each gets one reply
    for (const QByteArray &l : framed.lines) {
        if (!isBlank(l))
            lines.append(l);
    }
    const bool closes = halfClose || outcome == QLatin1String("closed") || outcome == QLatin1String("refused");
    QVERIFY2(!framed.unterminated || closes, "MANIFEST: an unterminated input needs halfclose or a closing outcome");
    QVERIFY2(framed.overlong == (outcome == QLatin1String("closed")),
             "MANIFEST: \"closed\" is for inputs with an overlong line, and only for those");

    QList<Expected> expected;
    for (const QByteArray &l : std::as_const(lines)) {
        if (outcome == QLatin1String("at") || outcome == QLatin1String("stale"))
            expected.append({Expected::At, l});
        else if (outcome == QLatin1String("welcome-echo") && expected.isEmpty())
            expected.append({Expected::Welcome, QByteArray()});
        else if (outcome != QLatin1String("places") && outcome != QLatin1String("refused"))
            expected.append({Expected::Exact, "? " + l});
    }
    QVERIFY2(outcome != QLatin1String("none") || lines.isEmpty(), "MANIFEST: \"none\" with a non-blank line");

    // A row that failed may have left the herd broken (a flapping link, say): start afresh, so
    // each failure is pinned on the input that caused it.
    if (m_herdSuspect) {
        startHerd();
        if (QTest::currentTestFailed())
            return;
    }
    m_herdSuspect = true;
    const Snapshot before = snapshot();
    TestClient c(hill()->port());
    QVERIFY(c.isConnected());
    c.send(input);
    if (halfClose)
        c.halfClose();

    if (outcome == QLatin1String("refused")) {
        // The node drops the connection at the bad proof; a HERD-WELCOME may or may not have
        // left before it (a reset can discard it). Nothing else ever.
        bool closed = false;
        const QByteArray all = c.readToClose(&closed, 10000);
        QVERIFY2(closed, "a forged handshake is dropped");
        QVERIFY2(all.isEmpty() || (all.endsWith('\n') && all.count('\n') == 1
                                   && kWelcome.match(QString::fromLatin1(all.chopped(1))).hasMatch()),
                 show(all).constData());
    } else if (closes) {
        bool closed = false;
        const QByteArray all = c.readToClose(&closed, 10000);
        QVERIFY2(closed, "the node should close the connection");
        QByteArrayList got = all.split('\n');
        QVERIFY2(got.takeLast().isEmpty(), qPrintable(QStringLiteral("unterminated reply: ") + QString::fromLatin1(show(all))));
        QVERIFY2(got.size() == expected.size(),
                 qPrintable(QStringLiteral("%1 replies, expected %2: %3").arg(got.size()).arg(expected.size())
                                .arg(QString::fromLatin1(show(all)))));
        for (qsizetype i = 0; i < got.size(); ++i) {
            const QString problem = checkLine(got[i], expected[i]);
            QVERIFY2(problem.isEmpty(), qPrintable(problem));
        }
    } else {
        if (outcome == QLatin1String("places")) {
            QCOMPARE(lines.size(), 1);
            bool ok = false;
            const QByteArray reply = c.readUntil("\n\n", &ok);
            QVERIFY2(ok, "no WHATSAT reply");
            QVERIFY2(reply.startsWith(m_seedAt + "\n{"), show(reply).constData());
            const QByteArray json = reply.mid(m_seedAt.size() + 1).chopped(2);
            QVERIFY2(!json.contains("\n\n"), "no blank line inside a WHATSAT reply");
            QJsonParseError err{};
            const QJsonObject obj = QJsonDocument::fromJson(json, &err).object();
            QVERIFY2(err.error == QJsonParseError::NoError, qPrintable(err.errorString()));
            QVERIFY(obj.value(QStringLiteral("results")).toArray().size() <= fieldsOf(lines[0]).value(3).toInt());
        }
        for (const Expected &e : std::as_const(expected)) {
            bool ok = false;
            const QByteArray got = c.readLine(&ok);
            QVERIFY2(ok, "a reply is missing");
            const QString problem = checkLine(got, e);
            QVERIFY2(problem.isEmpty(), qPrintable(problem));
        }
        // Nothing more: the next reply is the control line's.
        checkControl(c);
        if (QTest::currentTestFailed())
            return;
    }

    // The node still serves a new connection.
    TestClient fresh(hill()->port());
    QVERIFY(fresh.isConnected());
    checkControl(fresh);
    if (QTest::currentTestFailed())
        return;

    // No state change and no flood, except the valid IAMATs, each stored and flooded once.
    const quint64 stored = outcome == QLatin1String("at") ? quint64(lines.size()) : 0;
    QTRY_COMPARE_WITH_TIMEOUT(jaquez()->store().seq(), before.seqB + stored, 3000);   // a late flood shows here
    const Snapshot after = snapshot();
    QCOMPARE(after.seqA, before.seqA + stored);
    QCOMPARE(after.sizeA, before.sizeA + qsizetype(stored));
    QCOMPARE(after.sizeB, before.sizeB + qsizetype(stored));
    QCOMPARE(after.floodsSentA, before.floodsSentA + stored);
    QCOMPARE(after.floodsReceivedB, before.floodsReceivedB + stored);
    QCOMPARE(after.floodsReceivedA, before.floodsReceivedA);
    QCOMPARE(after.floodsSentB, before.floodsSentB);
    QCOMPARE(after.duplicatesA, before.duplicatesA);
    QCOMPARE(after.duplicatesB, before.duplicatesB);
    QCOMPARE(after.authFailuresA, before.authFailuresA + (outcome == QLatin1String("refused") ? 1 : 0));
    QCOMPARE(after.authFailuresB, before.authFailuresB);
    QVERIFY2(after.upA && after.upB, "the link between Hill and Jaquez is still up");
    QCOMPARE(after.timesUpA, before.timesUpA);
    QCOMPARE(after.timesDownA, before.timesDownA);
    QCOMPARE(after.timesUpB, before.timesUpB);
    QCOMPARE(after.timesDownB, before.timesDownB);
    QCOMPARE(hill()->store().find(kSeedClient)->atLine(), m_seedAt);
    QCOMPARE(jaquez()->store().find(kSeedClient)->atLine(), m_seedAt);
    m_herdSuspect = false;
}

void tst_Hostile::herdStillWhole()
{
    // Heartbeats still flow both ways after the whole corpus.
    const quint64 acksA = hill()->stats().links.value(0).stats.acksReceived;
    const quint64 acksB = jaquez()->stats().links.value(0).stats.acksReceived;
    QTRY_VERIFY(hill()->stats().links.value(0).stats.acksReceived > acksA
                && jaquez()->stats().links.value(0).stats.acksReceived > acksB);
    // None of the forged updates got in anywhere.
    for (const char *forged : {"hostile-forged", "hostile-sneak", "hostile-nobody", "a"}) {
        QVERIFY2(!hill()->store().find(forged), forged);
        QVERIFY2(!jaquez()->store().find(forged), forged);
    }
    // Jaquez answers WHATSAT for the seed with Hill's line, as before.
    TestClient c(jaquez()->port());
    c.send("WHATSAT hostile-seed 10 1\n");
    bool ok = false;
    QVERIFY(c.readUntil("\n\n", &ok).startsWith(m_seedAt + "\n{"));
    QVERIFY(ok);
}

void tst_Hostile::cleanupTestCase()
{
    // In-process nodes: the process's peak is the herd's peak plus the test's own buffers.
    qInfo("peak RSS (VmHWM) of the process hosting both nodes: %lld KiB before the corpus, %lld KiB after",
          m_hwmBeforeKb, procStatusKb("VmHWM:"));
    m_herd.reset();
}

QTEST_GUILESS_MAIN(tst_Hostile)
#include "tst_hostile.moc"
