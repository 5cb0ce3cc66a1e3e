#include "statusserver.h"
#include "herd.h"
#include "metrics.h"
#include "monitorjson.h"
#include "node.h"

#include <QDateTime>
#include <QHostAddress>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QTcpServer>
#include <QMutex>
#include <QTcpSocket>
#include <QTimer>

Q_LOGGING_CATEGORY(lcHerdStatus, "herd.status", QtInfoMsg)

namespace herd {

namespace {

using protocol::nowMs;

QByteArray reasonPhrase(int code)
{
    switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 503: return "Service Unavailable";
    }
    return "Error";
}

// RFC 9110 token characters (methods and header names).
bool isToken(QByteArrayView s)
{
    if (s.isEmpty())
        return false;
    for (const char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                        || QByteArrayView("!#$%&'*+-.^_`|~").contains(c);
        if (!ok)
            return false;
    }
    return true;
}

bool hasControl(QByteArrayView s)
{
    for (const char c : s) {
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
            return true;
        if (c == 0x7f)
            return true;
    }
    return false;
}

// The end of the request head ("\r\n\r\n", or "\n\n" from a sloppy client): the index just past
// it, or -1.
qsizetype headEnd(const QByteArray &buffer)
{
    const qsizetype crlf = buffer.indexOf("\r\n\r\n");
    const qsizetype lf = buffer.indexOf("\n\n");
    if (crlf >= 0 && (lf < 0 || crlf + 2 <= lf))
        return crlf + 4;
    return lf >= 0 ? lf + 2 : -1;
}

} // namespace

StatusServer::StatusServer(Herd *herd, Node *node, QObject *parent)
    : QObject(parent), m_herd(herd), m_node(node), m_server(new QTcpServer(this)), m_walkTimer(new QTimer(this))
{
    setObjectName(node->name());
    m_server->setMaxPendingConnections(kMaxConnections + 8);
    connect(m_server, &QTcpServer::newConnection, this, &StatusServer::onNewConnection);
    m_walkTimer->setInterval(0);   // a slice per event-loop turn: the node's lines come between
    connect(m_walkTimer, &QTimer::timeout, this, &StatusServer::walkHeld);
}

StatusServer::~StatusServer()
{
    const QList<QTcpSocket *> sockets = m_connections.keys();
    for (QTcpSocket *socket : sockets) {
        socket->disconnect(this);
        socket->abort();
        socket->deleteLater();
    }
    m_connections.clear();
    stopEvents();
}

bool StatusServer::listen(const QString &host, quint16 port)
{
    m_host = host;
    const QHostAddress address(bindAddress(host));
    if (address.isNull() || !m_server->listen(address, port)) {
        m_lastError = address.isNull()
            ? QStringLiteral("%1: status: cannot listen on %2: not an IP address").arg(m_node->name(), host)
            : QStringLiteral("%1: status: cannot listen on %2 port %3: %4")
                  .arg(m_node->name(), host).arg(port).arg(m_server->errorString());
        return false;
    }
    return true;
}

quint16 StatusServer::port() const
{
    return m_server->serverPort();
}

QString StatusServer::urlFor(const QString &host, quint16 port)
{
    const bool v6 = host.contains(QLatin1Char(':'));
    return QStringLiteral("http://%1%2%3:%4/")
        .arg(v6 ? QStringLiteral("[") : QString(), host, v6 ? QStringLiteral("]") : QString())
        .arg(port);
}

QString StatusServer::url() const
{
    return urlFor(m_host, port());
}

