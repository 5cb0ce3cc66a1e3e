// Remote monitoring: RemoteHerd and the window attached to a herd in another process.
// A fake status endpoint inside the test serves a real in-process herd: /status (its config and
// endpoints) and /events (its monitor batches, split by node, as JSON lines), so the merging,
// bounds and failures can be driven precisely. The end-to-end test attaches to the real
// `herd --headless` binary and its real endpoints.
#include "testclient.h"
#include "testherds.h"
#include "clienttablemodel.h"
#include "consolewidget.h"
#include "herd.h"
#include "linktablemodel.h"
#include "mainwindow.h"
#include "mapview.h"
#include "monitor.h"
#include "monitorjson.h"
#include "nodetablemodel.h"
#include "remoteherd.h"
#include "topologyitems.h"
#include "topologyview.h"
#include "trafficinspector.h"
#include "trafficmodel.h"

#include <QAction>
#include <QFile>
#include <QFileInfo>
#include <QScopeGuard>
#include <QSettings>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMenu>
#include <QMenuBar>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <memory>
#include <vector>

using namespace Qt::StringLiterals;
using herd::MonitorBatch;
using herd::MonitorBatchPtr;
using herd::NodeStats;
using herdtest::TestClient;

namespace {

// One node's fake status endpoint: GET /status answers `statusBody()`, GET /events streams
// publish()ed batches of this node only, as json::batchLine lines, until closeAll().
class FakeEndpoint final : public QObject {
public:
    FakeEndpoint(QString node, std::function<QByteArray()> statusBody)
        : m_node(std::move(node)), m_statusBody(std::move(statusBody))
    {
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = m_server.nextPendingConnection()) {
                connect(socket, &QTcpSocket::readyRead, this, [this, socket] { onRequest(socket); });
                connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
                connect(socket, &QObject::destroyed, this, [this, socket] { m_subscribers.removeAll(socket); });
            }
        });
    }

    bool listen(quint16 port = 0) { return m_server.listen(QHostAddress::LocalHost, port); }
    quint16 port() const { return m_server.serverPort(); }
    QString url() const { return u"http://127.0.0.1:%1/"_s.arg(m_port ? m_port : port()); }
    qsizetype subscribers() const { return m_subscribers.size(); }
    void rememberPort() { m_port = port(); }

    // As if the process died: no more listening, every stream cut.
    void closeAll()
    {
        m_server.close();
        for (QTcpSocket *s : std::as_const(m_subscribers))
            s->abort();
        m_subscribers.clear();
    }

    // The part of a whole-herd batch that is this node's (what a real endpoint sends).
    void publish(const MonitorBatch &all)
    {
        if (m_subscribers.isEmpty())
            return;
        const QByteArray line = herd::json::batchLine(slice(all));
        for (QTcpSocket *s : std::as_const(m_subscribers))
            s->write(line);
    }

private:
    MonitorBatch slice(const MonitorBatch &all) const
    {
        MonitorBatch b;
        b.timeUs = all.timeUs;
        for (const auto &r : all.traffic)
            if (r.node == m_node)
                b.traffic.append(r);
        for (const auto &u : all.stored)
            if (u.node == m_node)
                b.stored.append(u);
        for (const auto &h : all.hops)
            if (h.to == m_node)
                b.hops.append(h);
        for (const auto &s : all.stats)
            if (s.name == m_node)
                b.stats.append(s);
        return b;
    }

    void onRequest(QTcpSocket *socket)
    {
        if (m_subscribers.contains(socket))
            return;
        m_heads[socket] += socket->readAll();
        const QByteArray head = m_heads.value(socket);
        if (!head.contains("\r\n\r\n"))
            return;
        m_heads.remove(socket);
        const QList<QByteArray> first = head.left(head.indexOf("\r\n")).split(' ');
        const QByteArray path = first.value(1);
        if (path == "/status") {
            const QByteArray body = m_statusBody();
            socket->write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                          + QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
            socket->disconnectFromHost();
        } else if (path == "/events") {
            socket->write("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nCache-Control: no-store\r\n"
                          "Connection: close\r\n\r\n");
            m_subscribers.append(socket);
            MonitorBatch hello;   // at once, so the client knows it is subscribed
            hello.timeUs = 1;
            socket->write(herd::json::batchLine(hello));
        } else {
            socket->write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            socket->disconnectFromHost();
        }
    }

    QString m_node;
    std::function<QByteArray()> m_statusBody;
    QTcpServer m_server;
    quint16 m_port = 0;
    QList<QTcpSocket *> m_subscribers;
    QHash<QTcpSocket *, QByteArray> m_heads;
};

