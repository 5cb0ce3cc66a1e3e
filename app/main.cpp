// herd: the monitor by default, or --headless. Command line first, then one of the two.
#include "config.h"
#include "herd.h"
#include "herdhost.h"
#include "clienttablemodel.h"
#include "demotraffic.h"
#include "mainwindow.h"
#include "mapview.h"
#include "remoteherd.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QSocketNotifier>
#include <QTextStream>
#include <QTimer>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <memory>
#include <vector>

Q_LOGGING_CATEGORY(lcHerdGui, "herd.gui")

namespace {

int g_signalPipe[2] = {-1, -1};

void onSignal(int)
{
    const char byte = 1;
    [[maybe_unused]] const ssize_t n = ::write(g_signalPipe[1], &byte, 1);
}

// A node serves thousands of concurrent connections, which need more than the usual 1024 descriptors.
void raiseFileLimit()
{
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &lim);
    }
}

// SIGINT / SIGTERM quit the event loop, so nodes stop and logs flush: exit code 0.
void installSignalHandlers(QCoreApplication *app)
{
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g_signalPipe) != 0)
        return;
    auto *notifier = new QSocketNotifier(g_signalPipe[0], QSocketNotifier::Read, app);
    QObject::connect(notifier, &QSocketNotifier::activated, app, [notifier] {
        char byte;
        [[maybe_unused]] const ssize_t n = ::read(g_signalPipe[0], &byte, 1);
        notifier->setEnabled(false);
        QCoreApplication::quit();
    });
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
}

QString statsLine(const herd::NodeStats &s)
{
    QStringList links;
    int up = 0;
    for (const herd::LinkInfo &l : s.links) {
        up += l.up ? 1 : 0;
        links << QStringLiteral("%1 %2%3").arg(l.peer, herd::livenessName(l.liveness),
                                               l.stats.rttUs >= 0 && l.up
                                                   ? QStringLiteral(" %1ms").arg(l.stats.rttUs / 1000.0, 0, 'f', 2)
                                                   : QString());
    }
    return QStringLiteral("%1 %2 %3 port %4: clients %5, connections %6, in %7, out %8, invalid %9, "
                          "floods out %10 in %11 dup %12, links %13/%14 [%15]")
        .arg(QDateTime::currentDateTimeUtc().toString(Qt::ISODate), s.name,
             s.running ? QStringLiteral("running") : QStringLiteral("stopped"))
        .arg(s.port).arg(s.clientsKnown).arg(s.clientConnections)
        .arg(s.linesIn).arg(s.linesOut).arg(s.invalid)
        .arg(s.floodsSent).arg(s.floodsReceived).arg(s.duplicatesDropped)
        .arg(up).arg(s.links.size()).arg(links.join(QStringLiteral(", ")));
}

// Logging. Messages go through categories (herd.net, herd.peer, herd.flood, herd.places, herd.gui,
// switchable with QT_LOGGING_RULES) to stderr, in one of three shapes:
//  - on a terminal: Qt's default ("herd.peer: Hill: link to Jaquez up");
//  - under systemd (stderr is the stream named by JOURNAL_STREAM): "<4>herd.peer: ..." where <N>
//    is the syslog priority, which journald strips and records (journalctl -p warning works);
//  - otherwise (a file, a pipe): "2024-05-01T12:00:00.000Z info herd.peer: ..." (UTC).
// QT_MESSAGE_PATTERN, when set, wins over all three. --log-format json: one JSON object per line,
// {"time":...,"level":...,"category":...,"message":...}.

// True when stderr is the journal stream systemd gave us (not merely inherited JOURNAL_STREAM).
bool stderrIsJournal()
{
    const QByteArray stream = qgetenv("JOURNAL_STREAM");
    const qsizetype colon = stream.indexOf(':');
    if (colon <= 0)
        return false;
    bool devOk = false, inoOk = false;
    const qulonglong dev = stream.left(colon).toULongLong(&devOk);
    const qulonglong ino = stream.mid(colon + 1).toULongLong(&inoOk);
    struct stat st {};
    return devOk && inoOk && ::fstat(STDERR_FILENO, &st) == 0 && qulonglong(st.st_dev) == dev
        && qulonglong(st.st_ino) == ino;
}

// Fatal errors written straight to stderr: "<3>" (err) in the journal, nothing elsewhere.
const char *errorPrefix()
{
    static const bool journal = stderrIsJournal();
    return journal ? "<3>" : "";
}

