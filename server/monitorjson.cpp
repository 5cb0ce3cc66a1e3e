#include "monitorjson.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QLocale>
#include <array>
#include <utility>

namespace herd::json {

namespace {

QString bytes(QByteArrayView b)
{
    return QString::fromLatin1(b);
}

QByteArray bytes(const QJsonValue &v)
{
    return v.toString().toLatin1();
}

quint64 counter(const QJsonValue &v)
{
    const double d = v.toDouble();
    return d > 0 ? quint64(d) : 0;
}

// The counters of NodeStats and LinkStats, each under its wire name, so both directions read
// the same table.
constexpr std::array kNodeCounters = {
    std::pair{"lines_in", &NodeStats::linesIn},
    std::pair{"lines_out", &NodeStats::linesOut},
    std::pair{"iamat", &NodeStats::iamat},
    std::pair{"whatsat", &NodeStats::whatsat},
    std::pair{"invalid", &NodeStats::invalid},
    std::pair{"floods_sent", &NodeStats::floodsSent},
    std::pair{"floods_received", &NodeStats::floodsReceived},
    std::pair{"duplicates_dropped", &NodeStats::duplicatesDropped},
    std::pair{"connections_accepted", &NodeStats::connectionsAccepted},
    std::pair{"auth_failures", &NodeStats::authFailures},
    std::pair{"connections_refused", &NodeStats::connectionsRefused},
    std::pair{"timeouts", &NodeStats::timeouts},
    std::pair{"at_in", &NodeStats::atIn},
    std::pair{"heartbeats_in", &NodeStats::heartbeatsIn},
    std::pair{"acks_in", &NodeStats::acksIn},
    std::pair{"handshake_in", &NodeStats::handshakeIn},
    std::pair{"sync_in", &NodeStats::syncIn},
    std::pair{"invalid_lines", &NodeStats::invalidLines},
    std::pair{"lines_too_long", &NodeStats::linesTooLong},
    std::pair{"first_line_timeouts", &NodeStats::firstLineTimeouts},
    std::pair{"idle_timeouts", &NodeStats::idleTimeouts},
    std::pair{"handshake_timeouts", &NodeStats::handshakeTimeouts},
    std::pair{"output_overflows", &NodeStats::outputOverflows},
    std::pair{"backpressure_pauses", &NodeStats::backpressurePauses},
    std::pair{"places_latency_sum_us", &NodeStats::placesLatencySumUs},
};

constexpr std::array kLinkCounters = {
    std::pair{"heartbeats_sent", &LinkStats::heartbeatsSent},
    std::pair{"acks_received", &LinkStats::acksReceived},
    std::pair{"heartbeats_received", &LinkStats::heartbeatsReceived},
    std::pair{"times_up", &LinkStats::timesUp},
    std::pair{"times_down", &LinkStats::timesDown},
    std::pair{"floods_sent", &LinkStats::floodsSent},
    std::pair{"floods_received", &LinkStats::floodsReceived},
    std::pair{"duplicates_dropped", &LinkStats::duplicatesDropped},
    std::pair{"auth_failures", &LinkStats::authFailures},
};

constexpr std::array kKinds = {
    std::pair{LineKind::Iamat, "iamat"},
    std::pair{LineKind::Whatsat, "whatsat"},
    std::pair{LineKind::AtReply, "at-reply"},
    std::pair{LineKind::WhatsatReply, "whatsat-reply"},
    std::pair{LineKind::Invalid, "invalid"},
    std::pair{LineKind::Flood, "flood"},
    std::pair{LineKind::Duplicate, "duplicate"},
    std::pair{LineKind::Heartbeat, "heartbeat"},
    std::pair{LineKind::Handshake, "handshake"},
    std::pair{LineKind::LinkEvent, "link"},
    std::pair{LineKind::Connection, "connection"},
    std::pair{LineKind::Error, "error"},
    std::pair{LineKind::Blank, "blank"},
};

constexpr std::array kDirections = {
    std::pair{Direction::In, "in"},
    std::pair{Direction::Out, "out"},
    std::pair{Direction::Event, "event"},
};

constexpr std::array kLiveness = {
    std::pair{Liveness::Down, "down"},
    std::pair{Liveness::Alive, "alive"},
    std::pair{Liveness::Suspect, "suspect"},
    std::pair{Liveness::Dead, "dead"},
};

template <typename Table, typename Enum>
QString tokenOf(const Table &table, Enum value)
{
    for (const auto &[v, name] : table) {
        if (v == value)
            return QLatin1StringView(name);
    }
    return {};
}

template <typename Table>
auto valueOf(const Table &table, const QString &token) -> std::optional<decltype(table[0].first)>
{
    for (const auto &[v, name] : table) {
        if (token == QLatin1StringView(name))
            return v;
    }
    return std::nullopt;
}

QJsonObject fromTime(protocol::Timestamp t)
{
    return {{QStringLiteral("sec"), double(t.sec)}, {QStringLiteral("nsec"), t.nsec}};
}

protocol::Timestamp toTime(const QJsonValue &v)
{
    const QJsonObject o = v.toObject();
    return {qint64(o.value(QLatin1StringView("sec")).toDouble()), qint32(o.value(QLatin1StringView("nsec")).toInt())};
}

template <typename T, typename Convert>
QJsonArray arrayOf(const QList<T> &list, Convert convert)
{
    QJsonArray a;
    for (const T &item : list)
        a.append(convert(item));
    return a;
}

template <typename T, typename Convert>
QList<T> listOf(const QJsonValue &v, Convert convert)
{
    const QJsonArray a = v.toArray();
    QList<T> list;
    list.reserve(a.size());
    for (const QJsonValue &item : a)
        list.append(convert(item.toObject()));
    return list;
}

QJsonObject fromRow(const TrafficRow &row)
{
    return {{QStringLiteral("t"), double(row.timeUs)},
            {QStringLiteral("node"), row.node},
            {QStringLiteral("dir"), directionToken(row.dir)},
            {QStringLiteral("kind"), kindToken(row.kind)},
            {QStringLiteral("who"), bytes(row.who)},
            {QStringLiteral("text"), bytes(row.text)}};
}

TrafficRow toRow(const QJsonObject &o)
{
    TrafficRow row;
    row.timeUs = qint64(o.value(QLatin1StringView("t")).toDouble());
    row.node = o.value(QLatin1StringView("node")).toString();
    row.dir = directionFromToken(o.value(QLatin1StringView("dir")).toString()).value_or(Direction::Event);
    row.kind = kindFromToken(o.value(QLatin1StringView("kind")).toString()).value_or(LineKind::Error);
    row.who = bytes(o.value(QLatin1StringView("who")));
    row.text = bytes(o.value(QLatin1StringView("text")));
    return row;
}

QJsonObject fromStored(const StoredUpdate &u)
{
    return {{QStringLiteral("node"), u.node},
            {QStringLiteral("client"), bytes(u.client)},
            {QStringLiteral("time"), fromTime(u.time)},
            {QStringLiteral("lat"), u.lat},
            {QStringLiteral("lng"), u.lng},
            {QStringLiteral("at"), bytes(u.atLine)},
            {QStringLiteral("t"), double(u.timeUs)}};
}

StoredUpdate toStored(const QJsonObject &o)
{
    StoredUpdate u;
    u.node = o.value(QLatin1StringView("node")).toString();
    u.client = bytes(o.value(QLatin1StringView("client")));
    u.time = toTime(o.value(QLatin1StringView("time")));
    u.lat = o.value(QLatin1StringView("lat")).toDouble();
    u.lng = o.value(QLatin1StringView("lng")).toDouble();
    u.atLine = bytes(o.value(QLatin1StringView("at")));
    u.timeUs = qint64(o.value(QLatin1StringView("t")).toDouble());
    return u;
}

QJsonObject fromHop(const FloodHop &h)
{
    return {{QStringLiteral("client"), bytes(h.client)},
            {QStringLiteral("time"), fromTime(h.time)},
            {QStringLiteral("from"), h.from},
            {QStringLiteral("to"), h.to},
            {QStringLiteral("t"), double(h.timeUs)}};
}

FloodHop toHop(const QJsonObject &o)
{
    FloodHop h;
    h.client = bytes(o.value(QLatin1StringView("client")));
    h.time = toTime(o.value(QLatin1StringView("time")));
    h.from = o.value(QLatin1StringView("from")).toString();
    h.to = o.value(QLatin1StringView("to")).toString();
    h.timeUs = qint64(o.value(QLatin1StringView("t")).toDouble());
    return h;
}

} // namespace

QString kindToken(LineKind kind) { return tokenOf(kKinds, kind); }
std::optional<LineKind> kindFromToken(const QString &token) { return valueOf(kKinds, token); }
QString directionToken(Direction dir) { return tokenOf(kDirections, dir); }
std::optional<Direction> directionFromToken(const QString &token) { return valueOf(kDirections, token); }

QJsonObject fromLinkInfo(const LinkInfo &link)
{
    QJsonObject o{{QStringLiteral("peer"), link.peer},
                  {QStringLiteral("up"), link.up},
                  {QStringLiteral("cut"), link.cut},
                  {QStringLiteral("liveness"), tokenOf(kLiveness, link.liveness)},
                  {QStringLiteral("rtt_us"), double(link.stats.rttUs)},
                  {QStringLiteral("last_change_ms"), double(link.stats.lastChangeMs)},
                  {QStringLiteral("last_ack_ms"), double(link.stats.lastAckMs)}};
    for (const auto &[name, member] : kLinkCounters)
        o.insert(QLatin1StringView(name), double(link.stats.*member));
    return o;
}

LinkInfo toLinkInfo(const QJsonObject &o)
{
    LinkInfo link;
    link.peer = o.value(QLatin1StringView("peer")).toString();
    link.up = o.value(QLatin1StringView("up")).toBool();
    link.cut = o.value(QLatin1StringView("cut")).toBool();
    link.liveness = valueOf(kLiveness, o.value(QLatin1StringView("liveness")).toString()).value_or(Liveness::Down);
    link.stats.rttUs = qint64(o.value(QLatin1StringView("rtt_us")).toDouble(-1));
    link.stats.lastChangeMs = qint64(o.value(QLatin1StringView("last_change_ms")).toDouble());
    link.stats.lastAckMs = qint64(o.value(QLatin1StringView("last_ack_ms")).toDouble());
    for (const auto &[name, member] : kLinkCounters)
        link.stats.*member = counter(o.value(QLatin1StringView(name)));
    return link;
}

QJsonObject fromNodeStats(const NodeStats &stats)
{
    QJsonObject o{{QStringLiteral("name"), stats.name},
                  {QStringLiteral("running"), stats.running},
                  {QStringLiteral("port"), stats.port},
                  {QStringLiteral("started_at_ms"), double(stats.startedAtMs)},
                  {QStringLiteral("client_connections"), stats.clientConnections},
                  {QStringLiteral("peer_connections"), stats.peerConnections},
                  {QStringLiteral("handshaking_connections"), stats.handshakingConnections},
                  {QStringLiteral("clients_known"), double(stats.clientsKnown)},
                  {QStringLiteral("clients_paused"), stats.clientsPaused},
                  {QStringLiteral("links"), arrayOf(stats.links, fromLinkInfo)}};
    for (const auto &[name, member] : kNodeCounters)
        o.insert(QLatin1StringView(name), double(stats.*member));
    // Places latency: a count per bucket of kPlacesLatencyBoundsMs, the last for slower ones.
    QJsonArray latency;
    for (const quint64 n : stats.placesLatency)
        latency.append(double(n));
    o.insert(QLatin1StringView("places_latency"), latency);
    QJsonObject errors;
    for (size_t i = 0; i < kPlacesErrorStatuses.size(); ++i)
        errors.insert(QLatin1StringView(kPlacesErrorStatuses[i]), double(stats.placesErrors[i]));
    o.insert(QLatin1StringView("places_errors"), errors);
    return o;
}

NodeStats toNodeStats(const QJsonObject &o)
{
    NodeStats stats;
    stats.name = o.value(QLatin1StringView("name")).toString();
    stats.running = o.value(QLatin1StringView("running")).toBool();
    stats.port = quint16(o.value(QLatin1StringView("port")).toInt());
    stats.startedAtMs = qint64(o.value(QLatin1StringView("started_at_ms")).toDouble());
    stats.clientConnections = o.value(QLatin1StringView("client_connections")).toInt();
    stats.peerConnections = o.value(QLatin1StringView("peer_connections")).toInt();
    stats.handshakingConnections = o.value(QLatin1StringView("handshaking_connections")).toInt();
    stats.clientsKnown = qint64(o.value(QLatin1StringView("clients_known")).toDouble());
    stats.clientsPaused = o.value(QLatin1StringView("clients_paused")).toBool();
    stats.links = listOf<LinkInfo>(o.value(QLatin1StringView("links")), toLinkInfo);
    for (const auto &[name, member] : kNodeCounters)
        stats.*member = counter(o.value(QLatin1StringView(name)));
    const QJsonArray latency = o.value(QLatin1StringView("places_latency")).toArray();
    for (size_t i = 0; i < stats.placesLatency.size() && qsizetype(i) < latency.size(); ++i)
        stats.placesLatency[i] = counter(latency.at(qsizetype(i)));
    const QJsonObject errors = o.value(QLatin1StringView("places_errors")).toObject();
    for (size_t i = 0; i < kPlacesErrorStatuses.size(); ++i)
        stats.placesErrors[i] = counter(errors.value(QLatin1StringView(kPlacesErrorStatuses[i])));
    return stats;
}

QJsonObject fromBatch(const MonitorBatch &batch)
{
    return {{QStringLiteral("time_us"), double(batch.timeUs)},
            {QStringLiteral("traffic"), arrayOf(batch.traffic, fromRow)},
            {QStringLiteral("traffic_dropped"), double(batch.trafficDropped)},
            {QStringLiteral("stored"), arrayOf(batch.stored, fromStored)},
            {QStringLiteral("stored_dropped"), double(batch.storedDropped)},
            {QStringLiteral("hops"), arrayOf(batch.hops, fromHop)},
            {QStringLiteral("hops_dropped"), double(batch.hopsDropped)},
            {QStringLiteral("stats"), arrayOf(batch.stats, fromNodeStats)}};
}

std::optional<MonitorBatch> toBatch(const QJsonObject &o)
{
    if (!o.value(QLatin1StringView("time_us")).isDouble())
        return std::nullopt;
    MonitorBatch batch;
    batch.timeUs = qint64(o.value(QLatin1StringView("time_us")).toDouble());
    batch.traffic = listOf<TrafficRow>(o.value(QLatin1StringView("traffic")), toRow);
    batch.trafficDropped = counter(o.value(QLatin1StringView("traffic_dropped")));
    batch.stored = listOf<StoredUpdate>(o.value(QLatin1StringView("stored")), toStored);
    batch.storedDropped = counter(o.value(QLatin1StringView("stored_dropped")));
    batch.hops = listOf<FloodHop>(o.value(QLatin1StringView("hops")), toHop);
    batch.hopsDropped = counter(o.value(QLatin1StringView("hops_dropped")));
    batch.stats = listOf<NodeStats>(o.value(QLatin1StringView("stats")), toNodeStats);
    return batch;
}

namespace {

// A hand-written writer for the hot path (/events): the same JSON fromBatch() describes,
// without building a QJsonObject per row.
void putLatin1(QByteArray &out, QByteArrayView b)
{
    static const char hex[] = "0123456789abcdef";
    out.append('"');
    for (const char ch : b) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out.append('\\').append(char(c));
        } else if (c < 0x20) {
            const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            out.append(esc, sizeof esc);
        } else if (c < 0x80) {
            out.append(char(c));
        } else {   // one code point per byte, as UTF-8
            out.append(char(0xc0 | (c >> 6))).append(char(0x80 | (c & 0x3f)));
        }
    }
    out.append('"');
}