const NodeStats *statsOf(const MonitorBatch &b, const QString &node)
{
    for (const NodeStats &s : b.stats)
        if (s.name == node)
            return &s;
    return nullptr;
}

bool allRunningAndLinked(const MonitorBatch &b, int nodes)
{
    if (b.stats.size() != nodes)
        return false;
    for (const NodeStats &s : b.stats) {
        if (!s.running || s.links.isEmpty())
            return false;
        for (const auto &l : s.links)
            if (!l.up)
                return false;
    }
    return true;
}

// The links table holds `ends` link ends, every one up.

// Sends an IAMAT for `client` through the window's console to `node` of a three-node herd, and
// checks its effect in every view: the reply, the client table (held by 3/3), the map, traffic.
void consoleIamatShowsEverywhere(herd::MainWindow &window, const QString &node, const QByteArray &client,
                                 const QString &location)
{
    herd::ConsoleWidget *console = window.console();
    QSignalSpy replies(console, &herd::ConsoleWidget::replyReceived);
    console->selectNode(node);
    console->sendCommand(u"IAMAT "_s + QString::fromLatin1(client) + u' ' + location + u" 1621464827.5"_s);
    QVERIFY(replies.count() > 0 || replies.wait(10000));
    const QByteArray reply = replies.at(0).at(1).toByteArray();
    QVERIFY2(reply.startsWith("AT " + node.toLatin1() + ' '), reply.constData());
    const herd::ClientTableModel *clients = window.clientModel();
    QTRY_VERIFY_WITH_TIMEOUT(clients->indexOfClient(client).isValid(), 10000);
    QTRY_COMPARE(clients->indexOfClient(client, herd::ClientTableModel::Holders).data().toString(), u"3/3"_s);
    QTRY_VERIFY(window.map()->dotCount() >= 1);
    const auto trafficShows = [&window, &client] {
        const auto *model = window.traffic()->model();
        for (int r = 0; r < model->rowCount(); ++r)
            if (model->index(r, herd::TrafficModel::Text).data().toString().contains(QLatin1StringView(client)))
                return true;
        return false;
    };
    QTRY_VERIFY(trafficShows());
}

} // namespace

class tst_Remote : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void endpointUrl_data();
    void endpointUrl();
    void nodesAndStatsArrive();
    void clientUpdateArrivesFromEveryNode();
    void killedStreamMarksTheNodeDownUntilItReturns();
    void trafficIsBoundedWhileTheGuiIsBusy();
    void unreachableStatusIsReportedAndRetried();
    void newerHerdConfigIsReadInPart();
    void windowAttachedToARemoteHerd();
    void windowAttachedToHeadlessProcess();
    void connectCommandLine();
    void nodesRestartedEmptyHoldNothing();

private:
    // As if every headless process was restarted: the streams cut, a fresh herd (nothing
    // stored) behind the same status endpoints.
    void restartHerdEmpty();
    // The herd's /status as the status branch serves it (config with actual ports, endpoints).
    QByteArray statusBody(const QString &node) const;
    // Collects RemoteHerd batches, acknowledging each, until `done` holds for the newest.
    bool collect(herd::RemoteHerd &remote, const std::function<bool(const MonitorBatch &)> &done, int timeoutMs = 10000);

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<herd::Herd> m_herd;
    std::unique_ptr<herd::EventStream> m_events;
    std::vector<std::unique_ptr<FakeEndpoint>> m_endpoints;
    QList<MonitorBatchPtr> m_batches;
    bool m_unknownConfigKeys = false;   // as a herd newer than this monitor would send
    std::unique_ptr<QSignalSpy> m_spy;  // collect()'s, on m_spyTarget
    const herd::RemoteHerd *m_spyTarget = nullptr;
};

void tst_Remote::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
}

