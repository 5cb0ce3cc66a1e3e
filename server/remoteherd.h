#pragma once
// A herd running in other processes or on other hosts, watched through its status endpoints
// (docs/OPERATIONS.md, "Status endpoint"): GET /status once for the config and the endpoints, then one GET /events
// stream per node, merged into the same monitor batches an in-process herd produces.
#include "config.h"
#include "monitor.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QStringList>
#include <QUrl>
#include <atomic>
#include <memory>
#include <vector>

class QNetworkAccessManager;
class QNetworkReply;
class QTimer;

namespace herd {

class RemoteHerd final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RemoteHerd)
public:
    static constexpr int kIntervalMs = EventStream::kIntervalMs;   // ~30 Hz, like an in-process herd
    static constexpr int kRetryMs = 1000;                          // a lost stream or /status is retried this often
    static constexpr int kStatusTimeoutMs = 5000;                  // /status must answer by then
    static constexpr int kSilenceTimeoutMs = 5000;                 // /events sends a line at least every second
    static constexpr qsizetype kMaxLineBytes = 64 << 20;           // one batch line; more is a broken stream

    // `statusUrl`: any URL of one node's status endpoint (its path is ignored).
    explicit RemoteHerd(const QUrl &statusUrl, QObject *parent = nullptr);
    ~RemoteHerd() override;

    // "127.0.0.1:9100", "host:9100", "http://host:9100/", "http://host:9100/status" -> the
    // endpoint's base URL ("http://host:9100/"); an invalid QUrl if `text` names no endpoint.
    static QUrl endpointUrl(const QString &text);

    QUrl url() const { return m_base; }
    // Call in the thread this object lives in. start(): ask /status (again every kRetryMs until
    // it answers), then subscribe to every node's events. stop(): drop every request.
    void start();
    void stop();
    // Callable from any thread (the GUI) once the last batch is applied. Until then batches
    // keep merging here instead of queueing up in the receiver's event queue.
    void batchApplied() { m_inFlight.store(false, std::memory_order_release); }

    // Known after attached(): the remote config (ports as bound), node -> events endpoint.
    const HerdConfig &config() const { return m_config; }
    QHash<QString, QUrl> endpoints() const;
    // Traffic rows merged and waiting for the next batch (at most EventStream::kMaxTrafficRows).
    qsizetype pendingTrafficRows() const { return m_pending.pendingTraffic(); }
    quint64 pendingTrafficDropped() const { return m_pending.pendingTrafficDropped(); }

Q_SIGNALS:
    // /status answered: the herd's config (every node, as that process sees it).
    void attached(const herd::HerdConfig &config);
    // Every node of the config in `stats`: those without a live stream with running = false.
    void batchReady(const herd::MonitorBatchPtr &batch);
    // One line naming the address, e.g. "http://127.0.0.1:9100/events (Smith): Connection refused".
    // Reported once per failure, not on every retry.
    void errorOccurred(const QString &message);
    void streamChanged(const QString &node, bool live);

private:
    struct Stream {
        QString node;
        QUrl base;                       // the node's status endpoint, "http://host:port/"
        QNetworkReply *reply = nullptr;  // child of m_nam while subscribed
        QTimer *retry = nullptr;         // child of this
        QByteArray buffer;               // the partial last line
        bool live = false;               // a batch line arrived on the current reply
        bool failed = false;             // the last failure was reported (until a line arrives)
        NodeStats stats;                 // the newest, from the stream
    };

    void requestStatus();
    void onStatusFinished(QNetworkReply *reply);
    void subscribe(Stream &stream);
    void onEventsData(Stream &stream);
    void onEventsFinished(Stream &stream);
    void streamFailed(Stream &stream, const QString &why);
    void merge(const QString &node, MonitorBatch &&batch);
    void flush();
    Stream *streamOf(const QString &node);

    QUrl m_base;
    QNetworkAccessManager *m_nam = nullptr;
    QNetworkReply *m_statusReply = nullptr;
    QTimer *m_statusRetry = nullptr;
    QTimer *m_timer = nullptr;
    QString m_lastStatusError;
    bool m_running = false;
    HerdConfig m_config;
    bool m_attached = false;
    std::vector<std::unique_ptr<Stream>> m_streams;   // one per node with an endpoint
    std::atomic<bool> m_inFlight{false};

    // Merged since the last batch (EventStream's bounds and rules).
    BatchMerger m_pending{EventStream::kMaxTrafficRows, EventStream::kMaxHops};
};

} // namespace herd

Q_DECLARE_METATYPE(herd::HerdConfig)
