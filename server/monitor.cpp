#include "monitor.h"
#include "monitorjson.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QHash>
#include <QLoggingCategory>
#include <QMutex>
#include <QSet>
#include <QTcpSocket>
#include <QThread>
#include <QTimer>
#include <cstring>
#include <unordered_map>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcHerdCapture, "herd.capture", QtInfoMsg)

namespace herd {
QString lineKindName(LineKind kind)
{
    switch (kind) {
    case LineKind::Iamat: return QStringLiteral("IAMAT");
    case LineKind::Whatsat: return QStringLiteral("WHATSAT");
    case LineKind::AtReply: return QStringLiteral("AT reply");
    case LineKind::WhatsatReply: return QStringLiteral("WHATSAT reply");
    case LineKind::Invalid: return QStringLiteral("invalid");
    case LineKind::Flood: return QStringLiteral("flood");
    case LineKind::Duplicate: return QStringLiteral("duplicate");
    case LineKind::Heartbeat: return QStringLiteral("heartbeat");
    case LineKind::Handshake: return QStringLiteral("handshake");
    case LineKind::LinkEvent: return QStringLiteral("link");
    case LineKind::Connection: return QStringLiteral("connection");
    case LineKind::Error: return QStringLiteral("error");
    case LineKind::Blank: return QStringLiteral("blank");
    }
    return {};
}

QString directionName(Direction dir)
{
    switch (dir) {
    case Direction::In: return QStringLiteral("in");
    case Direction::Out: return QStringLiteral("out");
    case Direction::Event: return QStringLiteral("event");
    }
    return {};
}

using protocol::nowUs;

void LatestUpdates::put(StoredUpdate update)
{
    const auto key = qMakePair(update.node, update.client);
    const auto it = m_index.constFind(key);
    if (it != m_index.cend()) {
        m_updates[*it] = std::move(update);
    } else {
        m_index.insert(key, m_updates.size());
        m_updates.append(std::move(update));
    }
}

QList<StoredUpdate> LatestUpdates::take()
{
    m_index.clear();
    return std::exchange(m_updates, {});
}


void BatchMerger::addTraffic(TrafficRow row)
{
    m_traffic.push_back(std::move(row));
    if (qsizetype(m_traffic.size()) > m_maxTraffic) {
        m_traffic.pop_front();   // the oldest makes way
        ++m_trafficDropped;
    }
}

void BatchMerger::addHop(FloodHop hop)
{
    if (m_hops.size() < m_maxHops)
        m_hops.append(std::move(hop));
    else
        ++m_hopsDropped;
}

void BatchMerger::addDropped(quint64 traffic, quint64 stored, quint64 hops)
{
    m_trafficDropped += traffic;
    m_storedDropped += stored;
    m_hopsDropped += hops;
}

void BatchMerger::merge(MonitorBatch &&batch)
{
    addDropped(batch.trafficDropped, batch.storedDropped, batch.hopsDropped);
    for (TrafficRow &row : batch.traffic)
        addTraffic(std::move(row));
    for (StoredUpdate &u : batch.stored)
        m_stored.put(std::move(u));
    for (FloodHop &h : batch.hops)
        addHop(std::move(h));
    if (!batch.stats.isEmpty())
        m_stats = std::move(batch.stats);
}

MonitorBatch BatchMerger::take(qint64 timeUs)
{
    MonitorBatch b;
    b.timeUs = timeUs;
    b.traffic.reserve(qsizetype(m_traffic.size()));
    for (TrafficRow &row : m_traffic)
        b.traffic.append(std::move(row));
    m_traffic.clear();
    // Rows from several sources (streams, threads) are each in time order: interleave them
    // (stable: equal times keep their order).
    std::stable_sort(b.traffic.begin(), b.traffic.end(),
                     [](const TrafficRow &x, const TrafficRow &y) { return x.timeUs < y.timeUs; });
    b.trafficDropped = std::exchange(m_trafficDropped, 0);
    b.stored = m_stored.take();
    b.storedDropped = std::exchange(m_storedDropped, 0);
    b.hops = std::exchange(m_hops, {});
    std::stable_sort(b.hops.begin(), b.hops.end(),
                     [](const FloodHop &x, const FloodHop &y) { return x.timeUs < y.timeUs; });
    b.hopsDropped = std::exchange(m_hopsDropped, 0);
    b.stats = m_stats;   // kept: the newest known until replaced
    return b;
}

bool BatchMerger::isEmpty() const
{
    return m_traffic.empty() && m_stored.size() == 0 && m_hops.isEmpty() && m_trafficDropped == 0
           && m_storedDropped == 0 && m_hopsDropped == 0;
}

// ---- The capture's record format ---------------------------------------------------------
//
// Records are appended to a byte buffer by the node's thread and read by the collector. Each
// starts with a fixed head; fields are copied with memcpy (no alignment is assumed).
namespace {

enum RecordType : quint8 { TrafficRecord = 1, StoredRecord = 2, HeldRecord = 3 };

struct Head {
    quint32 len;      // the whole record, head included
    quint8 type;
    quint8 a;         // traffic: direction; stored: has a sender
    quint8 b;         // traffic: kind
    quint8 node;      // index into the stream's node names
    qint64 timeUs;
};
static_assert(sizeof(Head) == 16);

struct TrafficFields {
    quint16 whoLen;
    quint16 pad;
    quint32 textLen;
};

struct StoredFields {
    qint64 sec;
    qint32 nsec;
    quint32 subscriber;   // held records: the reader they are for
    double lat;
    double lng;
    quint16 clientLen;
    quint16 fromLen;
    quint32 atLen;
};

template <typename T>
T readAt(const char *p)
{
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// The owner's lowest-cost hand-over: the stream's buffers and counters since the last one.
struct Capture {
    std::vector<char> traffic;
    std::vector<char> state;
    quint32 trafficRecords = 0;
    quint64 trafficDropped = 0;
    quint64 storedDropped = 0;
    quint64 hopsDropped = 0;
    QList<NodeStats> stats;
    bool hasStats = false;
};

qsizetype used(const std::vector<char> &v) { return qsizetype(v.size()); }

} // namespace

// Lives in the collector thread: decodes the captured records, merges them for the in-process
// consumer (batchReady) and for each /events reader, and writes the readers' lines.
class EventCollector final : public QObject {
    Q_OBJECT
public:
    static constexpr qint64 kMaxUnwrittenBytes = EventStream::kMaxUnwrittenBytes;
    static constexpr int kStalledMs = EventStream::kStalledMs;
    static constexpr int kIdleLineMs = EventStream::kIdleLineMs;
    static constexpr qsizetype kMaxPendingStored = 2'000'000;   // per consumer; over it: dropped, counted