void tst_Remote::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    m_herd = std::make_unique<herd::Herd>(herdtest::lineOfThree(QString()));
    herd::Herd *h = m_herd.get();
    m_events = std::make_unique<herd::EventStream>([h] { return h->stats(); });
    m_herd->setEventStream(m_events.get());
    for (const QString &name : m_herd->config().nodeNames()) {
        auto endpoint = std::make_unique<FakeEndpoint>(name, [this, name] { return statusBody(name); });
        QVERIFY(endpoint->listen());
        endpoint->rememberPort();
        m_endpoints.push_back(std::move(endpoint));
    }
    connect(m_events.get(), &herd::EventStream::batchReady, this, [this](const MonitorBatchPtr &batch) {
        for (const auto &e : m_endpoints)
            e->publish(*batch);
        m_events->batchApplied();
    });
    QVERIFY2(m_herd->start(), qPrintable(m_herd->lastError()));
}

void tst_Remote::restartHerdEmpty()
{
    for (const auto &e : m_endpoints)
        e->closeAll();
    m_herd->setEventStream(nullptr);
    m_herd->stop();
    m_events.reset();
    m_herd = std::make_unique<herd::Herd>(herdtest::lineOfThree(QString()));
    herd::Herd *h = m_herd.get();
    m_events = std::make_unique<herd::EventStream>([h] { return h->stats(); });
    m_herd->setEventStream(m_events.get());
    connect(m_events.get(), &herd::EventStream::batchReady, this, [this](const MonitorBatchPtr &batch) {
        for (const auto &e : m_endpoints)
            e->publish(*batch);
        m_events->batchApplied();
    });
    QVERIFY2(m_herd->start(), qPrintable(m_herd->lastError()));
    for (const auto &e : m_endpoints)
        QVERIFY(e->listen(quint16(QUrl(e->url()).port())));
}

void tst_Remote::cleanup()
{
    for (const auto &e : m_endpoints)
        e->closeAll();
    m_endpoints.clear();
    if (m_herd) {
        m_herd->setEventStream(nullptr);
        m_herd->stop();
    }
    m_events.reset();
    m_herd.reset();
    m_batches.clear();
    m_unknownConfigKeys = false;
    m_spy.reset();
    m_spyTarget = nullptr;
    m_dir.reset();
}

QByteArray tst_Remote::statusBody(const QString &node) const
{
    QJsonObject endpoints;
    const QStringList names = m_herd->config().nodeNames();
    for (qsizetype i = 0; i < names.size() && i < qsizetype(m_endpoints.size()); ++i)
        endpoints.insert(names[i], m_endpoints[size_t(i)]->url());
    QJsonObject herdJson = m_herd->config().toJson();
    if (m_unknownConfigKeys) {
        herdJson.insert(u"from_the_future"_s, true);
        QJsonArray nodes = herdJson.value(u"nodes"_s).toArray();
        for (qsizetype i = 0; i < nodes.size(); ++i) {
            QJsonObject n = nodes.at(i).toObject();
            n.insert(u"also_new"_s, 1);
            nodes.replace(i, n);
        }
        herdJson.insert(u"nodes"_s, nodes);
    }
    const QJsonObject status{
        {u"node"_s, node},
        {u"hosted"_s, QJsonArray::fromStringList(names)},
        {u"herd"_s, herdJson},
        {u"endpoints"_s, endpoints},
        {u"build"_s, QJsonObject{{u"version"_s, u"test"_s}}},
    };
    return QJsonDocument(status).toJson(QJsonDocument::Compact);
}

bool tst_Remote::collect(herd::RemoteHerd &remote, const std::function<bool(const MonitorBatch &)> &done, int timeoutMs)
{
    // One spy for the remote's whole life: a batch emitted between two collect() calls waits
    // in it (unacknowledged, so the remote keeps merging) instead of being lost.
    if (m_spyTarget != &remote) {
        m_spy = std::make_unique<QSignalSpy>(&remote, &herd::RemoteHerd::batchReady);
        m_spyTarget = &remote;
    }
    QSignalSpy &spy = *m_spy;
    return QTest::qWaitFor([&] {
        bool met = false;
        while (!spy.isEmpty()) {
            auto batch = spy.takeFirst().at(0).value<MonitorBatchPtr>();
            m_batches.append(batch);
            remote.batchApplied();
            met = met || done(*batch);
        }
        return met;
    }, timeoutMs);
}

