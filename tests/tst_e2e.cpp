// End to end: the real `herd` binary, one or more processes, driven over real TCP.
// The binary comes from HERD_TEST_BINARY (set by ctest); without it the tests skip.
#include "testclient.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QHostAddress>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QSignalSpy>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <memory>
#include <sys/types.h>
#include <vector>

using namespace Qt::StringLiterals;
using herdtest::TestClient;

namespace {

constexpr int kStartTimeoutMs = 10000;   // process start up to "herd: serving"
constexpr int kFloodTimeoutMs = 8000;    // an update crossing the herd, redials included

// A port that was free a moment ago: bind to 0, read it, let it go.
quint16 freePort()
{
    QTcpServer server;
    if (!server.listen(QHostAddress::LocalHost, 0))
        return 0;
    const quint16 port = server.serverPort();
    server.close();
    return port;
}

// A client time near now, so skews stay small; `tick` keeps successive updates distinct.
QByteArray clientTime(int tick)
{
    return QByteArray::number(QDateTime::currentSecsSinceEpoch()) + '.'
        + QByteArray::number(100000000 + tick);
}

// One line, one reply line: the AT answer to an IAMAT (empty on timeout).
QByteArray iamat(quint16 port, const QByteArray &client, const QByteArray &location,
                 const QByteArray &time, int timeoutMs = 5000)
{
    TestClient c(port);
    if (!c.isConnected())
        return {};
    c.send("IAMAT " + client + ' ' + location + ' ' + time + '\n');
    bool ok = false;
    const QByteArray line = c.readLine(&ok, timeoutMs);
    return ok ? line : QByteArray();
}

struct WhatsAt {
    QByteArray firstLine;   // the AT line, or "? ..." for an unknown client; empty on timeout
    QByteArray json;        // the Places part without its "\n\n"
};

WhatsAt whatsat(quint16 port, const QByteArray &client, int bound = 3)
{
    WhatsAt out;
    TestClient c(port);
    if (!c.isConnected())
        return out;
    c.send("WHATSAT " + client + " 10 " + QByteArray::number(bound) + '\n');
    bool ok = false;
    out.firstLine = c.readLine(&ok, 5000);
    if (!ok || !out.firstLine.startsWith("AT "))
        return out;
    out.json = c.readUntil("\n\n", &ok, 15000);
    if (!ok) {
        out.firstLine.clear();
        return out;
    }
    out.json.chop(2);
    return out;
}

QByteArray whatsatFirstLine(quint16 port, const QByteArray &client)
{
    return whatsat(port, client).firstLine;
}

bool isAtReply(const QByteArray &line, const QByteArray &node, const QByteArray &client,
               const QByteArray &location, const QByteArray &time)
{
    static const QRegularExpression skew(u"\\A[+-][0-9]+\\.[0-9]{9}\\z"_s);
    const QList<QByteArray> f = line.split(' ');
    return f.size() == 6 && f[0] == "AT" && f[1] == node
        && skew.match(QString::fromLatin1(f[2])).hasMatch()
        && f[3] == client && f[4] == location && f[5] == time;
}

// A running `herd --headless` child. Owned by the test; killed in cleanup() at the latest.
struct Child {
    std::unique_ptr<QProcess> proc = std::make_unique<QProcess>();
    QByteArray out;
    QByteArray err;

    void drain()
    {
        out += proc->readAllStandardOutput();
        err += proc->readAllStandardError();
    }
};

} // namespace

class tst_E2E : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();

    void onePerNodeSurvivesKill();
    void headlessCommandLine();
    void logsEveryLine();
    void statusEndpoint();
    void nodesSharedOverThreads();

private:
    // Writes a config of `nodes` on fresh ports with `links` into m_dir; returns its path.
    QString writeConfig(const QStringList &nodes, const QList<QPair<QString, QString>> &links,
                        const QString &fileName = u"herd.json"_s);
    Child *launch(const QStringList &args);
    // Starts `herd --headless` for the given nodes and waits until it reports serving them.
    Child *startNodes(const QString &config, const QStringList &nodes, const QStringList &extraArgs = {});
    // Runs a short-lived `herd` to completion.
    bool runToExit(const QStringList &args, int *exitCode, QByteArray *out, QByteArray *err);
    QString diagnostics();

    QString m_binary;
    std::unique_ptr<QTemporaryDir> m_dir;
    QHash<QString, quint16> m_ports;
    std::vector<std::unique_ptr<Child>> m_children;
};

