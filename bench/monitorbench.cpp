// herd-monitor-bench: what watching costs the herd, and what the monitor costs itself, at 5k,
// 100k and 1M distinct clients. For each client count it
//   1. starts a headless five-node herd (`herd --headless`, fixed free ports, status ports, offline
//      Places, logging on), stores N distinct clients with `herd-bench preload`, and reads its RSS;
//   2. drives it with `herd-bench iamat` at the target rate over those clients (the store stays
//      at N): the herd's rate with nobody watching;
//   3. the same with R plain /events readers (raw TCP GETs that read everything) and I idle
//      readers (GET, then never read);
//   4. the same with a remote monitor attached (this program, a MainWindow with
//      connectRemote(), in a child process): GUI event-loop lag (a 10 ms probe timer), its RSS, and
//      the map's repaint time with the clients it shows;
//   5. stops that herd and hosts the same herd in a monitor (MainWindow::loadHerd, child
//      process): preload, RSS against the headless herd's, the rate, GUI lag and map repaint.
// Prints a table, then one JSON line per client count.
#include "clienttablemodel.h"
#include "herd.h"
#include "mainwindow.h"
#include "mapview.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTimer>
#include <algorithm>
#include <cstdio>
#include <memory>

namespace {

double rssMiB(qint64 pid = 0)
{
    QFile status(pid > 0 ? QStringLiteral("/proc/%1/status").arg(pid) : QStringLiteral("/proc/self/status"));
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

quint16 freePort()
{
    QTcpServer s;
    s.listen(QHostAddress::LocalHost, 0);
    return s.serverPort();
}

void waitMs(int ms)
{
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < ms)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
}

bool waitUntil(const std::function<bool()> &done, int timeoutMs)
{
    QElapsedTimer t;
    t.start();
    while (!done()) {
        if (t.elapsed() > timeoutMs)
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    }
    return true;
}

struct Options {
    QString herd;
    QString bench;
    int rate = 20000;
    int duration = 10;
    int readers = 5;
    int idleReaders = 0;
    QList<int> sizes;
    QString configPath;
    QString url;
    int clients = 0;
    QString tag;
};

// Runs herd-bench to the end, keeping the event loop (the GUI) running; the last JSON line.
QJsonObject runBench(const Options &o, const QStringList &args, QString *error = nullptr)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::SeparateChannels);
    p.start(o.bench, args);
    if (!p.waitForStarted(5000)) {
        if (error)
            *error = QStringLiteral("cannot start %1").arg(o.bench);
        return {};
    }
    while (p.state() != QProcess::NotRunning)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    const QByteArray out = p.readAllStandardOutput().trimmed();
    const QByteArray last = out.mid(out.lastIndexOf('\n') + 1);
    const QJsonObject result = QJsonDocument::fromJson(last).object();
    if (result.isEmpty())
        std::fprintf(stderr, "herd-monitor-bench: herd-bench %s gave no result: %s\n%s\n", qPrintable(args.join(QLatin1Char(' '))),
                     out.right(400).constData(), p.readAllStandardError().right(400).constData());
    return result;
}

QStringList portsOf(const herd::HerdConfig &config)
{
    QStringList ports;
    for (const herd::NodeConfig &n : config.nodes)
        ports << QString::number(n.port);
    return ports;
}

QJsonObject preload(const Options &o, const herd::HerdConfig &config, int clients, const QString &tag)
{
    return runBench(o, {QStringLiteral("preload"), QStringLiteral("--port"), QString::number(config.nodes.first().port),
                        QStringLiteral("--pool"), QString::number(clients), QStringLiteral("--tag"), tag});
}

// The measured load: IAMATs at the target rate over the preloaded clients, spread over all nodes.
QJsonObject load(const Options &o, const herd::HerdConfig &config, int clients, const QString &tag)
{
    return runBench(o, {QStringLiteral("iamat"), QStringLiteral("--ports"), portsOf(config).join(QLatin1Char(',')),
                        QStringLiteral("--connections"), QStringLiteral("20"), QStringLiteral("--depth"), QStringLiteral("8"),
                        QStringLiteral("--rate"), QString::number(o.rate), QStringLiteral("--duration"), QString::number(o.duration),
                        QStringLiteral("--warmup"), QStringLiteral("1"), QStringLiteral("--clients"), QStringLiteral("repeat"),
                        QStringLiteral("--pool"), QString::number(clients), QStringLiteral("--tag"), tag});
}