void tst_Remote::endpointUrl_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("url");
    QTest::newRow("host:port") << u"127.0.0.1:9100"_s << u"http://127.0.0.1:9100/"_s;
    QTest::newRow("name:port") << u"herd.example:9100"_s << u"http://herd.example:9100/"_s;
    QTest::newRow("base url") << u"http://10.0.0.2:9100/"_s << u"http://10.0.0.2:9100/"_s;
    QTest::newRow("status url") << u"http://10.0.0.2:9100/status"_s << u"http://10.0.0.2:9100/"_s;
    QTest::newRow("spaces") << u"  localhost:9100 "_s << u"http://localhost:9100/"_s;
    QTest::newRow("empty") << QString() << QString();
    QTest::newRow("https") << u"https://h:1/"_s << QString();
    QTest::newRow("no host") << u"http:///status"_s << QString();
}

void tst_Remote::endpointUrl()
{
    QFETCH(QString, text);
    QFETCH(QString, url);
    const QUrl got = herd::RemoteHerd::endpointUrl(text);
    QCOMPARE(got.isValid() ? got.toString() : QString(), url);
}

void tst_Remote::nodesAndStatsArrive()
{
    herd::RemoteHerd remote(QUrl(m_endpoints[1]->url()));   // any node's endpoint will do
    QSignalSpy attached(&remote, &herd::RemoteHerd::attached);
    remote.start();
    QVERIFY(attached.wait(10000));
    const auto config = attached.at(0).at(0).value<herd::HerdConfig>();
    QCOMPARE(config.nodeNames(), (QStringList{u"Hill"_s, u"Jaquez"_s, u"Smith"_s}));
    QCOMPARE(remote.endpoints().value(u"Smith"_s).toString(), m_endpoints[2]->url());
    QVERIFY2(collect(remote, [](const MonitorBatch &b) { return allRunningAndLinked(b, 3); }),
             "every node running with its links up, from three streams");
    // Stats are each node's own, with the ports it bound.
    const MonitorBatch &last = *m_batches.back();
    QCOMPARE(statsOf(last, u"Jaquez"_s)->port, m_herd->node(u"Jaquez"_s)->port());
    QCOMPARE(statsOf(last, u"Jaquez"_s)->links.size(), 2);
    QTRY_COMPARE(m_endpoints[0]->subscribers(), 1);
}

void tst_Remote::clientUpdateArrivesFromEveryNode()
{
    herd::RemoteHerd remote(QUrl(m_endpoints[0]->url()));
    remote.start();
    QVERIFY(collect(remote, [](const MonitorBatch &b) { return allRunningAndLinked(b, 3); }));
    TestClient client(m_herd->node(u"Jaquez"_s)->port());
    QVERIFY(client.isConnected());
    client.send("IAMAT remote-phone +34.068930-118.445127 1621464827.959498503\n");
    QVERIFY(client.readLine().startsWith("AT Jaquez "));
    QSet<QString> holders;
    bool sawIamat = false;
    bool inOrder = true;
    QVERIFY2(collect(remote, [&](const MonitorBatch &b) {
        for (const auto &u : b.stored)
            if (u.client == "remote-phone")
                holders.insert(u.node);
        for (qsizetype i = 0; i < b.traffic.size(); ++i) {
            const auto &r = b.traffic[i];
            sawIamat = sawIamat || (r.node == u"Jaquez"_s && r.kind == herd::LineKind::Iamat
                                    && r.text.contains("remote-phone"));
            inOrder = inOrder && (i == 0 || b.traffic[i - 1].timeUs <= r.timeUs);
        }
        return holders.size() == 3 && sawIamat;
    }), "the update stored at all three nodes and the IAMAT line, merged from three streams");
    QVERIFY2(inOrder, "merged traffic is in time order");
    bool originHop = false;
    for (const auto &b : std::as_const(m_batches))
        for (const auto &h : b->hops)
            originHop = originHop || (h.client == "remote-phone" && h.to == u"Jaquez"_s && h.from.isEmpty());
    QVERIFY2(originHop, "the first hop (client to Jaquez) came through");
}