void tst_E2E::initTestCase()
{
    m_binary = qEnvironmentVariable("HERD_TEST_BINARY");
    if (m_binary.isEmpty())
        QSKIP("HERD_TEST_BINARY is not set (ctest sets it to the built herd)");
    QVERIFY2(QFileInfo(m_binary).isExecutable(), qPrintable(m_binary + u" is not executable"_s));
}

void tst_E2E::cleanup()
{
    for (auto &child : m_children) {
        if (child->proc->state() != QProcess::NotRunning) {
            child->proc->kill();
            child->proc->waitForFinished(5000);
        }
    }
    m_children.clear();
    m_ports.clear();
    m_dir.reset();
}

QString tst_E2E::writeConfig(const QStringList &nodes, const QList<QPair<QString, QString>> &links,
                             const QString &fileName)
{
    if (!m_dir)
        m_dir = std::make_unique<QTemporaryDir>();
    if (!m_dir->isValid())
        return {};
    QJsonArray nodeArray;
    for (const QString &name : nodes) {
        const quint16 port = freePort();
        if (port == 0)
            return {};
        m_ports.insert(name, port);
        nodeArray.append(QJsonObject{{u"name"_s, name}, {u"host"_s, u"127.0.0.1"_s}, {u"port"_s, port}});
    }
    QJsonArray linkArray;
    for (const auto &[a, b] : links)
        linkArray.append(QJsonArray{a, b});
    const QJsonObject root{
        {u"nodes"_s, nodeArray},
        {u"links"_s, linkArray},
        {u"places"_s, QJsonObject{{u"provider"_s, u"offline"_s}}},
        {u"log_dir"_s, m_dir->filePath(u"logs"_s)},
    };
    const QString path = m_dir->filePath(fileName);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return {};
    file.write(QJsonDocument(root).toJson());
    return path;
}

Child *tst_E2E::launch(const QStringList &args)
{
    auto child = std::make_unique<Child>();
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(u"QT_QPA_PLATFORM"_s, u"offscreen"_s);
    env.remove(u"GOOGLE_PLACES_API_KEY"_s);
    env.remove(u"HERD_PEER_SECRET"_s);
    child->proc->setProcessEnvironment(env);
    child->proc->setWorkingDirectory(m_dir ? m_dir->path() : QDir::tempPath());
    child->proc->start(m_binary, args);
    m_children.push_back(std::move(child));
    return m_children.back().get();
}

Child *tst_E2E::startNodes(const QString &config, const QStringList &nodes, const QStringList &extraArgs)
{
    QStringList args{u"--headless"_s, u"--config"_s, config, u"--stats-interval"_s, u"0"_s};
    args += extraArgs;
    for (const QString &n : nodes)
        args << u"--node"_s << n;
    Child *child = launch(args);
    if (!child->proc->waitForStarted(kStartTimeoutMs))
        return nullptr;
    // "herd: serving ..." is printed once every hosted node listens.
    const bool settled = QTest::qWaitFor([child] {
        child->drain();
        return child->out.contains("herd: serving") || child->proc->state() == QProcess::NotRunning;
    }, kStartTimeoutMs);
    child->drain();
    if (!settled || !child->out.contains("herd: serving"))
        return nullptr;
    // And each one takes connections.
    for (const QString &n : nodes) {
        TestClient probe(m_ports.value(n));
        if (!probe.isConnected())
            return nullptr;
    }
    return child;
}

bool tst_E2E::runToExit(const QStringList &args, int *exitCode, QByteArray *out, QByteArray *err)
{
    Child *child = launch(args);
    if (!child->proc->waitForFinished(10000))
        return false;
    child->drain();
    *exitCode = child->proc->exitStatus() == QProcess::NormalExit ? child->proc->exitCode() : -1;
    *out = child->out;
    *err = child->err;
    return true;
}

