#pragma once
// Flooding: an update newer than what the node holds is stored (and journalled) and passed to
// every live link but the one it came on; an older or equal one is dropped. Catch-up answers a
// neighbour's HERD-SYNC with every change after the point it names.
#include "protocol.h"

#include <QByteArray>
#include <QByteArrayView>

namespace herd {

class NodeContext;
class PeerLink;
class PeerLinks;
class Session;

class Flooder {
    Q_DISABLE_COPY_MOVE(Flooder)
public:
    Flooder(NodeContext &ctx, PeerLinks &links) : m_ctx(ctx), m_links(links) {}

    // `m` parsed from `atLine` (the AT line to store and pass on); `from`: the neighbour it came
    // from, nullptr for a client's IAMAT.
    void storeAndFlood(const protocol::Message &m, QByteArrayView atLine, PeerLink *from);
    // An AT line from a neighbour (`m`: `line` parsed), stored in its canonical form.
    void receive(const protocol::Message &m, QByteArrayView line, PeerLink &from);
    // HERD-SYNC: the changes after `since` (all of them for 0) to `s`.
    void sendChangesSince(Session &s, quint64 since);

private:
    NodeContext &m_ctx;
    PeerLinks &m_links;
};

} // namespace herd