// The GUI thread's lateness: a 10 ms timer, how much later than 10 ms each tick comes.
class LagProbe {
public:
    LagProbe()
    {
        m_timer.setTimerType(Qt::PreciseTimer);
        QObject::connect(&m_timer, &QTimer::timeout, [this] {
            const qint64 now = m_clock.nsecsElapsed();
            if (m_last)
                m_lags.push_back(std::max(0.0, double(now - m_last) / 1e6 - 10));
            m_last = now;
        });
    }
    void start()
    {
        m_lags.clear();
        m_last = 0;
        m_clock.start();
        m_timer.start(10);
    }
    void stop() { m_timer.stop(); }
    double p(double q) const { return percentile(m_lags, q); }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_last = 0;
    std::vector<double> m_lags;
};

// The map at the window's size, background cached: the median of a few full repaints, and
// the share spent on the clients.
QJsonObject mapRepaint(herd::MapView *map)
{
    map->fitWorld();
    QImage image(map->size(), QImage::Format_ARGB32_Premultiplied);
    map->render(&image);
    std::vector<double> total;
    std::vector<double> points;
    for (int i = 0; i < 7; ++i) {
        QElapsedTimer t;
        t.start();
        map->render(&image);
        total.push_back(double(t.nsecsElapsed()) / 1e6);
        points.push_back(double(map->lastPaint().pointNs) / 1e6);
    }
    return {{QStringLiteral("map_ms"), percentile(total, 0.5)},
            {QStringLiteral("map_clients_ms"), percentile(points, 0.5)},
            {QStringLiteral("map_in_view"), map->lastPaint().inView},
            {QStringLiteral("map_aggregated"), map->lastPaint().aggregated}};
}

// ---- child phases: a monitor in this process ---------------------------------------------

int runMonitorPhase(const Options &o, bool remote)
{
    QString error;
    const auto config = herd::HerdConfig::load(o.configPath, &error);
    if (!config) {
        std::fprintf(stderr, "herd-monitor-bench: %s\n", qPrintable(error));
        return 2;
    }
    const double rssBefore = rssMiB();
    auto window = std::make_unique<herd::MainWindow>();
    window->resize(1400, 900);
    window->show();
    bool linksUp = false;
    QObject::connect(window.get(), &herd::MainWindow::batchShown, [&](const herd::MonitorBatchPtr &batch) {
        if (batch->stats.size() < config->nodes.size())
            return;
        for (const herd::NodeStats &s : batch->stats)
            for (const herd::LinkInfo &l : s.links)
                if (!l.up)
                    return;
        linksUp = true;
    });
    if (remote)
        window->connectRemote(QUrl(o.url));
    else
        window->loadHerd(*config);
    if (!waitUntil([&] { return linksUp; }, 20000)) {
        std::fprintf(stderr, "herd-monitor-bench: the herd did not come up\n");
        return 2;
    }
    QElapsedTimer clock;
    clock.start();
    if (!remote)
        preload(o, *config, o.clients, o.tag);
    // Until the table holds what it will hold (all of them in-process; what the nodes' first
    // /events lines carry, remotely), steady for two seconds.
    herd::ClientTableModel *table = window->clientModel();
    int last = -1;
    QElapsedTimer steady;
    steady.start();
    waitUntil([&] {
        const int now = table->clientCount();
        if (now != last) {
            last = now;
            steady.restart();
        }
        return (!remote && now >= o.clients) || steady.elapsed() > 2000;
    }, 120000);
    const double loadedS = double(clock.elapsed()) / 1000;
    waitMs(1000);
    const double rssLoaded = rssMiB();

    LagProbe probe;
    probe.start();
    const QJsonObject result = load(o, *config, o.clients, o.tag);
    probe.stop();
    const double rssEnd = rssMiB();
    QJsonObject out{{QStringLiteral("phase"), remote ? QStringLiteral("remote") : QStringLiteral("inprocess")},
                    {QStringLiteral("rate"), result.value(QStringLiteral("requests_per_s"))},
                    {QStringLiteral("errors"), result.value(QStringLiteral("errors"))},
                    {QStringLiteral("lag_p50_ms"), probe.p(0.5)},
                    {QStringLiteral("lag_p99_ms"), probe.p(0.99)},
                    {QStringLiteral("rss_start_mib"), rssBefore},
                    {QStringLiteral("rss_loaded_mib"), rssLoaded},
                    {QStringLiteral("rss_end_mib"), rssEnd},
                    {QStringLiteral("clients_shown"), table->clientCount()},
                    {QStringLiteral("table_bytes"), double(table->memoryBytes())},
                    {QStringLiteral("load_s"), loadedS}};
    const QJsonObject map = mapRepaint(window->map());
    for (auto it = map.begin(); it != map.end(); ++it)
        out.insert(it.key(), it.value());
    std::printf("%s\n", QJsonDocument(out).toJson(QJsonDocument::Compact).constData());
    std::fflush(stdout);
    window.reset();
    return 0;
}

