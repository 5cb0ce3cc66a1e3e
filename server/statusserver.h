#pragma once
// The status endpoint of one node: a small, strict HTTP/1.1 server (GET only, one request per
// connection) with /metrics (Prometheus text), /status (JSON) and /events (the monitor stream
// of this node as JSON lines). Lives in the network thread with its node; /events readers are
// handed to the herd's event stream, whose collector thread writes to them. docs/OPERATIONS.md
// ("Status endpoint and metrics") lists the limits.
#include "monitor.h"

#include <QByteArray>
#include <QHostAddress>
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
    static constexpr int kMaxConnections = 32;                  // requests being read at once; more get 503
    static constexpr int kMaxConnectionsPerAddress = 8;         // ... from one address
    static constexpr qsizetype kMaxHeadBytes = 8 * 1024;        // request line + headers
    static constexpr int kHeadTimeoutMs = 5000;                 // to send the whole head
    static constexpr int kMaxSubscribers = 16;                  // /events readers of this node
    static constexpr int kMaxSubscribersPerAddress = 4;         // ... from one address
    static constexpr quint64 kWalkCells = 4096;                 // /events: held clients, table cells per slice
    static constexpr qsizetype kWalkMaxPendingBytes = 4 << 20;  // ... paused while the capture holds more

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
    };

    void onNewConnection();
    void onReadyRead(QTcpSocket *socket);
    void handleHead(QTcpSocket *socket, const QByteArray &head);
    void respond(QTcpSocket *socket, int code, const QByteArray &contentType, const QByteArray &body,
                 const QByteArray &extraHeaders = {});
    void forget(QTcpSocket *socket);
    QByteArray statusJson() const;

    void subscribe(QTcpSocket *socket);
    void onSubscriberGone(quint32 id, const QString &node);
    void walkHeld();
    void stopEvents();

    struct Subscriber {
        quint32 id = 0;
        QHostAddress address;
        qint64 sinceMs = 0;
    };
    struct Walk {
        qint64 cursor = 0;
        int layout = 0;
    };

    Herd *m_herd;
    QPointer<Node> m_node;
    QString m_host;
    QTcpServer *m_server;
    QString m_lastError;
    QHash<QTcpSocket *, Pending> m_connections;
    // /events: the readers (their sockets live in the stream's collector thread), and the walks
    // that send each new one the clients the node already holds, a slice per event-loop turn.
    QList<Subscriber> m_subscribers;
    QHash<quint32, Walk> m_walks;
    QTimer *m_walkTimer;
    QPointer<EventStream> m_events;   // the herd's stream the readers read
    bool m_recording = false;         // we turned this node's recording on
};

} // namespace herd
