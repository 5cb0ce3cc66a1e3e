#pragma once
// A node's links to its neighbours: dialling them (with back-off), bringing a link up once a
// handshake finished (one link per neighbour: of two connections, the one both sides agree on
// stays), taking it down when its connection closes, heartbeats and liveness, and fault
// injection (a cut link).
#include "peerlink.h"
#include "peerprotocol.h"

#include <QHash>
#include <QObject>
#include <QPair>
#include <QSet>

namespace herd {

class NodeContext;
class SessionTable;
class Session;

class PeerLinks final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PeerLinks)
public:
    PeerLinks(NodeContext &ctx, SessionTable &sessions, QObject *parent = nullptr);

    PeerLink *find(const QString &peer) const { return m_links.value(peer); }
    bool isNeighbour(const QString &peer) const { return m_links.contains(peer); }
    const QHash<QString, PeerLink *> &all() const { return m_links; }

    // While running, closed links are redialled; stopping cancels every redial.
    void setRunning(bool running);
    void connectAll();   // dials every neighbour not linked or being dialled
    void clearDeadMarks();

    // Fault injection: a cut link is dropped and neither dialled nor accepted until restored.
    void setCut(const QString &peer, bool cut);
    bool isCut(const QString &peer) const { return m_cut.contains(peer); }

    // Where to dial a neighbour; by default the config's host and port.
    void setAddress(const QString &peer, const QString &host, quint16 port);

    // `s` finished its handshake with the neighbour it names: the link is up on it (or it is
    // retired as a duplicate). Asks the neighbour for what it has that we may lack.
    void linkUp(Session &s);
    // `s` (whatever it was) closed; what that means for its neighbour's link.
    // Returns false when that was no business of the links (a client, a stranger).
    bool sessionClosed(Session &s, const QString &reason);
    // A session of ours is waiting for HERD-OK from `peer` (the link may be moving to it).
    bool handshakeInProgress(const QString &peer) const;

    // Heartbeat tick: drops links that missed too many acks, sends the rest a heartbeat.
    void heartbeat();
    // HERD-HB on `s` (a session of `link`): noted and acked on the live link.
    void heartbeatReceived(Session &s, PeerLink &link, const peer::Heartbeat &hb);
    void ackReceived(PeerLink &link, quint64 seq);

    QList<LinkInfo> info() const;

Q_SIGNALS:
    void linkChanged(const QString &peer, bool up);

private:
    void dial(PeerLink &link);
    void linkDown(PeerLink &link, const QByteArray &who, const QString &reason);
    void attach(Session &s);   // the live link of its neighbour from now on

    NodeContext &m_ctx;
    SessionTable &m_sessions;
    bool m_running = false;
    QHash<QString, PeerLink *> m_links;                       // by neighbour name, children
    QHash<QString, QPair<QString, quint16>> m_address;
    QSet<QString> m_cut;
};

} // namespace herd