void putString(QByteArray &out, const QString &s)
{
    static const char hex[] = "0123456789abcdef";
    const QByteArray utf8 = s.toUtf8();
    out.append('"');
    for (const char ch : utf8) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out.append('\\').append(char(c));
        } else if (c < 0x20) {
            const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            out.append(esc, sizeof esc);
        } else {
            out.append(char(c));
        }
    }
    out.append('"');
}

void putInt(QByteArray &out, qint64 v) { out.append(QByteArray::number(v)); }
void putDouble(QByteArray &out, double v) { out.append(QByteArray::number(v, 'g', QLocale::FloatingPointShortest)); }

void putTime(QByteArray &out, protocol::Timestamp t)
{
    out.append("{\"sec\":");
    putInt(out, t.sec);
    out.append(",\"nsec\":");
    putInt(out, t.nsec);
    out.append('}');
}

} // namespace

QByteArray batchLine(const MonitorBatch &batch)
{
    QByteArray out;
    out.reserve(256 + batch.traffic.size() * 160 + batch.stored.size() * 200 + batch.hops.size() * 120);
    out.append("{\"time_us\":");
    putInt(out, batch.timeUs);
    out.append(",\"traffic\":[");
    for (qsizetype i = 0; i < batch.traffic.size(); ++i) {
        const TrafficRow &row = batch.traffic.at(i);
        out.append(i ? ",{\"t\":" : "{\"t\":");
        putInt(out, row.timeUs);
        out.append(",\"node\":");
        putString(out, row.node);
        out.append(",\"dir\":");
        putString(out, directionToken(row.dir));
        out.append(",\"kind\":");
        putString(out, kindToken(row.kind));
        out.append(",\"who\":");
        putLatin1(out, row.who);
        out.append(",\"text\":");
        putLatin1(out, row.text);
        out.append('}');
    }
    out.append("],\"traffic_dropped\":");
    putInt(out, qint64(batch.trafficDropped));
    out.append(",\"stored\":[");
    for (qsizetype i = 0; i < batch.stored.size(); ++i) {
        const StoredUpdate &u = batch.stored.at(i);
        out.append(i ? ",{\"node\":" : "{\"node\":");
        putString(out, u.node);
        out.append(",\"client\":");
        putLatin1(out, u.client);
        out.append(",\"time\":");
        putTime(out, u.time);
        out.append(",\"lat\":");
        putDouble(out, u.lat);
        out.append(",\"lng\":");
        putDouble(out, u.lng);
        out.append(",\"at\":");
        putLatin1(out, u.atLine);
        out.append(",\"t\":");
        putInt(out, u.timeUs);
        out.append('}');
    }
    out.append("],\"stored_dropped\":");
    putInt(out, qint64(batch.storedDropped));
    out.append(",\"hops\":[");
    for (qsizetype i = 0; i < batch.hops.size(); ++i) {
        const FloodHop &h = batch.hops.at(i);
        out.append(i ? ",{\"client\":" : "{\"client\":");
        putLatin1(out, h.client);
        out.append(",\"time\":");
        putTime(out, h.time);
        out.append(",\"from\":");
        putString(out, h.from);
        out.append(",\"to\":");
        putString(out, h.to);
        out.append(",\"t\":");
        putInt(out, h.timeUs);
        out.append('}');
    }
    out.append("],\"hops_dropped\":");
    putInt(out, qint64(batch.hopsDropped));
    out.append(",\"stats\":[");
    for (qsizetype i = 0; i < batch.stats.size(); ++i) {
        if (i)
            out.append(',');
        out.append(QJsonDocument(fromNodeStats(batch.stats.at(i))).toJson(QJsonDocument::Compact));
    }
    out.append("]}\n");
    return out;
}

} // namespace herd::json
