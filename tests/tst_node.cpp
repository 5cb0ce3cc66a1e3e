// One node (or two) over real sockets on 127.0.0.1 port 0: framing, replies, limits, auth.
#include "testherds.h"
#include "herd.h"
#include "node.h"
#include "testclient.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>
#include <QDir>
#include <numeric>
#include <QTemporaryDir>
#include <QTest>

using herd::HerdConfig;
using herd::NodeConfig;
using herdtest::TestClient;

using herdtest::singleNode;

namespace {

HerdConfig pair(const QString &logDir, const QString &secretEnv)
{
    HerdConfig c = herdtest::testHerd({QStringLiteral("Hill"), QStringLiteral("Jaquez")},
                                      {{QStringLiteral("Hill"), QStringLiteral("Jaquez")}}, logDir);
    c.peerSecretEnv = secretEnv;
    return c;
}

const QRegularExpression kAtLine(
    QStringLiteral(R"(^AT Hill [+-]\d+\.\d{9} (\S+) (\S+) (\S+)$)"));

} // namespace

class tst_Node : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();
    void iamatReply();
    void framing_data();
    void framing();
    void invalidEchoesLineExactly_data();
    void invalidEchoesLineExactly();
    void halfCloseStillAnswers();
    void overlongLineClosesWithoutEcho();
    void whatsatReplyShape();
    void whatsatKeepsReplyOrder();
    void staleUpdateNeverWins();
    void manyClients();
    void clientThatNeverReadsIsCutOff();
    void slowPlacesDoesNotBlockOthers();
    void connectionLimitRefusesOnlyNewcomers();
    void slowlorisAndIdleClientsAreClosed();
    void peerLinkWithSecret();
    void wrongSecretIsRefused();
    void slowNeighbourPausesClientsInsteadOfDropping_data();
    void slowNeighbourPausesClientsInsteadOfDropping();
    void logFileHasLines();
    void stateSurvivesRestart();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<herd::Herd> m_herd;
    quint16 port() const { return m_herd->node(QStringLiteral("Hill"))->port(); }
    void startSingle(HerdConfig config)
    {
        m_herd = std::make_unique<herd::Herd>(std::move(config));
        QVERIFY2(m_herd->start(), qPrintable(m_herd->lastError()));
    }
};

void tst_Node::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    startSingle(singleNode(m_dir->filePath(QStringLiteral("logs"))));
}

void tst_Node::cleanup()
{
    m_herd.reset();
    m_dir.reset();
}

void tst_Node::iamatReply()
{
    TestClient c(port());
    QVERIFY(c.isConnected());
    c.send("IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503\n");
    const QByteArray reply = c.readLine();
    const auto m = kAtLine.match(QString::fromLatin1(reply));
    QVERIFY2(m.hasMatch(), reply.constData());
    QCOMPARE(m.captured(1), QStringLiteral("kiwi.cs.ucla.edu"));
    QCOMPARE(m.captured(2), QStringLiteral("+34.068930-118.445127"));
    QCOMPARE(m.captured(3), QStringLiteral("1621464827.959498503"));
    // A client time in the future gives a negative skew.
    c.send("IAMAT future +0+0 99999999999.5\n");
    QVERIFY(c.readLine().startsWith("AT Hill -"));
}

void tst_Node::framing_data()
{
    QTest::addColumn<QByteArrayList>("chunks");
    QTest::addColumn<QByteArrayList>("expected");   // reply prefixes, in order
    QTest::newRow("split across writes") << QByteArrayList{"IAMA", "T a +1+2 1", ".5\n"}
                                         << QByteArrayList{"AT Hill "};
    QTest::newRow("several in one write")
        << QByteArrayList{"IAMAT a +1+2 1\nBOGUS\nIAMAT b +1+2 2\n"}
        << QByteArrayList{"AT Hill ", "? BOGUS", "AT Hill "};
    QTest::newRow("crlf") << QByteArrayList{"BOGUS x\r\n", "IAMAT a +1+2 1\r\n"}
                          << QByteArrayList{"? BOGUS x", "AT Hill "};
    QTest::newRow("blank lines get nothing") << QByteArrayList{"\n  \t\n\r\n", "BOGUS\n"}
                                             << QByteArrayList{"? BOGUS"};
    QTest::newRow("one byte at a time")
        << QByteArrayList{"I", "A", "M", "A", "T", " ", "z", " ", "+", "1", "+", "2", " ", "3", "\n"}
        << QByteArrayList{"AT Hill "};
}

