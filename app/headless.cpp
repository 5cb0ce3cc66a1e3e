#include "headless.h"
#include "herdhost.h"
#include "logging.h"
#include "nodelog.h"
#include "sdnotify.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QLoggingCategory>
#include <QSocketNotifier>
#include <QTimer>

#include <csignal>
#include <cstdio>
#include <memory>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

Q_LOGGING_CATEGORY(lcHerdMain, "herd.main", QtInfoMsg)

namespace herd::app {

namespace {

int g_signalPipe[2] = {-1, -1};

void onSignal(int signal)
{
    const char byte = char(signal);
    [[maybe_unused]] const ssize_t n = ::write(g_signalPipe[1], &byte, 1);
}

QString statsLine(const NodeStats &s)
{
    QStringList links;
    int up = 0;
    for (const LinkInfo &l : s.links) {
        up += l.up ? 1 : 0;
        links << QStringLiteral("%1 %2%3").arg(l.peer, livenessName(l.liveness),
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

} // namespace

void raiseFileLimit()
{
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &lim);
    }
}

void installSignalHandlers(QCoreApplication *app, bool reopenOnHangup)
{
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g_signalPipe) != 0)
        return;
    auto *notifier = new QSocketNotifier(g_signalPipe[0], QSocketNotifier::Read, app);
    QObject::connect(notifier, &QSocketNotifier::activated, app, [notifier] {
        char byte = 0;
        if (::read(g_signalPipe[0], &byte, 1) != 1)
            return;
        if (byte == SIGHUP) {
            NodeLog::reopenAll();
            qCInfo(lcHerdMain, "SIGHUP: log files reopened");
            return;
        }
        notifier->setEnabled(false);
        sdNotify("STOPPING=1");
        QCoreApplication::quit();
    });
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    if (reopenOnHangup)
        ::sigaction(SIGHUP, &sa, nullptr);
}

int runHeadless(QCoreApplication *app, const ServerOptions &options)
{
    HerdConfig config = options.config;
    if (config.logLevel.isEmpty())
        config.logLevel = QStringLiteral("events");   // a server's log: what happened, not every line
    const int threads = options.threads;
    const QStringList &served = options.served;

    // One HerdHost (a network thread) per share of the nodes, dealt out in config order.
    // Nodes in different threads are like nodes in different processes: they only ever talk
    // over their TCP links. The log writer thread is shared by all.
    std::vector<std::unique_ptr<HerdHost>> hosts;
    for (int t = 0; t < threads; ++t) {
        QStringList share;
        for (qsizetype i = t; i < served.size(); i += threads)
            share << served.at(i);
        hosts.push_back(std::make_unique<HerdHost>(config, share));
    }
    int exitCode = 0;
    int pending = threads;
    bool failed = false;
    for (const auto &host : hosts) {
        host->setStatsInterval(options.statsIntervalMs);
        QObject::connect(host.get(), &HerdHost::started, app, [&](bool ok, const QString &error) {
            if (failed)
                return;
            if (!ok) {
                failed = true;
                printError(error);
                exitCode = 1;
                QCoreApplication::exit(1);
                return;
            }
            if (--pending == 0) {   // "serving" once every hosted node listens
                std::fprintf(stdout, "herd: serving %s\n", qPrintable(served.join(QStringLiteral(", "))));
                std::fflush(stdout);
                sdNotify("READY=1\nSTATUS=serving " + served.join(QStringLiteral(", ")).toUtf8());
            }
        });
        QObject::connect(host.get(), &HerdHost::statusListening, app, [](const QString &node, const QString &url) {
            printInfo(QStringLiteral("%1 status on %2").arg(node, url));
        });
        QObject::connect(host.get(), &HerdHost::statsReady, app, [](const QList<NodeStats> &stats) {
            for (const NodeStats &s : stats)
                std::fprintf(stdout, "%s\n", qPrintable(statsLine(s)));
            std::fflush(stdout);
        });
    }

    // The watchdog: a keep-alive at half the interval systemd asked for, but only when every
    // network thread answered the previous probe (a stuck thread lets systemd restart us).
    QTimer watchdog;
    int unanswered = 0;
    if (const qint64 interval = watchdogIntervalMs(); interval > 0) {
        for (const auto &host : hosts)
            QObject::connect(host.get(), &HerdHost::probed, app, [&unanswered] { --unanswered; });
        QObject::connect(&watchdog, &QTimer::timeout, app, [&] {
            if (unanswered > 0)
                return;
            sdNotify("WATCHDOG=1");
            unanswered = int(hosts.size());
            for (const auto &host : hosts)
                host->probe();
        });
        watchdog.start(int(std::max<qint64>(1, interval / 2)));
    }

    for (const auto &host : hosts)
        host->start();
    const int rc = app->exec();
    watchdog.stop();
    for (const auto &host : hosts)
        host->shutdown();
    return exitCode ? exitCode : rc;
}

} // namespace herd::app
