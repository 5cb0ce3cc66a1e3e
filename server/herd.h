#pragma once
#include "config.h"
#include "node.h"

#include <QList>
#include <QMap>
#include <QObject>
#include <QStringList>

namespace herd {

class EventStream;
class StatusServer;

// The nodes of a herd hosted in this process (all of them, or the --node ones). Lives in the
// network thread together with its nodes.
class Herd final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Herd)
public:
    // `hosted` empty: every node of the config.
    explicit Herd(HerdConfig config, QStringList hosted = {}, QObject *parent = nullptr);
    ~Herd() override;

    // Starts every hosted node, then lets them dial, then opens the status endpoint of each
    // hosted node that has a status_port. Nodes configured on port 0 get a free port, which
    // their in-process neighbours are told before dialling. On failure stops what it started
    // and returns false with lastError().
    bool start();
    // Stops every node and closes the status endpoints.
    void stop();
    bool startNode(const QString &name);
    void stopNode(const QString &name);
    // Fault injection on the link a–b, on whichever of its ends this process hosts.
    void setLinkCut(const QString &a, const QString &b, bool cut);
    // Every hosted node records into `events` (nullptr: monitoring off).
    void setEventStream(EventStream *events);
    EventStream *eventStream() const { return m_events; }
    // The stream /events readers read when no in-process monitor records the herd (created on
    // first use; only the nodes someone reads record into it).
    EventStream *statusStream();

    Node *node(const QString &name) const;
    const QList<Node *> &nodes() const { return m_nodes; }
    const HerdConfig &config() const { return m_config; }   // ports as actually bound
    QString lastError() const { return m_lastError; }
    QList<NodeStats> stats() const;
    // Status endpoints by node: the actual address of each hosted one that is open, and
    // host:status_port of every other configured one (a fixed port; 0 cannot be known here).
    QMap<QString, QString> statusEndpoints() const;
    const QList<StatusServer *> &statusServers() const { return m_statusServers; }

    // Checks a --node list against the config; returns an error line or an empty string.
    static QString checkHosted(const HerdConfig &config, const QStringList &hosted);

private:
    void publishPort(Node *node);
    bool startStatus();

    HerdConfig m_config;
    QList<Node *> m_nodes;   // children
    QList<StatusServer *> m_statusServers;   // children, while started
    EventStream *m_events = nullptr;
    EventStream *m_statusEvents = nullptr;   // child
    QString m_lastError;
};

} // namespace herd