void tst_Node::framing()
{
    QFETCH(QByteArrayList, chunks);
    QFETCH(QByteArrayList, expected);
    TestClient c(port());
    for (const QByteArray &chunk : chunks) {
        c.send(chunk);
        QTest::qWait(0);   // let each chunk arrive as its own read where the kernel allows
    }
    for (const QByteArray &prefix : expected) {
        bool ok = false;
        const QByteArray line = c.readLine(&ok);
        QVERIFY2(ok, "no reply");
        QVERIFY2(line.startsWith(prefix), line.constData());
    }
}

void tst_Node::invalidEchoesLineExactly_data()
{
    QTest::addColumn<QByteArray>("line");
    QTest::newRow("unknown command") << QByteArray("HELLO there");
    QTest::newRow("lowercase") << QByteArray("iamat a +1+2 1");
    QTest::newRow("odd white space kept") << QByteArray("  IAMAT\ta  +1+2   1 extra  ");
    QTest::newRow("bad location") << QByteArray("IAMAT a 34-118 1");
    QTest::newRow("bad time") << QByteArray("IAMAT a +34-118 1.1234567890");
    QTest::newRow("radius too big") << QByteArray("WHATSAT a 51 2");
    QTest::newRow("unknown client") << QByteArray("WHATSAT nobody 10 2");
    QTest::newRow("AT from a client") << QByteArray("AT Hill +0.1 a +1+2 1");
    QTest::newRow("control bytes") << QByteArray("FOO\x01\x7f\xff bar");
    QTest::newRow("cr inside") << QByteArray("FOO\rBAR");
    QTest::newRow("hello from a stranger") << QByteArray("HERD-HELLO Nobody Hill 0123456789abcdef0123456789abcdef");
}

void tst_Node::invalidEchoesLineExactly()
{
    QFETCH(QByteArray, line);
    TestClient c(port());
    c.send(line + "\n");
    QCOMPARE(c.readLine(), "? " + line);
    // The connection stays open.
    c.send("IAMAT still +1+2 1\n");
    QVERIFY(c.readLine().startsWith("AT Hill "));
}

void tst_Node::halfCloseStillAnswers()
{
    TestClient c(port());
    c.send("IAMAT a +1+2 1\nIAMAT b +1+2 1");   // the last line has no "\n"
    c.halfClose();
    bool closed = false;
    const QByteArray all = c.readToClose(&closed);
    QVERIFY2(closed, "the node should close after answering");
    const QList<QByteArray> lines = all.split('\n');
    QCOMPARE(lines.size(), 3);   // two replies, then "" after the final "\n"
    QVERIFY(lines[0].contains(" a +1+2 1"));
    QVERIFY(lines[1].contains(" b +1+2 1"));
}

void tst_Node::overlongLineClosesWithoutEcho()
{
    TestClient c(port());
    c.send("IAMAT ok +1+2 1\n");
    c.send(QByteArray(5000, 'x') + "\n");
    bool closed = false;
    const QByteArray all = c.readToClose(&closed);
    QVERIFY2(closed, "an overlong line closes the connection");
    QVERIFY(all.startsWith("AT Hill "));
    QVERIFY2(!all.contains("xxxx"), "the long line must not be echoed");
    // Without a newline at all, too.
    TestClient d(port());
    d.send(QByteArray(8000, 'y'));
    d.readToClose(&closed);
    QVERIFY(closed);
    // Everyone else is still served.
    TestClient e(port());
    e.send("IAMAT e +1+2 1\n");
    QVERIFY(e.readLine().startsWith("AT Hill "));
}