QString tst_E2E::diagnostics()
{
    QString text;
    for (auto &child : m_children) {
        child->drain();
        text += u"\n--- "_s + child->proc->arguments().join(u' ') + u"\nstdout: "_s
            + QString::fromLocal8Bit(child->out.right(2000)) + u"\nstderr: "_s
            + QString::fromLocal8Bit(child->err.right(2000));
    }
    return text;
}

// The classic five-node herd, one process per node. Smith dies by SIGKILL: the rest keep
// answering at once and keep flooding around it; when Smith comes back, catch-up brings it
// everything it missed.
void tst_E2E::onePerNodeSurvivesKill()
{
    const QStringList names{u"Hill"_s, u"Jaquez"_s, u"Smith"_s, u"Campbell"_s, u"Singleton"_s};
    const QList<QPair<QString, QString>> links{
        {u"Hill"_s, u"Jaquez"_s}, {u"Hill"_s, u"Smith"_s}, {u"Singleton"_s, u"Jaquez"_s},
        {u"Singleton"_s, u"Smith"_s}, {u"Singleton"_s, u"Campbell"_s}, {u"Smith"_s, u"Campbell"_s}};
    const QString config = writeConfig(names, links);
    QVERIFY2(!config.isEmpty(), "cannot write the herd config");

    QHash<QString, Child *> procs;
    for (const QString &n : names) {
        Child *c = startNodes(config, {n});
        QVERIFY2(c, qPrintable(u"node %1 did not start"_s.arg(n) + diagnostics()));
        procs.insert(n, c);
    }
    const quint16 hill = m_ports.value(u"Hill"_s);
    const quint16 smith = m_ports.value(u"Smith"_s);
    const quint16 campbell = m_ports.value(u"Campbell"_s);
    const quint16 singleton = m_ports.value(u"Singleton"_s);

    // Up and linked: an update given to Hill is answered by Campbell, three hops away.
    const QByteArray loc = "+34.068930-118.445127";
    const QByteArray warmTime = clientTime(1);
    const QByteArray warmAt = iamat(hill, "warmup", loc, warmTime);
    QVERIFY2(isAtReply(warmAt, "Hill", "warmup", loc, warmTime), warmAt.constData());
    QTRY_COMPARE_WITH_TIMEOUT(whatsatFirstLine(campbell, "warmup"), warmAt, kFloodTimeoutMs);

    // And every node holds it, with Hill's line byte for byte (not rebuilt with its own name).
    for (const QString &n : names)
        QTRY_COMPARE_WITH_TIMEOUT(whatsatFirstLine(m_ports.value(n), "warmup"), warmAt, kFloodTimeoutMs);

    // The WHATSAT body is the legacy Nearby Search shape, cut to the bound.
    const WhatsAt full = whatsat(campbell, "warmup", 2);
    QCOMPARE(full.firstLine, warmAt);
    QJsonParseError parseError;
    const QJsonDocument body = QJsonDocument::fromJson(full.json, &parseError);
    QVERIFY2(parseError.error == QJsonParseError::NoError && body.isObject(), full.json.constData());
    QVERIFY2(body.object().value(u"results"_s).isArray(), full.json.constData());
    QVERIFY(body.object().value(u"results"_s).toArray().size() <= 2);
    QVERIFY2(body.object().value(u"status"_s).isString(), full.json.constData());
    QVERIFY2(!full.json.contains("\n\n"), "a blank line inside a WHATSAT reply");

    // SIGKILL: no goodbye, the neighbours learn it from the socket (or the missing heartbeats).
    QProcess *smithProc = procs.value(u"Smith"_s)->proc.get();
    smithProc->kill();
    QVERIFY(smithProc->waitForFinished(5000));

    // Every live node answers, even those whose neighbour just died (how soon, in the node's own
    // heartbeat ticks, is tst_node's slowNeighbourPausesClientsInsteadOfDropping).
    int tick = 10;
    for (const QString &n : names) {
        if (n == u"Smith"_s)
            continue;
        const QByteArray client = "quick-" + n.toLatin1();
        const QByteArray time = clientTime(++tick);
        const QByteArray at = iamat(m_ports.value(n), client, loc, time);
        QVERIFY2(isAtReply(at, n.toLatin1(), client, loc, time),
                 qPrintable(u"%1 answered \"%2\""_s.arg(n, QString::fromLatin1(at))));
    }

    // Hill -> Jaquez -> Singleton -> Campbell still carries updates without Smith.
    const QByteArray missedTime = clientTime(++tick);
    const QByteArray missedAt = iamat(hill, "missed", "-33.8688+151.2093", missedTime);
    QVERIFY2(isAtReply(missedAt, "Hill", "missed", "-33.8688+151.2093", missedTime), missedAt.constData());
    QTRY_COMPARE_WITH_TIMEOUT(whatsatFirstLine(singleton, "missed"), missedAt, kFloodTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(whatsatFirstLine(campbell, "missed"), missedAt, kFloodTimeoutMs);

    // A newer update overwrites; an older one is answered but changes nothing anywhere.
    const QByteArray newerTime = clientTime(++tick);
    const QByteArray newerAt = iamat(hill, "missed", "+34-118", newerTime);
    QVERIFY2(isAtReply(newerAt, "Hill", "missed", "+34-118", newerTime), newerAt.constData());
    QTRY_COMPARE_WITH_TIMEOUT(whatsatFirstLine(campbell, "missed"), newerAt, kFloodTimeoutMs);
    const QByteArray staleAt = iamat(singleton, "missed", "+1+2", missedTime);
    QVERIFY2(isAtReply(staleAt, "Singleton", "missed", "+1+2", missedTime), staleAt.constData());
    QCOMPARE(whatsatFirstLine(singleton, "missed"), newerAt);

    // Smith comes back on the same port with an empty store: catch-up on link up, with no new
    // traffic, must give it what it missed and what it had before it died.
    Child *again = startNodes(config, {u"Smith"_s});
    QVERIFY2(again, qPrintable(u"Smith did not restart"_s + diagnostics()));
    QTRY_COMPARE_WITH_TIMEOUT(whatsatFirstLine(smith, "missed"), newerAt, kFloodTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(whatsatFirstLine(smith, "warmup"), warmAt, kFloodTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(whatsatFirstLine(smith, "quick-Campbell"),
                              whatsatFirstLine(campbell, "quick-Campbell"), kFloodTimeoutMs);

    // And it floods again: Smith -> Hill -> Jaquez.
    const QByteArray backTime = clientTime(++tick);
    const QByteArray backAt = iamat(smith, "back", loc, backTime);
    QVERIFY2(isAtReply(backAt, "Smith", "back", loc, backTime), backAt.constData());
    QTRY_COMPARE_WITH_TIMEOUT(whatsatFirstLine(m_ports.value(u"Jaquez"_s), "back"), backAt, kFloodTimeoutMs);

    for (const QString &n : names) {
        Child *c = n == u"Smith"_s ? again : procs.value(n);
        QVERIFY2(c->proc->state() == QProcess::Running,
                 qPrintable(u"%1 exited"_s.arg(n) + diagnostics()));
    }
}

void tst_E2E::headlessCommandLine()
{
    const QString config = writeConfig({u"A"_s, u"B"_s}, {{u"A"_s, u"B"_s}});
    QVERIFY(!config.isEmpty());
    int code = -1;
    QByteArray out, err;

    // --print-config: the effective config as JSON.
    QVERIFY(runToExit({u"--config"_s, config, u"--print-config"_s}, &code, &out, &err));
    QVERIFY2(code == 0, err.constData());
    QJsonParseError parseError;
    const QJsonDocument printed = QJsonDocument::fromJson(out, &parseError);
    QVERIFY2(parseError.error == QJsonParseError::NoError && printed.isObject(), out.constData());
    const QJsonArray nodes = printed.object().value(u"nodes"_s).toArray();
    QCOMPARE(nodes.size(), 2);
    QCOMPARE(nodes.at(0).toObject().value(u"name"_s).toString(), u"A"_s);
    QCOMPARE(nodes.at(0).toObject().value(u"port"_s).toInt(), int(m_ports.value(u"A"_s)));
    QCOMPARE(nodes.at(1).toObject().value(u"name"_s).toString(), u"B"_s);
    QCOMPARE(printed.object().value(u"places"_s).toObject().value(u"provider"_s).toString(), u"offline"_s);

    // A bad value: non-zero, one line on stderr naming its JSON path.
    const QString bad = m_dir->filePath(u"bad.json"_s);
    {
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({"nodes":[{"name":"A","port":99999}]})");
    }
    QVERIFY(runToExit({u"--headless"_s, u"--config"_s, bad}, &code, &out, &err));
    QVERIFY2(code != 0, "a bad config must fail");
    QVERIFY2(err.contains("nodes[0].port"), err.constData());
    QVERIFY2(err.endsWith('\n') && err.count('\n') == 1, err.constData());

    // A node not in the config.
    QVERIFY(runToExit({u"--headless"_s, u"--config"_s, config, u"--node"_s, u"Nope"_s}, &code, &out, &err));
    QVERIFY2(code != 0, "an unknown node must fail");
    QVERIFY2(err.contains("Nope"), err.constData());

    // An unknown option.
    QVERIFY(runToExit({u"--headless"_s, u"--config"_s, config, u"--no-such-option"_s}, &code, &out, &err));
    QVERIFY2(code != 0, "an unknown option must fail");
    QVERIFY2(err.contains("no-such-option"), err.constData());

    // The port is taken: non-zero with a message naming the port, and no half-started server.
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
    const QString busy = m_dir->filePath(u"busy.json"_s);
    {
        QFile f(busy);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QJsonDocument(QJsonObject{
            {u"nodes"_s, QJsonArray{QJsonObject{{u"name"_s, u"A"_s}, {u"port"_s, squatter.serverPort()}}}},
            {u"places"_s, QJsonObject{{u"provider"_s, u"offline"_s}}},
            {u"log_dir"_s, m_dir->filePath(u"busylogs"_s)}}).toJson());
    }
    QVERIFY(runToExit({u"--headless"_s, u"--config"_s, busy, u"--stats-interval"_s, u"0"_s},
                      &code, &out, &err));
    QVERIFY2(code != 0, "a busy port must fail");
    QVERIFY2(err.contains(QByteArray::number(squatter.serverPort())), err.constData());
    QVERIFY2(!out.contains("serving"), out.constData());

    // SIGTERM stops a running herd gracefully: exit 0.
    Child *running = startNodes(config, {u"A"_s, u"B"_s});
    QVERIFY2(running, qPrintable(u"herd did not start"_s + diagnostics()));
    QVERIFY(::kill(pid_t(running->proc->processId()), SIGTERM) == 0);
    QVERIFY2(running->proc->waitForFinished(5000), "SIGTERM did not stop the herd");
    QCOMPARE(running->proc->exitStatus(), QProcess::NormalExit);
    running->drain();
    QVERIFY2(running->proc->exitCode() == 0, running->err.constData());
}

void tst_E2E::logsEveryLine()
{
    // Two nodes in one process: the link between them is still real TCP.
    const QString config = writeConfig({u"Hill"_s, u"Jaquez"_s}, {{u"Hill"_s, u"Jaquez"_s}});
    QVERIFY(!config.isEmpty());
    // Level io: every line (headless defaults to events).
    QVERIFY2(startNodes(config, {u"Hill"_s, u"Jaquez"_s}, {u"--log-level"_s, u"io"_s}), qPrintable(diagnostics()));
    const quint16 hill = m_ports.value(u"Hill"_s);
    const quint16 jaquez = m_ports.value(u"Jaquez"_s);

    const QByteArray loc = "+34.068930-118.445127";
    const QByteArray time = clientTime(1);
    const QByteArray iamatLine = "IAMAT logged " + loc + ' ' + time;
    QByteArray at;
    {
        TestClient c(hill);
        QVERIFY(c.isConnected());
        c.send(iamatLine + '\n');
        bool ok = false;
        at = c.readLine(&ok);
        QVERIFY(ok);
    }
    QVERIFY2(isAtReply(at, "Hill", "logged", loc, time), at.constData());
    QTRY_COMPARE_WITH_TIMEOUT(whatsatFirstLine(jaquez, "logged"), at, kFloodTimeoutMs);

    const QString logDir = m_dir->filePath(u"logs"_s);
    auto readLog = [&](const QString &node) {
        QFile f(QDir(logDir).filePath(node + u".log"_s));
        return f.open(QIODevice::ReadOnly) ? f.readAll().split('\n') : QList<QByteArray>();
    };
    // A line `<stamp> <dir> <who...> <text>`: direction and text, whoever it came from.
    auto hasLine = [](const QList<QByteArray> &log, const QByteArray &dir, const QByteArray &whoPrefix,
                      const QByteArray &text) {
        for (const QByteArray &l : log) {
            const qsizetype d = l.indexOf(' ');
            if (d < 0 || l.mid(d + 1, dir.size() + 1) != dir + ' ')
                continue;
            if (l.mid(d + dir.size() + 2).startsWith(whoPrefix) && l.endsWith(' ' + text))
                return true;
        }
        return false;
    };

    // Written in batches (at most half a second late): wait for them.
    QTRY_VERIFY2_WITH_TIMEOUT(hasLine(readLog(u"Hill"_s), "<", "client#", iamatLine),
                              "Hill.log lacks the IAMAT line in", 5000);
    QTRY_VERIFY2_WITH_TIMEOUT(hasLine(readLog(u"Hill"_s), ">", "client#", at),
                              "Hill.log lacks the AT reply out", 5000);
    QTRY_VERIFY2_WITH_TIMEOUT(hasLine(readLog(u"Hill"_s), "*", "client#", "connection opened"),
                              "Hill.log lacks \"connection opened\"", 5000);
    QTRY_VERIFY2_WITH_TIMEOUT(hasLine(readLog(u"Hill"_s), ">", "peer Jaquez", at),
                              "Hill.log lacks the flood out to Jaquez", 5000);
    const auto linkUp = [](const QList<QByteArray> &log, const QByteArray &peer) {
        for (const QByteArray &l : log) {
            if (l.contains(" peer " + peer) && l.contains("link up"))
                return true;
        }
        return false;
    };
    QTRY_VERIFY2_WITH_TIMEOUT(linkUp(readLog(u"Hill"_s), "Jaquez"), "Hill.log lacks link up", 5000);
    QTRY_VERIFY2_WITH_TIMEOUT(linkUp(readLog(u"Jaquez"_s), "Hill"), "Jaquez.log lacks link up", 5000);
    QTRY_VERIFY2_WITH_TIMEOUT(hasLine(readLog(u"Jaquez"_s), "<", "peer Hill", at),
                              "Jaquez.log lacks the flood in from Hill", 5000);
}

QTEST_GUILESS_MAIN(tst_E2E)
#include "tst_e2e.moc"

// `--threads 2`: the classic herd in one process, its nodes dealt out over two network threads
// (Hill, Smith, Singleton in one; Jaquez, Campbell in the other). They talk over TCP as across
// processes: an update given to Hill reaches Campbell (other thread, three hops) byte for byte.
// Port 0 is refused with threads (nodes in different threads cannot learn each other's).
void tst_E2E::nodesSharedOverThreads()
{
    const QStringList names{u"Hill"_s, u"Jaquez"_s, u"Smith"_s, u"Campbell"_s, u"Singleton"_s};
    const QList<QPair<QString, QString>> links{
        {u"Hill"_s, u"Jaquez"_s}, {u"Hill"_s, u"Smith"_s}, {u"Singleton"_s, u"Jaquez"_s},
        {u"Singleton"_s, u"Smith"_s}, {u"Singleton"_s, u"Campbell"_s}, {u"Smith"_s, u"Campbell"_s}};
    const QString config = writeConfig(names, links);
    QVERIFY2(!config.isEmpty(), "cannot write the herd config");
    Child *child = startNodes(config, {}, {u"--threads"_s, u"2"_s});
    QVERIFY2(child, qPrintable(u"the herd did not start"_s + diagnostics()));
    for (const QString &n : names) {
        TestClient probe(m_ports.value(n));
        QVERIFY2(probe.isConnected(), qPrintable(n));
    }
    const QByteArray loc = "+48.856600+2.352200";
    const QByteArray time = clientTime(3);
    const QByteArray at = iamat(m_ports.value(u"Hill"_s), "threaded", loc, time);
    QVERIFY2(isAtReply(at, "Hill", "threaded", loc, time), at.constData());
    for (const QString &n : names)
        QTRY_COMPARE_WITH_TIMEOUT(whatsatFirstLine(m_ports.value(n), "threaded"), at, kFloodTimeoutMs);

    // Port 0 and threads: one line naming the node, exit 2.
    const QString anyPort = writeConfig({u"Hill"_s, u"Jaquez"_s}, {{u"Hill"_s, u"Jaquez"_s}}, u"zero.json"_s);
    QFile f(anyPort);
    QVERIFY(f.open(QIODevice::ReadWrite));
    QByteArray json = f.readAll();
    json.replace("\"port\": " + QByteArray::number(m_ports.value(u"Hill"_s)), "\"port\": 0");
    f.resize(0);
    f.write(json);
    f.close();
    int code = 0;
    QByteArray out, err;
    QVERIFY(runToExit({u"--headless"_s, u"--threads"_s, u"2"_s, u"--config"_s, anyPort}, &code, &out, &err));
    QCOMPARE(code, 2);
    QVERIFY2(err.contains("--threads: node \"Hill\" has port 0"), err.constData());
}

void tst_E2E::statusEndpoint()
{
    // status_port 0 for both: the process says where each endpoint listens, on stderr.
    const QString config = writeConfig({u"Hill"_s, u"Jaquez"_s}, {{u"Hill"_s, u"Jaquez"_s}});
    QVERIFY(!config.isEmpty());
    {
        QFile f(config);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QJsonObject root = QJsonDocument::fromJson(f.readAll()).object();
        f.close();
        QJsonArray nodes = root.value(u"nodes"_s).toArray();
        for (qsizetype i = 0; i < nodes.size(); ++i) {
            QJsonObject n = nodes.at(i).toObject();
            n.insert(u"status_port"_s, 0);
            nodes.replace(i, n);
        }
        root.insert(u"nodes"_s, nodes);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(QJsonDocument(root).toJson());
    }
    Child *child = startNodes(config, {u"Hill"_s, u"Jaquez"_s});
    QVERIFY2(child, qPrintable(u"herd did not start"_s + diagnostics()));
    static const QRegularExpression line(u"^herd: (\\S+) status on (http://127\\.0\\.0\\.1:[0-9]+/)$"_s,
                                         QRegularExpression::MultilineOption);
    QHash<QString, QString> urls;
    QTRY_VERIFY_WITH_TIMEOUT(([&] {
        child->drain();
        for (auto it = line.globalMatch(QString::fromLocal8Bit(child->err)); it.hasNext();) {
            const auto m = it.next();
            urls.insert(m.captured(1), m.captured(2));
        }
        return urls.size() == 2;
    }()), kStartTimeoutMs);
    QVERIFY2(urls.contains(u"Hill"_s) && urls.contains(u"Jaquez"_s), child->err.constData());

    // Some traffic, then the numbers.
    const QByteArray t = clientTime(1);
    QVERIFY(isAtReply(iamat(m_ports.value(u"Hill"_s), "e2e-status", "+1-2", t), "Hill", "e2e-status", "+1-2", t));
    QNetworkAccessManager nam;
    QByteArray body;
    QTRY_VERIFY_WITH_TIMEOUT(([&] {
        std::unique_ptr<QNetworkReply> reply(nam.get(QNetworkRequest(QUrl(urls.value(u"Jaquez"_s) + u"metrics"_s))));
        QSignalSpy finished(reply.get(), &QNetworkReply::finished);
        if (!reply->isFinished() && !finished.wait(5000))
            return false;
        body = reply->readAll();
        return reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() == 200
            && body.contains("herd_floods_received_total{node=\"Jaquez\",peer=\"Hill\"} 1\n");
    }()), kFloodTimeoutMs);
    QVERIFY2(body.contains("herd_clients_known{node=\"Jaquez\"} 1\n"), body.constData());
    QVERIFY2(body.contains("herd_peer_up{node=\"Jaquez\",peer=\"Hill\"} 1\n"), body.constData());
    QVERIFY2(body.contains("herd_build_info{version=\"" HERD_VERSION "\""), body.constData());
}
