#include "flooding.h"
#include "monitor.h"
#include "nodecontext.h"
#include "peerlinks.h"
#include "peerprotocol.h"
#include "session.h"

namespace herd {

void Flooder::storeAndFlood(const protocol::Message &m, QByteArrayView atLine, PeerLink *from)
{
    if (!m_ctx.store.offer(m.client, m.timestamp, atLine)) {
        if (from) {
            from->countDuplicate();
            ++m_ctx.counters.duplicatesDropped;
            m_ctx.inKind = LineKind::Duplicate;
            qCDebug(lcHerdFlood, "%s: duplicate from %s dropped: %.*s", qPrintable(m_ctx.name),
                    qPrintable(from->peer()), int(atLine.size()), atLine.data());
        }
        return;
    }
    if (from) {
        from->countFloodReceived();
        ++m_ctx.counters.floodsReceived;
        m_ctx.inKind = LineKind::Flood;
    }
    qCDebug(lcHerdFlood, "%s: stored from %s: %.*s", qPrintable(m_ctx.name),
            from ? qPrintable(from->peer()) : "a client", int(atLine.size()), atLine.data());
    if (m_ctx.journal.isOpen()) {
        m_ctx.journal.append(atLine);
        m_ctx.scheduleAfterBatch();
    }
    if (m_ctx.events)
        m_ctx.events->stored(m_ctx.name, m.client, m.timestamp, m.position, atLine, from ? from->peer() : QString());
    for (PeerLink *link : std::as_const(m_links.all())) {
        if (link == from || !link->session())
            continue;
        link->countFloodsSent();
        ++m_ctx.counters.floodsSent;
        m_ctx.sendTo(*link->session(), atLine, LineKind::Flood);
    }
}

void Flooder::receive(const protocol::Message &m, QByteArrayView line, PeerLink &from)
{
    ++m_ctx.counters.atIn;
    // Stored with single spaces: the stored line is what every node answers WHATSAT with.
    // Nodes send it that way, so it is only rebuilt when it is not (no copy per flood).
    if (peer::isCanonicalAt(line, m)) {
        storeAndFlood(m, line, &from);
        return;
    }
    QByteArray at;
    peer::formatCanonicalAt(at, m);
    storeAndFlood(m, at, &from);
}

void Flooder::sendChangesSince(Session &s, quint64 since)
{
    // One pass over the store, no index: O(clients) CPU, but only the changes cross the network.
    quint64 sent = 0;
    PeerLink *link = m_links.find(s.peerName());
    m_ctx.store.forEach([&](const ClientRecord &record) {
        if (record.seq() > since) {
            m_ctx.sendTo(s, record.atLine(), LineKind::Flood);
            ++sent;
        }
    });
    m_ctx.counters.floodsSent += sent;
    if (link)
        link->countFloodsSent(sent);
    m_ctx.event(s.label(), LineKind::LinkEvent, QStringLiteral("catch-up: sent %1 of %2 updates (changes after #%3)")
                                                     .arg(sent).arg(m_ctx.store.size()).arg(since));
}

} // namespace herd