void StatusServer::onNewConnection()
{
    while (QTcpSocket *socket = m_server->nextPendingConnection()) {
        socket->setParent(this);
        const QHostAddress from = socket->peerAddress();
        qsizetype fromSame = 0;
        for (auto it = m_connections.cbegin(); it != m_connections.cend(); ++it)
            fromSame += it.key()->peerAddress() == from ? 1 : 0;
        if (m_connections.size() >= kMaxConnections || fromSame >= kMaxConnectionsPerAddress) {
            // Full: say so and close; everyone already connected is unaffected.
            const QByteArray body = "too many connections\n";
            socket->write("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                          "Content-Length: " + QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
            connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
            socket->disconnectFromHost();
            continue;
        }
        m_connections.insert(socket, Pending{});
        // The head is read into our buffer in slices: the socket buffers no more than that.
        socket->setReadBufferSize(kMaxHeadBytes + 1);
        connect(socket, &QTcpSocket::readyRead, this, [this, socket] { onReadyRead(socket); });
        connect(socket, &QTcpSocket::disconnected, this, [this, socket] { forget(socket); });
        connect(socket, &QTcpSocket::errorOccurred, this, [this, socket] {
            if (socket->state() != QAbstractSocket::ConnectedState)
                forget(socket);
        });
        QTimer::singleShot(kHeadTimeoutMs, socket, [this, socket] {
            auto it = m_connections.find(socket);
            if (it != m_connections.end() && !it->answered) {
                qCDebug(lcHerdStatus, "%s: status: no request head within %d ms, closing",
                        qPrintable(m_node ? m_node->name() : QString()), kHeadTimeoutMs);
                socket->abort();
                forget(socket);
            }
        });
        if (socket->bytesAvailable() > 0)
            onReadyRead(socket);
    }
}

void StatusServer::forget(QTcpSocket *socket)
{
    if (!m_connections.remove(socket))
        return;
    socket->disconnect(this);
    socket->deleteLater();
}

void StatusServer::onReadyRead(QTcpSocket *socket)
{
    auto it = m_connections.find(socket);
    if (it == m_connections.end())
        return;
    if (it->answered) {
        socket->skip(socket->bytesAvailable());   // one request per connection: the rest is ignored
        return;
    }
    it->head.append(socket->read(kMaxHeadBytes + 1 - it->head.size()));
    const qsizetype end = headEnd(it->head);
    if (end < 0 || end > kMaxHeadBytes) {
        if (it->head.size() > kMaxHeadBytes)
            respond(socket, 400, "text/plain; charset=utf-8", "request head larger than 8 KiB\n");
        return;   // more to come
    }
    const QByteArray head = it->head.left(end);
    it->head.clear();
    handleHead(socket, head);
}

void StatusServer::handleHead(QTcpSocket *socket, const QByteArray &head)
{
    // Lines end with CRLF; a bare LF is tolerated, a bare CR is not.
    QList<QByteArray> lines = head.split('\n');
    for (QByteArray &line : lines) {
        if (line.endsWith('\r'))
            line.chop(1);
    }
    while (!lines.isEmpty() && lines.constLast().isEmpty())
        lines.removeLast();
    const auto bad = [&](const QByteArray &why) {
        respond(socket, 400, "text/plain; charset=utf-8", "bad request: " + why + "\n");
    };
    if (lines.isEmpty())
        return bad("no request line");
    // request-line = method SP request-target SP HTTP-version, single spaces.
    const QList<QByteArray> parts = lines.constFirst().split(' ');
    if (parts.size() != 3 || hasControl(lines.constFirst()))
        return bad("malformed request line");
    const QByteArray &method = parts.at(0);
    const QByteArray &target = parts.at(1);
    const QByteArray &version = parts.at(2);
    if (!isToken(method))
        return bad("malformed method");
    if (!target.startsWith('/'))
        return bad("the target must be a path");
    if (version != "HTTP/1.1" && version != "HTTP/1.0")
        return bad("unsupported HTTP version");
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray &line = lines.at(i);
        const qsizetype colon = line.indexOf(':');
        // No obsolete line folding, no space before the colon, no control bytes.
        if (colon <= 0 || !isToken(QByteArrayView(line).first(colon)) || hasControl(line))
            return bad("malformed header line");
    }
    if (method != "GET") {
        respond(socket, 405, "text/plain; charset=utf-8", "only GET\n", "Allow: GET\r\n");
        return;
    }
    QByteArray path = target;
    if (const qsizetype q = path.indexOf('?'); q >= 0)
        path.truncate(q);
    if (!m_node) {
        respond(socket, 503, "text/plain; charset=utf-8", "node gone\n");
        return;
    }
    if (path == "/metrics") {
        respond(socket, 200, "text/plain; version=0.0.4; charset=utf-8",
                metrics::prometheusText(m_node->stats(), nowMs()));
    } else if (path == "/status") {
        respond(socket, 200, "application/json", statusJson());
    } else if (path == "/events") {
        subscribe(socket);
    } else {
        respond(socket, 404, "text/plain; charset=utf-8", "not found: try /metrics, /status or /events\n");
    }
}

void StatusServer::respond(QTcpSocket *socket, int code, const QByteArray &contentType, const QByteArray &body,
                           const QByteArray &extraHeaders)
{
    auto it = m_connections.find(socket);
    if (it != m_connections.end())
        it->answered = true;
    QByteArray out = "HTTP/1.1 " + QByteArray::number(code) + ' ' + reasonPhrase(code) + "\r\n";
    out += "Content-Type: " + contentType + "\r\n";
    out += "Content-Length: " + QByteArray::number(body.size()) + "\r\n";
    out += extraHeaders;
    out += "Connection: close\r\n\r\n";
    out += body;
    socket->write(out);
    socket->disconnectFromHost();   // after the response is written
}

QByteArray StatusServer::statusJson() const
{
    QJsonArray hosted;
    for (const Node *n : m_herd->nodes())
        hosted.append(n->name());
    QJsonObject endpoints;
    const auto known = m_herd->statusEndpoints();
    for (auto it = known.cbegin(); it != known.cend(); ++it)
        endpoints.insert(it.key(), it.value());
    const metrics::BuildInfo build = metrics::buildInfo();
    // Secrets never appear: the config names the environment variables, not their values.
    const QJsonObject o{
        {QStringLiteral("node"), m_node->name()},
        {QStringLiteral("hosted"), hosted},
        {QStringLiteral("herd"), m_herd->config().toJson()},
        {QStringLiteral("endpoints"), endpoints},
        {QStringLiteral("stats"), json::fromNodeStats(m_node->stats())},
        {QStringLiteral("build"), QJsonObject{{QStringLiteral("version"), build.version},
                                              {QStringLiteral("qt"), build.qt}}},
    };
    return QJsonDocument(o).toJson(QJsonDocument::Indented);
}

