// Operating herd: errors with no display, JSON logs, log levels and rotation, SIGHUP reopening
// the logs, and systemd's notification protocol (READY, WATCHDOG, STOPPING) over a real
// datagram socket. Real processes: the built `herd` (HERD_TEST_BINARY) and `herd-server`
// (HERD_SERVER_BINARY); without them those tests skip.
#include "nodelog.h"
#include "testclient.h"

#include <QDir>
#include <QFile>
#include <QHostAddress>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSocketNotifier>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <cstring>
#include <memory>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace Qt::StringLiterals;
using herd::NodeLog;
using herdtest::TestClient;

namespace {

quint16 freePort()
{
    QTcpServer server;
    if (!server.listen(QHostAddress::LocalHost, 0))
        return 0;
    return server.serverPort();
}

QByteArray readFile(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

bool writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

// A process environment with no display of any kind and no Qt platform chosen.
QProcessEnvironment noDisplay()
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const QString &v : {u"DISPLAY"_s, u"WAYLAND_DISPLAY"_s, u"QT_QPA_PLATFORM"_s, u"XDG_SESSION_TYPE"_s,
                             u"NOTIFY_SOCKET"_s, u"WATCHDOG_USEC"_s, u"WATCHDOG_PID"_s,
                             u"JOURNAL_STREAM"_s, u"QT_MESSAGE_PATTERN"_s, u"HERD_PEER_SECRET"_s,
                             u"GOOGLE_PLACES_API_KEY"_s})
        env.remove(v);
    return env;
}

// A datagram socket standing in for systemd's notification socket.
class FakeNotifySocket {
public:
    // `abstract`: an address in the abstract namespace, given to the child as "@name".
    FakeNotifySocket(const QString &dir, bool abstract)
    {
        m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_un sun {};
        sun.sun_family = AF_UNIX;
        QByteArray name = abstract ? "@herd-test-" + QByteArray::number(::getpid()) + '-'
                                         + QByteArray::number(quintptr(this))
                                   : QFile::encodeName(QDir(dir).filePath(u"notify"_s));
        if (m_fd < 0 || name.size() >= qsizetype(sizeof sun.sun_path))
            return;
        std::memcpy(sun.sun_path, name.constData(), size_t(name.size()));
        if (abstract)
            sun.sun_path[0] = '\0';
        const auto length = socklen_t(offsetof(sockaddr_un, sun_path) + size_t(name.size()) + (abstract ? 0 : 1));
        if (::bind(m_fd, reinterpret_cast<sockaddr *>(&sun), length) != 0)
            return;
        m_address = QString::fromLocal8Bit(name);
        m_notifier = std::make_unique<QSocketNotifier>(m_fd, QSocketNotifier::Read);
        QObject::connect(m_notifier.get(), &QSocketNotifier::activated, m_notifier.get(), [this] {
            char buf[4096];
            for (;;) {
                const ssize_t n = ::recv(m_fd, buf, sizeof buf, 0);
                if (n < 0)
                    break;
                messages.append(QByteArray(buf, n));
                if (onMessage)
                    onMessage(messages.constLast());
            }
        });
    }
    ~FakeNotifySocket()
    {
        m_notifier.reset();
        if (m_fd >= 0)
            ::close(m_fd);
    }
    bool isValid() const { return !m_address.isEmpty(); }
    QString address() const { return m_address; }
    int count(const QByteArray &state) const
    {
        int n = 0;
        for (const QByteArray &m : messages)
            n += m.split('\n').contains(state) ? 1 : 0;
        return n;
    }

    QList<QByteArray> messages;
    std::function<void(const QByteArray &)> onMessage;

private:
    int m_fd = -1;
    QString m_address;
    std::unique_ptr<QSocketNotifier> m_notifier;
};

} // namespace

class tst_Ops : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void errorsWithoutDisplay_data();
    void errorsWithoutDisplay();
    void jsonFormatEveryLine();
    void eventsLevelSkipsLines();
    void rotationKeepsFiles();
    void hangupReopensLogs();
    void systemdNotify_data();
    void systemdNotify();
    void startFailureWithNotify();

