// An in-process herd of five nodes over real sockets: flooding, the strictly-newer rule,
// link loss and recovery.
#include "testherds.h"
#include "herd.h"
#include "node.h"
#include "testclient.h"

#include <QTemporaryDir>
#include <QTest>

using herd::HerdConfig;
using herd::NodeConfig;
using herdtest::TestClient;

using herdtest::classicHerd;

namespace {


int holders(const herd::Herd &h, const QByteArray &client, const QByteArray &atLine)
{
    int n = 0;
    for (const herd::Node *node : h.nodes()) {
        const herd::ClientRecord *r = node->store().find(client);
        n += r && r->atLine() == atLine ? 1 : 0;
    }
    return n;
}

} // namespace

class tst_Herd : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();
    void linksComeUpOnce();
    void floodReachesEveryNodeOnce();
    void farNodeAnswersWithOriginLine();
    void staleUpdatesNeverWin();
    void routesAroundStoppedNode();
    void restartedNodeCatchesUp();

private:
    bool linkUp(const char *node, const char *peer) const
    {
        for (const herd::LinkInfo &l : m_herd->node(QString::fromLatin1(node))->stats().links) {
            if (l.peer == QLatin1String(peer))
                return l.up;
        }
        return false;
    }
    quint16 port(const char *name) const { return m_herd->node(QString::fromLatin1(name))->port(); }
    QByteArray iamat(const char *node, const QByteArray &client, const QByteArray &loc, const QByteArray &time)
    {
        TestClient c(port(node));
        c.send("IAMAT " + client + ' ' + loc + ' ' + time + '\n');
        return c.readLine();
    }

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<herd::Herd> m_herd;
};

void tst_Herd::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    m_herd = std::make_unique<herd::Herd>(classicHerd(m_dir->filePath(QStringLiteral("logs"))));
    QVERIFY2(m_herd->start(), qPrintable(m_herd->lastError()));
    // Settled: every link up and past its first heartbeats, so start-up catch-up is over.
    QTRY_VERIFY_WITH_TIMEOUT(herdtest::allLinksUp(m_herd->stats(), 2), 5000);
}

void tst_Herd::cleanup()
{
    m_herd.reset();
    m_dir.reset();
}

void tst_Herd::linksComeUpOnce()
{
    // Both ends dial at start; the handshake keeps one connection per link and the duplicate
    // never shows as a flap. Wait for a few heartbeats so a late duplicate would have shown.
    QTRY_VERIFY([this] {
        for (const herd::NodeStats &s : m_herd->stats())
            for (const herd::LinkInfo &l : s.links)
                if (l.stats.acksReceived < 3)
                    return false;
        return true;
    }());
    for (const herd::NodeStats &s : m_herd->stats()) {
        for (const herd::LinkInfo &l : s.links) {
            QVERIFY2(l.up, qPrintable(s.name + QStringLiteral("-") + l.peer));
            QCOMPARE(l.stats.timesUp, 1u);
            QCOMPARE(l.stats.timesDown, 0u);
            QCOMPARE(l.liveness, herd::Liveness::Alive);
        }
    }
}

void tst_Herd::floodReachesEveryNodeOnce()
{
    const QByteArray at = iamat("Hill", "kiwi", "+34.068930-118.445127", "1621464827.959498503");
    QVERIFY(at.startsWith("AT Hill "));
    QTRY_COMPARE(holders(*m_herd, "kiwi", at), 5);
    // Each of the four other nodes stored it exactly once; everything else was a duplicate.
    quint64 stored = 0;
    quint64 sent = 0;
    quint64 dropped = 0;
    QTRY_VERIFY([&] {
        stored = sent = dropped = 0;
        for (const herd::NodeStats &s : m_herd->stats()) {
            stored += s.floodsReceived;
            sent += s.floodsSent;
            dropped += s.duplicatesDropped;
        }
        return sent == stored + dropped;   // every flood line sent has been received
    }());
    QCOMPARE(stored, 4u);
    // One pass per link at most: six links, each crossed at most once each way.
    QVERIFY2(sent <= 12, qPrintable(QString::number(sent)));
}

