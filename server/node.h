#pragma once
#include "clientprotocol.h"
#include "flooding.h"
#include "flowcontrol.h"
#include "handshake.h"
#include "housekeeping.h"
#include "nodecontext.h"
#include "peerlinks.h"
#include "sessiontable.h"
#include "stats.h"

#include <QObject>
#include <vector>

class QTcpServer;
class QTimer;

namespace herd {

class EventStream;
class Poller;

// One server of the herd: listens on its port for clients and neighbours and hands each line to
// the part whose job it is: the client protocol, the peer handshake, the peer links (heartbeats,
// liveness) or flooding (updates, catch-up). It owns the sessions and writes their output once
// per event-loop pass.
// Thread-confined: create, use and destroy it in one thread.
class Node final : public QObject, private SessionHost {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Node)
public:
    Node(const HerdConfig &config, const QString &name, QObject *parent = nullptr);
    ~Node() override;

    const QString &name() const { return m_ctx.name; }
    // Opens the log, the Places provider and the listening socket. Does not dial neighbours
    // yet (see connectPeers), so a herd with port-0 nodes can learn the real ports first.
    bool start();
    void connectPeers();
    void stop();
    bool isRunning() const { return m_running; }
    quint16 port() const { return m_port; }
    QString lastError() const { return m_lastError; }

    // Where the monitor's events go; nullptr (the default): nowhere, at no cost.
    void setEventStream(EventStream *events) { m_ctx.events = events; }
    // Fault injection: a cut link is dropped and neither dialled nor accepted until restored.
    void setLinkCut(const QString &peer, bool cut) { m_links.setCut(peer, cut); }
    bool isLinkCut(const QString &peer) const { return m_links.isCut(peer); }

    // Where to dial a neighbour; by default the config's host and port.
    void setPeerAddress(const QString &peer, const QString &host, quint16 port) { m_links.setAddress(peer, host, port); }

    NodeStats stats() const;
    const LocationStore &store() const { return m_ctx.store; }
    LocationStore &store() { return m_ctx.store; }   // in the node's thread only (a slice walk moves the table)
    QString logPath() const { return m_ctx.log.path(); }

Q_SIGNALS:
    void linkChanged(const QString &peer, bool up);
    void runningChanged(bool running);

private:
    // SessionHost
    void sessionLine(Session &s, QByteArrayView line) override;
    void sessionOverlong(Session &s, QByteArrayView head) override;
    void sessionEstablished(Session &s) override;
    void sessionClosed(Session &s, const QString &reason) override;
    void sessionWantsFlush(Session &s) override;
    void sessionOutputBelow(Session &s) override;
    void sessionReadAhead(Session &s, QByteArrayView buffered) override;

    void accept(qintptr fd);
    void dispatchLine(Session &s, QByteArrayView line);
    void handlePeerLine(Session &s, PeerLink &link, QByteArrayView line);
    void heartbeat();
    void scheduleAfterBatch();
    void afterBatch();

    NodeContext m_ctx;
    bool m_running = false;
    quint16 m_port = 0;
    qint64 m_startedAtMs = 0;
    QString m_lastError;

    SessionTable m_sessions;
    PeerLinks m_links;
    PeerHandshake m_handshake;
    Flooder m_flooder;
    FlowControl m_flow;
    Housekeeping m_housekeeping;
    ClientProtocol m_clients;

    Poller *m_poller = nullptr;
    QTcpServer *m_server = nullptr;
    QTimer *m_heartbeatTimer = nullptr;
    QTimer *m_housekeepingTimer = nullptr;
    std::vector<quint64> m_flushQueue;
    bool m_afterBatchQueued = false;
};

} // namespace herd
