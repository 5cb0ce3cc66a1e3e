// The monitor's event stream fed by a real three-node herd: what a batch carries, in what order,
// how it is bounded, and link cut/restore.
#include "testherds.h"
#include "herd.h"
#include "monitor.h"
#include "monitorjson.h"
#include "testclient.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using herd::HerdConfig;
using herd::LineKind;
using herd::NodeConfig;
using herdtest::TestClient;

using herdtest::lineOfThree;

namespace {

} // namespace

class tst_Monitor : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();
    void batchCarriesLinesUpdatesAndHops();
    void trafficIsBoundedWhileTheGuiIsBusy();
    void captureDropsAndCountsWhatDoesNotFit();
    void cutAndRestoreLink();
    void batchesSurviveJson();

private:
    // Collects batches, acknowledging each like the GUI does, until `done` holds.
    template<typename Pred>
    bool collect(Pred done, int timeoutMs = 5000)
    {
        return QTest::qWaitFor([&] {
            while (!m_spy->isEmpty()) {
                auto batch = m_spy->takeFirst().at(0).value<herd::MonitorBatchPtr>();
                m_batches.append(batch);
                m_events->batchApplied();
            }
            return done();
        }, timeoutMs);
    }
    QList<herd::TrafficRow> allTraffic() const
    {
        QList<herd::TrafficRow> rows;
        for (const auto &b : m_batches)
            rows += b->traffic;
        return rows;
    }

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<herd::Herd> m_herd;
    std::unique_ptr<herd::EventStream> m_events;
    std::unique_ptr<QSignalSpy> m_spy;
    QList<herd::MonitorBatchPtr> m_batches;
};

void tst_Monitor::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    m_herd = std::make_unique<herd::Herd>(lineOfThree(m_dir->filePath(QStringLiteral("logs"))));
    herd::Herd *h = m_herd.get();
    m_events = std::make_unique<herd::EventStream>([h] { return h->stats(); });
    m_spy = std::make_unique<QSignalSpy>(m_events.get(), &herd::EventStream::batchReady);
    m_herd->setEventStream(m_events.get());
    QVERIFY(m_herd->start());
    m_batches.clear();
    QVERIFY(collect([this] {
        if (m_batches.isEmpty())
            return false;
        for (const auto &s : m_batches.back()->stats)
            for (const auto &l : s.links)
                if (!l.up)
                    return false;
        return true;
    }));
}

void tst_Monitor::cleanup()
{
    m_herd->setEventStream(nullptr);
    m_spy.reset();
    m_herd.reset();
    m_events.reset();
    m_dir.reset();
}