private:
    QString binary(const QByteArray &which);
    QProcess *launch(const QString &program, const QStringList &args, QProcessEnvironment env = noDisplay());
    QString writeConfig(const QJsonObject &extra, const QString &name = u"herd.json"_s);
    bool waitServing(QProcess *p, QByteArray *out);

    std::unique_ptr<QTemporaryDir> m_dir;
    quint16 m_port = 0;
    std::vector<std::unique_ptr<QProcess>> m_procs;
};

void tst_Ops::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void tst_Ops::cleanup()
{
    for (auto &p : m_procs) {
        if (p->state() != QProcess::NotRunning) {
            p->kill();
            p->waitForFinished(5000);
        }
    }
    m_procs.clear();
    m_dir.reset();
}

QString tst_Ops::binary(const QByteArray &which)
{
    return qEnvironmentVariable(which.constData());
}

QProcess *tst_Ops::launch(const QString &program, const QStringList &args, QProcessEnvironment env)
{
    auto p = std::make_unique<QProcess>();
    p->setProcessEnvironment(env);
    p->setWorkingDirectory(m_dir->path());
    p->start(program, args);
    m_procs.push_back(std::move(p));
    return m_procs.back().get();
}

// One node on a fixed free port, offline places, logs in <dir>/logs; `extra` keys added.
QString tst_Ops::writeConfig(const QJsonObject &extra, const QString &name)
{
    m_port = freePort();
    QJsonObject root{
        {u"nodes"_s, QJsonArray{QJsonObject{{u"name"_s, u"Solo"_s}, {u"port"_s, m_port}}}},
        {u"places"_s, QJsonObject{{u"provider"_s, u"offline"_s}}},
        {u"log_dir"_s, m_dir->filePath(u"logs"_s)},
    };
    for (auto it = extra.begin(); it != extra.end(); ++it)
        root.insert(it.key(), it.value());
    const QString path = m_dir->filePath(name);
    return writeFile(path, QJsonDocument(root).toJson()) ? path : QString();
}

bool tst_Ops::waitServing(QProcess *p, QByteArray *out)
{
    const bool ok = QTest::qWaitFor([&] {
        *out += p->readAllStandardOutput();
        return out->contains("herd: serving") || p->state() == QProcess::NotRunning;
    }, 10000);
    return ok && out->contains("herd: serving");
}

void tst_Ops::errorsWithoutDisplay_data()
{
    QTest::addColumn<QByteArray>("which");
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("expected");   // in the one line

    const QString missing = u"/nonexistent/herd.json"_s;
    for (const QByteArray &which : {QByteArray("HERD_TEST_BINARY"), QByteArray("HERD_SERVER_BINARY")}) {
        const char *tag = which == "HERD_TEST_BINARY" ? "herd" : "herd-server";
        // The monitor's command line (no --headless): still checked before any GUI starts.
        QTest::addRow("%s: missing config", tag) << which << QStringList{u"--config"_s, missing} << missing;
        QTest::addRow("%s: stray argument", tag) << which << QStringList{u"stray"_s} << u"unexpected argument"_s;
        QTest::addRow("%s: bad log format", tag) << which << QStringList{u"--log-format"_s, u"xml"_s} << u"--log-format"_s;
        QTest::addRow("%s: bad log level", tag) << which << QStringList{u"--log-level"_s, u"loud"_s} << u"--log-level"_s;
        QTest::addRow("%s: unknown option", tag) << which << QStringList{u"--frobnicate"_s} << u"frobnicate"_s;
        QTest::addRow("%s: headless, bad node", tag) << which << QStringList{u"--headless"_s, u"--node"_s, u"Nobody"_s}
                                                    << u"Nobody"_s;
    }
    QTest::addRow("herd: --threads without --headless") << QByteArray("HERD_TEST_BINARY")
                                                       << QStringList{u"--threads"_s, u"2"_s} << u"--threads"_s;
}

