#pragma once
#include "config.h"
#include "monitor.h"
#include "node.h"

#include <atomic>

#include <QList>
#include <QObject>
#include <QStringList>

class QThread;

namespace herd {

class EventStream;
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
    // Before start(): record every line, update and hop for the monitor, delivered as batches
    // (batchReady) about 30 times a second. Call batchApplied() after applying each one.
    void setMonitoring(bool on) { m_monitoring = on; }
    void batchApplied();
    // Starts the thread and the herd in it; started() reports the outcome.
    void start();
    // Stops every node and joins the thread (waits for the network thread to finish).
    void shutdown();
    void startNode(const QString &name);
    void stopNode(const QString &name);
    void setLinkCut(const QString &a, const QString &b, bool cut);
    // probed() follows once the network thread has run this call: its event loop still turns.
    void probe();
    const HerdConfig &config() const { return m_config; }

Q_SIGNALS:
    void started(bool ok, const QString &error);
    // Before started(true): one per status endpoint, once it listens.
    void statusListening(const QString &node, const QString &url);
    // One snapshot of every hosted node, at the stats interval.
    void statsReady(const QList<herd::NodeStats> &stats);
    void batchReady(const herd::MonitorBatchPtr &batch);
    void probed();
    // startNode() could not start `node` (its port taken, its log unwritable...): why.
    void nodeStartFailed(const QString &node, const QString &error);

private:
    HerdConfig m_config;
    QStringList m_hosted;
    QThread *m_thread = nullptr;
    Herd *m_herd = nullptr;        // lives in m_thread
    int m_statsIntervalMs = 500;
    bool m_monitoring = false;
    std::atomic<EventStream *> m_events{nullptr};   // lives in m_thread
};

} // namespace herd

Q_DECLARE_METATYPE(herd::NodeStats)
