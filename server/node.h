#pragma once
#include "config.h"
#include "connection.h"
#include "journal.h"
#include "locationstore.h"
#include "nodelog.h"
#include "peerlink.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <array>
#include <memory>
#include <unordered_map>
#include <vector>

class QTcpServer;
class QTimer;

namespace herd {

class EventStream;
class PlacesProvider;
class Poller;
enum class LineKind : quint8;

// Upper bounds (ms) of the Places latency histogram's buckets; one more bucket counts the rest.
inline constexpr std::array<int, 11> kPlacesLatencyBoundsMs = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};

// Places answers that are failures, by status (OK and ZERO_RESULTS are answers, not errors);
// any other status counts as the last, "OTHER" (a fixed set: never a label from the network).
inline constexpr std::array<const char *, 5> kPlacesErrorStatuses = {
    "REQUEST_DENIED", "OVER_QUERY_LIMIT", "INVALID_REQUEST", "UNKNOWN_ERROR", "OTHER"};

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
};

// One server of the herd: listens on its port for clients and neighbours, answers IAMAT and
// WHATSAT, floods stored updates to its neighbours over heartbeat-checked peer links.
// Thread-confined: create, use and destroy it in one thread.
class Node final : public QObject, private ConnectionOwner {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Node)
public:
    Node(const HerdConfig &config, const QString &name, QObject *parent = nullptr);
    ~Node() override;

    const QString &name() const { return m_name; }
    // Opens the log, the Places provider and the listening socket. Does not dial neighbours
    // yet (see connectPeers), so a herd with port-0 nodes can learn the real ports first.
    bool start();
    void connectPeers();
    void stop();
    bool isRunning() const { return m_running; }
    quint16 port() const { return m_port; }
    QString lastError() const { return m_lastError; }

    // Where the monitor's events go; nullptr (the default): nowhere, at no cost.
    void setEventStream(EventStream *events) { m_events = events; }
    // Fault injection: a cut link is dropped and neither dialled nor accepted until restored.
    void setLinkCut(const QString &peer, bool cut);
    bool isLinkCut(const QString &peer) const { return m_cutLinks.contains(peer); }

    // Where to dial a neighbour; by default the config's host and port.
    void setPeerAddress(const QString &peer, const QString &host, quint16 port);

    NodeStats stats() const;
    const LocationStore &store() const { return m_store; }
    LocationStore &store() { return m_store; }   // in the node's thread only (a slice walk moves the table)
    QString logPath() const { return m_log.path(); }

Q_SIGNALS:
    void linkChanged(const QString &peer, bool up);
    void runningChanged(bool running);

private:
    enum Role { Client = 0, HelloSent, AwaitAuth, AwaitOk, PeerUp, Superseded };

    // ConnectionOwner
    void connectionLine(Connection &c, QByteArrayView line, bool final) override;
    void connectionOverlong(Connection &c, QByteArrayView head) override;
    void connectionEstablished(Connection &c) override;
    void connectionClosed(Connection &c, const QString &reason) override;
    void connectionWantsFlush(Connection &c) override;
    void connectionOutputBelow(Connection &c) override;
    void connectionReadAhead(Connection &c, QByteArrayView buffered) override;

    void accept(qintptr fd);
    void dispatchLine(Connection &c, QByteArrayView line);
    void handleClientLine(Connection &c, QByteArrayView line);
    void handleWhatsat(Connection &c, const protocol::Message &m, QByteArrayView line);
    void handlePeerLine(Connection &c, PeerLink &link, QByteArrayView line);
    bool handleHandshake(Connection &c, QByteArrayView line);
    void sendTo(Connection &c, QByteArrayView text, LineKind kind);   // text + "\n", counted, logged
    void event(QByteArrayView who, LineKind kind, const QString &text);   // log file + monitor
    void error(QByteArrayView who, const QString &text);
    void invalid(Connection &c, QByteArrayView line);
    void storeAndFlood(const protocol::Message &m, QByteArrayView atLine, PeerLink *from);
    void linkUp(Connection &c);
    void sendChangesSince(Connection &c, quint64 since);
    bool handshakeInProgress(const QString &peer) const;
    void refusePeer(Connection &c, const QString &why);
    void dial(PeerLink &link);
    void heartbeat();
    void updateBackpressure();
    void setClientsPaused(bool paused, const QString &why);
    void afterBatch();
    void countPlacesAnswer(qint64 us, const QString &status);
    void scheduleAfterBatch();
    QByteArray mac(QByteArrayView role, const QString &dialer, const QString &acceptor,
                   QByteArrayView dialerNonce, QByteArrayView acceptorNonce) const;
    Connection *adopt(std::unique_ptr<Connection> c);

    HerdConfig m_config;
    QString m_name;
    QByteArray m_nameBytes;
    QByteArray m_secret;            // from the environment; never logged
    bool m_running = false;
    quint16 m_port = 0;
    qint64 m_startedAtMs = 0;
    QString m_lastError;
    NodeStats m_counters;

    LocationStore m_store;
    NodeLog m_log;
    // While a received line is handled: when it was received (read once per line), and the
    // same in ms since the epoch; m_lineMs is -1 outside a line.
    protocol::Timestamp m_lineTime;
    qint64 m_lineMs = -1;
    QByteArray m_atScratch;   // the AT line of the IAMAT being handled
    Journal m_journal;
    EventStream *m_events = nullptr;
    LineKind m_inKind{};                // what the line being handled turned out to be
    QSet<QString> m_cutLinks;
    Poller *m_poller = nullptr;
    QTcpServer *m_server = nullptr;
    std::unique_ptr<PlacesProvider> m_places;
    QTimer *m_heartbeatTimer = nullptr;
    QTimer *m_housekeepingTimer = nullptr;

    QHash<QString, PeerLink *> m_links;                       // by neighbour name, children
    QHash<QString, QPair<QString, quint16>> m_peerAddress;
    std::unordered_map<quint64, std::unique_ptr<Connection>> m_connections;
    std::vector<std::unique_ptr<Connection>> m_graveyard;     // closed, deleted after the batch
    std::vector<quint64> m_flushQueue;
    bool m_afterBatchQueued = false;
    bool m_clientsPaused = false;   // flow control: a live neighbour is behind on floods
    qint64 m_pausedSinceMs = 0;
    quint64 m_nextConnectionId = 1;
};

} // namespace herd