void tst_Ops::errorsWithoutDisplay()
{
    QFETCH(QByteArray, which);
    QFETCH(QStringList, args);
    QFETCH(QString, expected);
    const QString program = binary(which);
    if (program.isEmpty())
        QSKIP("binary not set (ctest sets it)");
    for (const bool json : {false, true}) {
        QStringList a = args;
        if (json)
            a << u"--log-format=json"_s;
        if (json && expected == u"--log-format"_s)
            continue;   // that row's own mistake is the format
        QProcess *p = launch(program, a);
        QVERIFY(p->waitForFinished(10000));
        const QByteArray err = p->readAllStandardError();
        QCOMPARE(p->exitStatus(), QProcess::NormalExit);   // not an abort (no display needed)
        QVERIFY2(p->exitCode() == 2, qPrintable(u"exit %1: %2"_s.arg(p->exitCode()).arg(QString::fromUtf8(err))));
        QVERIFY2(err.endsWith('\n') && err.count('\n') == 1, err.constData());
        QVERIFY2(err.contains(expected.toUtf8()), err.constData());
        QVERIFY2(p->readAllStandardOutput().isEmpty(), "nothing on stdout");
        if (json) {
            const QJsonObject o = QJsonDocument::fromJson(err).object();
            QVERIFY2(o.value(u"level"_s) == u"critical"_s && o.value(u"message"_s).toString().contains(expected),
                     err.constData());
        } else {
            QVERIFY2(err.startsWith("herd: "), err.constData());
        }
    }
}

void tst_Ops::jsonFormatEveryLine()
{
    const QString program = binary("HERD_SERVER_BINARY");
    if (program.isEmpty())
        QSKIP("HERD_SERVER_BINARY not set");
    const QString config = writeConfig({});
    {
        QJsonObject root = QJsonDocument::fromJson(readFile(config)).object();
        QJsonArray nodes = root.value(u"nodes"_s).toArray();
        QJsonObject solo = nodes.at(0).toObject();
        solo.insert(u"status_port"_s, 0);
        nodes.replace(0, solo);
        root.insert(u"nodes"_s, nodes);
        QVERIFY(writeFile(config, QJsonDocument(root).toJson()));
    }
    QProcess *p = launch(program, {u"--config"_s, config, u"--stats-interval"_s, u"0"_s, u"--log-format"_s, u"json"_s});
    QByteArray out;
    if (!waitServing(p, &out))
        QFAIL(p->readAllStandardError().constData());
    QVERIFY(::kill(pid_t(p->processId()), SIGTERM) == 0);
    QVERIFY(p->waitForFinished(10000));
    QCOMPARE(p->exitCode(), 0);
    const QByteArray err = p->readAllStandardError();
    const QList<QByteArray> lines = err.split('\n');
    bool statusLine = false;
    for (const QByteArray &l : lines) {
        if (l.isEmpty())
            continue;
        QJsonParseError e;
        const QJsonDocument d = QJsonDocument::fromJson(l, &e);
        QVERIFY2(e.error == QJsonParseError::NoError && d.isObject(), l.constData());
        statusLine |= d.object().value(u"message"_s).toString().contains(u"Solo status on http://"_s);
    }
    QVERIFY2(statusLine, err.constData());
}