// One write(2) per line: lines from the network thread and the GUI thread never interleave.
void writeLine(const QByteArray &line)
{
    const char *p = line.constData();
    qsizetype left = line.size();
    while (left > 0) {
        const ssize_t n = ::write(STDERR_FILENO, p, size_t(left));
        if (n <= 0)
            break;
        p += n;
        left -= n;
    }
}

QByteArray utcNow()
{
    return QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs).toLatin1();
}

void timestampedMessageHandler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    writeLine(utcNow() + ' ' + qFormatLogMessage(type, context, message).toUtf8() + '\n');
}

void setTextLogFormat()
{
    if (::isatty(STDERR_FILENO) || qEnvironmentVariableIsSet("QT_MESSAGE_PATTERN"))
        return;   // Qt's default pattern, or the user's
    if (stderrIsJournal()) {
        qSetMessagePattern(QStringLiteral(
            "<%{if-debug}7%{endif}%{if-info}6%{endif}%{if-warning}4%{endif}%{if-critical}3%{endif}"
            "%{if-fatal}2%{endif}>%{if-category}%{category}: %{endif}%{message}"));
    } else {
        qSetMessagePattern(QStringLiteral("%{type} %{if-category}%{category}: %{endif}%{message}"));
        qInstallMessageHandler(timestampedMessageHandler);
    }
}

void appendJsonString(QByteArray &out, const QByteArray &utf8)
{
    out += '"';
    for (const char ch : utf8) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                static const char hex[] = "0123456789abcdef";
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 15];
            } else {
                out += ch;
            }
        }
    }
    out += '"';
}

void jsonMessageHandler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    const char *level = "debug";
    switch (type) {
    case QtDebugMsg: level = "debug"; break;
    case QtInfoMsg: level = "info"; break;
    case QtWarningMsg: level = "warning"; break;
    case QtCriticalMsg: level = "critical"; break;
    case QtFatalMsg: level = "fatal"; break;
    }
    QByteArray line;
    line.reserve(128 + message.size());
    line += "{\"time\":\"";
    line += utcNow();
    line += "\",\"level\":\"";
    line += level;
    line += "\",\"category\":";
    appendJsonString(line, QByteArray(context.category ? context.category : "default"));
    line += ",\"message\":";
    appendJsonString(line, message.toUtf8());
    line += "}\n";
    writeLine(line);
}

} // namespace