void tst_Monitor::batchCarriesLinesUpdatesAndHops()
{
    m_batches.clear();
    TestClient c(m_herd->node(QStringLiteral("Hill"))->port());
    c.send("IAMAT mon +34.068930-118.445127 1621464827.959498503\nBAD line\n");
    const QByteArray at = c.readLine();
    c.readLine();
    QList<herd::FloodHop> hops;
    QVERIFY(collect([&] {
        hops.clear();
        for (const auto &b : m_batches)
            hops += b->hops;
        return hops.size() >= 3;
    }));
    // The flood's path: a client -> Hill -> Jaquez -> Smith.
    QCOMPARE(hops.size(), 3);
    QCOMPARE(hops[0].from, QString());
    QCOMPARE(hops[0].to, QStringLiteral("Hill"));
    QCOMPARE(hops[1].from, QStringLiteral("Hill"));
    QCOMPARE(hops[1].to, QStringLiteral("Jaquez"));
    QCOMPARE(hops[2].from, QStringLiteral("Jaquez"));
    QCOMPARE(hops[2].to, QStringLiteral("Smith"));
    QVERIFY(hops[0].timeUs <= hops[1].timeUs && hops[1].timeUs <= hops[2].timeUs);
    for (const auto &hop : hops) {
        QCOMPARE(hop.client, QByteArray("mon"));
        QCOMPARE(hop.time.nsec, 959498503);
    }
    // Stored updates: one per node, each with the origin's AT line and the position.
    QSet<QString> holders;
    for (const auto &b : m_batches) {
        for (const auto &u : b->stored) {
            QCOMPARE(u.atLine, at);
            QVERIFY(qAbs(u.lat - 34.06893) < 1e-9 && qAbs(u.lng + 118.445127) < 1e-9);
            holders.insert(u.node);
        }
    }
    QCOMPARE(holders.size(), 3);
    // Traffic, in order: the IAMAT in, its reply out, the invalid line and its "?", the floods.
    const QList<herd::TrafficRow> rows = allTraffic();
    auto find = [&rows](const QString &node, herd::Direction dir, LineKind kind, qsizetype from = 0) {
        for (qsizetype i = from; i < rows.size(); ++i)
            if (rows[i].node == node && rows[i].dir == dir && rows[i].kind == kind)
                return i;
        return qsizetype(-1);
    };
    const qsizetype in = find(QStringLiteral("Hill"), herd::Direction::In, LineKind::Iamat);
    QVERIFY(in >= 0);
    QVERIFY(rows[in].who.startsWith("client#"));
    const qsizetype reply = find(QStringLiteral("Hill"), herd::Direction::Out, LineKind::AtReply);
    QVERIFY(reply > in);
    QCOMPARE(rows[reply].text, at);
    const qsizetype bad = find(QStringLiteral("Hill"), herd::Direction::In, LineKind::Invalid);
    QVERIFY(bad > in);
    QCOMPARE(rows[bad].text, QByteArray("BAD line"));
    QVERIFY(find(QStringLiteral("Hill"), herd::Direction::Out, LineKind::Flood) >= 0);
    QVERIFY(find(QStringLiteral("Jaquez"), herd::Direction::In, LineKind::Flood) >= 0);
    QVERIFY(find(QStringLiteral("Smith"), herd::Direction::In, LineKind::Flood) >= 0);
    // Jaquez passes it to Smith only, never back to Hill: no duplicate anywhere.
    QCOMPARE(find(QStringLiteral("Hill"), herd::Direction::In, LineKind::Duplicate), qsizetype(-1));
}

// Recording never waits: between two hand-overs the capture takes at most its byte bounds, and
// whatever did not fit reaches the consumer as a count, never as a stall.
void tst_Monitor::captureDropsAndCountsWhatDoesNotFit()
{
    herd::EventStream stream(nullptr);
    QSignalSpy spy(&stream, &herd::EventStream::batchReady);
    const QString node = QStringLiteral("Hill");
    const QByteArray who = "client#1 127.0.0.1:1";
    const QByteArray text(herd::EventStream::kMaxTextBytes, 'x');
    // All in one turn of the event loop: no hand-over can come between.
    const int rows = int(herd::EventStream::kMaxTrafficBytesPerTick / text.size()) + 500;
    int recorded = 0;
    for (int i = 0; i < rows; ++i)
        recorded += stream.line(node, herd::Direction::In, herd::LineKind::Invalid, who, text) >= 0 ? 1 : 0;
    QVERIFY(recorded < rows);
    QCOMPARE(stream.trafficDroppedTotal(), quint64(rows - recorded));
    quint64 delivered = 0;
    quint64 dropped = 0;
    QTRY_VERIFY_WITH_TIMEOUT(([&] {
        while (!spy.isEmpty()) {
            const auto batch = spy.takeFirst().at(0).value<herd::MonitorBatchPtr>();
            delivered += quint64(batch->traffic.size());
            dropped += batch->trafficDropped;
            stream.batchApplied();
        }
        return delivered + dropped == quint64(rows);
    }()), 5000);
    QCOMPARE(delivered, quint64(std::min(recorded, herd::EventStream::kMaxTrafficRows)));   // the rest counted
}