// ---- parent: the headless herd and the /events readers -----------------------------------

class Readers {
public:
    Readers(const herd::HerdConfig &config, int reading, int idle)
    {
        for (int i = 0; i < reading + idle; ++i) {
            const herd::NodeConfig &node = config.nodes.at(i % config.nodes.size());
            auto *s = new QTcpSocket;
            m_sockets.emplace_back(s);
            const bool reads = i < reading;
            if (!reads)
                s->setReadBufferSize(4096);   // Qt stops taking bytes from the kernel: never read
            QObject::connect(s, &QTcpSocket::connected, s, [s] {
                s->write("GET /events HTTP/1.1\r\nHost: bench\r\nConnection: keep-alive\r\n\r\n");
            });
            if (reads)
                QObject::connect(s, &QTcpSocket::readyRead, s, [this, s] { m_bytes += s->readAll().size(); });
            s->connectToHost(QHostAddress::LocalHost, quint16(node.statusPort));
        }
    }
    qint64 bytes() const { return m_bytes; }
    int connected() const
    {
        return int(std::count_if(m_sockets.begin(), m_sockets.end(),
                                 [](const auto &s) { return s->state() == QAbstractSocket::ConnectedState; }));
    }

private:
    std::vector<std::unique_ptr<QTcpSocket>> m_sockets;
    qint64 m_bytes = 0;
};

QJsonObject runChild(const QStringList &args)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    p.start(QCoreApplication::applicationFilePath(), args);
    p.waitForStarted(5000);
    while (p.state() != QProcess::NotRunning)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    const QList<QByteArray> lines = p.readAllStandardOutput().trimmed().split('\n');
    return QJsonDocument::fromJson(lines.isEmpty() ? QByteArray() : lines.last()).object();
}