    explicit EventCollector(EventStream *stream) : m_stream(stream) {}

    // From the owner's thread.
    void put(Capture &&c, const QStringList &nodes)
    {
        QMutexLocker lock(&m_mutex);
        m_nodes = nodes;
        if (c.hasStats) {
            m_box.stats = std::move(c.stats);
            m_box.hasStats = true;
        }
        m_box.trafficDropped += c.trafficDropped;
        m_box.storedDropped += c.storedDropped;
        m_box.hopsDropped += c.hopsDropped;
        // Traffic: the newest wins. What the collector has not taken yet makes way when the new
        // would not fit beside it.
        if (!c.traffic.empty()) {
            if (used(m_box.traffic) + used(c.traffic) > EventStream::kMaxPendingTrafficBytes) {
                m_box.trafficDropped += m_box.trafficRecords;
                m_box.traffic.clear();
                m_box.trafficRecords = 0;
            }
            if (m_box.traffic.empty())
                std::swap(m_box.traffic, c.traffic);
            else
                m_box.traffic.insert(m_box.traffic.end(), c.traffic.begin(), c.traffic.end());
            m_box.trafficRecords += c.trafficRecords;
        }
        // State (stored updates and hops) keeps order; what does not fit is dropped, counted.
        if (!c.state.empty()) {
            if (used(m_box.state) + used(c.state) > EventStream::kMaxPendingStateBytes) {
                quint64 records = 0;
                for (qsizetype at = 0; at < used(c.state); at += readAt<quint32>(c.state.data() + at))
                    ++records;
                m_box.storedDropped += records;
                m_box.hopsDropped += records;
            } else if (m_box.state.empty()) {
                std::swap(m_box.state, c.state);
            } else {
                m_box.state.insert(m_box.state.end(), c.state.begin(), c.state.end());
            }
        }
        if (!m_drainQueued) {
            m_drainQueued = true;
            QMetaObject::invokeMethod(this, &EventCollector::drain, Qt::QueuedConnection);
        }
    }

