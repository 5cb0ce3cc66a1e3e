#pragma once
// The peer handshake, both sides of it: the dialer's HERD-HELLO, the acceptor's HERD-WELCOME with
// its proof, the dialer's HERD-AUTH, the acceptor's HERD-OK. Proofs are HMACs over both names
// and both nonces with the shared peer secret (from the environment, never logged); anything
// wrong refuses the connection. A finished handshake hands the session to the peer links.
#include <QByteArray>
#include <QByteArrayView>
#include <QString>

namespace herd {

class NodeContext;
class PeerLinks;
class Session;

class PeerHandshake {
    Q_DISABLE_COPY_MOVE(PeerHandshake)
public:
    PeerHandshake(NodeContext &ctx, PeerLinks &links) : m_ctx(ctx), m_links(links) {}

    void setSecret(QByteArray secret) { m_secret = std::move(secret); }
    bool hasSecret() const { return !m_secret.isEmpty(); }

    // Our dial reached the neighbour: say who we are and whom we want.
    void start(Session &s);
    // True when `line` was a step of the handshake `s` is in (handled, possibly by refusing).
    // A client's HERD-HELLO that is not a valid one is not: it gets the usual "? ..." answer.
    bool handle(Session &s, QByteArrayView line);

private:
    QByteArray proof(QByteArrayView role, const QString &dialer, const QString &acceptor,
                     QByteArrayView dialerNonce, QByteArrayView acceptorNonce) const;
    void refuse(Session &s, const QString &why);

    NodeContext &m_ctx;
    PeerLinks &m_links;
    QByteArray m_secret;
};

} // namespace herd