void tst_Node::whatsatReplyShape()
{
    TestClient c(port());
    c.send("IAMAT kiwi +34.068930-118.445127 1621464827.959498503\n");
    const QByteArray at = c.readLine();
    c.send("WHATSAT kiwi 10 2\n");
    bool ok = false;
    const QByteArray reply = c.readUntil("\n\n", &ok);
    QVERIFY(ok);
    const qsizetype nl = reply.indexOf('\n');
    QCOMPARE(reply.left(nl), at);
    const QByteArray json = reply.mid(nl + 1, reply.size() - nl - 3);
    QVERIFY2(!json.contains("\n\n"), "no blank line inside the reply");
    QJsonParseError err{};
    const QJsonObject obj = QJsonDocument::fromJson(json, &err).object();
    QVERIFY2(err.error == QJsonParseError::NoError, qPrintable(err.errorString()));
    QCOMPARE(obj.value(QStringLiteral("status")).toString(), QStringLiteral("OK"));
    QVERIFY(obj.contains(QStringLiteral("html_attributions")));
    const QJsonArray results = obj.value(QStringLiteral("results")).toArray();
    QVERIFY(!results.isEmpty());
    QVERIFY(results.size() <= 2);
    // Radius and bound at their limits are accepted.
    c.send("WHATSAT kiwi 50 20\n");
    QVERIFY(c.readUntil("\n\n", &ok).startsWith(at + "\n{"));
}

void tst_Node::whatsatKeepsReplyOrder()
{
    TestClient c(port());
    c.send("IAMAT kiwi +34.068930-118.445127 1\n");
    c.readLine();
    // The WHATSAT answer comes from the event loop later; the IAMAT after it must wait its turn.
    c.send("WHATSAT kiwi 5 1\nIAMAT second +1+2 1\nNOPE\n");
    bool ok = false;
    const QByteArray first = c.readUntil("\n\n", &ok);
    QVERIFY(ok);
    QVERIFY(first.startsWith("AT Hill "));
    QVERIFY(first.contains("\"status\""));
    QVERIFY(c.readLine().contains(" second "));
    QCOMPARE(c.readLine(), QByteArray("? NOPE"));
}

void tst_Node::staleUpdateNeverWins()
{
    TestClient c(port());
    c.send("IAMAT k +10+10 1621464827.959498504\n");
    const QByteArray newer = c.readLine();
    c.send("IAMAT k +20+20 1621464827.959498503\n");   // older by one nanosecond
    QVERIFY(c.readLine().contains("+20+20"));           // still answered
    c.send("IAMAT k +30+30 1621464827.959498504\n");   // equal: not stored either
    QVERIFY(c.readLine().contains("+30+30"));
    c.send("WHATSAT k 1 1\n");
    QVERIFY(c.readUntil("\n\n").startsWith(newer + "\n"));
    QCOMPARE(m_herd->node(QStringLiteral("Hill"))->store().size(), 1);
}

void tst_Node::manyClients()
{
    std::vector<std::unique_ptr<TestClient>> clients;
    for (int i = 0; i < 300; ++i) {
        clients.push_back(std::make_unique<TestClient>(port()));
        QVERIFY(clients.back()->isConnected());
    }
    for (int i = 0; i < 300; ++i)
        clients[i]->send("IAMAT c" + QByteArray::number(i) + " +1+2 1\n");
    for (int i = 0; i < 300; ++i)
        QVERIFY(clients[i]->readLine().contains(" c" + QByteArray::number(i) + " "));
    QTRY_COMPARE(m_herd->node(QStringLiteral("Hill"))->stats().clientConnections, 300);
}

void tst_Node::clientThatNeverReadsIsCutOff()
{
    HerdConfig config = singleNode(m_dir->filePath(QStringLiteral("logs2")));
    config.limits.maxOutputBytes = 64 * 1024;
    startSingle(config);
    TestClient hog(port());
    hog.socket().setReadBufferSize(1);   // never take more than a byte: the node's queue grows
    QByteArray burst;
    for (int i = 0; i < 2000; ++i)
        burst += "IAMAT hog" + QByteArray::number(i) + " +1+2 1\n";
    TestClient other(port());
    for (int round = 0; round < 40 && hog.isConnected(); ++round) {
        hog.send(burst);
        other.send("IAMAT other +1+2 " + QByteArray::number(round + 1) + "\n");
        bool ok = false;
        QVERIFY2(other.readLine(&ok).startsWith("AT Hill "), "others are served meanwhile");
        QVERIFY(ok);
    }
    QTRY_VERIFY2(!hog.isConnected(), "a client that never reads is cut off");
    other.send("IAMAT other +1+2 999\n");
    QVERIFY(other.readLine().startsWith("AT Hill "));
}

