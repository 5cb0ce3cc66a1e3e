#include "node.h"
#include "monitor.h"
#include "places.h"
#include "poller.h"

#include <QHostAddress>
#include <QTcpServer>
#include <QTimer>
#include <cstring>
#include <netinet/in.h>
#include <unistd.h>
#include <sys/socket.h>

namespace herd {

using protocol::Kind;

namespace {

// Hands accepted descriptors to the node instead of wrapping them in QTcpSockets.
class Listener final : public QTcpServer {
public:
    std::function<void(qintptr)> onAccept;
protected:
    void incomingConnection(qintptr fd) override { onAccept(fd); }
};

} // namespace

Node::Node(const HerdConfig &config, const QString &name, QObject *parent)
    : QObject(parent)
    , m_ctx(config, name)
    , m_sessions(this)
    , m_links(m_ctx, m_sessions, this)
    , m_handshake(m_ctx, m_links)
    , m_flooder(m_ctx, m_links)
    , m_flow(m_ctx, m_links, m_sessions)
    , m_housekeeping(m_ctx, m_sessions)
    , m_clients(m_ctx, m_sessions, m_flooder, m_flow, m_handshake, this)
{
    m_ctx.scheduleAfterBatch = [this] { scheduleAfterBatch(); };
    connect(&m_links, &PeerLinks::linkChanged, this, &Node::linkChanged);
    if (const NodeConfig *self = m_ctx.config.node(name))
        m_port = self->port;
}

Node::~Node()
{
    stop();
}

bool Node::start()
{
    if (m_running)
        return true;
    const QString &name = m_ctx.name;
    const HerdConfig &config = m_ctx.config;
    const NodeConfig *self = config.node(name);
    if (!self) {
        m_lastError = QStringLiteral("unknown node %1").arg(name);
        return false;
    }
    QString error;
    if (!m_ctx.log.open(config, name, &error)) {
        m_lastError = QStringLiteral("%1: %2").arg(name, error);
        return false;
    }
    if (!config.stateDir.isEmpty()) {
        if (!m_ctx.journal.open(config.stateDir, name, &m_ctx.store, &error)) {
            m_lastError = QStringLiteral("%1: state: %2").arg(name, error);
            m_ctx.log.close();
            return false;
        }
        m_ctx.log.event("node", QStringLiteral("state restored from %1: %2 clients").arg(config.stateDir).arg(m_ctx.store.size()));
    }
    std::unique_ptr<PlacesProvider> places = PlacesProvider::create(config.places, &error, this);
    if (!places) {
        m_lastError = QStringLiteral("%1: places: %2").arg(name, error);
        m_ctx.journal.close();
        m_ctx.log.close();
        return false;
    }
    m_clients.setPlaces(std::move(places));
    const QByteArray secretEnv = config.peerSecretEnv.toLocal8Bit();
    m_handshake.setSecret(qgetenv(secretEnv.constData()));

    m_poller = new Poller(this);
    m_sessions.setPoller(m_poller);
    auto *server = new Listener;
    server->setParent(this);
    server->onAccept = [this](qintptr fd) { accept(fd); };
    m_server = server;
    const QHostAddress address(bindAddress(self->host));
    m_server->setListenBacklogSize(4096);   // Qt's default 50 drops SYNs when thousands connect at once
    // A restarted node binds the port it had, so neighbours find it where they left it.
    if (address.isNull() || !m_server->listen(address, m_port)) {
        m_lastError = address.isNull()
            ? QStringLiteral("%1: cannot listen on %2: not an IP address").arg(name, self->host)
            : QStringLiteral("%1: cannot listen on %2 port %3: %4")
                  .arg(name, self->host).arg(m_port).arg(m_server->errorString());
        delete m_server;
        m_server = nullptr;
        m_sessions.setPoller(nullptr);
        delete m_poller;
        m_poller = nullptr;
        m_clients.setPlaces(nullptr);
        m_ctx.journal.close();
        m_ctx.log.close();
        return false;
    }
    // Accept as many as the kernel queues; thousands of clients may arrive at once.
    m_server->setMaxPendingConnections(1 << 16);
    m_port = m_server->serverPort();
    m_running = true;
    m_links.setRunning(true);
    m_startedAtMs = protocol::nowMs();
    m_ctx.event("node", LineKind::LinkEvent, QStringLiteral("listening on %1:%2 (places: %3, peer auth: %4)")
                            .arg(self->host).arg(m_port).arg(m_clients.places()->kind(),
                                 m_handshake.hasSecret() ? QStringLiteral("on") : QStringLiteral("off")));

    m_heartbeatTimer = new QTimer(this);
    connect(m_heartbeatTimer, &QTimer::timeout, this, &Node::heartbeat);
    m_heartbeatTimer->start(config.peers.heartbeatMs);
    m_housekeepingTimer = new QTimer(this);
    connect(m_housekeepingTimer, &QTimer::timeout, this, [this] { m_housekeeping.sweep(protocol::nowMs()); });
    m_housekeepingTimer->start(Housekeeping::kIntervalMs);
    Q_EMIT runningChanged(true);
    return true;
}

void Node::connectPeers()
{
    m_links.connectAll();
}

void Node::stop()
{
    if (!m_running)
        return;
    m_running = false;
    m_links.setRunning(false);
    m_flow.reset();   // every connection closes now
    m_ctx.event("node", LineKind::LinkEvent, QStringLiteral("stopping"));
    delete m_server;
    m_server = nullptr;
    delete m_heartbeatTimer;
    m_heartbeatTimer = nullptr;
    delete m_housekeepingTimer;
    m_housekeepingTimer = nullptr;
    m_sessions.abortIf([](const Session &) { return true; }, QStringLiteral("node stopped"));
    m_links.clearDeadMarks();
    m_sessions.clearClosed();
    m_flushQueue.clear();
    m_clients.setPlaces(nullptr);
    m_sessions.setPoller(nullptr);
    delete m_poller;
    m_poller = nullptr;
    m_ctx.journal.close();
    m_ctx.log.close();
    Q_EMIT runningChanged(false);
}

void Node::accept(qintptr fd)
{
    NodeStats &counters = m_ctx.counters;
    const LimitsConfig &limits = m_ctx.config.limits;
    if (m_sessions.size() >= limits.maxConnections) {
        // Full: the newcomer is closed at once (nothing may be written to a client but replies);
        // everyone already connected is unaffected.
        ::close(int(fd));
        ++counters.connectionsRefused;
        if (counters.connectionsRefused == 1 || counters.connectionsRefused % 1000 == 0) {
            qCWarning(lcHerdNet, "%s: connection limit (%d) reached, %llu refused so far", qPrintable(m_ctx.name),
                      limits.maxConnections, static_cast<unsigned long long>(counters.connectionsRefused));
            m_ctx.error("node", QStringLiteral("connection limit (%1) reached: %2 refused so far")
                                    .arg(limits.maxConnections).arg(counters.connectionsRefused));
        }
        return;
    }
    // The peer address, for logs only.
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    QString address;
    if (::getpeername(int(fd), reinterpret_cast<sockaddr *>(&sa), &len) == 0) {
        QHostAddress host(reinterpret_cast<sockaddr *>(&sa));
        const quint16 port = sa.ss_family == AF_INET6
            ? ntohs(reinterpret_cast<sockaddr_in6 *>(&sa)->sin6_port)
            : ntohs(reinterpret_cast<sockaddr_in *>(&sa)->sin_port);
        address = host.toString() + QLatin1Char(':') + QString::number(port);
    }
    std::unique_ptr<Session> s = m_sessions.accept(int(fd), address, limits.maxLineBytes, limits.maxOutputBytes);
    s->setLabel("client#" + QByteArray::number(s->id()) + ' ' + address.toLatin1());
    if (s->connection().state() == Connection::State::Closed) {
        m_ctx.error(s->label(), QStringLiteral("cannot watch connection: %1").arg(s->connection().errorString()));
        return;
    }
    ++counters.connectionsAccepted;
    m_ctx.event(s->label(), LineKind::Connection, QStringLiteral("connection opened"));
    qCDebug(lcHerdNet, "%s: %s opened", qPrintable(m_ctx.name), s->label().constData());
    m_sessions.keep(std::move(s));
}

void Node::sessionLine(Session &s, QByteArrayView line)
{
    ++m_ctx.counters.linesIn;
    // No clock read per line: the time the line was read is the receive time of an IAMAT, the
    // idle check's and the log's time of the line and of everything it causes to be logged
    // (clock reads were a visible share per line; one time for all of it also keeps the log's
    // times in order).
    const protocol::Timestamp outerTime = m_ctx.lineTime;
    const qint64 outerMs = m_ctx.lineMs;
    m_ctx.lineTime = s.connection().readAt();
    m_ctx.lineMs = m_ctx.lineTime.sec * 1000 + m_ctx.lineTime.nsec / 1'000'000;
    s.setLastLineAtMs(m_ctx.lineMs);
    m_ctx.log.line(NodeLog::Dir::In, s.label(), line, m_ctx.lineMs);
    // Recorded before it is handled, so the inspector shows it before its reply; its kind is
    // known once handled.
    EventStream *events = m_ctx.events;
    const qsizetype slot = events ? events->line(m_ctx.name, Direction::In, LineKind::Invalid, s.label(), line) : -1;
    m_ctx.inKind = LineKind::Invalid;
    dispatchLine(s, line);
    if (slot >= 0)
        events->setKind(slot, m_ctx.inKind);
    m_ctx.lineTime = outerTime;
    m_ctx.lineMs = outerMs;
}

void Node::dispatchLine(Session &s, QByteArrayView line)
{
    if (s.isPeerLink()) {
        // A retired duplicate still delivers what was sent on it before the switch.
        if (PeerLink *link = m_links.find(s.peerName())) {
            handlePeerLine(s, *link, line);
            return;
        }
    }
    if (!s.isClient() && m_handshake.handle(s, line)) {
        ++m_ctx.counters.handshakeIn;
        m_ctx.inKind = LineKind::Handshake;
        return;
    }
    if (s.role() == Session::Role::HelloSent || s.role() == Session::Role::AwaitOk)
        return;   // handshake protocol violation already handled
    m_clients.handleLine(s, line);
}

void Node::handlePeerLine(Session &s, PeerLink &link, QByteArrayView line)
{
    const protocol::Message m = protocol::parse(line);
    if (m.kind == Kind::At) {
        m_flooder.receive(m, line, link);
        return;
    }
    if (m.kind == Kind::Peer) {
        if (const auto hb = peer::parseHeartbeat(line)) {
            m_links.heartbeatReceived(s, link, *hb);
            return;
        }
        if (const auto seq = peer::parseAck(line)) {
            m_links.ackReceived(link, *seq);
            return;
        }
        // Send what changed since then (everything if the epoch is not this store's: the
        // neighbour never saw it, or we restarted).
        if (const auto sync = peer::parseSync(line)) {
            m_ctx.inKind = LineKind::Handshake;
            ++m_ctx.counters.syncIn;
            if (Session *live = link.session())   // answered on the live link, even if asked on a duplicate
                m_flooder.sendChangesSince(*live, sync->epoch == m_ctx.store.epoch() ? sync->seq : 0);
            return;
        }
    }
    if (m.kind == Kind::Blank)
        return;
    ++m_ctx.counters.invalid;
    ++m_ctx.counters.invalidLines;
    m_ctx.error(s.label(), QStringLiteral("unexpected line from peer, ignored"));
}

void Node::sessionOverlong(Session &s, QByteArrayView head)
{
    ++m_ctx.counters.invalid;
    ++m_ctx.counters.linesTooLong;
    m_ctx.error(s.label(), QStringLiteral("line longer than %1 bytes, closing; it began: %2")
                               .arg(m_ctx.config.limits.maxLineBytes)
                               .arg(QString::fromLatin1(protocol::escaped(head, 128))));
}

void Node::sessionEstablished(Session &s)
{
    m_handshake.start(s);
}

void Node::sessionClosed(Session &s, const QString &reason)
{
    if (!m_sessions.retire(s))
        return;
    if (s.connection().outputOverflowed())
        ++m_ctx.counters.outputOverflows;
    scheduleAfterBatch();
    if (m_links.sessionClosed(s, reason))
        return;
    m_ctx.event(s.label(), LineKind::Connection, QStringLiteral("connection closed: %1").arg(reason));
    qCDebug(lcHerdNet, "%s: %s closed: %s", qPrintable(m_ctx.name), s.label().constData(), qPrintable(reason));
}

void Node::sessionReadAhead(Session &s, QByteArrayView buffered)
{
    // A read brings up to a few dozen pipelined IAMATs. Their store lookups are cache (and TLB)
    // misses in a table of millions of clients, the largest single cost per IAMAT: start
    // loading all their slots now, so the misses overlap while the lines are handled in order.
    const bool peer = s.isPeerLink();
    if (!s.isClient() && !peer)
        return;
    constexpr int kMaxLines = 64;
    const char *p = buffered.data();
    const char *end = p + buffered.size();
    for (int n = 0; n < kMaxLines && p < end; ++n) {
        const char *nl = static_cast<const char *>(std::memchr(p, '\n', size_t(end - p)));
        if (!nl)
            return;
        // Only the usual shapes, "IAMAT <client> ..." from a client and "AT <origin> <skew>
        // <client> ..." (a flood) from a neighbour: anything else is left to the parser.
        const char *field = nullptr;
        int skip = 0;
        if (!peer && nl - p > 6 && std::memcmp(p, "IAMAT ", 6) == 0)
            field = p + 6;
        else if (peer && nl - p > 3 && std::memcmp(p, "AT ", 3) == 0) {
            field = p + 3;
            skip = 2;
        }
        if (field) {
            for (;;) {
                while (field < nl && protocol::isSpace(*field))
                    ++field;
                const char *fieldEnd = field;
                while (fieldEnd < nl && !protocol::isSpace(*fieldEnd))
                    ++fieldEnd;
                if (skip-- > 0) {
                    field = fieldEnd;
                    continue;
                }
                if (fieldEnd > field)
                    m_ctx.store.prefetch(QByteArrayView(field, fieldEnd - field));
                break;
            }
        }
        p = nl + 1;
    }
}

void Node::sessionWantsFlush(Session &s)
{
    m_flushQueue.push_back(s.id());
    scheduleAfterBatch();
}

void Node::scheduleAfterBatch()
{
    if (m_afterBatchQueued)
        return;
    m_afterBatchQueued = true;
    // Runs once control is back in the event loop: every reply and flood of the batch goes out
    // in one write per connection.
    QMetaObject::invokeMethod(this, &Node::afterBatch, Qt::QueuedConnection);
}

void Node::afterBatch()
{
    m_afterBatchQueued = false;
    // The journal first: an update is on its way to disk before its AT reply is on the wire.
    m_ctx.journal.writeOut();
    // Flushing may close connections, which may queue more; swap so the loop is stable.
    std::vector<quint64> queue;
    queue.swap(m_flushQueue);
    for (quint64 id : queue) {
        if (Session *s = m_sessions.find(id))
            s->connection().flush();
    }
    m_sessions.clearClosed();
    m_flow.update();
}

void Node::sessionOutputBelow(Session &s)
{
    Q_UNUSED(s);
    m_flow.update();
}

void Node::heartbeat()
{
    m_flow.checkProgress();
    m_flow.update();   // and a neighbour that turned suspect no longer holds clients back
    m_links.heartbeat();
}

NodeStats Node::stats() const
{
    NodeStats s = m_ctx.counters;
    s.name = m_ctx.name;
    s.running = m_running;
    s.port = m_port;
    s.startedAtMs = m_startedAtMs;
    s.clientsKnown = m_ctx.store.size();
    s.clientsPaused = m_flow.clientsPaused();
    s.clientConnections = 0;
    m_sessions.forEach([&s](const Session &session) {
        if (session.isClient())
            ++s.clientConnections;
        else if (session.isPeerLink())
            ++s.peerConnections;
        else
            ++s.handshakingConnections;
    });
    s.setPlaces(m_clients.placesStats());
    s.links = m_links.info();
    return s;
}

} // namespace herd