void tst_Remote::killedStreamMarksTheNodeDownUntilItReturns()
{
    herd::RemoteHerd remote(QUrl(m_endpoints[0]->url()));
    QSignalSpy errors(&remote, &herd::RemoteHerd::errorOccurred);
    remote.start();
    QVERIFY(collect(remote, [](const MonitorBatch &b) { return allRunningAndLinked(b, 3); }));
    FakeEndpoint &smith = *m_endpoints[2];
    const quint16 port = smith.port();
    smith.closeAll();   // the process is gone
    QVERIFY2(collect(remote, [](const MonitorBatch &b) {
        const NodeStats *s = statsOf(b, u"Smith"_s);
        return s && !s->running && statsOf(b, u"Hill"_s)->running;
    }), "Smith shown not running, the others still running");
    QVERIFY(errors.count() > 0 || errors.wait(5000));
    const QString error = errors.at(0).at(0).toString();
    QVERIFY2(error.contains(u"127.0.0.1:%1"_s.arg(port)) && error.contains(u"Smith"_s), qPrintable(error));
    // Retried every second: when the endpoint is back, so is Smith.
    QVERIFY(smith.listen(port));
    QVERIFY2(collect(remote, [](const MonitorBatch &b) { return allRunningAndLinked(b, 3); }),
             "Smith back once its endpoint answers again");
    QVERIFY2(errors.count() <= 2, "a failure is reported once, not on every retry");
}

void tst_Remote::trafficIsBoundedWhileTheGuiIsBusy()
{
    herd::RemoteHerd remote(QUrl(m_endpoints[0]->url()));
    remote.start();
    QVERIFY(collect(remote, [](const MonitorBatch &b) { return allRunningAndLinked(b, 3); }));
    // The GUI is busy: one more batch goes out, then nothing until it is acknowledged.
    QSignalSpy spy(&remote, &herd::RemoteHerd::batchReady);
    QVERIFY(spy.wait(5000));
    TestClient client(m_herd->node(u"Hill"_s)->port());
    QByteArray lines;
    for (int i = 0; i < 1200; ++i)
        lines += "IAMAT busy-" + QByteArray::number(i) + " +1+2 1621464827." + QByteArray::number(i) + '\n';
    client.send(lines);
    QVERIFY2(QTest::qWaitFor([&] { return remote.pendingTrafficDropped() > 0; }, 10000),
             "three streams merged while the GUI was busy overflow the bound");
    QCOMPARE(remote.pendingTrafficRows(), herd::EventStream::kMaxTrafficRows);
    QCOMPARE(spy.count(), 1);
    spy.clear();
    remote.batchApplied();
    QVERIFY(spy.wait(5000));
    const auto batch = spy.at(0).at(0).value<MonitorBatchPtr>();
    QCOMPARE(batch->traffic.size(), herd::EventStream::kMaxTrafficRows);
    QVERIFY2(batch->trafficDropped > 0, "what did not fit is counted");
    for (qsizetype i = 1; i < batch->traffic.size(); ++i)
        QVERIFY(batch->traffic[i - 1].timeUs <= batch->traffic[i].timeUs);
    QVERIFY2(batch->stored.size() > 1000, "stored updates merge, they are not dropped");
}

void tst_Remote::unreachableStatusIsReportedAndRetried()
{
    FakeEndpoint later(u"Hill"_s, [this] { return statusBody(u"Hill"_s); });
    QVERIFY(later.listen());
    const quint16 port = later.port();
    later.closeAll();   // nobody there yet
    herd::RemoteHerd remote(QUrl(u"http://127.0.0.1:%1/"_s.arg(port)));
    QSignalSpy errors(&remote, &herd::RemoteHerd::errorOccurred);
    QSignalSpy attached(&remote, &herd::RemoteHerd::attached);
    remote.start();
    QVERIFY(errors.wait(10000));
    QVERIFY2(errors.at(0).at(0).toString().contains(u"http://127.0.0.1:%1/status"_s.arg(port)),
             qPrintable(errors.at(0).at(0).toString()));
    QVERIFY(later.listen(port));
    QVERIFY2(attached.wait(10000), "attached once the endpoint answers");
}

void tst_Remote::newerHerdConfigIsReadInPart()
{
    m_unknownConfigKeys = true;
    herd::RemoteHerd remote(QUrl(m_endpoints[0]->url()));
    QSignalSpy attached(&remote, &herd::RemoteHerd::attached);
    remote.start();
    QVERIFY2(attached.wait(10000), "keys this monitor does not know do not keep it from attaching");
    const auto config = attached.at(0).at(0).value<herd::HerdConfig>();
    QCOMPARE(config.nodeNames(), m_herd->config().nodeNames());
    QCOMPARE(config.links, m_herd->config().links);
    QCOMPARE(config.node(u"Smith"_s)->port, m_herd->node(u"Smith"_s)->port());
    QVERIFY(collect(remote, [](const MonitorBatch &b) { return allRunningAndLinked(b, 3); }));
}