void tst_Node::slowPlacesDoesNotBlockOthers()
{
    // A Places server that accepts and never answers.
    QTcpServer silent;
    QVERIFY(silent.listen(QHostAddress::LocalHost, 0));
    qputenv("HERD_TEST_SLOW_KEY", "k-slow-0123");
    HerdConfig config = singleNode(m_dir->filePath(QStringLiteral("logs3")));
    config.places.provider = QStringLiteral("google");
    config.places.apiKeyEnv = QStringLiteral("HERD_TEST_SLOW_KEY");
    config.places.endpoint = QStringLiteral("http://127.0.0.1:%1/v1/places:searchNearby").arg(silent.serverPort());
    config.places.timeoutMs = 4000;
    startSingle(config);

    TestClient waiting(port());
    waiting.send("IAMAT w +34-118 1\n");
    waiting.readLine();
    waiting.send("WHATSAT w 10 3\n");
    QTRY_VERIFY(silent.hasPendingConnections() || silent.findChildren<QTcpSocket *>().size() > 0);
    TestClient other(port());
    other.send("IAMAT o +1+2 1\n");
    QVERIFY(other.readLine().startsWith("AT Hill "));
    // Answered while the Places request is still open (the provider gives up on the silent
    // server only at its timeout): the IAMAT did not queue behind another client's WHATSAT.
    const herd::NodeStats during = m_herd->node(QStringLiteral("Hill"))->stats();
    QCOMPARE(std::accumulate(during.placesLatency.begin(), during.placesLatency.end(), quint64(0)), quint64(0));
    bool ok = false;
    const QByteArray reply = waiting.readUntil("\n\n", &ok, 10000);
    QVERIFY(ok);
    QVERIFY(reply.contains("UNKNOWN_ERROR"));
    QVERIFY2(!reply.contains("k-slow-0123"), "the API key never reaches a client");
}

void tst_Node::connectionLimitRefusesOnlyNewcomers()
{
    HerdConfig config = singleNode(m_dir->filePath(QStringLiteral("logs4")));
    config.limits.maxConnections = 5;
    startSingle(config);
    std::vector<std::unique_ptr<TestClient>> clients;
    for (int i = 0; i < 5; ++i) {
        clients.push_back(std::make_unique<TestClient>(port()));
        clients.back()->send("IAMAT in" + QByteArray::number(i) + " +1+2 1\n");
        QVERIFY(clients.back()->readLine().startsWith("AT Hill "));
    }
    TestClient extra(port());
    bool closed = false;
    QCOMPARE(extra.readToClose(&closed), QByteArray());   // closed at once, nothing written
    QVERIFY(closed);
    QTRY_COMPARE(m_herd->node(QStringLiteral("Hill"))->stats().connectionsRefused, 1u);
    for (auto &c : clients) {
        c->send("IAMAT again +1+2 2\n");
        QVERIFY(c->readLine().startsWith("AT Hill "));
    }
    // A slot freed is a slot available.
    clients.pop_back();
    QTRY_COMPARE(m_herd->node(QStringLiteral("Hill"))->stats().clientConnections, 4);
    TestClient late(port());
    late.send("IAMAT late +1+2 1\n");
    QVERIFY(late.readLine().startsWith("AT Hill "));
}

void tst_Node::slowlorisAndIdleClientsAreClosed()
{
    HerdConfig config = singleNode(m_dir->filePath(QStringLiteral("logs5")));
    config.limits.firstLineTimeoutMs = 300;
    config.limits.idleTimeoutMs = 2000;
    startSingle(config);
    TestClient slow(port());
    slow.send("IAMAT slow +1");   // never finishes its line
    TestClient idle(port());
    idle.send("IAMAT idle +1+2 1\n");
    QVERIFY(idle.readLine().startsWith("AT Hill "));
    TestClient busy(port());
    busy.send("IAMAT busy +1+2 0\n");
    QVERIFY(busy.readLine().startsWith("AT Hill "));
    bool closed = false;
    slow.readToClose(&closed, 5000);
    QVERIFY2(closed, "no complete line in time: closed");
    // Meanwhile a talking client is served without delay.
    busy.send("IAMAT busy +1+2 1\n");
    QVERIFY(busy.readLine().startsWith("AT Hill "));
    idle.readToClose(&closed, 5000);
    QVERIFY2(closed, "silent after its last reply: closed");
    QVERIFY(m_herd->node(QStringLiteral("Hill"))->stats().timeouts >= 2);
}

