#include "metrics.h"

#include <QDir>
#include <QFile>
#include <QtGlobal>
#include <initializer_list>
#include <sys/resource.h>
#include <unistd.h>
#include <utility>

namespace herd::metrics {

namespace {

using Label = std::pair<const char *, QString>;

// Writes one metric family at a time: its HELP and TYPE lines, then its samples.
class Writer {
public:
    explicit Writer(QString node) : m_node(std::move(node)) {}

    void family(const char *name, const char *type, const char *help)
    {
        m_out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        m_out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    // A sample labelled node="..." plus `labels`.
    void sample(const char *name, std::initializer_list<Label> labels, const QByteArray &value)
    {
        m_out.append(name).append("{node=\"").append(escapeLabelValue(m_node)).append('"');
        for (const auto &[key, v] : labels)
            m_out.append(',').append(key).append("=\"").append(escapeLabelValue(v)).append('"');
        m_out.append("} ").append(value).append('\n');
    }
    void sample(const char *name, std::initializer_list<Label> labels, quint64 value)
    {
        sample(name, labels, QByteArray::number(value));
    }
    void sampleSeconds(const char *name, std::initializer_list<Label> labels, double seconds)
    {
        sample(name, labels, QByteArray::number(seconds, 'g', 15));
    }
    void raw(const QByteArray &line) { m_out.append(line).append('\n'); }

    QByteArray take() { return std::move(m_out); }

private:
    QString m_node;
    QByteArray m_out;
};

QString str(const char *s) { return QString::fromLatin1(s); }

} // namespace

BuildInfo buildInfo()
{
    return {QStringLiteral(HERD_VERSION), QString::fromLatin1(qVersion())};
}

QByteArray escapeLabelValue(const QString &value)
{
    const QByteArray utf8 = value.toUtf8();
    QByteArray out;
    out.reserve(utf8.size());
    for (const char c : utf8) {
        if (c == '\\')
            out.append("\\\\");
        else if (c == '"')
            out.append("\\\"");
        else if (c == '\n')
            out.append("\\n");
        else
            out.append(c);
    }
    return out;
}

namespace {

QByteArray readProc(const char *path)
{
    QFile f(QString::fromLatin1(path));
    return f.open(QIODevice::ReadOnly | QIODevice::Unbuffered) ? f.read(64 * 1024) : QByteArray();
}

// The usual process_* series (as every Prometheus client library exports them), from /proc/self:
// the whole process, so the same values on every node's endpoint of one process.
void processMetrics(Writer &w)
{
    const double page = double(::sysconf(_SC_PAGESIZE));
    const double tick = double(::sysconf(_SC_CLK_TCK));
    const QList<QByteArray> statm = readProc("/proc/self/statm").split(' ');
    // /proc/self/stat: the fields after the command name in parentheses (which may hold spaces).
    const QByteArray stat = readProc("/proc/self/stat");
    const QList<QByteArray> f = stat.mid(stat.lastIndexOf(')') + 2).split(' ');   // f[0] is field 3
    double bootTime = 0;
    for (const QByteArray &line : readProc("/proc/stat").split('\n')) {
        if (line.startsWith("btime "))
            bootTime = line.mid(6).trimmed().toDouble();
    }
    const auto num = [](double v) { return QByteArray::number(v, 'g', 15); };
    if (statm.size() >= 2) {
        w.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        w.raw("process_virtual_memory_bytes " + num(statm.at(0).toDouble() * page));
        w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        w.raw("process_resident_memory_bytes " + num(statm.at(1).toDouble() * page));
    }
    if (f.size() > 19 && tick > 0) {
        w.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
        w.raw("process_cpu_seconds_total " + num((f.at(11).toDouble() + f.at(12).toDouble()) / tick));
        if (bootTime > 0) {
            w.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
            w.raw("process_start_time_seconds " + num(bootTime + f.at(19).toDouble() / tick));
        }
    }
    w.family("process_open_fds", "gauge", "Number of open file descriptors.");
    w.raw("process_open_fds " + num(double(QDir(QStringLiteral("/proc/self/fd")).entryList(QDir::Files | QDir::System | QDir::NoDotAndDotDot).size())));
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        w.family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
        w.raw("process_max_fds " + num(lim.rlim_cur == RLIM_INFINITY ? -1.0 : double(lim.rlim_cur)));
    }
}

} // namespace

QByteArray prometheusText(const NodeStats &s, qint64 nowMs, const BuildInfo &build)
{
    Writer w(s.name);

    w.family("herd_build_info", "gauge", "Build of this herd process; the value is always 1.");
    w.raw("herd_build_info{version=\"" + escapeLabelValue(build.version) + "\",qt=\""
          + escapeLabelValue(build.qt) + "\"} 1");

    w.family("herd_node_running", "gauge", "1 while the node is serving, 0 when stopped.");
    w.sample("herd_node_running", {}, s.running ? 1 : 0);
    w.family("herd_node_start_time_seconds", "gauge", "When the node last started, in seconds since the epoch.");
    w.sampleSeconds("herd_node_start_time_seconds", {}, double(s.startedAtMs) / 1000.0);

    w.family("herd_connections", "gauge", "Open connections by kind: client, peer (links up), handshaking.");
    w.sample("herd_connections", {{"kind", str("client")}}, quint64(s.clientConnections));
    w.sample("herd_connections", {{"kind", str("peer")}}, quint64(s.peerConnections));
    w.sample("herd_connections", {{"kind", str("handshaking")}}, quint64(s.handshakingConnections));
    w.family("herd_connections_accepted_total", "counter", "Connections accepted (clients and neighbours).");
    w.sample("herd_connections_accepted_total", {}, s.connectionsAccepted);

    w.family("herd_lines_received_total", "counter", "Lines received from clients and neighbours.");
    w.sample("herd_lines_received_total", {}, s.linesIn);
    w.family("herd_lines_sent_total", "counter", "Lines sent to clients and neighbours.");
    w.sample("herd_lines_sent_total", {}, s.linesOut);

    w.family("herd_messages_received_total", "counter",
             "Lines received by command: IAMAT, WHATSAT (of a known client), AT (from neighbours), "
             "HERD-HB, HERD-ACK, handshake, sync, invalid.");
    const std::pair<const char *, quint64> commands[] = {
        {"IAMAT", s.iamat}, {"WHATSAT", s.whatsat}, {"AT", s.atIn}, {"HERD-HB", s.heartbeatsIn},
        {"HERD-ACK", s.acksIn}, {"handshake", s.handshakeIn}, {"sync", s.syncIn},
        {"invalid", s.invalidLines},
    };
    for (const auto &[command, n] : commands)
        w.sample("herd_messages_received_total", {{"command", str(command)}}, n);

    w.family("herd_rejects_total", "counter", "Lines and connections refused or closed, by reason.");
    const std::pair<const char *, quint64> reasons[] = {
        {"invalid_line", s.invalidLines},
        {"line_too_long", s.linesTooLong},
        {"too_many_connections", s.connectionsRefused},
        {"first_line_timeout", s.firstLineTimeouts},
        {"idle_timeout", s.idleTimeouts},
        {"handshake_timeout", s.handshakeTimeouts},
        {"auth_failure", s.authFailures},
        {"output_overflow", s.outputOverflows},
    };
    for (const auto &[reason, n] : reasons)
        w.sample("herd_rejects_total", {{"reason", str(reason)}}, n);

    w.family("herd_clients_known", "gauge", "Clients in the node's location store.");
    w.sample("herd_clients_known", {}, quint64(std::max<qint64>(s.clientsKnown, 0)));

    w.family("herd_clients_paused", "gauge",
             "1 while clients are not read because a live neighbour is behind on floods (flow control).");
    w.sample("herd_clients_paused", {}, s.clientsPaused ? 1 : 0);
    w.family("herd_backpressure_pauses_total", "counter",
             "Times clients were paused for a neighbour behind on floods.");
    w.sample("herd_backpressure_pauses_total", {}, s.backpressurePauses);

    // Per neighbour.
    w.family("herd_peer_up", "gauge", "1 while the link to the neighbour is up.");
    for (const LinkInfo &l : s.links)
        w.sample("herd_peer_up", {{"peer", l.peer}}, l.up ? 1 : 0);
    // The per-neighbour counters, each a family with one sample per link.
    struct LinkCounter {
        const char *name;
        const char *help;
        quint64 LinkStats::*member;
    };
    static constexpr LinkCounter kLinkCounters[] = {
        {"herd_link_flaps_total", "Times the link to the neighbour went down.", &LinkStats::timesDown},
        {"herd_floods_sent_total", "Updates sent to the neighbour (floods and catch-up).", &LinkStats::floodsSent},
        {"herd_floods_received_total", "Updates from the neighbour that were new here (stored).", &LinkStats::floodsReceived},
        {"herd_duplicates_dropped_total", "Updates from the neighbour that were not newer: dropped.", &LinkStats::duplicatesDropped},
        {"herd_heartbeats_sent_total", "Heartbeats sent to the neighbour.", &LinkStats::heartbeatsSent},
        {"herd_heartbeat_acks_received_total", "Heartbeat acks received from the neighbour.", &LinkStats::acksReceived},
    };
    for (const LinkCounter &counter : kLinkCounters) {
        w.family(counter.name, "counter", counter.help);
        for (const LinkInfo &l : s.links)
            w.sample(counter.name, {{"peer", l.peer}}, l.stats.*counter.member);
    }
    w.family("herd_heartbeat_age_seconds", "gauge",
             "Seconds since the neighbour last acked a heartbeat (absent until it has).");
    for (const LinkInfo &l : s.links) {
        if (l.stats.lastAckMs > 0)
            w.sampleSeconds("herd_heartbeat_age_seconds", {{"peer", l.peer}},
                            double(std::max<qint64>(nowMs - l.stats.lastAckMs, 0)) / 1000.0);
    }
    w.family("herd_heartbeat_rtt_seconds", "gauge", "Round trip of the last acked heartbeat (absent until one).");
    for (const LinkInfo &l : s.links) {
        if (l.stats.rttUs >= 0)
            w.sampleSeconds("herd_heartbeat_rtt_seconds", {{"peer", l.peer}}, double(l.stats.rttUs) / 1e6);
    }
    w.family("herd_peer_auth_failures_total", "counter", "Handshakes with the neighbour refused for authentication.");
    for (const LinkInfo &l : s.links)
        w.sample("herd_peer_auth_failures_total", {{"peer", l.peer}}, l.stats.authFailures);

    // Places.
    w.family("herd_places_request_duration_seconds", "histogram",
             "Time from a WHATSAT's Places search to its answer (errors and time-outs included).");
    quint64 cumulative = 0;
    for (size_t i = 0; i < kPlacesLatencyBoundsMs.size(); ++i) {
        cumulative += s.placesLatency[i];
        w.sample("herd_places_request_duration_seconds_bucket",
                 {{"le", QString::number(double(kPlacesLatencyBoundsMs[i]) / 1000.0, 'g', 15)}}, cumulative);
    }
    cumulative += s.placesLatency.back();
    w.sample("herd_places_request_duration_seconds_bucket", {{"le", str("+Inf")}}, cumulative);
    w.sampleSeconds("herd_places_request_duration_seconds_sum", {}, double(s.placesLatencySumUs) / 1e6);
    w.sample("herd_places_request_duration_seconds_count", {}, cumulative);
    w.family("herd_places_errors_total", "counter",
             "Places answers that were failures, by status (OTHER: any status not listed).");
    for (size_t i = 0; i < kPlacesErrorStatuses.size(); ++i)
        w.sample("herd_places_errors_total", {{"status", str(kPlacesErrorStatuses[i])}}, s.placesErrors[i]);

    processMetrics(w);
    return w.take();
}

} // namespace herd::metrics