void tst_Remote::windowAttachedToARemoteHerd()
{
    herd::MainWindow window;
    window.resize(1400, 900);
    window.show();
    window.connectRemote(herd::RemoteHerd::endpointUrl(u"127.0.0.1:%1"_s.arg(m_endpoints[0]->port())));
    QVERIFY(window.isRemote());
    QCOMPARE(QSettings().value(u"remote/recent"_s).toStringList().value(0), m_endpoints[0]->url());   // offered next time
    bool hasConnectAction = false;
    for (QAction *a : window.menuBar()->actions().constFirst()->menu()->actions())
        hasConnectAction = hasConnectAction || a->text() == u"&Connect to herd…"_s;
    QVERIFY2(hasConnectAction, "File > Connect to herd…");
    QVERIFY2(window.windowTitle().contains(m_endpoints[0]->url()), qPrintable(window.windowTitle()));
    QVERIFY(window.host() == nullptr);

    // The same views as in-process: nodes, links, topology.
    const herd::NodeTableModel *nodes = window.nodeModel();
    QTRY_COMPARE_WITH_TIMEOUT(nodes->rowCount(), 3, 10000);
    QVERIFY(QTest::qWaitFor([&] { return herdtest::allLinkRowsUp(*window.linkModel(), 4); }, 10000));
    QTRY_COMPARE(window.topology()->edgeItem(u"Hill"_s, u"Jaquez"_s)->state(), herd::EdgeState::Up);

    // In-process controls are off, and say why.
    bool sawControl = false;
    for (QAction *a : window.findChildren<QAction *>()) {
        if (a->text().contains(u"Stop all"_s) || a->text().contains(u"S&top all"_s)) {
            sawControl = true;
            QVERIFY(!a->isEnabled());
            QVERIFY2(a->toolTip().contains(u"remote"_s), qPrintable(a->toolTip()));
        }
    }
    QVERIFY(sawControl);
    herd::TopologyView *topo = window.topology();
    std::unique_ptr<QMenu> menu(topo->createContextMenu(topo->nodeItem(u"Smith"_s)->scenePos()));
    QVERIFY(menu);
    for (QAction *a : menu->actions())
        if (!a->isSeparator())
            QVERIFY2(!a->isEnabled(), qPrintable(a->text()));

    // The console dials the node from the remote config: the update shows in table, map and traffic.
    consoleIamatShowsEverywhere(window, u"Smith"_s, "remote-ui", u"+51.5074-0.1278"_s);
    if (QTest::currentTestFailed())
        return;

    // A stream lost while the node itself still runs: the table says there is no stream, the
    // topology judges the node by its neighbours (alive: their links to it are up), and the
    // status bar says why.
    QSignalSpy problems(&window, &herd::MainWindow::sourceProblem);
    m_endpoints[2]->closeAll();
    const int smithRow = [&] {
        for (int r = 0; r < window.nodeModel()->rowCount(); ++r)
            if (window.nodeModel()->index(r, herd::NodeTableModel::Name).data().toString() == u"Smith"_s)
                return r;
        return -1;
    }();
    QVERIFY(smithRow >= 0);
    QTRY_COMPARE_WITH_TIMEOUT(window.nodeModel()->index(smithRow, herd::NodeTableModel::State).data().toString(),
                              u"no stream"_s, 10000);
    QCOMPARE(topo->nodeItem(u"Smith"_s)->state(), herd::NodeState::Alive);
    QVERIFY(problems.count() > 0 || problems.wait(5000));

    // Back to in-process mode: controls on again.
    window.loadHerd(herdtest::singleNode(QString()));
    QVERIFY(!window.isRemote());
    QVERIFY(window.host() != nullptr);
    for (QAction *a : window.findChildren<QAction *>())
        if (a->text().contains(u"S&top all"_s))
            QVERIFY(a->isEnabled());
    QTRY_COMPARE(nodes->rowCount(), 1);
}

