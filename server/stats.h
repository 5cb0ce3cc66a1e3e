#pragma once
// What a node counts, as plain values: the node fills them, the monitor, the status endpoint
// and the UI read them. No sockets, no node: a widget can include this alone.
#include <QList>
#include <QMetaType>
#include <QString>
#include <array>

namespace herd {

// How a node sees one neighbour, judged from acks to its heartbeats.
enum class Liveness { Down, Alive, Suspect, Dead };
QString livenessName(Liveness l);

struct LinkStats {
    quint64 heartbeatsSent = 0;
    quint64 acksReceived = 0;
    quint64 heartbeatsReceived = 0;   // the neighbour's heartbeats we acked
    quint64 timesUp = 0;
    quint64 timesDown = 0;
    quint64 floodsSent = 0;
    quint64 floodsReceived = 0;       // stored and passed on
    quint64 duplicatesDropped = 0;    // not newer than what we held
    quint64 authFailures = 0;
    qint64 rttUs = -1;                // last heartbeat round trip; -1: none yet
    qint64 lastChangeMs = 0;          // epoch ms of the last up/down
    qint64 lastAckMs = 0;             // epoch ms of the newest heartbeat ack; 0: none yet
};

struct LinkInfo {
    QString peer;
    bool up = false;
    bool cut = false;                 // fault injection: held down on purpose
    Liveness liveness = Liveness::Down;
    LinkStats stats;
};

// Upper bounds (ms) of the Places latency histogram's buckets; one more bucket counts the rest.
inline constexpr std::array<int, 11> kPlacesLatencyBoundsMs = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};

// Places answers that are failures, by status (OK and ZERO_RESULTS are answers, not errors);
// any other status counts as the last, "OTHER" (a fixed set: never a label from the network).
inline constexpr std::array<const char *, 5> kPlacesErrorStatuses = {
    "REQUEST_DENIED", "OVER_QUERY_LIMIT", "INVALID_REQUEST", "UNKNOWN_ERROR", "OTHER"};

// Places answers by latency (bucket i: at most kPlacesLatencyBoundsMs[i], the last: more), their
// total time, and failures by status.
struct PlacesStats {
    std::array<quint64, kPlacesLatencyBoundsMs.size() + 1> latency{};
    quint64 latencySumUs = 0;
    std::array<quint64, kPlacesErrorStatuses.size()> errors{};

    // One answer that took `us` microseconds and came with `status`.
    void count(qint64 us, const QString &status);
};


struct NodeStats {
    QString name;
    bool running = false;
    bool reported = true;            // false: a remote node the monitor has no stream from (state unknown)
    quint16 port = 0;
    qint64 startedAtMs = 0;
    int clientConnections = 0;       // open connections that are not peer links
    int peerConnections = 0;         // peer links up (duplicates being retired included)
    int handshakingConnections = 0;  // neighbours (or would-be ones) still handshaking
    qint64 clientsKnown = 0;         // clients in the location store
    quint64 linesIn = 0;
    quint64 linesOut = 0;
    quint64 iamat = 0;
    quint64 whatsat = 0;
    quint64 invalid = 0;
    quint64 floodsSent = 0;
    quint64 floodsReceived = 0;
    quint64 duplicatesDropped = 0;
    quint64 connectionsAccepted = 0;
    quint64 authFailures = 0;
    quint64 connectionsRefused = 0;  // over limits.max_connections
    quint64 timeouts = 0;            // closed for no first line in time, or idle
    // By kind, for the status endpoint's metrics. Lines in by what they were:
    quint64 atIn = 0;                // AT lines from neighbours (stored or duplicate)
    quint64 heartbeatsIn = 0;        // HERD-HB
    quint64 acksIn = 0;              // HERD-ACK
    quint64 handshakeIn = 0;         // HERD-HELLO / WELCOME / AUTH / OK
    quint64 syncIn = 0;              // HERD-SYNC
    // Rejects by reason (`invalid` above also counts overlong lines).
    quint64 invalidLines = 0;        // answered "? ..." or a bad peer line ignored
    quint64 linesTooLong = 0;
    quint64 firstLineTimeouts = 0;
    quint64 idleTimeouts = 0;
    quint64 handshakeTimeouts = 0;
    quint64 outputOverflows = 0;     // a client that did not read its replies
    quint64 backpressurePauses = 0;  // times clients were paused for a neighbour behind on floods
    bool clientsPaused = false;      // now
    // Places: answers by latency (bucket i: at most kPlacesLatencyBoundsMs[i], the last: more),
    // their total time, and failures by status.
    std::array<quint64, kPlacesLatencyBoundsMs.size() + 1> placesLatency{};
    quint64 placesLatencySumUs = 0;
    std::array<quint64, kPlacesErrorStatuses.size()> placesErrors{};
    QList<LinkInfo> links;

    void setPlaces(const PlacesStats &places)
    {
        placesLatency = places.latency;
        placesLatencySumUs = places.latencySumUs;
        placesErrors = places.errors;
    }
};

} // namespace herd

Q_DECLARE_METATYPE(herd::LinkInfo)