// Level "events": connections and errors, a summary of the lines, no line itself.
void tst_Ops::eventsLevelSkipsLines()
{
    NodeLog log;
    NodeLog::Options options;
    options.level = NodeLog::Level::Events;
    QString error;
    QVERIFY2(log.open(m_dir->filePath(u"logs"_s), u"Ev"_s, options, &error), qPrintable(error));
    for (int i = 0; i < 100; ++i) {
        log.line(NodeLog::Dir::In, "client#1 127.0.0.1:1", "IAMAT kiwi +1+1 1");
        log.line(NodeLog::Dir::Out, "client#1 127.0.0.1:1", "AT Ev +0.1 kiwi +1+1 1");
    }
    log.line(NodeLog::Dir::Out, "peer Hill", "AT Ev +0.1 kiwi +1+1 1");
    log.event("client#1 127.0.0.1:1", u"connection opened"_s);
    log.error("node", u"something failed"_s);
    log.close();
    const QByteArray text = readFile(m_dir->filePath(u"logs/Ev.log"_s));
    QVERIFY2(text.contains(" * client#1 127.0.0.1:1 connection opened\n"), text.constData());
    QVERIFY2(text.contains(" ! node something failed\n"), text.constData());
    QVERIFY2(text.contains("clients 100 lines in, 100 out; peer links 0 in, 1 out"), text.constData());
    QVERIFY2(!text.contains("IAMAT") && !text.contains(" < ") && !text.contains(" > "), text.constData());

    // Level io (the default) logs every line; off opens nothing.
    NodeLog io;
    QVERIFY(io.open(m_dir->filePath(u"logs"_s), u"Io"_s, &error));
    io.line(NodeLog::Dir::In, "client#1", "IAMAT kiwi +1+1 1");
    io.close();
    QVERIFY(readFile(m_dir->filePath(u"logs/Io.log"_s)).contains(" < client#1 IAMAT kiwi +1+1 1\n"));
    NodeLog off;
    options.level = NodeLog::Level::Off;
    QVERIFY(off.open(m_dir->filePath(u"logs"_s), u"Off"_s, options, &error));
    QVERIFY(!off.isOpen());
    QVERIFY(!QFile::exists(m_dir->filePath(u"logs/Off.log"_s)));
}

// At the cap the file is rotated: <node>.log.1 ... <node>.log.<keep>, none older, none over the cap.
void tst_Ops::rotationKeepsFiles()
{
    NodeLog log;
    NodeLog::Options options;
    options.maxBytes = 4000;
    options.keep = 3;
    QString error;
    const QString dir = m_dir->filePath(u"logs"_s);
    QVERIFY2(log.open(dir, u"Rot"_s, options, &error), qPrintable(error));
    const int lines = 1000;   // about 60 bytes each: 15 files' worth
    for (int i = 0; i < lines; ++i) {
        log.line(NodeLog::Dir::In, "client#1", "IAMAT c" + QByteArray::number(100000 + i) + " +1+1 1");
        if (i % 50 == 0)
            log.flush();   // several batches, as the node's tick does
    }
    log.close();
    const QString base = QDir(dir).filePath(u"Rot.log"_s);
    QList<QByteArray> all;
    for (const QString &f : {base + u".3"_s, base + u".2"_s, base + u".1"_s, base}) {
        QVERIFY2(QFile::exists(f), qPrintable(f));
        const QByteArray text = readFile(f);
        QVERIFY2(text.size() <= options.maxBytes, qPrintable(f));
        QVERIFY2(f == base || text.size() > options.maxBytes / 2, qPrintable(f));   // rotated when full
        QVERIFY(text.endsWith('\n'));
        all += text.split('\n');
        all.removeAll(QByteArray());
    }
    QVERIFY(!QFile::exists(base + u".4"_s));
    // The newest file ends with the last line, and the kept files hold the last lines in order.
    QVERIFY2(all.constLast().endsWith("IAMAT c" + QByteArray::number(100000 + lines - 1) + " +1+1 1"),
             all.constLast().constData());
    for (qsizetype i = 1; i < all.size(); ++i) {
        const QByteArray prev = all.at(i - 1).split(' ').value(4);
        const QByteArray cur = all.at(i).split(' ').value(4);
        QVERIFY2(cur.mid(1).toInt() == prev.mid(1).toInt() + 1, all.at(i).constData());
    }
}

