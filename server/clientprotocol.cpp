#include "clientprotocol.h"
#include "flooding.h"
#include "flowcontrol.h"
#include "handshake.h"
#include "monitor.h"
#include "nodecontext.h"
#include "sessiontable.h"

#include <QElapsedTimer>
#include <QJsonDocument>

namespace herd {

using protocol::Kind;

namespace {

// Every run of newlines collapsed to one, none at the end (the WHATSAT answer's JSON).
QByteArray compactJson(const QJsonObject &answer)
{
    const QByteArray json = QJsonDocument(answer).toJson(QJsonDocument::Indented);
    QByteArray out;
    out.reserve(json.size());
    for (char c : json) {
        if (c == '\n' && (out.isEmpty() || out.back() == '\n'))
            continue;
        out.append(c);
    }
    while (out.endsWith('\n'))
        out.chop(1);
    return out;
}

} // namespace

ClientProtocol::ClientProtocol(NodeContext &ctx, SessionTable &sessions, Flooder &flooder, FlowControl &flow,
                               PeerHandshake &handshake, QObject *context)
    : m_ctx(ctx)
    , m_sessions(sessions)
    , m_flooder(flooder)
    , m_flow(flow)
    , m_handshake(handshake)
    , m_context(context)
{
}

ClientProtocol::~ClientProtocol() = default;

void ClientProtocol::handleLine(Session &s, QByteArrayView line)
{
    m_flow.holdIfPaused(s);
    const protocol::Message m = protocol::parse(line);
    switch (m.kind) {
    case Kind::Blank:
        m_ctx.inKind = LineKind::Blank;
        return;
    case Kind::Iamat: {
        ++m_ctx.counters.iamat;
        // Into a buffer kept for the purpose: no allocation per IAMAT (the reply, the store and
        // the floods copy the line).
        QByteArray &at = m_atScratch;
        protocol::formatAtInto(at, m_ctx.nameBytes, m_ctx.receivedAt(), m);
        m_ctx.inKind = LineKind::Iamat;
        m_ctx.sendTo(s, at, LineKind::AtReply);
        m_flooder.storeAndFlood(m, at, nullptr);
        return;
    }
    case Kind::Whatsat:
        whatsat(s, m, line);
        return;
    case Kind::Peer:
        if (m.fields[0] == "HERD-HELLO" && m_handshake.handle(s, line)) {
            ++m_ctx.counters.handshakeIn;
            m_ctx.inKind = LineKind::Handshake;
            return;
        }
        m_ctx.invalid(s, line);
        return;
    case Kind::At:        // only an authenticated neighbour may flood
    case Kind::Invalid:
        m_ctx.invalid(s, line);
        return;
    }
}

void ClientProtocol::whatsat(Session &s, const protocol::Message &m, QByteArrayView line)
{
    const ClientRecord *record = m_ctx.store.find(m.client);
    if (!record) {
        m_ctx.invalid(s, line);   // a client no node of the herd has heard of
        return;
    }
    ++m_ctx.counters.whatsat;
    m_ctx.inKind = LineKind::Whatsat;
    const QByteArray atLine = record->atLine().toByteArray();   // a copy: Places answers later
    const protocol::Message at = protocol::parse(atLine);
    PlacesQuery query;
    query.lat = at.position.lat;
    query.lng = at.position.lng;
    query.radiusKm = m.radiusKm;
    query.bound = m.bound;
    const quint64 ticket = s.connection().reserveReply();
    const quint64 id = s.id();
    QElapsedTimer latency;
    latency.start();
    m_places->search(query, m_context, [this, id, ticket, atLine, latency](const QJsonObject &answer) {
        m_placesStats.count(latency.nsecsElapsed() / 1000, answer.value(QLatin1StringView("status")).toString());
        Session *client = m_sessions.find(id);
        if (!client)
            return;   // the client left while Places was answering
        QByteArray text = atLine;
        text.append('\n').append(compactJson(answer)).append('\n');
        m_ctx.logReply(client->label(), text, LineKind::WhatsatReply);
        text.append('\n');
        client->connection().fillReply(ticket, text);
    });
}

} // namespace herd