int main(int argc, char **argv)
{
    std::signal(SIGPIPE, SIG_IGN);
    raiseFileLimit();
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "A proxy herd: nodes that take client locations (IAMAT), answer nearby-place queries\n"
        "(WHATSAT) and flood every update to each other. Without --headless, the live monitor."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption headless(QStringLiteral("headless"), QStringLiteral("Run the nodes with no GUI."));
    const QCommandLineOption configOpt(QStringLiteral("config"),
        QStringLiteral("Herd config file (JSON). Default: the built-in five-node herd."), QStringLiteral("FILE"));
    const QCommandLineOption nodeOpt(QStringLiteral("node"),
        QStringLiteral("Host only this node (repeatable); the others run elsewhere."), QStringLiteral("NAME"));
    const QCommandLineOption printConfig(QStringLiteral("print-config"),
        QStringLiteral("Print the effective config as JSON and exit."));
    const QCommandLineOption statsOpt(QStringLiteral("stats-interval"),
        QStringLiteral("Headless: seconds between per-node stats lines on stdout (0: none). Default 10."),
        QStringLiteral("SECONDS"), QStringLiteral("10"));
    const QCommandLineOption threadsOpt(QStringLiteral("threads"),
        QStringLiteral("Headless: network threads; the hosted nodes are shared out among them. Default 1."),
        QStringLiteral("N"), QStringLiteral("1"));
    const QCommandLineOption screenshotOpt(QStringLiteral("screenshot"),
        QStringLiteral("Monitor: once every hosted link is up, save a picture of the window to FILE and exit."),
        QStringLiteral("FILE"));
    const QCommandLineOption demoOpt(QStringLiteral("demo"),
        QStringLiteral("Monitor: simulated phones report to the herd over TCP, something to watch."));
    const QCommandLineOption logFormatOpt(QStringLiteral("log-format"),
        QStringLiteral("Diagnostics on stderr as \"text\" (default; journald-friendly when not on a terminal) "
                       "or \"json\" (one object per line). Filter with QT_LOGGING_RULES."),
        QStringLiteral("FORMAT"), QStringLiteral("text"));
    const QCommandLineOption connectOpt(QStringLiteral("connect"),
        QStringLiteral("Monitor: watch a herd running elsewhere through the status endpoint of any of its nodes\n"
                       "(host:port or http://host:port/), instead of hosting one."),
        QStringLiteral("URL"));
    parser.addOptions({headless, configOpt, nodeOpt, printConfig, statsOpt, threadsOpt, screenshotOpt, demoOpt,
                       logFormatOpt, connectOpt});
    // Parsed before any application object exists: a bad option must be a one-line error even
    // where no display is available for the GUI application.
    QStringList args;
    for (int i = 0; i < argc; ++i)
        args << QString::fromLocal8Bit(argv[i]);
    if (!parser.parse(args)) {
        std::fprintf(stderr, "herd: %s (see --help)\n", qPrintable(parser.errorText()));
        return 2;
    }
    const bool gui = !parser.isSet(headless) && !parser.isSet(printConfig)
                     && !parser.isSet(QStringLiteral("help")) && !parser.isSet(QStringLiteral("help-all"))
                     && !parser.isSet(QStringLiteral("version"));
    std::unique_ptr<QCoreApplication> app(gui ? new QApplication(argc, argv) : new QCoreApplication(argc, argv));
    QCoreApplication::setApplicationName(QStringLiteral("herd"));
    QCoreApplication::setOrganizationName(QStringLiteral("herd"));
    QCoreApplication::setApplicationVersion(QStringLiteral(HERD_VERSION));
    if (gui)
        QGuiApplication::setDesktopFileName(QStringLiteral("herd"));
    parser.process(*app);   // --help, --version: printed, and exits

    auto fail = [](const QString &message) {
        std::fprintf(stderr, "%sherd: %s\n", errorPrefix(), qPrintable(message));
        return 2;
    };
    if (const QString format = parser.value(logFormatOpt); format == QLatin1String("json"))
        qInstallMessageHandler(jsonMessageHandler);
    else if (format == QLatin1String("text"))
        setTextLogFormat();
    else
        return fail(QStringLiteral("--log-format: must be \"text\" or \"json\", not \"%1\"").arg(format));
    if (!parser.positionalArguments().isEmpty())
        return fail(QStringLiteral("unexpected argument \"%1\" (see --help)").arg(parser.positionalArguments().constFirst()));

    QUrl remoteUrl;
    if (parser.isSet(connectOpt)) {
        for (const QCommandLineOption &other : {headless, configOpt, nodeOpt, printConfig, demoOpt}) {
            if (parser.isSet(other))
                return fail(QStringLiteral("--connect cannot be combined with --%1").arg(other.names().constFirst()));
        }
        remoteUrl = herd::RemoteHerd::endpointUrl(parser.value(connectOpt));
        if (!remoteUrl.isValid())
            return fail(QStringLiteral("--connect: not a status endpoint address (host:port or http://host:port/): \"%1\"")
                            .arg(parser.value(connectOpt)));
    }

    herd::HerdConfig config;
    if (parser.isSet(configOpt)) {
        QString error;
        auto loaded = herd::HerdConfig::load(parser.value(configOpt), &error);
        if (!loaded)
            return fail(error);
        config = *loaded;
    } else {
        config = herd::HerdConfig::builtin();
    }
    const QStringList hosted = parser.values(nodeOpt);
    if (const QString error = herd::Herd::checkHosted(config, hosted); !error.isEmpty())
        return fail(error);
    bool statsOk = false;
    const double statsSeconds = parser.value(statsOpt).toDouble(&statsOk);
    if (!statsOk || statsSeconds < 0)
        return fail(QStringLiteral("--stats-interval: not a number of seconds: \"%1\"").arg(parser.value(statsOpt)));

    bool threadsOk = false;
    const int threadsWanted = parser.value(threadsOpt).toInt(&threadsOk);
    if (!threadsOk || threadsWanted < 1 || threadsWanted > 64)
        return fail(QStringLiteral("--threads: not a number of threads from 1 to 64: \"%1\"").arg(parser.value(threadsOpt)));
    if (parser.isSet(threadsOpt) && !parser.isSet(headless))
        return fail(QStringLiteral("--threads: only with --headless (the monitor hosts its nodes in one network thread)"));
    const QStringList served = hosted.isEmpty() ? config.nodeNames() : hosted;
    const int threads = std::min<int>(threadsWanted, int(served.size()));
    if (threads > 1) {
        // Nodes of one Herd tell each other the port they got for port 0; across threads they
        // could not (like nodes in different processes, which need fixed ports too).
        for (const QString &name : served) {
            const herd::NodeConfig *n = config.node(name);
            if (n->port == 0 || n->statusPort == 0)
                return fail(QStringLiteral("--threads: node \"%1\" has port 0; nodes in different threads need fixed ports").arg(name));
        }
    }

    if (parser.isSet(printConfig)) {
        std::fputs(QJsonDocument(config.toJson()).toJson(QJsonDocument::Indented).constData(), stdout);
        return 0;
    }

    installSignalHandlers(app.get());
    int exitCode = 0;
    if (parser.isSet(headless)) {
        // One HerdHost (a network thread) per share of the nodes, dealt out in config order.
        // Nodes in different threads are like nodes in different processes: they only ever talk
        // over their TCP links. The log writer thread is shared by all.
        std::vector<std::unique_ptr<herd::HerdHost>> hosts;
        for (int t = 0; t < threads; ++t) {
            QStringList share;
            for (qsizetype i = t; i < served.size(); i += threads)
                share << served.at(i);
            hosts.push_back(std::make_unique<herd::HerdHost>(config, share));
        }
        int pending = threads;
        bool failed = false;
        for (const auto &host : hosts) {
            host->setStatsInterval(int(statsSeconds * 1000));
            QObject::connect(host.get(), &herd::HerdHost::started, app.get(), [&](bool ok, const QString &error) {
                if (failed)
                    return;
                if (!ok) {
                    failed = true;
                    std::fprintf(stderr, "%sherd: %s\n", errorPrefix(), qPrintable(error));
                    exitCode = 1;
                    QCoreApplication::exit(1);
                    return;
                }
                if (--pending == 0) {   // "serving" once every hosted node listens
                    std::fprintf(stdout, "herd: serving %s\n", qPrintable(served.join(QStringLiteral(", "))));
                    std::fflush(stdout);
                }
            });
            QObject::connect(host.get(), &herd::HerdHost::statusListening, app.get(), [](const QString &node, const QString &url) {
                std::fprintf(stderr, "herd: %s status on %s\n", qPrintable(node), qPrintable(url));
                std::fflush(stderr);
            });
            QObject::connect(host.get(), &herd::HerdHost::statsReady, app.get(), [](const QList<herd::NodeStats> &stats) {
                for (const herd::NodeStats &s : stats)
                    std::fprintf(stdout, "%s\n", qPrintable(statsLine(s)));
                std::fflush(stdout);
            });
        }
        for (const auto &host : hosts)
            host->start();
        const int rc = app->exec();
        for (const auto &host : hosts)
            host->shutdown();
        return exitCode ? exitCode : rc;
    }

    herd::MainWindow window;
    if (remoteUrl.isValid())
        window.connectRemote(remoteUrl);
    else
        window.loadHerd(config, hosted);
    window.show();
    herd::DemoTraffic demo;
    if (parser.isSet(demoOpt)) {
        QList<QPair<QString, QPair<QString, quint16>>> nodes;
        for (const herd::NodeConfig &n : config.nodes) {
            if (hosted.isEmpty() || hosted.contains(n.name))
                nodes.append({n.name, {n.host, n.port}});
        }
        demo.setNodes(nodes);
        demo.start();
    }
    if (parser.isSet(screenshotOpt)) {
        // Once every link is up (and, with --demo, the map has clients), picture and exit.
        const QString file = parser.value(screenshotOpt);
        const bool wantClients = parser.isSet(demoOpt);
        QObject::connect(&window, &herd::MainWindow::batchShown, &window, [&window, file, wantClients](const herd::MonitorBatchPtr &batch) {
            if (batch->stats.isEmpty())
                return;
            for (const herd::NodeStats &s : batch->stats) {
                if (!s.running)
                    return;
                for (const herd::LinkInfo &l : s.links) {
                    if (!l.up || l.stats.acksReceived < 2)
                        return;
                }
            }
            if (wantClients && window.clientModel()->rowCount() < 8)
                return;
            if (window.clientModel()->rowCount() > 0 && window.map()->dotCount() == 0)
                return;   // clients known (e.g. a remote herd's), not on the map yet
            // Once: let the layouts that batch changed (status bar, tables) settle first.
            QObject::disconnect(&window, &herd::MainWindow::batchShown, &window, nullptr);
            QTimer::singleShot(300, &window, [&window, file] {
                if (!window.grab().save(file))
                    std::fprintf(stderr, "%sherd: cannot save %s\n", errorPrefix(), qPrintable(file));
                else
                    qCInfo(lcHerdGui, "screenshot saved to %s", qPrintable(file));
                QCoreApplication::quit();
            });
        });
    }
    return app->exec();
}
