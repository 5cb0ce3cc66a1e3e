#include "peerlinks.h"
#include "monitor.h"
#include "nodecontext.h"
#include "sessiontable.h"

#include <QHostAddress>
#include <QHostInfo>

namespace herd {

namespace {

constexpr qint64 kPeerOutputCap = 64LL * 1024 * 1024;   // a neighbour that stops reading

// An AT line is longer than the IAMAT it answers by the origin's name and the skew (at most 30
// bytes: sign, 19 digits, point, 9 digits), so a peer link takes that much more than a client.
int peerLineLimit(const HerdConfig &config)
{
    qsizetype longestName = 0;
    for (const NodeConfig &n : config.nodes)
        longestName = std::max(longestName, n.name.toUtf8().size());
    return config.limits.maxLineBytes + int(longestName) + 64;
}

QByteArray peerLabel(const QString &peer, const char *suffix = nullptr)
{
    QByteArray label = "peer " + peer.toUtf8();
    if (suffix)
        label.append(' ').append(suffix);
    return label;
}

} // namespace

PeerLinks::PeerLinks(NodeContext &ctx, SessionTable &sessions, QObject *parent)
    : QObject(parent)
    , m_ctx(ctx)
    , m_sessions(sessions)
{
    const PeerConfig &peers = m_ctx.config.peers;
    for (const QString &peer : m_ctx.config.neighbours(m_ctx.name)) {
        auto *link = new PeerLink(peer, peers.redialMinMs, peers.redialMaxMs, peers.suspectAfterMissed, this);
        connect(link, &PeerLink::redialDue, this, [this, link] {
            if (m_running && link->isIdle() && !isCut(link->peer()))
                dial(*link);
        });
        m_links.insert(peer, link);
        if (const NodeConfig *n = m_ctx.config.node(peer))
            m_address.insert(peer, {n->host, n->port});
    }
}

void PeerLinks::setRunning(bool running)
{
    m_running = running;
    if (!running) {
        for (PeerLink *link : std::as_const(m_links))
            link->cancelRedial();
    }
}

void PeerLinks::connectAll()
{
    for (PeerLink *link : std::as_const(m_links)) {
        link->resetBackoff();
        if (link->isIdle())
            dial(*link);
    }
}

void PeerLinks::clearDeadMarks()
{
    for (PeerLink *link : std::as_const(m_links))
        link->setDeadDrop(false);
}

void PeerLinks::setCut(const QString &peer, bool cut)
{
    PeerLink *link = m_links.value(peer);
    if (!link || cut == m_cut.contains(peer))
        return;
    const QByteArray who = peerLabel(peer);
    if (cut) {
        m_cut.insert(peer);
        link->cancelRedial();
        m_ctx.event(who, LineKind::LinkEvent, QStringLiteral("link cut (fault injection)"));
        m_sessions.abortIf([&peer](const Session &s) { return s.peerName() == peer; }, QStringLiteral("link cut"));
        return;
    }
    m_cut.remove(peer);
    m_ctx.event(who, LineKind::LinkEvent, QStringLiteral("link restored"));
    link->resetBackoff();
    if (m_running && link->isIdle())
        dial(*link);
}

void PeerLinks::setAddress(const QString &peer, const QString &host, quint16 port)
{
    m_address.insert(peer, {host, port});
}

void PeerLinks::dial(PeerLink &link)
{
    const auto [host, port] = m_address.value(link.peer());
    if (port == 0 || isCut(link.peer()))
        return;   // its address is not known yet (port-0 herds fill it in before dialling)
    const QHostAddress literal(host);
    if (literal.isNull()) {
        // A host name: resolve without blocking, then dial the first address.
        QHostInfo::lookupHost(host, this, [this, peer = link.peer(), port = port](const QHostInfo &info) {
            PeerLink *l = m_links.value(peer);
            if (!l || !m_running || !l->isIdle())
                return;
            if (info.addresses().isEmpty()) {
                m_ctx.error(peerLabel(peer), QStringLiteral("cannot resolve host: %1").arg(info.errorString()));
                l->scheduleRedial(l->nextRedialDelay());
                return;
            }
            setAddress(peer, info.addresses().constFirst().toString(), port);
            dial(*l);
            m_address.insert(peer, {info.hostName(), port});
        });
        return;
    }
    std::unique_ptr<Session> s = m_sessions.dial(host, port, m_ctx.config.limits.maxLineBytes, kPeerOutputCap);
    s->setPeerName(link.peer());
    s->setLabel(peerLabel(link.peer(), "(out)"));
    if (s->connection().state() == Connection::State::Closed) {
        m_ctx.error(s->label(), QStringLiteral("dial failed: %1").arg(s->connection().errorString()));
        link.scheduleRedial(link.nextRedialDelay());
        return;
    }
    link.setDialing(m_sessions.keep(std::move(s)));
}

void PeerLinks::attach(Session &s)
{
    s.setRole(Session::Role::PeerUp);
    s.connection().setMaxOutputBytes(kPeerOutputCap);
    s.setLabel(peerLabel(s.peerName()));
}

void PeerLinks::linkUp(Session &s)
{
    PeerLink *link = m_links.value(s.peerName());
    if (!link)
        return;
    s.connection().setMaxLineBytes(peerLineLimit(m_ctx.config));
    if (link->dialing() == &s)
        link->setDialing(nullptr);
    if (Session *existing = link->session(); existing && existing != &s) {
        // Both ends dialled. Keep the connection dialled by the smaller name (both sides agree
        // on that); if both came from the same side, the newer one wins.
        const bool weAreSmaller = m_ctx.name < s.peerName();
        const bool newCanonical = s.connection().isOutgoing() == weAreSmaller;
        const bool oldCanonical = existing->connection().isOutgoing() == weAreSmaller;
        // The loser is retired without losing a line: we stop writing to it (half-close) but
        // keep reading what the other side sent before it made the same choice.
        Session &loser = oldCanonical && !newCanonical ? s : *existing;
        if (&loser == existing)
            link->release();
        loser.setRole(Session::Role::Superseded);
        loser.setLabel(peerLabel(s.peerName(), "(duplicate)"));
        loser.connection().finishWrites();
        if (&loser == &s)
            return;
        attach(s);
        link->takeOver(&s);
    } else if (link->inHandover()) {
        // The other side retired our link for this duplicate before we saw it come up: the
        // link never went down.
        attach(s);
        link->takeOver(&s);
    } else {
        attach(s);
        link->wentUp(&s, protocol::nowMs());
        m_ctx.event(s.label(), LineKind::LinkEvent, QStringLiteral("link up (%1)").arg(s.connection().peerAddress()));
        qCInfo(lcHerdPeer, "%s: link to %s up", qPrintable(m_ctx.name), qPrintable(link->peer()));
        Q_EMIT linkChanged(link->peer(), true);
    }
    // Catch-up: ask for what changed on the other side since the last heartbeat we got from
    // it (all of it if we have never seen its store). It does the same; the strictly-newer rule
    // drops what is already known and floods on the rest.
    m_ctx.sendTo(s, peer::formatSync(link->peerStore()), LineKind::Handshake);
}

void PeerLinks::linkDown(PeerLink &link, const QByteArray &who, const QString &reason)
{
    link.wentDown(protocol::nowMs());
    m_ctx.event(who, LineKind::LinkEvent, QStringLiteral("link down: %1").arg(reason));
    qCInfo(lcHerdPeer, "%s: link to %s down: %s", qPrintable(m_ctx.name), qPrintable(link.peer()),
           qPrintable(reason));
    Q_EMIT linkChanged(link.peer(), false);
    if (m_running && !isCut(link.peer()))
        link.scheduleRedial(link.nextRedialDelay());
}

bool PeerLinks::sessionClosed(Session &s, const QString &reason)
{
    PeerLink *link = s.peerName().isEmpty() ? nullptr : m_links.value(s.peerName());
    if (!link)
        return false;
    if (link->dialing() == &s)
        link->setDialing(nullptr);
    if (link->session() == &s && handshakeInProgress(link->peer())) {
        // The neighbour half-closed our link because a duplicate connection it prefers is up on
        // its side; that one is still handshaking here. Not a down: wait for it.
        link->startHandover();
        m_ctx.event(s.label(), LineKind::LinkEvent, QStringLiteral("link moving to the duplicate connection"));
    } else if (link->session() == &s) {
        linkDown(*link, s.label(), reason);
    } else if (s.role() == Session::Role::Superseded) {
        m_ctx.event(s.label(), LineKind::Connection, QStringLiteral("duplicate connection closed"));
    } else if (link->inHandover() && !handshakeInProgress(link->peer())) {
        // The duplicate we were waiting for failed: now the link is down after all.
        linkDown(*link, s.label(), reason);
    } else if (s.connection().isOutgoing()) {
        m_ctx.event(s.label(), LineKind::LinkEvent, QStringLiteral("dial failed: %1").arg(reason));
        if (m_running && link->isIdle() && !isCut(link->peer()))
            link->scheduleRedial(link->nextRedialDelay());
    } else {
        return false;
    }
    return true;
}

bool PeerLinks::handshakeInProgress(const QString &peer) const
{
    bool found = false;
    // Only our own dial waiting for HERD-OK: the other side goes up on our AUTH, before we
    // hear its OK, and may retire the old link in between. (A handshake someone else started
    // cannot hold the link "up": a stranger's HELLO naming a neighbour would.)
    m_sessions.forEach([&](const Session &s) {
        if (s.peerName() == peer && s.connection().isOutgoing() && s.role() == Session::Role::AwaitOk)
            found = true;
    });
    return found;
}

void PeerLinks::heartbeat()
{
    const qint64 now = protocol::nowUs();
    for (PeerLink *link : std::as_const(m_links)) {
        Session *s = link->session();
        if (!s)
            continue;
        if (link->missedAcks() >= m_ctx.config.peers.deadAfterMissed) {
            m_ctx.error(s->label(), QStringLiteral("peer dead: %1 heartbeats unanswered").arg(link->missedAcks()));
            s->connection().abort(QStringLiteral("peer dead (missed heartbeats)"));
            link->setDeadDrop(true);
            continue;
        }
        const quint64 seq = link->nextHeartbeat(now);
        m_ctx.sendTo(*s, peer::formatHeartbeat(seq, {m_ctx.store.epoch(), m_ctx.store.seq()}), LineKind::Heartbeat);
    }
}

void PeerLinks::heartbeatReceived(Session &s, PeerLink &link, const peer::Heartbeat &hb)
{
    link.countHeartbeatReceived();
    ++m_ctx.counters.heartbeatsIn;
    m_ctx.inKind = LineKind::Heartbeat;
    // It also says how far our copy of its store goes.
    if (hb.store)
        link.setPeerStore(*hb.store);
    if (link.session() == &s)
        m_ctx.sendTo(s, peer::formatAck(hb.seqText), LineKind::Heartbeat);
}

void PeerLinks::ackReceived(PeerLink &link, quint64 seq)
{
    m_ctx.inKind = LineKind::Heartbeat;
    ++m_ctx.counters.acksIn;
    link.ack(seq, protocol::nowUs());
}

QList<LinkInfo> PeerLinks::info() const
{
    QList<LinkInfo> out;
    for (const PeerLink *link : m_links) {
        out.append(link->info());
        out.back().cut = m_cut.contains(link->peer());
    }
    return out;
}

} // namespace herd
