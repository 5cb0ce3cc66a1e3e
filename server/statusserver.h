#pragma once
// The status endpoint of one node: a small, strict HTTP/1.1 server (GET only, one request per
// connection) with /metrics (Prometheus text), /status (JSON) and /events (the monitor stream
// of this node as JSON lines). Lives in the network thread with its node;
// docs/OPERATIONS.md ("Status endpoint and metrics") lists the limits.
#include "monitor.h"

#include <QByteArray>
#include <QHash>
#include <QObject>
#include <QPointer>
#include <QString>

class QTcpServer;
class QTcpSocket;
class QTimer;

namespace herd {

class Herd;
class Node;

class StatusServer final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(StatusServer)
public:
    static constexpr int kMaxConnections = 32;                  // open at once; more get 503
    static constexpr qsizetype kMaxHeadBytes = 8 * 1024;        // request line + headers
    static constexpr int kHeadTimeoutMs = 5000;                 // to send the whole head
    static constexpr qint64 kMaxUnwrittenBytes = 4 << 20;       // /events: a reader owing more skips batches
    static constexpr int kStalledMs = 5000;                     // ... and is closed after this without progress
    static constexpr qint64 kDrainedBytes = 256 * 1024;         // below this a reader keeps up
    static constexpr int kMaxDrainWaitMs = 1000;                // backpressure holds at most this
    static constexpr int kIdleLineMs = 1000;                    // /events: a line at least this often
    static constexpr qsizetype kSnapshotClients = 20000;       // /events: held clients in the first line

    // `herd` answers /status (hosted nodes, config, endpoints); both outlive this object.
    StatusServer(Herd *herd, Node *node, QObject *parent = nullptr);
    ~StatusServer() override;

    bool listen(const QString &host, quint16 port);   // false: lastError() says why
    quint16 port() const;
    QString url() const;                              // "http://127.0.0.1:9100/"
    QString lastError() const { return m_lastError; }
    int subscriberCount() const { return int(m_subscribers.size()); }

    // "http://<host>:<port>/", with an IPv6 host in brackets.
    static QString urlFor(const QString &host, quint16 port);

private:
    struct Pending {
        QByteArray head;
        bool answered = false;
        qint64 lastProgressMs = 0;   // /events: when the reader last took bytes (or subscribed)
    };

    void onNewConnection();
    void onReadyRead(QTcpSocket *socket);
    void handleHead(QTcpSocket *socket, const QByteArray &head);
    void respond(QTcpSocket *socket, int code, const QByteArray &contentType, const QByteArray &body,
                 const QByteArray &extraHeaders = {});
    void forget(QTcpSocket *socket);
    QByteArray statusJson() const;

    void subscribe(QTcpSocket *socket);
    void unsubscribe(QTcpSocket *socket);
    void onBatch(const MonitorBatchPtr &batch);
    void checkDrained();
    void releaseStream();

    Herd *m_herd;
    QPointer<Node> m_node;
    QString m_host;
    QTcpServer *m_server;
    QString m_lastError;
    QHash<QTcpSocket *, Pending> m_connections;
    QList<QTcpSocket *> m_subscribers;
    // /events: our own stream on the node while anyone subscribes, or the herd's (the in-process
    // monitor's), which we only read.
    EventStream *m_events = nullptr;
    bool m_ownStream = false;
    bool m_waitingDrain = false;
    QTimer *m_drainTimer;
    qint64 m_lastLineMs = 0;
};

} // namespace herd