void tst_Remote::nodesRestartedEmptyHoldNothing()
{
    herd::MainWindow window;
    window.resize(1400, 900);
    window.show();
    window.connectRemote(herd::RemoteHerd::endpointUrl(u"127.0.0.1:%1"_s.arg(m_endpoints[0]->port())));
    QTRY_COMPARE_WITH_TIMEOUT(window.nodeModel()->rowCount(), 3, 10000);
    QVERIFY(QTest::qWaitFor([&] { return herdtest::allLinkRowsUp(*window.linkModel(), 4); }, 10000));
    consoleIamatShowsEverywhere(window, u"Smith"_s, "before-restart", u"+51.5074-0.1278"_s);
    if (QTest::currentTestFailed())
        return;
    // With no stream, the details say so (not "stopped": the node may well run).
    m_endpoints[2]->closeAll();
    window.topology()->selectNode(u"Smith"_s);
    QTRY_VERIFY_WITH_TIMEOUT(window.nodeDetailsText().contains(u"no stream"_s), 10000);
    QVERIFY2(!window.nodeDetailsText().contains(u"stopped"_s), qPrintable(window.nodeDetailsText()));

    // Every node restarted with nothing stored: nobody holds the client any more.
    restartHerdEmpty();
    if (QTest::currentTestFailed())
        return;
    QTRY_VERIFY_WITH_TIMEOUT(!window.clientModel()->indexOfClient("before-restart").isValid(), 15000);
    QVERIFY(QTest::qWaitFor([&] { return herdtest::allLinkRowsUp(*window.linkModel(), 4); }, 10000));
    // A client sent after the restart is held by all three again.
    consoleIamatShowsEverywhere(window, u"Hill"_s, "after-restart", u"+10+20"_s);
}

// End to end: the real `herd --headless` binary with a status endpoint per node, the window
// attached to it, a console command and its effect in every view.
void tst_Remote::windowAttachedToHeadlessProcess()
{
    const QString binary = qEnvironmentVariable("HERD_TEST_BINARY");
    if (binary.isEmpty())
        QSKIP("HERD_TEST_BINARY is not set (ctest sets it to the built herd)");
    // Hill – Jaquez – Smith on free client ports, each with a status endpoint on any free port.
    const QStringList names{u"Hill"_s, u"Jaquez"_s, u"Smith"_s};
    QJsonArray nodes;
    for (const QString &name : names) {
        QTcpServer probe;   // a port that was free a moment ago
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        const quint16 port = probe.serverPort();
        probe.close();
        nodes.append(QJsonObject{{u"name"_s, name}, {u"host"_s, u"127.0.0.1"_s}, {u"port"_s, port}, {u"status_port"_s, 0}});
    }
    const QJsonObject config{
        {u"nodes"_s, nodes},
        {u"links"_s, QJsonArray{QJsonArray{u"Hill"_s, u"Jaquez"_s}, QJsonArray{u"Jaquez"_s, u"Smith"_s}}},
        {u"places"_s, QJsonObject{{u"provider"_s, u"offline"_s}}},
        {u"peers"_s, QJsonObject{{u"heartbeat_ms"_s, 100}}},
        {u"log_dir"_s, QString()},
    };
    QFile file(m_dir->filePath(u"herd.json"_s));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QJsonDocument(config).toJson());
    file.close();

    QProcess proc;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(u"GOOGLE_PLACES_API_KEY"_s);
    env.remove(u"HERD_PEER_SECRET"_s);
    proc.setProcessEnvironment(env);
    proc.setWorkingDirectory(m_dir->path());
    proc.start(binary, {u"--headless"_s, u"--config"_s, file.fileName(), u"--stats-interval"_s, u"0"_s});
    QVERIFY(proc.waitForStarted(10000));
    const auto stopProcess = qScopeGuard([&proc] {
        proc.kill();
        proc.waitForFinished(5000);
    });
    // "herd: <Node> status on http://<host>:<port>/", one per node, once listening.
    static const QRegularExpression line(uR"(^herd: (\S+) status on (http://\S+/)$)"_s, QRegularExpression::MultilineOption);
    QByteArray err;
    QHash<QString, QString> endpoints;
    static_cast<void>(QTest::qWaitFor([&] {
        err += proc.readAllStandardError();
        for (auto it = line.globalMatch(QString::fromUtf8(err)); it.hasNext();) {
            const auto m = it.next();
            endpoints.insert(m.captured(1), m.captured(2));
        }
        return endpoints.size() == names.size() || proc.state() == QProcess::NotRunning;
    }, 10000));
    QVERIFY2(endpoints.size() == names.size(), err.constData());

    herd::MainWindow window;
    window.resize(1400, 900);
    window.show();
    window.connectRemote(QUrl(endpoints.value(u"Jaquez"_s)));
    QVERIFY2(window.windowTitle().contains(endpoints.value(u"Jaquez"_s)), qPrintable(window.windowTitle()));
    // Every node running, every link up.
    const herd::NodeTableModel *nodeModel = window.nodeModel();
    QVERIFY2(QTest::qWaitFor([&] {
        if (nodeModel->rowCount() != names.size())
            return false;
        for (int r = 0; r < nodeModel->rowCount(); ++r)
            if (nodeModel->index(r, herd::NodeTableModel::State).data().toString() != u"running"_s)
                return false;
        return true;
    }, 10000), err.constData());
    QVERIFY(QTest::qWaitFor([&] { return herdtest::allLinkRowsUp(*window.linkModel(), 4); }, 10000));
    QTRY_COMPARE(window.topology()->edgeItem(u"Jaquez"_s, u"Smith"_s)->state(), herd::EdgeState::Up);

    // An IAMAT through the console reaches the process; its effect shows in table, map, traffic.
    consoleIamatShowsEverywhere(window, u"Hill"_s, "e2e-phone", u"+48.8566+2.3522"_s);
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(window.clientModel()->indexOfClient("e2e-phone", herd::ClientTableModel::Origin).data().toString(), u"Hill"_s);

    // The process killed: no node has a stream, and with nobody left to see them the topology
    // says it does not know (not "stopped": the monitor cannot tell).
    proc.kill();
    proc.waitForFinished(5000);
    QVERIFY(QTest::qWaitFor([&] {
        for (int r = 0; r < nodeModel->rowCount(); ++r)
            if (nodeModel->index(r, herd::NodeTableModel::State).data().toString() != u"no stream"_s)
                return false;
        return true;
    }, 10000));
    for (const QString &name : names)
        QCOMPARE(window.topology()->nodeItem(name)->state(), herd::NodeState::Unknown);
}