void StatusServer::subscribe(QTcpSocket *socket)
{
    EventStream *events = m_herd->eventStream();
    const bool shared = events != nullptr;   // the in-process monitor's: every node records already
    if (!events)
        events = m_herd->statusStream();
    if (m_events && m_events != events)
        stopEvents();   // the herd's stream changed under us: start over
    m_events = events;
    connect(events, &EventStream::subscriberGone, this, &StatusServer::onSubscriberGone, Qt::UniqueConnection);

    // Room: at most kMaxSubscribersPerAddress from one address and kMaxSubscribers in all. When
    // full, a newcomer takes the place of the oldest reader of the address holding the most, so
    // idle readers from one place never lock everyone else out.
    const QHostAddress from = socket->peerAddress();
    const auto countFrom = [this](const QHostAddress &a) {
        return std::count_if(m_subscribers.cbegin(), m_subscribers.cend(),
                             [&](const Subscriber &s) { return s.address == a; });
    };
    auto evictOldestOf = [this](const QHostAddress &a) {
        for (qsizetype i = 0; i < m_subscribers.size(); ++i) {
            if (m_subscribers.at(i).address == a) {
                const quint32 id = m_subscribers.takeAt(i).id;
                m_walks.remove(id);
                m_events->closeSubscriber(id);
                return;
            }
        }
    };
    if (countFrom(from) >= kMaxSubscribersPerAddress) {
        evictOldestOf(from);
    } else if (m_subscribers.size() >= kMaxSubscribers) {
        QHostAddress most;
        qsizetype mostCount = 0;
        for (const Subscriber &s : std::as_const(m_subscribers)) {
            if (const qsizetype n = countFrom(s.address); n > mostCount) {
                most = s.address;
                mostCount = n;
            }
        }
        evictOldestOf(most);
    }

    static quint32 nextId = 1;   // network threads share the numbering; only its uniqueness matters
    static QBasicMutex idMutex;
    quint32 id;
    {
        QMutexLocker lock(&idMutex);
        id = nextId++;
    }
    m_subscribers.append(Subscriber{id, from, nowMs()});
    if (!shared && !m_recording) {
        m_node->setEventStream(events);
        m_recording = true;
    }

    // The reader's socket goes to the collector thread, with the response head and a first line
    // (the node's stats) written at once so the client knows it is subscribed; the clients the
    // node already holds follow, walked a slice at a time.
    m_connections.remove(socket);
    socket->disconnect(this);
    MonitorBatch first;
    first.timeUs = protocol::nowUs();
    first.stats.append(m_node->stats());
    QByteArray head = "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nCache-Control: no-store\r\n"
                      "Connection: close\r\n\r\n";
    head += json::batchLine(first);
    events->addSubscriber(id, m_node->name(), socket, head);
    m_walks.insert(id, Walk{0, m_node->store().layout()});
    if (!m_walkTimer->isActive())
        m_walkTimer->start();
}

void StatusServer::walkHeld()
{
    if (!m_node || !m_events || m_walks.isEmpty()) {
        m_walkTimer->stop();
        return;
    }
    if (m_events->pendingStateBytes() > kWalkMaxPendingBytes)
        return;   // the capture is full enough: the next turn
    LocationStore &store = m_node->store();
    const QString &node = m_node->name();
    EventStream *events = m_events;
    for (auto it = m_walks.begin(); it != m_walks.end();) {
        Walk &walk = it.value();
        if (walk.layout != store.layout())
            walk = Walk{0, store.layout()};   // the table grew: from the start (repeats are harmless)
        const quint32 id = it.key();
        walk.cursor = store.walkSlice(walk.cursor, kWalkCells, [&](const ClientRecord &r) {
            events->held(node, id, r.client(), r.time(), r.atLine());
        });
        it = walk.cursor < 0 ? m_walks.erase(it) : std::next(it);
    }
    if (m_walks.isEmpty())
        m_walkTimer->stop();
}

void StatusServer::onSubscriberGone(quint32 id, const QString &node)
{
    if (!m_node || node != m_node->name())
        return;
    m_walks.remove(id);
    m_subscribers.removeIf([id](const Subscriber &s) { return s.id == id; });
    if (m_subscribers.isEmpty() && m_recording) {
        // The last one left: the node stops recording (no cost when nobody watches).
        m_node->setEventStream(nullptr);
        m_recording = false;
    }
}

void StatusServer::stopEvents()
{
    if (m_events) {
        m_events->disconnect(this);
        for (const Subscriber &s : std::as_const(m_subscribers))
            m_events->closeSubscriber(s.id);
    }
    if (m_recording && m_node)
        m_node->setEventStream(nullptr);
    m_recording = false;
    m_subscribers.clear();
    m_walks.clear();
    m_walkTimer->stop();
    m_events = nullptr;
}

} // namespace herd