    // Any thread.
    void batchApplied()
    {
        m_inFlight.store(false, std::memory_order_release);
    }
    void setBatchesWanted(bool on) { m_batchesWanted.store(on, std::memory_order_release); }

    // In this thread (queued from the owner).
    void adopt(quint32 id, const QString &node, QTcpSocket *socket, const QByteArray &firstLine)
    {
        auto sub = std::make_unique<Subscriber>();
        sub->id = id;
        sub->node = node;
        sub->socket = socket;
        sub->lastProgressMs = QDateTime::currentMSecsSinceEpoch();
        sub->lastLineMs = sub->lastProgressMs;
        socket->setParent(this);
        connect(socket, &QTcpSocket::bytesWritten, this, [s = sub.get()] {
            s->lastProgressMs = QDateTime::currentMSecsSinceEpoch();
        });
        connect(socket, &QTcpSocket::disconnected, this, [this, id] { drop(id); });
        connect(socket, &QTcpSocket::errorOccurred, this, [this, id, socket] {
            if (socket->state() != QAbstractSocket::ConnectedState)
                drop(id);
        });
        socket->readAll();   // nothing more is read from it
        socket->write(firstLine);
        m_subscribers.emplace(id, std::move(sub));
        if (socket->state() != QAbstractSocket::ConnectedState)
            drop(id);
    }

    void close(quint32 id)
    {
        auto it = m_subscribers.find(id);
        if (it != m_subscribers.end())
            it->second->socket->abort();
        drop(id);
    }

private:
    struct Subscriber {
        quint32 id = 0;
        QString node;
        QTcpSocket *socket = nullptr;
        BatchMerger pending{EventStream::kMaxTrafficRows, EventStream::kMaxHops};
        qint64 lastProgressMs = 0;
        qint64 lastLineMs = 0;
    };

    void drop(quint32 id)
    {
        auto it = m_subscribers.find(id);
        if (it == m_subscribers.end())
            return;
        std::unique_ptr<Subscriber> sub = std::move(it->second);
        m_subscribers.erase(it);
        sub->socket->disconnect(this);
        sub->socket->deleteLater();
        Q_EMIT m_stream->subscriberGone(id, sub->node);
    }

    void drain();
    void decodeTraffic(const std::vector<char> &buf, const QStringList &nodes, const QSet<QString> &wanted,
                       bool all, QHash<QString, BatchMerger> &perNode, BatchMerger *gui, quint64 dropped);
    static TrafficRow trafficRow(const char *p, const QStringList &nodes);
    void publish(const QHash<QString, MonitorBatch> &tick, qint64 now);