// `herd --connect URL` opens the monitor attached (here with --screenshot, which exits once
// every node runs with its links up); bad uses are one line on stderr and a non-zero exit.
void tst_Remote::connectCommandLine()
{
    const QString binary = qEnvironmentVariable("HERD_TEST_BINARY");
    if (binary.isEmpty())
        QSKIP("HERD_TEST_BINARY is not set (ctest sets it to the built herd)");
    const auto run = [&](const QStringList &args, QByteArray *err) {
        QProcess proc;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(u"QT_QPA_PLATFORM"_s, u"offscreen"_s);
        env.insert(u"XDG_CONFIG_HOME"_s, m_dir->path());   // its settings, not the user's
        proc.setProcessEnvironment(env);
        proc.start(binary, args);
        // The fake endpoints are served by this event loop: wait without blocking it.
        if (!proc.waitForStarted(10000)
            || !QTest::qWaitFor([&proc] { return proc.state() == QProcess::NotRunning; }, 30000)) {
            proc.kill();
            proc.waitForFinished(5000);
            return -1;
        }
        *err = proc.readAllStandardError();
        return proc.exitStatus() == QProcess::NormalExit ? proc.exitCode() : -1;
    };
    QByteArray err;
    const QString picture = m_dir->filePath(u"remote.png"_s);
    QCOMPARE(run({u"--connect"_s, u"127.0.0.1:%1"_s.arg(m_endpoints[1]->port()), u"--screenshot"_s, picture}, &err), 0);
    QVERIFY2(QFileInfo(picture).size() > 0, err.constData());

    QCOMPARE(run({u"--connect"_s, u"ftp://nowhere/"_s}, &err), 2);
    QVERIFY2(err.contains("herd: --connect: not a status endpoint address"), err.constData());
    QCOMPARE(run({u"--connect"_s, u"127.0.0.1:9"_s, u"--headless"_s}, &err), 2);
    QVERIFY2(err.contains("herd: --connect cannot be combined with --headless"), err.constData());
}

QTEST_MAIN(tst_Remote)
#include "tst_remote.moc"