void tst_Herd::farNodeAnswersWithOriginLine()
{
    const QByteArray at = iamat("Hill", "far", "+34.068930-118.445127", "1621464827.5");
    QTRY_COMPARE(holders(*m_herd, "far", at), 5);
    // Campbell is two hops from Hill: same first line, with Hill's name and Hill's skew.
    TestClient c(port("Campbell"));
    c.send("WHATSAT far 10 3\n");
    bool ok = false;
    const QByteArray reply = c.readUntil("\n\n", &ok);
    QVERIFY(ok);
    QVERIFY2(reply.startsWith(at + "\n{"), reply.left(200).constData());
}

void tst_Herd::staleUpdatesNeverWin()
{
    // Newer first at one end of the herd, then an older one at the other end.
    const QByteArray newer = iamat("Hill", "s", "+1+1", "100.000000002");
    QTRY_COMPARE(holders(*m_herd, "s", newer), 5);
    iamat("Campbell", "s", "+2+2", "100.000000001");
    // Then a newer one at Campbell must replace it everywhere.
    const QByteArray newest = iamat("Campbell", "s", "+3+3", "100.000000003");
    QTRY_COMPARE(holders(*m_herd, "s", newest), 5);
    // Two updates racing from two ends converge on the newer.
    const QByteArray a = iamat("Hill", "race", "+4+4", "7.5");
    const QByteArray b = iamat("Campbell", "race", "+5+5", "7.25");
    QTRY_COMPARE(holders(*m_herd, "race", a), 5);
    QCOMPARE(holders(*m_herd, "race", b), 0);
}

void tst_Herd::routesAroundStoppedNode()
{
    m_herd->stopNode(QStringLiteral("Smith"));
    // Smith's neighbours see their links to it go down.
    QTRY_VERIFY(!linkUp("Hill", "Smith"));
    QTRY_VERIFY(!linkUp("Campbell", "Smith"));
    QTRY_VERIFY(!linkUp("Singleton", "Smith"));
    // Hill -> Jaquez -> Singleton -> Campbell still works, and replies never wait on Smith:
    // the reply comes within a few of Hill's own heartbeat ticks (counted, not timed), far
    // sooner than a redial of Smith or a dead-peer verdict could come.
    const auto ticks = [this] {
        for (const herd::LinkInfo &l : m_herd->node(QStringLiteral("Hill"))->stats().links) {
            if (l.peer == QStringLiteral("Jaquez"))
                return l.stats.heartbeatsSent;
        }
        return quint64(0);
    };
    const quint64 before = ticks();
    const QByteArray at = iamat("Hill", "around", "+1+2", "3");
    QVERIFY2(ticks() - before <= 3, "a down neighbour must not delay a reply");
    QTRY_VERIFY(m_herd->node(QStringLiteral("Campbell"))->store().find("around"));
    QCOMPARE(m_herd->node(QStringLiteral("Campbell"))->store().find("around")->atLine(), at);
}

void tst_Herd::restartedNodeCatchesUp()
{
    m_herd->stopNode(QStringLiteral("Smith"));
    QTRY_VERIFY(!linkUp("Hill", "Smith"));
    const QByteArray missed = iamat("Jaquez", "missed", "+1+2", "42");
    QTRY_COMPARE(holders(*m_herd, "missed", missed), 4);
    QVERIFY(m_herd->node(QStringLiteral("Smith"))->store().find("missed") == nullptr);
    QVERIFY(m_herd->startNode(QStringLiteral("Smith")));
    QTRY_VERIFY_WITH_TIMEOUT(herdtest::allLinksUp(m_herd->stats()), 5000);
    QTRY_COMPARE(holders(*m_herd, "missed", missed), 5);
    // A node restarted with an empty store gets everything back.
    QCOMPARE(m_herd->node(QStringLiteral("Smith"))->store().size(), m_herd->node(QStringLiteral("Hill"))->store().size());
}

QTEST_GUILESS_MAIN(tst_Herd)
#include "tst_herd.moc"