// SIGHUP: every log reopened by name (after `mv`), the process keeps serving.
void tst_Ops::hangupReopensLogs()
{
    const QString program = binary("HERD_TEST_BINARY");
    if (program.isEmpty())
        QSKIP("HERD_TEST_BINARY not set");
    const QString config = writeConfig({{u"log_level"_s, u"io"_s}});
    QProcess *p = launch(program, {u"--headless"_s, u"--config"_s, config, u"--stats-interval"_s, u"0"_s});
    QByteArray out;
    QVERIFY2(waitServing(p, &out), p->readAllStandardError().constData());
    const QString log = m_dir->filePath(u"logs/Solo.log"_s);
    {
        TestClient c(m_port);
        QVERIFY(c.isConnected());
        c.send("IAMAT before +1+1 1\n");
        bool ok = false;
        c.readLine(&ok);
        QVERIFY(ok);
    }
    QTRY_VERIFY_WITH_TIMEOUT(readFile(log).contains("IAMAT before"), 5000);
    QVERIFY(QFile::rename(log, log + u".old"_s));
    QVERIFY(::kill(pid_t(p->processId()), SIGHUP) == 0);
    // The reopen happens in order with the writes: a line sent after it lands in the new file.
    QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(log), 5000);
    {
        TestClient c(m_port);
        QVERIFY(c.isConnected());
        c.send("IAMAT after +1+1 1\n");
        bool ok = false;
        c.readLine(&ok);
        QVERIFY2(ok, "still serving after SIGHUP");
    }
    QTRY_VERIFY_WITH_TIMEOUT(readFile(log).contains("IAMAT after"), 5000);
    QVERIFY(!readFile(log).contains("IAMAT before"));
    QVERIFY(!readFile(log + u".old"_s).contains("IAMAT after"));
    QCOMPARE(p->state(), QProcess::Running);
    QVERIFY(::kill(pid_t(p->processId()), SIGTERM) == 0);
    QVERIFY(p->waitForFinished(10000));
    QCOMPARE(p->exitStatus(), QProcess::NormalExit);
    QCOMPARE(p->exitCode(), 0);

    // Headless default level is "events": a fresh run logs the node's events, not the lines.
    const QString quiet = writeConfig({}, u"quiet.json"_s);
    QFile::remove(log);
    p = launch(program, {u"--headless"_s, u"--config"_s, quiet, u"--stats-interval"_s, u"0"_s});
    out.clear();
    QVERIFY2(waitServing(p, &out), p->readAllStandardError().constData());
    {
        TestClient c(m_port);
        c.send("IAMAT quiet +1+1 1\n");
        bool ok = false;
        c.readLine(&ok);
        QVERIFY(ok);
    }
    QVERIFY(::kill(pid_t(p->processId()), SIGTERM) == 0);
    QVERIFY(p->waitForFinished(10000));
    const QByteArray text = readFile(log);
    QVERIFY2(text.contains("listening on") && text.contains("connection opened"), text.constData());
    QVERIFY2(!text.contains("IAMAT quiet"), text.constData());
}

void tst_Ops::systemdNotify_data()
{
    QTest::addColumn<QByteArray>("which");
    QTest::addColumn<bool>("abstract");
    QTest::newRow("herd-server, abstract socket") << QByteArray("HERD_SERVER_BINARY") << true;
    QTest::newRow("herd --headless, socket file") << QByteArray("HERD_TEST_BINARY") << false;
}