void tst_Node::peerLinkWithSecret()
{
    qputenv("HERD_TEST_SECRET", "s3cret-shared");
    m_herd = std::make_unique<herd::Herd>(pair(m_dir->filePath(QStringLiteral("p")), QStringLiteral("HERD_TEST_SECRET")));
    QVERIFY2(m_herd->start(), qPrintable(m_herd->lastError()));
    herd::Node *hill = m_herd->node(QStringLiteral("Hill"));
    herd::Node *jaquez = m_herd->node(QStringLiteral("Jaquez"));
    QTRY_VERIFY(hill->stats().links.value(0).up && jaquez->stats().links.value(0).up);
    TestClient c(hill->port());
    c.send("IAMAT viaHill +1+2 5\n");
    const QByteArray at = c.readLine();
    QTRY_VERIFY(jaquez->store().find("viaHill") != nullptr);
    QCOMPARE(jaquez->store().find("viaHill")->atLine(), at);
    // Heartbeats flow and are acked.
    QTRY_VERIFY(hill->stats().links.value(0).stats.acksReceived >= 2);
    QVERIFY(hill->stats().links.value(0).stats.rttUs >= 0);
    QFile log(hill->logPath());
    QVERIFY(log.open(QIODevice::ReadOnly));
    QVERIFY2(!log.readAll().contains("s3cret-shared"), "the secret is never logged");
}

void tst_Node::wrongSecretIsRefused()
{
    qputenv("HERD_TEST_SECRET_A", "alpha");
    qputenv("HERD_TEST_SECRET_B", "bravo");
    // Two herds in one process, each hosting one node, each with its own secret.
    HerdConfig a = pair(m_dir->filePath(QStringLiteral("a")), QStringLiteral("HERD_TEST_SECRET_A"));
    herd::Herd hillSide(a, {QStringLiteral("Hill")});
    QVERIFY(hillSide.start());
    HerdConfig b = pair(m_dir->filePath(QStringLiteral("b")), QStringLiteral("HERD_TEST_SECRET_B"));
    b.nodes[0].port = hillSide.node(QStringLiteral("Hill"))->port();
    herd::Herd jaquezSide(b, {QStringLiteral("Jaquez")});
    QVERIFY(jaquezSide.start());
    herd::Node *hill = hillSide.node(QStringLiteral("Hill"));
    herd::Node *jaquez = jaquezSide.node(QStringLiteral("Jaquez"));
    QTRY_VERIFY(hill->stats().authFailures + jaquez->stats().authFailures >= 2);
    QVERIFY(!hill->stats().links.value(0).up);
    QVERIFY(!jaquez->stats().links.value(0).up);
    // A refused peer cannot flood: an AT line on a plain connection is just invalid.
    TestClient c(hill->port());
    c.send("AT Jaquez +0.000000001 forged +1+2 1\n");
    QCOMPARE(c.readLine(), QByteArray("? AT Jaquez +0.000000001 forged +1+2 1"));
    QVERIFY(hill->store().find("forged") == nullptr);
}

void tst_Node::slowNeighbourPausesClientsInsteadOfDropping_data()
{
    QTest::addColumn<bool>("neighbourStops");
    QTest::newRow("slow neighbour") << false;
    QTest::newRow("neighbour stops reading") << true;
}

