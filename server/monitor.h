#pragma once
// The event stream the monitor reads: nodes record, ~30 times a second one merged batch crosses
// to the GUI thread. Never a signal per message.
#include "node.h"
#include "protocol.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QMetaType>
#include <QObject>
#include <QString>
#include <atomic>
#include <memory>
#include <vector>

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

class EventStream final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EventStream)
public:
    static constexpr int kIntervalMs = 33;          // ~30 Hz: as fast as a human can read
    static constexpr int kMaxTrafficRows = 2000;    // per batch
    static constexpr int kMaxHops = 1000;           // per batch
    static constexpr int kMaxTextBytes = 2048;

    // `statsSource` is asked for a snapshot at each batch (the herd's nodes).
    explicit EventStream(std::function<QList<NodeStats>()> statsSource, QObject *parent = nullptr);

    // Returns the row's slot, valid for setKind() until kMaxTrafficRows more rows are recorded
    // (a node records a line, handles it, then says what it turned out to be).
    // `who` is a connection's label, shared (no copy); `text` is copied (up to kMaxTextBytes).
    qsizetype line(const QString &node, Direction dir, LineKind kind, const QByteArray &who, QByteArrayView text);
    void setKind(qsizetype slot, LineKind kind);
    void stored(const QString &node, QByteArrayView client, protocol::Timestamp time,
                const protocol::Location &where, QByteArrayView atLine, const QString &from);

    // Called from any thread (the GUI) once it has applied the last batch. Until then batches
    // keep merging here instead of queueing up in the GUI's event queue.
    void batchApplied() { m_inFlight.store(false, std::memory_order_release); }

Q_SIGNALS:
    void batchReady(const herd::MonitorBatchPtr &batch);

private:
    void flush();

    std::function<QList<NodeStats>()> m_statsSource;
    QTimer *m_timer;
    std::atomic<bool> m_inFlight{false};
    // Traffic as a ring: the newest kMaxTrafficRows survive.
    std::vector<TrafficRow> m_ring;
    qsizetype m_ringStart = 0;
    quint64 m_trafficDropped = 0;
    LatestUpdates m_stored;
    QList<FloodHop> m_hops;
    quint64 m_hopsDropped = 0;
};

} // namespace herd

Q_DECLARE_METATYPE(herd::MonitorBatchPtr)
