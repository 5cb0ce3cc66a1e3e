// herd: the monitor by default, or --headless. Command line first, then one of the two.
#include "config.h"
#include "herd.h"
#include "herdhost.h"
#include "clienttablemodel.h"
#include "demotraffic.h"
#include "mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QJsonDocument>
#include <QSocketNotifier>
#include <QTextStream>

#include <csignal>
#include <cstdio>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

int g_signalPipe[2] = {-1, -1};

void onSignal(int)
{
    const char byte = 1;
    [[maybe_unused]] const ssize_t n = ::write(g_signalPipe[1], &byte, 1);
}

// SPEC §2: thousands of concurrent connections need more than the usual 1024 descriptors.
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

bool wantsGui(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i) {
        const QByteArray a(argv[i]);
        if (a == "--headless" || a == "--print-config" || a == "--help" || a == "-h" || a == "--help-all"
            || a == "--version" || a == "-v")
            return false;
    }
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    std::signal(SIGPIPE, SIG_IGN);
    raiseFileLimit();
    std::unique_ptr<QCoreApplication> app(wantsGui(argc, argv) ? new QApplication(argc, argv)
                                                               : new QCoreApplication(argc, argv));
    QCoreApplication::setApplicationName(QStringLiteral("herd"));
    QCoreApplication::setOrganizationName(QStringLiteral("herd"));
    QCoreApplication::setApplicationVersion(QStringLiteral(HERD_VERSION));

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
    const QCommandLineOption screenshotOpt(QStringLiteral("screenshot"),
        QStringLiteral("Monitor: once every hosted link is up, save a picture of the window to FILE and exit."),
        QStringLiteral("FILE"));
    const QCommandLineOption demoOpt(QStringLiteral("demo"),
        QStringLiteral("Monitor: simulated phones report to the herd over TCP, something to watch."));
    parser.addOptions({headless, configOpt, nodeOpt, printConfig, statsOpt, screenshotOpt, demoOpt});
    parser.process(*app);   // unknown options, --help, --version: handled and exits

    auto fail = [](const QString &message) {
        std::fprintf(stderr, "herd: %s\n", qPrintable(message));
        return 2;
    };
    if (!parser.positionalArguments().isEmpty())
        return fail(QStringLiteral("unexpected argument \"%1\" (see --help)").arg(parser.positionalArguments().constFirst()));

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

    if (parser.isSet(printConfig)) {
        std::fputs(QJsonDocument(config.toJson()).toJson(QJsonDocument::Indented).constData(), stdout);
        return 0;
    }

    installSignalHandlers(app.get());
    int exitCode = 0;
    if (parser.isSet(headless)) {
        herd::HerdHost host(config, hosted);
        host.setStatsInterval(int(statsSeconds * 1000));
        QObject::connect(&host, &herd::HerdHost::started, app.get(), [&](bool ok, const QString &error) {
            if (!ok) {
                std::fprintf(stderr, "herd: %s\n", qPrintable(error));
                exitCode = 1;
                QCoreApplication::exit(1);
                return;
            }
            QStringList names = hosted.isEmpty() ? config.nodeNames() : hosted;
            std::fprintf(stdout, "herd: serving %s\n", qPrintable(names.join(QStringLiteral(", "))));
            std::fflush(stdout);
        });
        QObject::connect(&host, &herd::HerdHost::statsReady, app.get(), [](const QList<herd::NodeStats> &stats) {
            for (const herd::NodeStats &s : stats)
                std::fprintf(stdout, "%s\n", qPrintable(statsLine(s)));
            std::fflush(stdout);
        });
        host.start();
        const int rc = app->exec();
        host.shutdown();
        return exitCode ? exitCode : rc;
    }

    herd::MainWindow window;
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
            for (const herd::NodeStats &s : batch->stats) {
                for (const herd::LinkInfo &l : s.links) {
                    if (!l.up || l.stats.acksReceived < 2)
                        return;
                }
            }
            if (wantClients && window.clientModel()->rowCount() < 8)
                return;
            if (!window.grab().save(file))
                std::fprintf(stderr, "herd: cannot save %s\n", qPrintable(file));
            QCoreApplication::quit();
        });
    }
    return app->exec();
}