// Flow control: a neighbour that is alive (acks every heartbeat) but reads floods slower than
// the node makes them. The node pauses its clients while the neighbour is more than a few MiB
// behind and resumes them as it catches up: the link never drops, every update reaches the
// neighbour, and every client request is answered. A neighbour that stops reading altogether
// holds clients back for at most a heartbeat interval: a down neighbour never delays a reply.
void tst_Node::slowNeighbourPausesClientsInsteadOfDropping()
{
    QFETCH(bool, neighbourStops);
    HerdConfig config = pair(QString(), QStringLiteral("HERD_TEST_NO_SECRET"));
    config.peers.heartbeatMs = 1000;
    // The neighbour is slow, not failing: CI load must not say otherwise. (When it does stop, only
    // the progress check can release the clients within seconds: acks would take 10.)
    config.peers.suspectAfterMissed = 10;
    config.peers.deadAfterMissed = 20;
    qunsetenv("HERD_TEST_NO_SECRET");
    herd::Herd herd(config, {QStringLiteral("Hill")});   // Jaquez is us: a hand-driven peer
    QVERIFY(herd.start());
    herd::Node *hill = herd.node(QStringLiteral("Hill"));

    QTcpSocket peer;
    peer.setReadBufferSize(64 * 1024);   // what Qt takes from the kernel beyond what we read
    peer.connectToHost(QHostAddress::LocalHost, hill->port());
    QVERIFY(peer.waitForConnected(5000));
    peer.write("HERD-HELLO Jaquez Hill 0123456789abcdef0123456789abcdef\n");
    QTRY_VERIFY(peer.canReadLine());
    QVERIFY(peer.readLine().startsWith("HERD-WELCOME Hill "));
    peer.write("HERD-AUTH -\n");
    QTRY_VERIFY(peer.canReadLine());
    QCOMPARE(peer.readLine(), QByteArray("HERD-OK\n"));
    QTRY_VERIFY(hill->stats().links.value(0).up);

    // The neighbour: reads at most 128 KiB every 10 ms (about 12 MB/s), acks each heartbeat,
    // counts the floods of our clients.
    qint64 floods = 0;
    QByteArray partial;
    QTimer drain;
    connect(&drain, &QTimer::timeout, &peer, [&] {
        partial += peer.read(128 * 1024);
        qsizetype start = 0;
        for (qsizetype nl; (nl = partial.indexOf('\n', start)) >= 0; start = nl + 1) {
            const QByteArrayView line = QByteArrayView(partial).sliced(start, nl - start);
            if (line.startsWith("HERD-HB ")) {
                const QByteArrayView rest = line.sliced(8);
                peer.write("HERD-ACK " + rest.first(rest.indexOf(' ')).toByteArray() + "\n");
            } else if (line.startsWith("AT Hill ") && line.contains(" flow-")) {
                ++floods;
            }
        }
        partial.remove(0, start);
    });
    drain.start(10);

    // A client sending updates in bursts as fast as the node answers them, with long client IDs:
    // floods are made several times faster than the neighbour reads them, and outgrow what the
    // kernel's socket buffers hold (several MB on loopback) well before the last burst.
    const QByteArray longId(200, 'x');
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, hill->port());
    QVERIFY(client.waitForConnected(5000));
    constexpr int kBursts = 30;
    constexpr int kPerBurst = 3000;   // its replies stay under the client output limit (1 MiB)
    qint64 replies = 0;
    bool sawPaused = false;
    quint64 longestWaitTicks = 0;   // the node's own heartbeat ticks, not the wall clock
    auto ticks = [&] { return hill->stats().links.value(0).stats.heartbeatsSent; };
    connect(&client, &QIODevice::readyRead, &client, [&] { replies += client.readAll().count('\n'); });
    for (int b = 0; b < kBursts; ++b) {
        QByteArray burst;
        burst.reserve(kPerBurst * 260);
        for (int i = 0; i < kPerBurst; ++i)
            burst += "IAMAT flow-" + longId + QByteArray::number(b * kPerBurst + i) + " +10.5-20.25 1621464827.5\n";
        client.write(burst);
        if (neighbourStops && b == kBursts / 3)
            drain.stop();   // from now on it reads nothing, and acks nothing
        const quint64 ticksBefore = ticks();
        QVERIFY2(QTest::qWaitFor([&] {
            sawPaused = sawPaused || hill->stats().clientsPaused;
            return replies >= qint64(b + 1) * kPerBurst;
        }, 20000), qPrintable(QStringLiteral("%1 of %2 replies").arg(replies).arg((b + 1) * kPerBurst)));
        longestWaitTicks = std::max(longestWaitTicks, ticks() - ticksBefore);
    }
    if (neighbourStops) {
        // Every client request was answered (above) although the neighbour took nothing more,
        // each burst within a few of the node's heartbeat ticks, long before the neighbour's
        // missed acks (10 ticks) would have said anything.
        QVERIFY2(longestWaitTicks <= 5,
                 qPrintable(QStringLiteral("a burst waited %1 heartbeat ticks").arg(longestWaitTicks)));
        QVERIFY(hill->stats().backpressurePauses > 0);
        QTRY_VERIFY(!hill->stats().clientsPaused);
        QVERIFY(floods < kBursts * kPerBurst);
        return;
    }
    QVERIFY2(QTest::qWaitFor([&] { return floods == kBursts * kPerBurst; }, 20000),
             qPrintable(QStringLiteral("%1 of %2 floods arrived").arg(floods).arg(kBursts * kPerBurst)));
    const herd::NodeStats stats = hill->stats();
    QVERIFY2(stats.backpressurePauses > 0, "the node never paused its clients");
    QVERIFY(sawPaused);
    QVERIFY(!stats.clientsPaused);                       // resumed once the neighbour caught up
    QCOMPARE(stats.links.value(0).stats.timesDown, quint64(0));
    QVERIFY(stats.links.value(0).up);
    QCOMPARE(stats.outputOverflows, quint64(0));
}

