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

// This node's part of a herd-wide batch (the in-process monitor's stream).
MonitorBatch forNode(const MonitorBatch &all, const QString &node)
{
    MonitorBatch b;
    b.timeUs = all.timeUs;
    b.trafficDropped = all.trafficDropped;
    b.hopsDropped = all.hopsDropped;
    for (const TrafficRow &row : all.traffic) {
        if (row.node == node)
            b.traffic.append(row);
    }
    for (const StoredUpdate &u : all.stored) {
        if (u.node == node)
            b.stored.append(u);
    }
    for (const FloodHop &h : all.hops) {
        if (h.to == node)
            b.hops.append(h);
    }
    for (const NodeStats &s : all.stats) {
        if (s.name == node)
            b.stats.append(s);
    }
    return b;
}

// Up to `limit` of the clients `node` holds, as stored updates (in no particular order).
QList<StoredUpdate> snapshot(const Node &node, qint64 nowUs, qsizetype limit)
{
    QList<StoredUpdate> out;
    out.reserve(std::min<qsizetype>(limit, node.store().size()));
    node.store().forEach([&](const ClientRecord &r) {
        if (out.size() >= limit)
            return;
        const protocol::Message m = protocol::parse(r.atLine());
        if (m.kind != protocol::Kind::At)
            return;
        out.append(StoredUpdate{node.name(), r.client().toByteArray(), r.time(), m.position.lat,
                                m.position.lng, r.atLine().toByteArray(), nowUs});
    });
    return out;
}

} // namespace

StatusServer::StatusServer(Herd *herd, Node *node, QObject *parent)
    : QObject(parent), m_herd(herd), m_node(node), m_server(new QTcpServer(this)), m_drainTimer(new QTimer(this))
{
    setObjectName(node->name());
    m_server->setMaxPendingConnections(kMaxConnections + 8);
    connect(m_server, &QTcpServer::newConnection, this, &StatusServer::onNewConnection);
    m_drainTimer->setSingleShot(true);
    // A reader that never drains may hold the stream back this long at most; then it gets the
    // next batches anyway (skipping them while it owes kMaxUnwrittenBytes), and is closed once it
    // has taken nothing for kStalledMs.
    connect(m_drainTimer, &QTimer::timeout, this, &StatusServer::releaseStream);
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
    m_subscribers.clear();
    if (m_ownStream && m_node)
        m_node->setEventStream(nullptr);
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
        if (m_connections.size() >= kMaxConnections) {
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
        connect(socket, &QTcpSocket::bytesWritten, this, [this, socket] {
            auto it = m_connections.find(socket);
            if (it != m_connections.end())
                it->lastProgressMs = nowMs();
            if (m_waitingDrain)
                checkDrained();
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
    unsubscribe(socket);
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
    Pending &pending = m_connections[socket];
    pending.answered = true;
    pending.lastProgressMs = nowMs();
    socket->setReadBufferSize(4096);   // nothing more is read from it
    socket->write("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nCache-Control: no-store\r\n"
                  "Connection: close\r\n\r\n");
    // The first line at once, so the client knows it is subscribed, with what the node already
    // holds: a monitor attaching to a running herd sees its clients before they next move.
    MonitorBatch first;
    first.timeUs = nowMs() * 1000;
    first.stats.append(m_node->stats());
    first.stored = snapshot(*m_node, first.timeUs, kSnapshotClients);
    socket->write(json::batchLine(first));
    m_subscribers.append(socket);
    if (m_events)
        return;
    if (EventStream *shared = m_herd->eventStream()) {
        // The in-process monitor already records every node: read its batches, never hold them.
        m_events = shared;
        m_ownStream = false;
    } else {
        Node *node = m_node;
        m_events = new EventStream([node] { return QList<NodeStats>{node->stats()}; }, this);
        m_ownStream = true;
        node->setEventStream(m_events);
    }
    m_lastLineMs = nowMs();
    connect(m_events, &EventStream::batchReady, this, &StatusServer::onBatch);
}

void StatusServer::unsubscribe(QTcpSocket *socket)
{
    if (!m_subscribers.removeOne(socket) || !m_subscribers.isEmpty() || !m_events)
        return;
    // The last one left: the node stops recording (no cost when nobody watches).
    m_events->disconnect(this);
    if (m_ownStream) {
        if (m_node)
            m_node->setEventStream(nullptr);
        m_events->deleteLater();   // it may be emitting right now
    }
    m_events = nullptr;
    m_ownStream = false;
    m_waitingDrain = false;
    m_drainTimer->stop();
}

void StatusServer::onBatch(const MonitorBatchPtr &batch)
{
    if (m_subscribers.isEmpty() || !m_node)
        return;
    const MonitorBatch mine = m_ownStream ? *batch : forNode(*batch, m_node->name());
    const bool idle = mine.traffic.isEmpty() && mine.stored.isEmpty() && mine.hops.isEmpty()
                      && mine.trafficDropped == 0 && mine.hopsDropped == 0;
    const qint64 now = nowMs();
    if (idle && now - m_lastLineMs < kIdleLineMs) {
        // Nothing happened: no line, but at least one a second (the stats move on).
        if (m_ownStream)
            m_events->batchApplied();
        return;
    }
    m_lastLineMs = now;
    const QByteArray line = json::batchLine(mine);
    const QList<QTcpSocket *> subscribers = m_subscribers;
    for (QTcpSocket *socket : subscribers) {
        if (socket->bytesToWrite() <= kMaxUnwrittenBytes) {
            socket->write(line);
            continue;
        }
        // A reader this far behind skips batches (memory stays bounded) and, once it has taken
        // nothing for kStalledMs, is closed: one that stopped reading never holds anyone back.
        if (now - m_connections.value(socket).lastProgressMs > kStalledMs) {
            qCInfo(lcHerdStatus, "%s: status: /events reader took nothing for %d ms (%lld bytes unwritten), closing",
                   qPrintable(m_node->name()), kStalledMs, socket->bytesToWrite());
            socket->abort();
            forget(socket);
        }
    }
    if (!m_ownStream || !m_events)
        return;
    m_waitingDrain = true;
    m_drainTimer->start(kMaxDrainWaitMs);
    checkDrained();
}

void StatusServer::checkDrained()
{
    for (const QTcpSocket *socket : std::as_const(m_subscribers)) {
        if (socket->bytesToWrite() > kDrainedBytes)
            return;
    }
    releaseStream();
}

void StatusServer::releaseStream()
{
    // Backpressure: until the readers have taken most of the last line, the stream keeps
    // merging (bounded) instead of handing us more.
    m_drainTimer->stop();
    m_waitingDrain = false;
    if (m_ownStream && m_events)
        m_events->batchApplied();
}

} // namespace herd