void tst_Monitor::trafficIsBoundedWhileTheGuiIsBusy()
{
    // Take one batch and do not acknowledge it: the stream must keep merging, not queue.
    QVERIFY(m_spy->count() > 0 || m_spy->wait());
    m_spy->clear();
    const quint64 before = m_herd->node(QStringLiteral("Hill"))->stats().linesIn;
    TestClient c(m_herd->node(QStringLiteral("Hill"))->port());
    const int lines = herd::EventStream::kMaxTrafficRows * 3;
    QByteArray burst;
    for (int i = 0; i < lines; ++i)
        burst += "NOPE " + QByteArray::number(i) + '\n';
    c.send(burst);
    QTRY_VERIFY(m_herd->node(QStringLiteral("Hill"))->stats().linesIn >= before + lines);
    QCOMPARE(m_spy->count(), 0);   // nothing was emitted while the last batch was unapplied
    m_events->batchApplied();
    QVERIFY(m_spy->wait());
    const auto batch = m_spy->takeFirst().at(0).value<herd::MonitorBatchPtr>();
    QCOMPARE(batch->traffic.size(), herd::EventStream::kMaxTrafficRows);
    // 2 rows per line (in and "?" out): everything beyond the bound is counted, not kept.
    QVERIFY2(batch->trafficDropped >= quint64(2 * lines - herd::EventStream::kMaxTrafficRows),
             qPrintable(QString::number(batch->trafficDropped)));
    // The newest survive, the oldest made way.
    const QByteArray newest = "NOPE " + QByteArray::number(lines - 1);
    const QByteArray oldest = "NOPE 0";
    bool sawNewest = false;
    for (const auto &row : batch->traffic) {
        sawNewest = sawNewest || row.text.endsWith(newest);
        QVERIFY(!row.text.endsWith(oldest));
    }
    QVERIFY(sawNewest);
    m_events->batchApplied();
}

void tst_Monitor::cutAndRestoreLink()
{
    auto link = [this](const char *node, const char *peer) {
        for (const herd::LinkInfo &l : m_herd->node(QString::fromLatin1(node))->stats().links)
            if (l.peer == QLatin1String(peer))
                return l;
        return herd::LinkInfo{};
    };
    m_herd->setLinkCut(QStringLiteral("Hill"), QStringLiteral("Jaquez"), true);
    QTRY_VERIFY(!link("Hill", "Jaquez").up && !link("Jaquez", "Hill").up);
    QVERIFY(link("Hill", "Jaquez").cut);
    QVERIFY(link("Jaquez", "Hill").cut);
    // Updates route nowhere across the cut: Hill's update stays on Hill.
    TestClient c(m_herd->node(QStringLiteral("Hill"))->port());
    c.send("IAMAT cut +1+2 1\n");
    c.readLine();
    TestClient s(m_herd->node(QStringLiteral("Smith"))->port());
    s.send("IAMAT other +1+2 1\n");
    s.readLine();
    QTRY_VERIFY(m_herd->node(QStringLiteral("Jaquez"))->store().find("other"));
    QVERIFY(m_herd->node(QStringLiteral("Jaquez"))->store().find("cut") == nullptr);
    // Restored: the link comes back and catch-up delivers what crossed nothing.
    m_herd->setLinkCut(QStringLiteral("Hill"), QStringLiteral("Jaquez"), false);
    QTRY_VERIFY(link("Hill", "Jaquez").up && link("Jaquez", "Hill").up);
    QVERIFY(!link("Hill", "Jaquez").cut);
    QTRY_VERIFY(m_herd->node(QStringLiteral("Smith"))->store().find("cut"));
    QTRY_VERIFY(m_herd->node(QStringLiteral("Hill"))->store().find("other"));
    // The link events are in the traffic.
    QVERIFY(collect([this] {
        for (const auto &r : allTraffic())
            if (r.kind == LineKind::LinkEvent && r.text.contains("link restored"))
                return true;
        return false;
    }));
}

