#pragma once
// One connection as a node sees it: what is on the other end (a client, a neighbour still
// handshaking, a live or retired peer link), how the logs name it, and when it last spoke. The
// session owns its connection and passes the connection's events on to its host (the node).
#include "connection.h"

#include <QByteArray>
#include <QString>
#include <memory>

namespace herd {

class Session;

// What a node does with its sessions' connection events; see ConnectionOwner.
class SessionHost {
public:
    virtual void sessionLine(Session &s, QByteArrayView line) = 0;
    virtual void sessionOverlong(Session &s, QByteArrayView head) = 0;
    virtual void sessionEstablished(Session &s) = 0;
    virtual void sessionClosed(Session &s, const QString &reason) = 0;
    virtual void sessionWantsFlush(Session &s) = 0;
    virtual void sessionOutputBelow(Session &s) = 0;
    virtual void sessionReadAhead(Session &s, QByteArrayView buffered) = 0;
protected:
    ~SessionHost() = default;
};

class Session final : private ConnectionOwner {
    Q_DISABLE_COPY_MOVE(Session)
public:
    enum class Role : quint8 {
        Client,       // anything that has not begun a peer handshake
        HelloSent,    // our dial: HERD-HELLO sent, waiting for HERD-WELCOME
        AwaitAuth,    // dialled in: HERD-WELCOME sent, waiting for HERD-AUTH
        AwaitOk,      // our dial: HERD-AUTH sent, waiting for HERD-OK
        PeerUp,       // the live link to a neighbour
        Superseded,   // a duplicate link being retired: read to the end, nothing more written
    };

    explicit Session(SessionHost *host) : m_host(host) {}
    ~Session();

    // An accepted descriptor; false (and errorString() says why) if it cannot be watched.
    bool adopt(Poller *poller, quint64 id, int fd, const QString &address, int maxLineBytes,
               qint64 maxOutputBytes);
    // A non-blocking connect; false (and errorString() says why) if it failed at once.
    bool dial(Poller *poller, quint64 id, const QString &ip, quint16 port, int maxLineBytes,
              qint64 maxOutputBytes);

    Connection &connection() { return *m_connection; }
    const Connection &connection() const { return *m_connection; }
    quint64 id() const { return m_connection->id(); }

    Role role() const { return m_role; }
    void setRole(Role role) { m_role = role; }
    bool isClient() const { return m_role == Role::Client; }
    bool isPeerLink() const { return m_role == Role::PeerUp || m_role == Role::Superseded; }
    bool isHandshaking() const { return !isClient() && !isPeerLink(); }

    // How logs and the monitor name it: "client#7 127.0.0.1:40112", "peer Jaquez (in)".
    const QByteArray &label() const { return m_label; }
    void setLabel(QByteArray label) { m_label = std::move(label); }
    // The neighbour it is (or claims to be) a link to; empty for a client.
    const QString &peerName() const { return m_peerName; }
    void setPeerName(const QString &peer) { m_peerName = peer; }

    // Handshake nonces: ours and the other side's.
    const QByteArray &localNonce() const { return m_localNonce; }
    const QByteArray &remoteNonce() const { return m_remoteNonce; }
    void setLocalNonce(QByteArray nonce) { m_localNonce = std::move(nonce); }
    void setRemoteNonce(QByteArray nonce) { m_remoteNonce = std::move(nonce); }

    // When the current phase began (opened; a handshake restarts it), for the timeouts.
    qint64 sinceMs() const { return m_sinceMs; }
    void restartClock(qint64 nowMs) { m_sinceMs = nowMs; }
    // When the newest complete line arrived; 0: none yet (the first-line check).
    qint64 lastLineAtMs() const { return m_lastLineAtMs; }
    void setLastLineAtMs(qint64 ms) { m_lastLineAtMs = ms; }

private:
    // ConnectionOwner: passed on to the host.
    void connectionLine(Connection &c, QByteArrayView line, bool final) override;
    void connectionOverlong(Connection &c, QByteArrayView head) override;
    void connectionEstablished(Connection &c) override;
    void connectionClosed(Connection &c, const QString &reason) override;
    void connectionWantsFlush(Connection &c) override;
    void connectionOutputBelow(Connection &c) override;
    void connectionReadAhead(Connection &c, QByteArrayView buffered) override;

    SessionHost *m_host;
    std::unique_ptr<Connection> m_connection;
    Role m_role = Role::Client;
    QByteArray m_label;
    QString m_peerName;
    QByteArray m_localNonce;
    QByteArray m_remoteNonce;
    qint64 m_sinceMs = 0;
    qint64 m_lastLineAtMs = 0;
};

} // namespace herd