void tst_Node::logFileHasLines()
{
    // Milliseconds, as the log shows them: every line's stamp must fall inside this window.
    const qint64 before = QDateTime::currentMSecsSinceEpoch();
    TestClient c(port());
    c.send("IAMAT logged +1+2 1\nBAD\n");
    c.readLine();
    c.readLine();
    herd::Node *hill = m_herd->node(QStringLiteral("Hill"));
    const QString path = hill->logPath();
    m_herd->stop();   // flushes
    QFile log(path);
    QVERIFY(log.open(QIODevice::ReadOnly));
    const QByteArray text = log.readAll();
    QVERIFY(text.contains("< client#"));
    QVERIFY(text.contains("IAMAT logged +1+2 1"));
    QVERIFY(text.contains("> client#"));
    QVERIFY(text.contains("? BAD"));
    QVERIFY(text.contains("connection opened"));
    // `<UTC time to the ms> <dir> <who> <text>`, written by the writer thread from the times
    // the network thread recorded.
    const qint64 after = QDateTime::currentMSecsSinceEpoch();
    const QRegularExpression shape(QStringLiteral(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [<>*!] \S)"));
    qint64 previous = 0;
    for (const QByteArray &l : text.split('\n')) {
        if (l.isEmpty())
            continue;
        QVERIFY2(shape.match(QString::fromLatin1(l)).hasMatch(), l.constData());
        const QDateTime t = QDateTime::fromString(QString::fromLatin1(l.left(24)), Qt::ISODateWithMs);
        QVERIFY2(t.isValid() && t.timeSpec() == Qt::UTC, l.constData());
        const qint64 ms = t.toMSecsSinceEpoch();
        QVERIFY2(ms >= previous, "log times never go back within a run");
        previous = ms;
    }
    QVERIFY(previous <= after);
    QVERIFY(text.indexOf("IAMAT logged") > 0);
    const QDateTime iamatAt = QDateTime::fromString(
        QString::fromLatin1(text.mid(text.lastIndexOf('\n', text.indexOf("IAMAT logged")) + 1, 24)), Qt::ISODateWithMs);
    QVERIFY(iamatAt.toMSecsSinceEpoch() >= before && iamatAt.toMSecsSinceEpoch() <= after);
}

void tst_Node::stateSurvivesRestart()
{
    HerdConfig config = singleNode(m_dir->filePath(QStringLiteral("logs6")));
    config.stateDir = m_dir->filePath(QStringLiteral("state"));
    startSingle(config);
    QByteArrayList lines;
    {
        TestClient c(port());
        for (int i = 0; i < 50; ++i) {
            c.send("IAMAT p" + QByteArray::number(i % 10) + " +1+2 " + QByteArray::number(i) + "\n");
            lines.append(c.readLine());   // acknowledged: it must survive
        }
    }
    config.nodes[0].port = port();
    m_herd.reset();   // the whole process would be gone: a fresh store
    // A crash mid-write leaves a torn last line; it is skipped.
    QFile journal(QDir(config.stateDir).filePath(QStringLiteral("Hill.journal")));
    QVERIFY(journal.open(QIODevice::Append));
    journal.write("AT Hill +0.000000001 torn +1+2 99");
    journal.close();
    startSingle(config);
    const herd::LocationStore &store = m_herd->node(QStringLiteral("Hill"))->store();
    QCOMPARE(store.size(), 10);
    for (int i = 40; i < 50; ++i)
        QCOMPARE(store.find("p" + QByteArray::number(i % 10))->atLine(), lines[i]);
    QVERIFY(store.find("torn") == nullptr);
    TestClient c(port());
    c.send("WHATSAT p3 1 1\n");
    QVERIFY(c.readUntil("\n\n").startsWith(lines[43] + "\n"));
}

QTEST_GUILESS_MAIN(tst_Node)
#include "tst_node.moc"
