#pragma once
// The client side of a node: IAMAT answered with the AT line and flooded, WHATSAT answered from
// Places in its place in the reply order (later lines wait for it), anything else "? <line>".
// A HERD-HELLO from a connection that is not a peer yet goes to the handshake.
#include "places.h"
#include "stats.h"

#include <QByteArray>
#include <QByteArrayView>
#include <memory>

class QObject;

namespace herd {

class Flooder;
class FlowControl;
class NodeContext;
class PeerHandshake;
class Session;
class SessionTable;

namespace protocol { struct Message; }

class ClientProtocol {
    Q_DISABLE_COPY_MOVE(ClientProtocol)
public:
    // `context`: the node object, whose destruction cancels the Places answers under way.
    ClientProtocol(NodeContext &ctx, SessionTable &sessions, Flooder &flooder, FlowControl &flow,
                   PeerHandshake &handshake, QObject *context);
    ~ClientProtocol();

    void setPlaces(std::unique_ptr<PlacesProvider> places) { m_places = std::move(places); }
    PlacesProvider *places() const { return m_places.get(); }
    // Latency and failures of the Places answers so far.
    const PlacesStats &placesStats() const { return m_placesStats; }

    void handleLine(Session &s, QByteArrayView line);

private:
    void whatsat(Session &s, const protocol::Message &m, QByteArrayView line);

    NodeContext &m_ctx;
    SessionTable &m_sessions;
    Flooder &m_flooder;
    FlowControl &m_flow;
    PeerHandshake &m_handshake;
    QObject *m_context;
    std::unique_ptr<PlacesProvider> m_places;
    PlacesStats m_placesStats;
    QByteArray m_atScratch;   // the AT line of the IAMAT being handled
};

} // namespace herd
