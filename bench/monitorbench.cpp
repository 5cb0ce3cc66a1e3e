// herd-monitor-bench: the monitor under load. Hosts the built-in five-node herd (free ports,
// logging on) in a real MainWindow, drives it with herd-bench at a fixed IAMAT rate, and
// measures what a user would feel: how late the GUI event loop runs (a 10 ms probe timer) and
// whether memory stays flat. Prints one row per second, a summary, then a JSON line.
#include "clienttablemodel.h"
#include "mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTimer>
#include <algorithm>
#include <cstdio>

namespace {

double rssMiB()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return 0;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').value(0).toDouble() / 1024.0;
    }
    return 0;
}

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

} // namespace

int main(int argc, char **argv)
{
    bool show = false;
    for (int i = 1; i < argc; ++i)
        show = show || QByteArray(argv[i]) == "--show";
    if (!show && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QCoreApplication::setOrganizationName(QStringLiteral("herd-bench"));
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("GUI event-loop lag and memory of the monitor under IAMAT load."));
    parser.addHelpOption();
    const QCommandLineOption rateOpt(QStringLiteral("rate"), QStringLiteral("IAMAT/s into the herd (default 20000)."), QStringLiteral("N"), QStringLiteral("20000"));
    const QCommandLineOption durationOpt(QStringLiteral("duration"), QStringLiteral("Seconds of load (default 20)."), QStringLiteral("S"), QStringLiteral("20"));
    const QCommandLineOption poolOpt(QStringLiteral("pool"), QStringLiteral("Distinct clients (default 5000)."), QStringLiteral("N"), QStringLiteral("5000"));
    const QCommandLineOption benchOpt(QStringLiteral("bench"), QStringLiteral("Path of herd-bench (default: beside this program)."), QStringLiteral("PATH"));
    const QCommandLineOption showOpt(QStringLiteral("show"), QStringLiteral("Show the window (default offscreen)."));
    parser.addOptions({rateOpt, durationOpt, poolOpt, benchOpt, showOpt});
    parser.process(app);
    const int rate = parser.value(rateOpt).toInt();
    const int duration = parser.value(durationOpt).toInt();
    const QString benchPath = parser.isSet(benchOpt) ? parser.value(benchOpt)
                                                     : QCoreApplication::applicationDirPath() + QStringLiteral("/herd-bench");

    QTemporaryDir dir;
    herd::HerdConfig config = herd::HerdConfig::builtin();
    for (herd::NodeConfig &n : config.nodes)
        n.port = 0;
    config.logDir = dir.filePath(QStringLiteral("logs"));   // logging stays on, as in production
    config.places.provider = QStringLiteral("offline");

    herd::MainWindow window;
    window.resize(1400, 900);
    window.show();
    window.loadHerd(config);

    // The probe: a 10 ms timer; how much later than 10 ms each tick comes is the lag a user feels.
    constexpr int kProbeMs = 10;
    QElapsedTimer clock;
    clock.start();
    qint64 lastTick = 0;
    std::vector<double> lagsThisSecond;
    std::vector<double> allLags;
    QTimer probe;
    probe.setTimerType(Qt::PreciseTimer);
    QObject::connect(&probe, &QTimer::timeout, &app, [&] {
        const qint64 now = clock.nsecsElapsed();
        if (lastTick)
            lagsThisSecond.push_back(std::max(0.0, double(now - lastTick) / 1e6 - kProbeMs));
        lastTick = now;
    });

    int batches = 0;
    quint64 rows = 0;
    QList<quint16> ports;
    bool linksUp = false;
    QObject::connect(&window, &herd::MainWindow::batchShown, &app, [&](const herd::MonitorBatchPtr &batch) {
        ++batches;
        rows += quint64(batch->traffic.size()) + batch->trafficDropped;
        if (linksUp)
            return;
        QList<quint16> bound;
        for (const herd::NodeStats &s : batch->stats) {
            for (const herd::LinkInfo &l : s.links)
                if (!l.up)
                    return;
            bound.append(s.port);
        }
        linksUp = true;
        ports = bound;
    });
    while (!linksUp && clock.elapsed() < 10000)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    if (!linksUp) {
        std::fprintf(stderr, "herd-monitor-bench: the herd did not come up\n");
        return 2;
    }

    QStringList portList;
    for (quint16 p : ports)
        portList << QString::number(p);
    QProcess load;
    load.setProcessChannelMode(QProcess::SeparateChannels);
    load.start(benchPath, {QStringLiteral("iamat"), QStringLiteral("--ports"), portList.join(QLatin1Char(',')),
                           QStringLiteral("--connections"), QStringLiteral("20"), QStringLiteral("--depth"), QStringLiteral("8"),
                           QStringLiteral("--rate"), QString::number(rate), QStringLiteral("--duration"), QString::number(duration),
                           QStringLiteral("--warmup"), QStringLiteral("0"), QStringLiteral("--clients"), QStringLiteral("repeat"),
                           QStringLiteral("--pool"), parser.value(poolOpt)});
    if (!load.waitForStarted(5000)) {
        std::fprintf(stderr, "herd-monitor-bench: cannot start %s\n", qPrintable(benchPath));
        return 2;
    }

    std::printf("%5s %9s %9s %9s %8s %9s %9s %8s\n", "t(s)", "lag p50", "lag p99", "lag max", "RSS MiB",
                "batches/s", "rows/s", "clients");
    QList<double> rss;
    int second = 0;
    int lastBatches = 0;
    quint64 lastRows = 0;
    QTimer perSecond;
    QObject::connect(&perSecond, &QTimer::timeout, &app, [&] {
        ++second;
        const double mib = rssMiB();
        rss.append(mib);
        std::printf("%5d %7.2fms %7.2fms %7.2fms %8.1f %9d %9llu %8d\n", second,
                    percentile(lagsThisSecond, 0.5), percentile(lagsThisSecond, 0.99),
                    lagsThisSecond.empty() ? 0.0 : *std::max_element(lagsThisSecond.begin(), lagsThisSecond.end()),
                    mib, batches - lastBatches, static_cast<unsigned long long>(rows - lastRows),
                    window.clientModel()->rowCount());
        std::fflush(stdout);
        allLags.insert(allLags.end(), lagsThisSecond.begin(), lagsThisSecond.end());
        lagsThisSecond.clear();
        lastBatches = batches;
        lastRows = rows;
    });
    QObject::connect(&load, &QProcess::finished, &app, [&] { QCoreApplication::quit(); });
    probe.start(kProbeMs);
    perSecond.start(1000);
    app.exec();

    const QByteArray out = load.readAllStandardOutput();
    const QByteArray lastLine = out.trimmed().split('\n').value(out.trimmed().count('\n'));
    const QJsonObject loadResult = QJsonDocument::fromJson(lastLine).object();
    // Memory after the first quarter (pools filled, models at size) against the end.
    const double rssWarm = rss.isEmpty() ? 0 : rss.at(std::min<qsizetype>(rss.size() - 1, rss.size() / 4));
    const double rssEnd = rss.isEmpty() ? 0 : rss.back();
    const double lagP99 = percentile(allLags, 0.99);
    const double lagMax = allLags.empty() ? 0 : *std::max_element(allLags.begin(), allLags.end());
    std::printf("\nload: %s\n", lastLine.constData());
    std::printf("GUI lag p50 %.2f ms, p99 %.2f ms, max %.2f ms; RSS %.1f MiB after warm-up, %.1f MiB at the end\n",
                percentile(allLags, 0.5), lagP99, lagMax, rssWarm, rssEnd);
    QJsonObject result{
        {QStringLiteral("mode"), QStringLiteral("monitor")},
        {QStringLiteral("target_rate"), rate},
        {QStringLiteral("achieved_rate"), loadResult.value(QStringLiteral("requests_per_s"))},
        {QStringLiteral("load_errors"), loadResult.value(QStringLiteral("errors"))},
        {QStringLiteral("lag_p50_ms"), percentile(allLags, 0.5)},
        {QStringLiteral("lag_p99_ms"), lagP99},
        {QStringLiteral("lag_max_ms"), lagMax},
        {QStringLiteral("rss_warm_mib"), rssWarm},
        {QStringLiteral("rss_end_mib"), rssEnd},
        {QStringLiteral("seconds"), second},
    };
    std::printf("%s\n", QJsonDocument(result).toJson(QJsonDocument::Compact).constData());
    return 0;
}