// What a remote monitor reads (/events): every batch of a real herd, through one line of JSON and
// back, field by field, including a line that is not UTF-8.
void tst_Monitor::batchesSurviveJson()
{
    m_batches.clear();
    TestClient c(m_herd->node(QStringLiteral("Hill"))->port());
    c.send("IAMAT json +34.068930-118.445127 1621464827.959498503\n\x01\xfe\xff bad\n");
    c.readLine();
    c.readLine();
    QVERIFY(collect([&] {
        qsizetype hops = 0;
        for (const auto &b : m_batches)
            hops += b->hops.size();
        return hops >= 3;
    }));
    int rows = 0, stored = 0, links = 0;
    bool sawBinary = false;
    for (const auto &b : m_batches) {
        const QByteArray line = herd::json::batchLine(*b);
        QVERIFY(line.endsWith('\n'));
        QCOMPARE(line.count('\n'), 1);
        const auto back = herd::json::toBatch(QJsonDocument::fromJson(line).object());
        QVERIFY(back.has_value());
        QCOMPARE(back->timeUs, b->timeUs);
        QCOMPARE(back->trafficDropped, b->trafficDropped);
        QCOMPARE(back->hopsDropped, b->hopsDropped);
        QCOMPARE(back->traffic.size(), b->traffic.size());
        for (qsizetype i = 0; i < b->traffic.size(); ++i, ++rows) {
            const auto &x = b->traffic[i], &y = back->traffic[i];
            QCOMPARE(y.timeUs, x.timeUs);
            QCOMPARE(y.node, x.node);
            QCOMPARE(y.dir, x.dir);
            QCOMPARE(y.kind, x.kind);
            QCOMPARE(y.who, x.who);
            QCOMPARE(y.text, x.text);
            sawBinary = sawBinary || x.text == QByteArray("\x01\xfe\xff bad");
        }
        QCOMPARE(back->stored.size(), b->stored.size());
        for (qsizetype i = 0; i < b->stored.size(); ++i, ++stored) {
            const auto &x = b->stored[i], &y = back->stored[i];
            QCOMPARE(y.node, x.node);
            QCOMPARE(y.client, x.client);
            QVERIFY(y.time == x.time);
            QCOMPARE(y.lat, x.lat);
            QCOMPARE(y.lng, x.lng);
            QCOMPARE(y.atLine, x.atLine);
            QCOMPARE(y.timeUs, x.timeUs);
        }
        QCOMPARE(back->hops.size(), b->hops.size());
        for (qsizetype i = 0; i < b->hops.size(); ++i) {
            QCOMPARE(back->hops[i].client, b->hops[i].client);
            QVERIFY(back->hops[i].time == b->hops[i].time);
            QCOMPARE(back->hops[i].from, b->hops[i].from);
            QCOMPARE(back->hops[i].to, b->hops[i].to);
            QCOMPARE(back->hops[i].timeUs, b->hops[i].timeUs);
        }
        QCOMPARE(back->stats.size(), b->stats.size());
        for (qsizetype i = 0; i < b->stats.size(); ++i) {
            const auto &x = b->stats[i], &y = back->stats[i];
            QCOMPARE(y.name, x.name);
            QCOMPARE(y.running, x.running);
            QCOMPARE(y.port, x.port);
            QCOMPARE(y.startedAtMs, x.startedAtMs);
            QCOMPARE(y.clientsKnown, x.clientsKnown);
            QCOMPARE(y.linesIn, x.linesIn);
            QCOMPARE(y.linesOut, x.linesOut);
            QCOMPARE(y.iamat, x.iamat);
            QCOMPARE(y.invalid, x.invalid);
            QCOMPARE(y.floodsSent, x.floodsSent);
            QCOMPARE(y.timeouts, x.timeouts);
            QCOMPARE(y.links.size(), x.links.size());
            for (qsizetype k = 0; k < x.links.size(); ++k, ++links) {
                QCOMPARE(y.links[k].peer, x.links[k].peer);
                QCOMPARE(y.links[k].up, x.links[k].up);
                QCOMPARE(y.links[k].liveness, x.links[k].liveness);
                QCOMPARE(y.links[k].stats.heartbeatsSent, x.links[k].stats.heartbeatsSent);
                QCOMPARE(y.links[k].stats.timesUp, x.links[k].stats.timesUp);
                QCOMPARE(y.links[k].stats.rttUs, x.links[k].stats.rttUs);
                QCOMPARE(y.links[k].stats.floodsReceived, x.links[k].stats.floodsReceived);
            }
        }
    }
    QVERIFY(sawBinary);
    QVERIFY(rows > 0 && stored >= 3 && links > 0);
    // Not a batch: refused, not guessed.
    QVERIFY(!herd::json::toBatch(QJsonObject{{QStringLiteral("traffic"), QJsonArray()}}).has_value());
}

QTEST_GUILESS_MAIN(tst_Monitor)
#include "tst_monitor.moc"