    EventStream *m_stream;
    QMutex m_mutex;
    Capture m_box;                 // guarded by m_mutex
    QStringList m_nodes;           // guarded by m_mutex
    bool m_drainQueued = false;    // guarded by m_mutex
    std::atomic<bool> m_inFlight{false};
    std::atomic<bool> m_batchesWanted{true};
    BatchMerger m_gui{EventStream::kMaxTrafficRows, EventStream::kMaxHops};
    std::unordered_map<quint32, std::unique_ptr<Subscriber>> m_subscribers;
};

TrafficRow EventCollector::trafficRow(const char *p, const QStringList &nodes)
{
    const Head h = readAt<Head>(p);
    const TrafficFields f = readAt<TrafficFields>(p + sizeof(Head));
    const char *who = p + sizeof(Head) + sizeof(TrafficFields);
    TrafficRow row;
    row.timeUs = h.timeUs;
    row.node = nodes.value(h.node);
    row.dir = Direction(h.a);
    row.kind = LineKind(h.b);
    row.who = QByteArray(who, f.whoLen);
    row.text = QByteArray(who + f.whoLen, qsizetype(f.textLen));
    return row;
}

void EventCollector::decodeTraffic(const std::vector<char> &buf, const QStringList &nodes,
                                   const QSet<QString> &wanted, bool all, QHash<QString, BatchMerger> &perNode,
                                   BatchMerger *gui, quint64 dropped)
{
    // Only the rows that can be delivered are decoded: the newest kMaxTrafficRows overall (the
    // in-process consumer) and per node with a reader; the rest are counted.
    std::vector<quint32> offsets;
    QHash<quint8, std::vector<quint32>> byNode;
    for (qsizetype at = 0; at < used(buf);) {
        const Head h = readAt<Head>(buf.data() + at);
        offsets.push_back(quint32(at));
        if (!wanted.isEmpty() && wanted.contains(nodes.value(h.node)))
            byNode[h.node].push_back(quint32(at));
        at += h.len;
    }
    const qsizetype limit = EventStream::kMaxTrafficRows;
    if (gui) {
        const qsizetype from = std::max<qsizetype>(0, qsizetype(offsets.size()) - limit);
        gui->addDropped(dropped + quint64(from), 0, 0);
        for (size_t i = size_t(from); i < offsets.size(); ++i)
            gui->addTraffic(trafficRow(buf.data() + offsets[i], nodes));
    }
    Q_UNUSED(all);
    for (auto it = byNode.cbegin(); it != byNode.cend(); ++it) {
        BatchMerger &m = perNode[nodes.value(it.key())];
        const std::vector<quint32> &list = it.value();
        const qsizetype from = std::max<qsizetype>(0, qsizetype(list.size()) - limit);
        m.addDropped(quint64(from), 0, 0);
        for (size_t i = size_t(from); i < list.size(); ++i)
            m.addTraffic(trafficRow(buf.data() + list[i], nodes));
    }
}

void EventCollector::drain()
{
    Capture c;
    QStringList nodes;
    {
        QMutexLocker lock(&m_mutex);
        std::swap(c, m_box);
        nodes = m_nodes;
        m_drainQueued = false;
    }
    const bool gui = m_batchesWanted.load(std::memory_order_acquire);
    QSet<QString> wanted;   // nodes with a reader
    for (const auto &[id, sub] : m_subscribers)
        wanted.insert(sub->node);
    QHash<QString, BatchMerger> perNode;
    for (const QString &n : std::as_const(wanted))
        perNode.insert(n, BatchMerger{EventStream::kMaxTrafficRows, EventStream::kMaxHops});

    decodeTraffic(c.traffic, nodes, wanted, gui, perNode, gui ? &m_gui : nullptr, c.trafficDropped);
    if (gui)
        m_gui.addDropped(0, c.storedDropped, c.hopsDropped);
    for (auto it = perNode.begin(); it != perNode.end(); ++it)
        it->addDropped(c.trafficDropped, c.storedDropped, c.hopsDropped);

    // Stored updates and hops: every record, in order.
    for (qsizetype at = 0; at < used(c.state);) {
        const char *p = c.state.data() + at;
        const Head h = readAt<Head>(p);
        at += h.len;
        const StoredFields f = readAt<StoredFields>(p + sizeof(Head));
        const char *client = p + sizeof(Head) + sizeof(StoredFields);
        const char *from = client + f.clientLen;
        const char *atLine = from + f.fromLen;
        const QString node = nodes.value(h.node);
        const protocol::Timestamp time{f.sec, f.nsec};
        if (h.type == HeldRecord) {
            auto it = m_subscribers.find(f.subscriber);
            if (it == m_subscribers.end() || it->second->node != node)
                continue;
            const QByteArrayView line(atLine, qsizetype(f.atLen));
            const protocol::Message m = protocol::parse(line);
            if (m.kind != protocol::Kind::At)
                continue;
            it->second->pending.addStored(StoredUpdate{node, QByteArray(client, f.clientLen), time, m.position.lat,
                                                       m.position.lng, line.toByteArray(), h.timeUs});
            continue;
        }
        const bool forGui = gui;
        auto nodeIt = perNode.find(node);
        if (!forGui && nodeIt == perNode.end())
            continue;
        StoredUpdate u{node, QByteArray(client, f.clientLen), time, f.lat, f.lng,
                       QByteArray(atLine, qsizetype(f.atLen)), h.timeUs};
        FloodHop hop{u.client, time, h.a ? QString::fromUtf8(from, f.fromLen) : QString(), node, h.timeUs};
        if (nodeIt != perNode.end()) {
            nodeIt->addStored(u);
            nodeIt->addHop(hop);
        }
        if (forGui) {
            m_gui.addStored(std::move(u));
            m_gui.addHop(std::move(hop));
        }
    }
    if (m_gui.pendingStored() > kMaxPendingStored) {
        // The consumer is far behind: its merge is capped (what it misses is counted).
        const MonitorBatch lost = m_gui.take(0);
        m_gui.addDropped(lost.trafficDropped + quint64(lost.traffic.size()), lost.storedDropped + quint64(lost.stored.size()),
                         lost.hopsDropped + quint64(lost.hops.size()));
    }

    const qint64 now = protocol::nowUs();
    if (c.hasStats) {
        if (gui)
            m_gui.setStats(c.stats);
        for (auto it = perNode.begin(); it != perNode.end(); ++it) {
            for (const NodeStats &st : std::as_const(c.stats)) {
                if (st.name == it.key()) {
                    it->setStats({st});
                    break;
                }
            }
        }
    }
    if (gui && !m_inFlight.load(std::memory_order_acquire)) {
        auto batch = std::make_shared<MonitorBatch>(m_gui.take(now));
        m_inFlight.store(true, std::memory_order_release);
        Q_EMIT m_stream->batchReady(batch);
    }

    QHash<QString, MonitorBatch> tick;
    for (auto it = perNode.begin(); it != perNode.end(); ++it)
        tick.insert(it.key(), it->take(now));
    publish(tick, now);
}

void EventCollector::publish(const QHash<QString, MonitorBatch> &tick, qint64 nowUsec)
{
    const qint64 now = nowUsec / 1000;
    // A reader that keeps up gets its node's batch as one line, shared with the other readers
    // of that node that keep up (serialized once); one that is behind gets it merged into what
    // it has not taken yet, as a single line once it has room.
    QHash<QString, QByteArray> shared;
    std::vector<quint32> stalled;
    for (auto &[id, sub] : m_subscribers) {
        const auto it = tick.constFind(sub->node);
        if (it == tick.cend())
            continue;
        const MonitorBatch &batch = *it;
        QTcpSocket *socket = sub->socket;
        const bool behind = socket->bytesToWrite() > kMaxUnwrittenBytes;
        if (behind) {
            MonitorBatch copy = batch;
            sub->pending.merge(std::move(copy));
            if (now - sub->lastProgressMs > kStalledMs)
                stalled.push_back(id);
            continue;
        }
        const bool idle = batch.traffic.isEmpty() && batch.stored.isEmpty() && batch.hops.isEmpty()
                          && batch.trafficDropped == 0 && batch.storedDropped == 0 && batch.hopsDropped == 0;
        if (sub->pending.isEmpty()) {
            if (idle && now - sub->lastLineMs < kIdleLineMs)
                continue;   // nothing happened: no line, but at least one a second (the stats move on)
            auto line = shared.find(sub->node);
            if (line == shared.end())
                line = shared.insert(sub->node, json::batchLine(batch));
            socket->write(*line);
        } else {
            MonitorBatch copy = batch;
            sub->pending.merge(std::move(copy));
            socket->write(json::batchLine(sub->pending.take(nowUsec)));
        }
        sub->lastLineMs = now;
    }
    for (quint32 id : stalled) {
        qCInfo(lcHerdCapture, "/events reader %u took nothing for %d ms, closing", id, kStalledMs);
        close(id);
    }
}

// ---- EventStream: the node's side ---------------------------------------------------------

EventStream::EventStream(std::function<QList<NodeStats>()> statsSource, QObject *parent)
    : QObject(parent), m_statsSource(std::move(statsSource)), m_timer(new QTimer(this)),
      m_thread(new QThread), m_collector(new EventCollector(this))
{
    qRegisterMetaType<herd::MonitorBatchPtr>();
    m_traffic.reserve(256 * 1024);
    m_state.reserve(256 * 1024);
    m_thread->setObjectName(QStringLiteral("herd-capture"));
    m_collector->moveToThread(m_thread);
    connect(m_thread, &QThread::finished, m_collector, &QObject::deleteLater);
    connect(m_thread, &QThread::started, m_collector, [] {
        // Below the nodes: under contention the collector yields, and loses detail instead.
        setpriority(PRIO_PROCESS, id_t(syscall(SYS_gettid)), 10);
    });
    m_thread->start();
    connect(m_timer, &QTimer::timeout, this, &EventStream::handOver);
    m_timer->start(kIntervalMs);
}

EventStream::~EventStream()
{
    m_thread->quit();
    m_thread->wait();
    delete m_thread;
}

void EventStream::setBatchesWanted(bool on)
{
    m_collector->setBatchesWanted(on);
}

void EventStream::batchApplied()
{
    m_collector->batchApplied();
}

quint8 EventStream::nodeIndex(const QString &node)
{
    for (qsizetype i = 0; i < m_nodes.size(); ++i) {
        if (m_nodes.at(i).constData() == node.constData() || m_nodes.at(i) == node)
            return quint8(i);
    }
    if (m_nodes.size() >= 255)
        return 255;
    m_nodes.append(node);
    return quint8(m_nodes.size() - 1);
}

char *EventStream::reserve(std::vector<char> &buffer, qsizetype bytes)
{
    const size_t at = buffer.size();
    buffer.resize(at + size_t(bytes));
    return buffer.data() + at;
}

qsizetype EventStream::line(const QString &node, Direction dir, LineKind kind, const QByteArray &who,
                            QByteArrayView text)
{
    const qsizetype whoLen = std::min<qsizetype>(who.size(), 0xffff);
    const qsizetype textLen = std::min<qsizetype>(text.size(), kMaxTextBytes);
    const qsizetype len = qsizetype(sizeof(Head) + sizeof(TrafficFields)) + whoLen + textLen;
    if (used(m_traffic) + len > kMaxTrafficBytesPerTick) {
        ++m_trafficDropped;
        ++m_trafficDroppedTotal;
        return -1;
    }
    const qsizetype at = used(m_traffic);
    char *p = reserve(m_traffic, len);
    const Head h{quint32(len), TrafficRecord, quint8(dir), quint8(kind), nodeIndex(node), protocol::nowUs()};
    std::memcpy(p, &h, sizeof h);
    const TrafficFields f{quint16(whoLen), 0, quint32(textLen)};
    std::memcpy(p + sizeof h, &f, sizeof f);
    std::memcpy(p + sizeof h + sizeof f, who.constData(), size_t(whoLen));
    if (textLen)
        std::memcpy(p + sizeof h + sizeof f + whoLen, text.data(), size_t(textLen));
    ++m_trafficRecords;
    return (qsizetype(m_generation) << 32) | at;
}

void EventStream::setKind(qsizetype slot, LineKind kind)
{
    if (slot < 0 || quint32(slot >> 32) != m_generation)
        return;
    const qsizetype at = slot & 0xffffffff;
    if (at + qsizetype(sizeof(Head)) <= used(m_traffic))
        m_traffic[size_t(at) + offsetof(Head, b)] = char(kind);
}

void EventStream::stored(const QString &node, QByteArrayView client, protocol::Timestamp time,
                         const protocol::Location &where, QByteArrayView atLine, const QString &from)
{
    const QByteArray fromBytes = from.isEmpty() ? QByteArray() : from.toUtf8();
    const qsizetype clientLen = std::min<qsizetype>(client.size(), 0xffff);
    const qsizetype len = qsizetype(sizeof(Head) + sizeof(StoredFields)) + clientLen + fromBytes.size() + atLine.size();
    if (used(m_state) + len > kMaxStateBytesPerTick) {
        ++m_storedDropped;
        ++m_hopsDropped;
        ++m_storedDroppedTotal;
        return;
    }
    char *p = reserve(m_state, len);
    const Head h{quint32(len), StoredRecord, quint8(from.isEmpty() ? 0 : 1), 0, nodeIndex(node), protocol::nowUs()};
    std::memcpy(p, &h, sizeof h);
    const StoredFields f{time.sec, time.nsec, 0, where.lat, where.lng, quint16(clientLen), quint16(fromBytes.size()),
                         quint32(atLine.size())};
    std::memcpy(p + sizeof h, &f, sizeof f);
    char *q = p + sizeof h + sizeof f;
    std::memcpy(q, client.data(), size_t(clientLen));
    q += clientLen;
    std::memcpy(q, fromBytes.constData(), size_t(fromBytes.size()));
    q += fromBytes.size();
    std::memcpy(q, atLine.data(), size_t(atLine.size()));
}

void EventStream::held(const QString &node, quint32 subscriber, QByteArrayView client, protocol::Timestamp time,
                       QByteArrayView atLine)
{
    const qsizetype clientLen = std::min<qsizetype>(client.size(), 0xffff);
    const qsizetype len = qsizetype(sizeof(Head) + sizeof(StoredFields)) + clientLen + atLine.size();
    char *p = reserve(m_state, len);
    const Head h{quint32(len), HeldRecord, 0, 0, nodeIndex(node), protocol::nowUs()};
    std::memcpy(p, &h, sizeof h);
    const StoredFields f{time.sec, time.nsec, subscriber, 0, 0, quint16(clientLen), 0, quint32(atLine.size())};
    std::memcpy(p + sizeof h, &f, sizeof f);
    std::memcpy(p + sizeof h + sizeof f, client.data(), size_t(clientLen));
    std::memcpy(p + sizeof h + sizeof f + clientLen, atLine.data(), size_t(atLine.size()));
}

void EventStream::handOver()
{
    Capture c;
    std::swap(c.traffic, m_traffic);
    std::swap(c.state, m_state);
    c.trafficRecords = std::exchange(m_trafficRecords, 0);
    c.trafficDropped = std::exchange(m_trafficDropped, 0);
    c.storedDropped = std::exchange(m_storedDropped, 0);
    c.hopsDropped = std::exchange(m_hopsDropped, 0);
    if (m_statsSource) {
        c.stats = m_statsSource();
        c.hasStats = true;
    }
    ++m_generation;
    m_collector->put(std::move(c), m_nodes);
    // put() swapped its empty buffers in where it could: keep their capacity for the next tick.
    if (m_traffic.capacity() < 64 * 1024)
        m_traffic.reserve(256 * 1024);
    if (m_state.capacity() < 64 * 1024)
        m_state.reserve(256 * 1024);
}

void EventStream::addSubscriber(quint32 id, const QString &node, QTcpSocket *socket, QByteArray firstLine)
{
    nodeIndex(node);
    socket->setParent(nullptr);
    socket->moveToThread(m_thread);
    QMetaObject::invokeMethod(m_collector, [collector = m_collector, id, node, socket, line = std::move(firstLine)] {
        collector->adopt(id, node, socket, line);
    }, Qt::QueuedConnection);
}

void EventStream::closeSubscriber(quint32 id)
{
    QMetaObject::invokeMethod(m_collector, [collector = m_collector, id] { collector->close(id); }, Qt::QueuedConnection);
}

} // namespace herd

#include "monitor.moc"
