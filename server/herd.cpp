#include "herd.h"
#include "monitor.h"
#include "statusserver.h"

namespace herd {

Herd::Herd(HerdConfig config, QStringList hosted, QObject *parent)
    : QObject(parent), m_config(std::move(config))
{
    if (hosted.isEmpty())
        hosted = m_config.nodeNames();
    for (const QString &name : std::as_const(hosted)) {
        if (m_config.node(name))
            m_nodes.append(new Node(m_config, name, this));
    }
}

Herd::~Herd()
{
    stop();
    // No node may record into a stream that is going away.
    for (Node *n : std::as_const(m_nodes))
        n->setEventStream(nullptr);
    delete std::exchange(m_statusEvents, nullptr);
}

EventStream *Herd::statusStream()
{
    if (!m_statusEvents) {
        m_statusEvents = new EventStream([this] { return stats(); }, this);
        m_statusEvents->setBatchesWanted(false);   // only /events readers read it
    }
    return m_statusEvents;
}

QString Herd::checkHosted(const HerdConfig &config, const QStringList &hosted)
{
    for (const QString &name : hosted) {
        if (!config.node(name))
            return QStringLiteral("unknown node \"%1\" (the herd has: %2)")
                .arg(name, config.nodeNames().join(QStringLiteral(", ")));
    }
    return {};
}

bool Herd::start()
{
    for (Node *n : std::as_const(m_nodes)) {
        if (!n->start()) {
            m_lastError = n->lastError();
            stop();
            return false;
        }
        publishPort(n);
    }
    for (Node *n : std::as_const(m_nodes))
        n->connectPeers();
    if (!startStatus()) {
        stop();
        return false;
    }
    return true;
}

bool Herd::startStatus()
{
    for (Node *n : std::as_const(m_nodes)) {
        NodeConfig *nc = nullptr;
        for (NodeConfig &c : m_config.nodes) {
            if (c.name == n->name())
                nc = &c;
        }
        if (!nc || nc->statusPort < 0)
            continue;
        auto *server = new StatusServer(this, n, this);
        if (!server->listen(m_config.statusHost, quint16(nc->statusPort))) {
            m_lastError = server->lastError();
            delete server;
            return false;
        }
        nc->statusPort = server->port();   // /status and a restart show the port actually bound
        m_statusServers.append(server);
    }
    return true;
}

QMap<QString, QString> Herd::statusEndpoints() const
{
    QMap<QString, QString> endpoints;
    for (const NodeConfig &nc : m_config.nodes) {
        if (nc.statusPort > 0)
            endpoints.insert(nc.name, StatusServer::urlFor(nc.host, quint16(nc.statusPort)));
    }
    for (const StatusServer *server : m_statusServers)
        endpoints.insert(server->objectName(), server->url());
    return endpoints;
}

void Herd::publishPort(Node *node)
{
    // Record the bound port so neighbours in this process can dial it and a restart reuses it.
    for (NodeConfig &nc : m_config.nodes) {
        if (nc.name == node->name() && nc.port != node->port()) {
            nc.port = node->port();
            for (Node *other : std::as_const(m_nodes)) {
                if (other != node)
                    other->setPeerAddress(nc.name, nc.host, nc.port);
            }
        }
    }
}

void Herd::stop()
{
    qDeleteAll(std::exchange(m_statusServers, {}));
    for (Node *n : std::as_const(m_nodes))
        n->stop();
}

bool Herd::startNode(const QString &name)
{
    Node *n = node(name);
    if (!n)
        return false;
    if (!n->start()) {
        m_lastError = n->lastError();
        return false;
    }
    publishPort(n);
    n->connectPeers();
    return true;
}

void Herd::stopNode(const QString &name)
{
    if (Node *n = node(name))
        n->stop();
}

void Herd::setLinkCut(const QString &a, const QString &b, bool cut)
{
    if (Node *n = node(a))
        n->setLinkCut(b, cut);
    if (Node *n = node(b))
        n->setLinkCut(a, cut);
}

void Herd::setEventStream(EventStream *events)
{
    m_events = events;
    for (Node *n : std::as_const(m_nodes))
        n->setEventStream(events);
}

Node *Herd::node(const QString &name) const
{
    for (Node *n : m_nodes) {
        if (n->name() == name)
            return n;
    }
    return nullptr;
}

QList<NodeStats> Herd::stats() const
{
    QList<NodeStats> all;
    all.reserve(m_nodes.size());
    for (const Node *n : m_nodes)
        all.append(n->stats());
    return all;
}

} // namespace herd
