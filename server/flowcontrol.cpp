#include "flowcontrol.h"
#include "monitor.h"
#include "nodecontext.h"
#include "peerlinks.h"
#include "sessiontable.h"

namespace herd {

namespace {
constexpr qint64 kPeerHighWater = 4LL * 1024 * 1024;
constexpr qint64 kPeerLowWater = 512LL * 1024;
} // namespace

void FlowControl::holdIfPaused(Session &client)
{
    if (m_paused && !client.connection().isReadPaused())
        client.connection().setReadPaused(true);
}

void FlowControl::checkProgress()
{
    // A neighbour holding clients back must be taking floods, if slowly: one that took nothing
    // for a whole heartbeat interval (stopped, or its host gone) holds nobody back (a down
    // neighbour never delays a client's reply).
    if (!m_paused)
        return;
    for (PeerLink *link : std::as_const(m_links.all())) {
        Session *s = link->session();
        if (!s || link->flowStalled() || s->connection().pendingOutput() <= kPeerLowWater)
            continue;
        if (s->connection().bytesWritten() == link->flowMark()) {
            link->setFlowStalled(true);
            m_ctx.event(s->label(), LineKind::LinkEvent,
                        QStringLiteral("took no floods for %1 ms: no longer holding clients back")
                            .arg(m_ctx.config.peers.heartbeatMs));
        }
        link->setFlowMark(s->connection().bytesWritten());
    }
}

void FlowControl::update()
{
    const qint64 mark = m_paused ? kPeerLowWater : kPeerHighWater;
    Connection *behind = nullptr;
    QString peer;
    for (PeerLink *link : std::as_const(m_links.all())) {
        Session *s = link->session();
        if (!s) {
            link->setFlowStalled(false);
            continue;
        }
        Connection &pc = s->connection();
        if (link->flowStalled() && pc.pendingOutput() <= kPeerLowWater)
            link->setFlowStalled(false);   // it did catch up after all
        if (pc.pendingOutput() > mark && link->liveness() == Liveness::Alive && !link->flowStalled()) {
            if (!m_paused)
                link->setFlowMark(pc.bytesWritten());   // its progress is judged from here on
            behind = &pc;
            peer = link->peer();
            break;
        }
    }
    if (behind) {
        behind->notifyWhenOutputBelow(kPeerLowWater);
        if (!m_paused)
            setClientsPaused(true, QStringLiteral("%1 is %2 bytes behind on floods").arg(peer).arg(behind->pendingOutput()));
    } else if (m_paused) {
        setClientsPaused(false, QString());
    }
}

void FlowControl::setClientsPaused(bool paused, const QString &why)
{
    m_paused = paused;
    // Only connections that are clients for sure (they sent a line that was not a handshake): a
    // connection that has said nothing yet may be a neighbour dialling in, which must get through.
    m_sessions.forEach([paused](Session &s) {
        if (s.isClient() && (s.lastLineAtMs() != 0 || !paused))
            s.connection().setReadPaused(paused);
    });
    if (paused) {
        ++m_ctx.counters.backpressurePauses;
        m_pausedSinceMs = protocol::nowMs();
        m_ctx.event("node", LineKind::LinkEvent, QStringLiteral("clients paused: %1").arg(why));
    } else {
        m_ctx.event("node", LineKind::LinkEvent,
                    QStringLiteral("clients resumed after %1 ms").arg(protocol::nowMs() - m_pausedSinceMs));
    }
}

} // namespace herd
