#pragma once
// The event stream the monitor and /events readers read: nodes append compact records, a
// collector thread turns them ~30 times a second into merged batches. Never a signal per message.
#include "node.h"
#include "protocol.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QMetaType>
#include <QObject>
#include <QString>
#include <QStringList>
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

class QTcpSocket;
class QThread;
class QTimer;

namespace herd {

enum class Direction : quint8 { In, Out, Event };

enum class LineKind : quint8 {
    Iamat,          // client -> node
    Whatsat,        // client -> node
    AtReply,        // node -> client, answer to IAMAT
    WhatsatReply,   // node -> client, AT line + Places JSON
    Invalid,        // a line answered with "? ...", the "? ..." itself, or a bad peer line
    Flood,          // AT line between nodes that was (or will be) stored
    Duplicate,      // AT line from a neighbour that was not newer: dropped
    Heartbeat,      // HERD-HB / HERD-ACK
    Handshake,      // HERD-HELLO / WELCOME / AUTH / OK
    LinkEvent,      // link up / down, peer refused
    Connection,     // connection opened / closed
    Error,          // anything that went wrong
    Blank,          // an empty or white-space-only line: no reply
};
QString lineKindName(LineKind kind);
QString directionName(Direction dir);

struct TrafficRow {
    qint64 timeUs = 0;         // epoch microseconds
    QString node;
    Direction dir = Direction::In;
    LineKind kind = LineKind::Iamat;
    QByteArray who;            // "client#12 127.0.0.1:40112", "peer Jaquez": one connection
    QByteArray text;           // raw bytes as sent or received, truncated to kMaxTextBytes
};

// `node` now holds this update of `client` (the newest it knows).
struct StoredUpdate {
    QString node;
    QByteArray client;
    protocol::Timestamp time;
    double lat = 0;
    double lng = 0;
    QByteArray atLine;         // "AT <origin> <skew> <client> <location> <time>"
    qint64 timeUs = 0;         // when it was stored
};

// One step of a flood: `to` stored the update, having received it from `from` ("" = a client).
struct FloodHop {
    QByteArray client;
    protocol::Timestamp time;
    QString from;
    QString to;
    qint64 timeUs = 0;
};

struct MonitorBatch {
    qint64 timeUs = 0;
    QList<TrafficRow> traffic;       // oldest first; the newest kMaxTrafficRows since the last batch
    quint64 trafficDropped = 0;      // rows not delivered (over the bound) since the last batch
    QList<StoredUpdate> stored;      // merged: the last one per (node, client)
    quint64 storedDropped = 0;       // stored updates the capture had no room for (the views miss them)
    QList<FloodHop> hops;            // the first kMaxHops since the last batch
    quint64 hopsDropped = 0;
    QList<NodeStats> stats;          // every hosted node, now
};
using MonitorBatchPtr = std::shared_ptr<const MonitorBatch>;

// Stored updates merged by meaning until the next batch: the last one per (node, client) wins,
// in the order each pair first appeared.
class LatestUpdates {
public:
    void put(StoredUpdate update);
    QList<StoredUpdate> take();   // and start over
    qsizetype size() const { return m_updates.size(); }

private:
    QHash<QPair<QString, QByteArray>, qsizetype> m_index;
    QList<StoredUpdate> m_updates;
};

// What a consumer has not taken yet, merged by meaning with bounds: traffic is the newest
// `maxTraffic` rows, stored updates the last per (node, client), hops the first `maxHops`;
// everything over a bound is counted as dropped. The one merge rule of the in-process event
// stream, each /events reader and the remote herd.
class BatchMerger {
public:
    explicit BatchMerger(qsizetype maxTraffic = 2000, qsizetype maxHops = 1000)
        : m_maxTraffic(maxTraffic), m_maxHops(maxHops) {}