// READY=1 once the node accepts connections (never before), WATCHDOG=1 while it runs,
// STOPPING=1 on SIGTERM.
void tst_Ops::systemdNotify()
{
    QFETCH(QByteArray, which);
    QFETCH(bool, abstract);
    const QString program = binary(which);
    if (program.isEmpty())
        QSKIP("binary not set");
    FakeNotifySocket notify(m_dir->path(), abstract);
    QVERIFY(notify.isValid());
    bool acceptedAtReady = false;
    notify.onMessage = [&](const QByteArray &m) {
        if (m.split('\n').contains("READY=1")) {
            QTcpSocket probe;
            probe.connectToHost(QHostAddress::LocalHost, m_port);
            acceptedAtReady = probe.waitForConnected(2000);
        }
    };
    const QString config = writeConfig({});
    QProcessEnvironment env = noDisplay();
    env.insert(u"NOTIFY_SOCKET"_s, notify.address());
    env.insert(u"WATCHDOG_USEC"_s, u"200000"_s);   // 0.2 s: a keep-alive every 0.1 s
    QProcess *p = launch(program, {u"--headless"_s, u"--config"_s, config, u"--stats-interval"_s, u"0"_s}, env);
    QTRY_VERIFY_WITH_TIMEOUT(notify.count("READY=1") == 1 || p->state() == QProcess::NotRunning, 10000);
    QVERIFY2(notify.count("READY=1") == 1, p->readAllStandardError().constData());
    QVERIFY2(acceptedAtReady, "READY=1 came before the node accepted connections");
    const int pingsAtReady = notify.count("WATCHDOG=1");
    QTRY_VERIFY_WITH_TIMEOUT(notify.count("WATCHDOG=1") >= pingsAtReady + 3, 10000);
    QCOMPARE(notify.count("STOPPING=1"), 0);
    QVERIFY(::kill(pid_t(p->processId()), SIGTERM) == 0);
    QVERIFY(p->waitForFinished(10000));
    QCOMPARE(p->exitCode(), 0);
    QTRY_COMPARE_WITH_TIMEOUT(notify.count("STOPPING=1"), 1, 5000);
    QCOMPARE(notify.count("READY=1"), 1);

    // No WATCHDOG_USEC, no keep-alives: READY only.
    FakeNotifySocket quiet(m_dir->path() + u"/q"_s, true);
    QVERIFY(quiet.isValid());
    env.insert(u"NOTIFY_SOCKET"_s, quiet.address());
    env.remove(u"WATCHDOG_USEC"_s);
    const QString config2 = writeConfig({}, u"two.json"_s);
    p = launch(program, {u"--headless"_s, u"--config"_s, config2, u"--stats-interval"_s, u"0"_s}, env);
    QTRY_VERIFY_WITH_TIMEOUT(quiet.count("READY=1") == 1, 10000);
    QVERIFY(::kill(pid_t(p->processId()), SIGTERM) == 0);
    QVERIFY(p->waitForFinished(10000));
    QTRY_COMPARE_WITH_TIMEOUT(quiet.count("STOPPING=1"), 1, 5000);
    QCOMPARE(quiet.count("WATCHDOG=1"), 0);
}

// A taken port: non-zero exit, one line naming the port, never READY=1.
void tst_Ops::startFailureWithNotify()
{
    const QString program = binary("HERD_SERVER_BINARY");
    if (program.isEmpty())
        QSKIP("HERD_SERVER_BINARY not set");
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
    const QString config = writeConfig({});
    QJsonObject root = QJsonDocument::fromJson(readFile(config)).object();
    root.insert(u"nodes"_s, QJsonArray{QJsonObject{{u"name"_s, u"Solo"_s}, {u"port"_s, squatter.serverPort()}}});
    QVERIFY(writeFile(config, QJsonDocument(root).toJson()));
    FakeNotifySocket notify(m_dir->path(), true);
    QVERIFY(notify.isValid());
    QProcessEnvironment env = noDisplay();
    env.insert(u"NOTIFY_SOCKET"_s, notify.address());
    QProcess *p = launch(program, {u"--config"_s, config}, env);
    QVERIFY(p->waitForFinished(10000));
    QCOMPARE(p->exitStatus(), QProcess::NormalExit);
    QCOMPARE(p->exitCode(), 1);
    const QByteArray err = p->readAllStandardError();
    QVERIFY2(err.contains(QByteArray::number(squatter.serverPort())), err.constData());
    QCoreApplication::processEvents();
    QCOMPARE(notify.count("READY=1"), 0);
}

QTEST_GUILESS_MAIN(tst_Ops)
#include "tst_ops.moc"