QJsonObject runSize(const Options &o, int clients)
{
    QTemporaryDir dir;
    herd::HerdConfig config = herd::HerdConfig::builtin();
    for (herd::NodeConfig &n : config.nodes) {
        n.port = freePort();
        n.statusPort = freePort();
    }
    config.logDir = dir.filePath(QStringLiteral("logs"));   // logging stays on, as in production
    config.places.provider = QStringLiteral("offline");
    const QString configPath = dir.filePath(QStringLiteral("herd.json"));
    {
        QFile f(configPath);
        f.open(QIODevice::WriteOnly);
        f.write(QJsonDocument(config.toJson()).toJson());
    }
    const QString tag = QStringLiteral("m%1x%2.").arg(clients).arg(QCoreApplication::applicationPid());
    QJsonObject row{{QStringLiteral("bench"), QStringLiteral("monitor")}, {QStringLiteral("clients"), clients},
                    {QStringLiteral("target_rate"), o.rate}};

    std::fprintf(stderr, "[%d clients] headless herd, preload\n", clients);
    QProcess headless;
    headless.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    headless.setStandardOutputFile(QProcess::nullDevice());
    headless.start(o.herd, {QStringLiteral("--headless"), QStringLiteral("--config"), configPath});
    if (!headless.waitForStarted(5000))
        return row;
    waitUntil([&] {
        QTcpSocket s;
        s.connectToHost(QHostAddress::LocalHost, quint16(config.nodes.last().statusPort));
        return s.waitForConnected(200);
    }, 10000);
    waitMs(2500);   // links up (heartbeat interval)
    const QJsonObject pre = preload(o, config, clients, tag);
    row.insert(QStringLiteral("preload_rate"), pre.value(QStringLiteral("requests_per_s")));
    waitMs(3000);   // floods settle
    row.insert(QStringLiteral("headless_rss_mib"), rssMiB(headless.processId()));

    std::fprintf(stderr, "[%d clients] nobody watching\n", clients);
    row.insert(QStringLiteral("rate_alone"), load(o, config, clients, tag).value(QStringLiteral("requests_per_s")));

    if (o.readers + o.idleReaders > 0) {
        std::fprintf(stderr, "[%d clients] %d /events readers, %d idle\n", clients, o.readers, o.idleReaders);
        Readers readers(config, o.readers, o.idleReaders);
        waitUntil([&] { return readers.connected() == o.readers + o.idleReaders; }, 5000);
        waitMs(1000);
        const qint64 before = readers.bytes();
        const QJsonObject r = load(o, config, clients, tag);
        row.insert(QStringLiteral("rate_readers"), r.value(QStringLiteral("requests_per_s")));
        row.insert(QStringLiteral("readers_mib"), double(readers.bytes() - before) / (1 << 20));
    }

    std::fprintf(stderr, "[%d clients] remote monitor attached\n", clients);
    const QString url = QStringLiteral("http://127.0.0.1:%1/").arg(config.nodes.first().statusPort);
    const QJsonObject remote = runChild({QStringLiteral("--phase"), QStringLiteral("remote"), QStringLiteral("--url"), url,
                                         QStringLiteral("--config-file"), configPath, QStringLiteral("--clients"), QString::number(clients),
                                         QStringLiteral("--tag"), tag, QStringLiteral("--rate"), QString::number(o.rate),
                                         QStringLiteral("--duration"), QString::number(o.duration),
                                         QStringLiteral("--herd"), o.herd, QStringLiteral("--bench"), o.bench});
    row.insert(QStringLiteral("remote"), remote);

    headless.terminate();
    headless.waitForFinished(10000);

    std::fprintf(stderr, "[%d clients] in-process monitor\n", clients);
    const QString tag2 = tag + QStringLiteral("ip.");
    const QJsonObject inproc = runChild({QStringLiteral("--phase"), QStringLiteral("inprocess"), QStringLiteral("--config-file"), configPath,
                                         QStringLiteral("--clients"), QString::number(clients), QStringLiteral("--tag"), tag2,
                                         QStringLiteral("--rate"), QString::number(o.rate), QStringLiteral("--duration"), QString::number(o.duration),
                                         QStringLiteral("--herd"), o.herd, QStringLiteral("--bench"), o.bench});
    row.insert(QStringLiteral("inprocess"), inproc);
    return row;
}

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QCoreApplication::setOrganizationName(QStringLiteral("herd-bench"));
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("What watching costs the herd, and what the monitor costs, at several client counts."));
    parser.addHelpOption();
    const QCommandLineOption rateOpt(QStringLiteral("rate"), QStringLiteral("IAMAT/s into the herd (default 20000)."), QStringLiteral("N"), QStringLiteral("20000"));
    const QCommandLineOption durationOpt(QStringLiteral("duration"), QStringLiteral("Seconds per measured load (default 10)."), QStringLiteral("S"), QStringLiteral("10"));
    const QCommandLineOption sizesOpt(QStringLiteral("clients"), QStringLiteral("Distinct clients, comma-separated (default 5000,100000,1000000)."), QStringLiteral("LIST"), QStringLiteral("5000,100000,1000000"));
    const QCommandLineOption readersOpt(QStringLiteral("readers"), QStringLiteral("/events readers that read (default 5)."), QStringLiteral("N"), QStringLiteral("5"));
    const QCommandLineOption idleOpt(QStringLiteral("idle-readers"), QStringLiteral("/events readers that never read (default 0)."), QStringLiteral("N"), QStringLiteral("0"));
    const QCommandLineOption benchOpt(QStringLiteral("bench"), QStringLiteral("Path of herd-bench (default: beside this program)."), QStringLiteral("PATH"));
    const QCommandLineOption herdOpt(QStringLiteral("herd"), QStringLiteral("Path of herd (default: ../app/herd from this program)."), QStringLiteral("PATH"));
    // Internal: one monitor phase in a child process, so its RSS is its own.
    const QCommandLineOption phaseOpt(QStringLiteral("phase"), QStringLiteral("(internal) remote | inprocess"), QStringLiteral("P"));
    const QCommandLineOption urlOpt(QStringLiteral("url"), QStringLiteral("(internal) status URL"), QStringLiteral("URL"));
    const QCommandLineOption configOpt(QStringLiteral("config-file"), QStringLiteral("(internal) herd config"), QStringLiteral("PATH"));
    const QCommandLineOption tagOpt(QStringLiteral("tag"), QStringLiteral("(internal) client tag"), QStringLiteral("T"));
    parser.addOptions({rateOpt, durationOpt, sizesOpt, readersOpt, idleOpt, benchOpt, herdOpt, phaseOpt, urlOpt, configOpt, tagOpt});
    parser.process(app);

    Options o;
    const QString dir = QCoreApplication::applicationDirPath();
    o.bench = parser.isSet(benchOpt) ? parser.value(benchOpt) : dir + QStringLiteral("/herd-bench");
    o.herd = parser.isSet(herdOpt) ? parser.value(herdOpt) : dir + QStringLiteral("/../app/herd");
    o.rate = parser.value(rateOpt).toInt();
    o.duration = parser.value(durationOpt).toInt();
    o.readers = parser.value(readersOpt).toInt();
    o.idleReaders = parser.value(idleOpt).toInt();
    for (const QString &s : parser.value(sizesOpt).split(QLatin1Char(','), Qt::SkipEmptyParts))
        o.sizes.append(s.toInt());
    o.configPath = parser.value(configOpt);
    o.url = parser.value(urlOpt);
    o.tag = parser.value(tagOpt);
    o.clients = o.sizes.value(0);

    if (parser.isSet(phaseOpt))
        return runMonitorPhase(o, parser.value(phaseOpt) == QStringLiteral("remote"));

    QList<QJsonObject> rows;
    for (int n : std::as_const(o.sizes))
        rows.append(runSize(o, n));

    auto num = [](const QJsonObject &obj, const char *key) { return obj.value(QLatin1String(key)).toDouble(); };
    std::printf("\nherd-monitor-bench: target %d IAMAT/s, %d s per run, %d /events readers + %d idle\n\n", o.rate,
                o.duration, o.readers, o.idleReaders);
    std::printf("%9s | %9s %9s %6s | %9s %6s %8s %8s %8s %8s | %9s %6s %8s %8s %8s %9s %6s %8s\n", "clients",
                "alone/s", "readers/s", "ratio", "remote/s", "ratio", "lag p50", "lag p99", "RSS MiB", "map ms",
                "in-proc/s", "ratio", "lag p50", "lag p99", "RSS MiB", "headless", "x", "map ms");
    for (const QJsonObject &r : std::as_const(rows)) {
        const double alone = num(r, "rate_alone");
        const QJsonObject rem = r.value(QStringLiteral("remote")).toObject();
        const QJsonObject inp = r.value(QStringLiteral("inprocess")).toObject();
        const double headless = num(r, "headless_rss_mib");
        auto ratio = [alone](double v) { return alone > 0 ? v / alone : 0.0; };
        std::printf("%9d | %9.0f %9.0f %6.2f | %9.0f %6.2f %8.1f %8.1f %8.0f %8.1f | %9.0f %6.2f %8.1f %8.1f %8.0f %9.0f %6.2f %8.1f\n",
                    r.value(QStringLiteral("clients")).toInt(), alone, num(r, "rate_readers"), ratio(num(r, "rate_readers")),
                    num(rem, "rate"), ratio(num(rem, "rate")), num(rem, "lag_p50_ms"), num(rem, "lag_p99_ms"),
                    num(rem, "rss_end_mib"), num(rem, "map_ms"), num(inp, "rate"), ratio(num(inp, "rate")),
                    num(inp, "lag_p50_ms"), num(inp, "lag_p99_ms"), num(inp, "rss_loaded_mib"), headless,
                    headless > 0 ? num(inp, "rss_loaded_mib") / headless : 0.0, num(inp, "map_ms"));
    }
    std::printf("\n");
    for (const QJsonObject &r : std::as_const(rows))
        std::printf("%s\n", QJsonDocument(r).toJson(QJsonDocument::Compact).constData());
    return 0;
}