    void addTraffic(TrafficRow row);
    void addStored(StoredUpdate update) { m_stored.put(std::move(update)); }
    void addHop(FloodHop hop);
    void addDropped(quint64 traffic, quint64 stored, quint64 hops);
    void setStats(QList<NodeStats> stats) { m_stats = std::move(stats); }
    // Everything of `batch` (its stats replace the held ones when it has any).
    void merge(MonitorBatch &&batch);
    // The merged batch (traffic and hops in time order), and start over.
    MonitorBatch take(qint64 timeUs);
    bool isEmpty() const;
    qsizetype pendingTraffic() const { return qsizetype(m_traffic.size()); }
    quint64 pendingTrafficDropped() const { return m_trafficDropped; }
    qsizetype pendingStored() const { return m_stored.size(); }

private:
    qsizetype m_maxTraffic;
    qsizetype m_maxHops;
    std::deque<TrafficRow> m_traffic;
    quint64 m_trafficDropped = 0;
    LatestUpdates m_stored;
    quint64 m_storedDropped = 0;
    QList<FloodHop> m_hops;
    quint64 m_hopsDropped = 0;
    QList<NodeStats> m_stats;
};

class EventCollector;

// The event stream the monitor and the /events readers read. Capture is passive: a node's
// thread only appends a compact record to a bounded buffer (no allocation per event, no lock,
// no signal); about 30 times a second the buffer is handed, with one swap under a mutex, to a
// collector thread of lower priority that decodes, merges and delivers it: as batches
// (batchReady) and as JSON lines to /events readers. Whatever does not fit a bound is dropped
// and counted, never waited for: a slow consumer loses detail, never slows a node.
class EventStream final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EventStream)
public:
    static constexpr int kIntervalMs = 33;          // ~30 Hz: as fast as a human can read
    static constexpr int kMaxTrafficRows = 2000;    // per batch
    static constexpr int kMaxHops = 1000;           // per batch
    static constexpr int kMaxTextBytes = 2048;
    // Bounds of the capture (per stream): bytes recorded between two hand-overs, and bytes
    // handed over that the collector has not taken yet.
    static constexpr qsizetype kMaxTrafficBytesPerTick = 2 << 20;
    static constexpr qsizetype kMaxStateBytesPerTick = 8 << 20;
    static constexpr qsizetype kMaxPendingTrafficBytes = 4 << 20;
    static constexpr qsizetype kMaxPendingStateBytes = 64 << 20;
    // /events readers: one owing more than kMaxUnwrittenBytes is behind (its batches merge, and
    // it gets them as one line once it has room); one that took nothing for kStalledMs is
    // closed; an idle reader still gets a line every kIdleLineMs (the stats move on).
    static constexpr qint64 kMaxUnwrittenBytes = 1 << 20;
    static constexpr int kStalledMs = 5000;
    static constexpr int kIdleLineMs = 1000;

    // `statsSource` is asked for a snapshot at each hand-over, in this object's thread.
    explicit EventStream(std::function<QList<NodeStats>()> statsSource, QObject *parent = nullptr);
    ~EventStream() override;   // stops the collector thread

    // Whether herd-wide batches are built and emitted (batchReady); off for a stream that only
    // feeds /events readers.
    void setBatchesWanted(bool on);

    // Returns the row's slot, valid for setKind() until the next hand-over (a node records a
    // line, handles it, then says what it turned out to be); -1 when the row was dropped.
    qsizetype line(const QString &node, Direction dir, LineKind kind, const QByteArray &who, QByteArrayView text);
    void setKind(qsizetype slot, LineKind kind);
    void stored(const QString &node, QByteArrayView client, protocol::Timestamp time,
                const protocol::Location &where, QByteArrayView atLine, const QString &from);
    // A client `node` already holds, for one /events reader only (its first lines).
    void held(const QString &node, quint32 subscriber, QByteArrayView client, protocol::Timestamp time,
              QByteArrayView atLine);

    // /events: hands `socket` (its response head already written, no parent, no connections)
    // to the collector thread, which writes `node`'s batches to it as JSON lines until it
    // closes (subscriberGone). A reader that falls behind gets merged batches and the counts
    // of what it missed, and is closed after kStalledMs without taking a byte.
    void addSubscriber(quint32 id, const QString &node, QTcpSocket *socket, QByteArray firstLine);
    void closeSubscriber(quint32 id);

    // Called from any thread (the GUI) once it has applied the last batch. Until then batches
    // keep merging in the collector instead of queueing up in the GUI's event queue.
    void batchApplied();

    // Bytes of stored updates recorded since the last hand-over (a walk paces itself on it).
    qsizetype pendingStateBytes() const { return qsizetype(m_state.size()); }

    // Totals since the start, for tests and the benchmark.
    quint64 trafficDroppedTotal() const { return m_trafficDroppedTotal; }
    quint64 storedDroppedTotal() const { return m_storedDroppedTotal; }

Q_SIGNALS:
    void batchReady(const herd::MonitorBatchPtr &batch);
    // From the collector: an /events reader closed or was closed.
    void subscriberGone(quint32 id, const QString &node);

private:
    quint8 nodeIndex(const QString &node);
    char *reserve(std::vector<char> &buffer, qsizetype bytes);
    void handOver();

    std::function<QList<NodeStats>()> m_statsSource;
    QTimer *m_timer;
    QThread *m_thread;
    EventCollector *m_collector;   // lives in m_thread
    QStringList m_nodes;           // record node indexes
    std::vector<char> m_traffic;   // records since the last hand-over
    std::vector<char> m_state;
    quint32 m_trafficRecords = 0;
    quint64 m_trafficDropped = 0;  // since the last hand-over
    quint64 m_storedDropped = 0;
    quint64 m_hopsDropped = 0;
    quint32 m_generation = 0;      // of m_traffic, for setKind() slots
    quint64 m_trafficDroppedTotal = 0;
    quint64 m_storedDroppedTotal = 0;
};

} // namespace herd

Q_DECLARE_METATYPE(herd::MonitorBatchPtr)
