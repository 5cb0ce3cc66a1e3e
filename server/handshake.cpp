#include "handshake.h"
#include "monitor.h"
#include "nodecontext.h"
#include "peerlinks.h"
#include "peerprotocol.h"
#include "session.h"

#include <QRandomGenerator>

namespace herd {

namespace {

QByteArray randomNonce()
{
    quint32 words[4];
    QRandomGenerator::system()->fillRange(words);
    return QByteArray(reinterpret_cast<const char *>(words), sizeof words).toHex();
}

bool isBlank(QByteArrayView line)
{
    QByteArrayView first[1];
    return protocol::splitFields(line, first, 1) == 0;
}

QByteArray escapedReply(QByteArrayView line)
{
    return protocol::escaped(line, 80);
}

} // namespace

QByteArray PeerHandshake::proof(QByteArrayView role, const QString &dialer, const QString &acceptor,
                                QByteArrayView dialerNonce, QByteArrayView acceptorNonce) const
{
    return peer::proof(m_secret, role, dialer.toUtf8(), acceptor.toUtf8(), dialerNonce, acceptorNonce);
}

void PeerHandshake::start(Session &s)
{
    m_ctx.event(s.label(), LineKind::Connection,
                QStringLiteral("connected to %1, handshaking").arg(s.connection().peerAddress()));
    s.setRole(Session::Role::HelloSent);
    s.setLocalNonce(randomNonce());
    s.restartClock(protocol::nowMs());
    m_ctx.sendTo(s, peer::formatHello(m_ctx.nameBytes, s.peerName().toUtf8(), s.localNonce()), LineKind::Handshake);
}

void PeerHandshake::refuse(Session &s, const QString &why)
{
    if (PeerLink *link = m_links.find(s.peerName()))
        link->countAuthFailure();
    ++m_ctx.counters.authFailures;
    m_ctx.error(s.label(), QStringLiteral("peer refused: %1").arg(why));
    qCWarning(lcHerdPeer, "%s: peer %s refused: %s", qPrintable(m_ctx.name), qPrintable(s.peerName()),
              qPrintable(why));
    s.connection().abort(why);
}

bool PeerHandshake::handle(Session &s, QByteArrayView line)
{
    switch (s.role()) {
    case Session::Role::Client: {
        // HERD-HELLO <dialer> <acceptor> <nonce>: anything wrong and it is just an invalid command.
        const std::optional<peer::Hello> hello = peer::parseHello(line);
        if (!hello)
            return false;
        const QString dialer = QString::fromUtf8(hello->dialer);
        if (hello->acceptor != m_ctx.nameBytes || !m_links.isNeighbour(dialer) || !peer::isNonce(hello->nonce)
            || m_links.isCut(dialer)) {
            if (m_links.isCut(dialer))
                m_ctx.error(s.label(), QStringLiteral("handshake refused: the link to %1 is cut").arg(dialer));
            else
                m_ctx.error(s.label(), QStringLiteral("handshake refused: %1 is not a neighbour of %2")
                                           .arg(dialer, QString::fromUtf8(hello->acceptor)));
            return false;
        }
        s.setRole(Session::Role::AwaitAuth);
        s.setPeerName(dialer);
        s.setRemoteNonce(hello->nonce.toByteArray());
        s.setLocalNonce(randomNonce());
        s.restartClock(protocol::nowMs());
        s.setLabel("peer " + dialer.toUtf8() + " (in)");
        m_ctx.sendTo(s, peer::formatWelcome(m_ctx.nameBytes, s.localNonce(),
                                            proof("welcome", dialer, m_ctx.name, s.remoteNonce(), s.localNonce())),
                     LineKind::Handshake);
        return true;
    }
    case Session::Role::HelloSent: {
        if (isBlank(line))
            return false;
        const std::optional<peer::Welcome> welcome = peer::parseWelcome(line);
        if (welcome && welcome->acceptor == s.peerName().toUtf8() && peer::isNonce(welcome->nonce)) {
            s.setRemoteNonce(welcome->nonce.toByteArray());
            const QByteArray expected = proof("welcome", m_ctx.name, s.peerName(), s.localNonce(), s.remoteNonce());
            if (!peer::proofMatches(expected, welcome->proof)) {
                refuse(s, hasSecret() ? QStringLiteral("wrong or missing peer secret")
                                      : QStringLiteral("it requires a peer secret and we have none"));
                return true;
            }
            s.setRole(Session::Role::AwaitOk);
            m_ctx.sendTo(s, peer::formatAuth(proof("auth", m_ctx.name, s.peerName(), s.localNonce(), s.remoteNonce())),
                         LineKind::Handshake);
            return true;
        }
        refuse(s, QStringLiteral("bad handshake reply: %1").arg(QString::fromLatin1(escapedReply(line))));
        return true;
    }
    case Session::Role::AwaitAuth: {
        const std::optional<peer::Auth> auth = peer::parseAuth(line);
        if (!auth)
            return false;
        const QByteArray expected = proof("auth", s.peerName(), m_ctx.name, s.remoteNonce(), s.localNonce());
        if (!auth->wellFormed || !peer::proofMatches(expected, auth->proof)) {
            refuse(s, hasSecret() ? QStringLiteral("wrong or missing peer secret")
                                  : QStringLiteral("it sent a peer secret proof and we have no secret"));
            return true;
        }
        m_ctx.sendTo(s, peer::formatOk(), LineKind::Handshake);
        m_links.linkUp(s);
        return true;
    }
    case Session::Role::AwaitOk:
        if (isBlank(line))
            return false;
        if (peer::isOk(line)) {
            m_links.linkUp(s);
            return true;
        }
        refuse(s, QStringLiteral("bad handshake reply: %1").arg(QString::fromLatin1(escapedReply(line))));
        return true;
    case Session::Role::PeerUp:
    case Session::Role::Superseded:
        return false;
    }
    return false;
}

} // namespace herd
