#pragma once
#include "config.h"
#include "node.h"

#include <QList>
#include <QObject>
#include <QStringList>

class QThread;

namespace herd {

class Herd;

// Runs a Herd in its own network thread and reports from it in batches: the caller's thread
// (the GUI, or headless main) never touches a node directly and never waits on the network.
class HerdHost final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(HerdHost)
public:
    explicit HerdHost(HerdConfig config, QStringList hosted = {}, QObject *parent = nullptr);
    ~HerdHost() override;   // stops the herd and joins the thread

    void setStatsInterval(int ms) { m_statsIntervalMs = ms; }
    // Starts the thread and the herd in it; started() reports the outcome.
    void start();
    // Stops every node and joins the thread (waits for the network thread to finish).
    void shutdown();
    void startNode(const QString &name);
    void stopNode(const QString &name);
    const HerdConfig &config() const { return m_config; }

Q_SIGNALS:
    void started(bool ok, const QString &error);
    // One snapshot of every hosted node, at the stats interval.
    void statsReady(const QList<herd::NodeStats> &stats);

private:
    HerdConfig m_config;
    QStringList m_hosted;
    QThread *m_thread = nullptr;
    Herd *m_herd = nullptr;        // lives in m_thread
    int m_statsIntervalMs = 500;
};

} // namespace herd

Q_DECLARE_METATYPE(herd::NodeStats)
