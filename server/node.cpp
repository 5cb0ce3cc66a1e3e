#include "node.h"
#include "monitor.h"
#include "places.h"
#include "poller.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QHostAddress>
#include <QHostInfo>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QMessageAuthenticationCode>
#include <QRandomGenerator>
#include <QTcpServer>
#include <QTimer>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <unistd.h>
#include <sys/socket.h>

// Debug output is off by default (per connection / per update would flood stderr); turn it on
// with QT_LOGGING_RULES="herd.net.debug=true;herd.flood.debug=true". The per-node log files
// record everything regardless.
Q_LOGGING_CATEGORY(lcHerdNet, "herd.net", QtInfoMsg)
Q_LOGGING_CATEGORY(lcHerdPeer, "herd.peer")
Q_LOGGING_CATEGORY(lcHerdFlood, "herd.flood", QtInfoMsg)

namespace herd {

using protocol::Kind;

namespace {

constexpr qint64 kPeerOutputCap = 64LL * 1024 * 1024;   // a neighbour that stops reading
// Flow control: while a live neighbour has more than this unwritten, clients are not read (their
// TCP windows close) until it is down to the low mark: under overload the herd slows its clients
// to what its slowest link carries instead of dropping the link. A neighbour that is suspect or
// dead never pauses anyone (its link is dropped at kPeerOutputCap and caught up later).
constexpr qint64 kPeerHighWater = 4LL * 1024 * 1024;
constexpr qint64 kPeerLowWater = 512LL * 1024;
constexpr int kHandshakeTimeoutMs = 5000;
constexpr int kHousekeepingMs = 500;

// An AT line is longer than the IAMAT it answers by the origin's name and the skew (at most 30
// bytes: sign, 19 digits, point, 9 digits), so a peer link takes that much more than a client.
int peerLineLimit(const HerdConfig &config)
{
    qsizetype longestName = 0;
    for (const NodeConfig &n : config.nodes)
        longestName = std::max(longestName, n.name.toUtf8().size());
    return config.limits.maxLineBytes + int(longestName) + 64;
}

// Hands accepted descriptors to the node instead of wrapping them in QTcpSockets.
class Listener final : public QTcpServer {
public:
    std::function<void(qintptr)> onAccept;
protected:
    void incomingConnection(qintptr fd) override { onAccept(fd); }
};

qint64 nowMs() { return QDateTime::currentMSecsSinceEpoch(); }

using protocol::nowUs;

QByteArray randomNonce()
{
    quint32 words[4];
    QRandomGenerator::system()->fillRange(words);
    return QByteArray(reinterpret_cast<const char *>(words), sizeof words).toHex();
}

bool constantTimeEqual(QByteArrayView a, QByteArrayView b)
{
    if (a.size() != b.size())
        return false;
    unsigned char diff = 0;
    for (qsizetype i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

bool isHexNonce(QByteArrayView s)
{
    if (s.size() != 32)
        return false;
    for (char c : s) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

// Every run of newlines collapsed to one, none at the end (SPEC §2, WHATSAT).
QByteArray compactJson(const QJsonObject &answer)
{
    const QByteArray json = QJsonDocument(answer).toJson(QJsonDocument::Indented);
    QByteArray out;
    out.reserve(json.size());
    for (char c : json) {
        if (c == '\n' && (out.isEmpty() || out.back() == '\n'))
            continue;
        out.append(c);
    }
    while (out.endsWith('\n'))
        out.chop(1);
    return out;
}

} // namespace

Node::Node(const HerdConfig &config, const QString &name, QObject *parent)
    : QObject(parent)
    , m_config(config)
    , m_name(name)
    , m_nameBytes(name.toUtf8())
{
    for (const QString &peer : m_config.neighbours(name)) {
        auto *link = new PeerLink(peer, m_config.peers.redialMinMs, m_config.peers.redialMaxMs, this);
        link->m_suspectAfter = m_config.peers.suspectAfterMissed;
        connect(link, &PeerLink::redialDue, this, [this, link] {
            if (m_running && !link->m_connection && !link->m_dialing && !isLinkCut(link->peer()))
                dial(*link);
        });
        m_links.insert(peer, link);
        if (const NodeConfig *n = m_config.node(peer))
            m_peerAddress.insert(peer, {n->host, n->port});
    }
    if (const NodeConfig *self = m_config.node(name))
        m_port = self->port;
}

Node::~Node()
{
    stop();
}

void Node::setLinkCut(const QString &peer, bool cut)
{
    PeerLink *link = m_links.value(peer);
    if (!link || cut == m_cutLinks.contains(peer))
        return;
    const QByteArray who = "peer " + peer.toUtf8();
    if (cut) {
        m_cutLinks.insert(peer);
        link->cancelRedial();
        event(who, LineKind::LinkEvent, QStringLiteral("link cut (fault injection)"));
        std::vector<Connection *> doomed;
        for (auto &[id, c] : m_connections) {
            if (c->peerName == peer)
                doomed.push_back(c.get());
        }
        for (Connection *c : doomed)
            c->abort(QStringLiteral("link cut"));
        return;
    }
    m_cutLinks.remove(peer);
    event(who, LineKind::LinkEvent, QStringLiteral("link restored"));
    link->resetBackoff();
    if (m_running && !link->m_connection && !link->m_dialing)
        dial(*link);
}

void Node::setPeerAddress(const QString &peer, const QString &host, quint16 port)
{
    m_peerAddress.insert(peer, {host, port});
}

bool Node::start()
{
    if (m_running)
        return true;
    const NodeConfig *self = m_config.node(m_name);
    if (!self) {
        m_lastError = QStringLiteral("unknown node %1").arg(m_name);
        return false;
    }
    QString error;
    if (!m_log.open(m_config, m_name, &error)) {
        m_lastError = QStringLiteral("%1: %2").arg(m_name, error);
        return false;
    }
    if (!m_config.stateDir.isEmpty()) {
        if (!m_journal.open(m_config.stateDir, m_name, &m_store, &error)) {
            m_lastError = QStringLiteral("%1: state: %2").arg(m_name, error);
            m_log.close();
            return false;
        }
        m_log.event("node", QStringLiteral("state restored from %1: %2 clients").arg(m_config.stateDir).arg(m_store.size()));
    }
    m_places = PlacesProvider::create(m_config.places, &error, this);
    if (!m_places) {
        m_lastError = QStringLiteral("%1: places: %2").arg(m_name, error);
        m_journal.close();
        m_log.close();
        return false;
    }
    const QByteArray secretEnv = m_config.peerSecretEnv.toLocal8Bit();
    m_secret = qgetenv(secretEnv.constData());

    m_poller = new Poller(this);
    auto *server = new Listener;
    server->setParent(this);
    server->onAccept = [this](qintptr fd) { accept(fd); };
    m_server = server;
    const QHostAddress address(self->host == QLatin1String("localhost") ? QStringLiteral("127.0.0.1")
                                                                         : self->host);
    m_server->setListenBacklogSize(4096);   // Qt's default 50 drops SYNs when thousands connect at once
    // A restarted node binds the port it had, so neighbours find it where they left it.
    if (address.isNull() || !m_server->listen(address, m_port)) {
        m_lastError = address.isNull()
            ? QStringLiteral("%1: cannot listen on %2: not an IP address").arg(m_name, self->host)
            : QStringLiteral("%1: cannot listen on %2 port %3: %4")
                  .arg(m_name, self->host).arg(m_port).arg(m_server->errorString());
        delete m_server;
        m_server = nullptr;
        delete m_poller;
        m_poller = nullptr;
        m_places.reset();
        m_journal.close();
        m_log.close();
        return false;
    }
    // Accept as many as the kernel queues; thousands of clients may arrive at once.
    m_server->setMaxPendingConnections(1 << 16);
    m_port = m_server->serverPort();
    m_running = true;
    m_startedAtMs = nowMs();
    event("node", LineKind::LinkEvent, QStringLiteral("listening on %1:%2 (places: %3, peer auth: %4)")
                            .arg(self->host).arg(m_port).arg(m_places->kind(),
                                 m_secret.isEmpty() ? QStringLiteral("off") : QStringLiteral("on")));

    m_heartbeatTimer = new QTimer(this);
    connect(m_heartbeatTimer, &QTimer::timeout, this, &Node::heartbeat);
    m_heartbeatTimer->start(m_config.peers.heartbeatMs);
    m_housekeepingTimer = new QTimer(this);
    connect(m_housekeepingTimer, &QTimer::timeout, this, [this] {
        const qint64 now = nowMs();
        std::vector<Connection *> expired;
        std::vector<Connection *> idle;
        const LimitsConfig &limits = m_config.limits;
        for (auto &[id, c] : m_connections) {
            if (c->lingerExpired(now))
                expired.push_back(c.get());
            else if (c->role == Client && c->state() == Connection::State::Open && !c->hasReservedReplies()) {
                // Slowloris: a first line must come in time; then silence ends a connection.
                if (c->lastLineAtMs == 0 && limits.firstLineTimeoutMs > 0
                    && now - c->openedAtMs > limits.firstLineTimeoutMs)
                    idle.push_back(c.get());
                else if (c->lastLineAtMs != 0 && limits.idleTimeoutMs > 0
                         && now - c->lastLineAtMs > limits.idleTimeoutMs)
                    idle.push_back(c.get());
            }
            else if (c->role != Client && c->role != PeerUp && c->role != Superseded
                     && now - c->openedAtMs > kHandshakeTimeoutMs)
                expired.push_back(c.get());
        }
        for (Connection *c : expired) {
            if (c->state() != Connection::State::Lingering)
                ++m_counters.handshakeTimeouts;
            c->abort(c->state() == Connection::State::Lingering ? QStringLiteral("closed")
                                                                 : QStringLiteral("handshake timed out"));
        }
        for (Connection *c : idle) {
            ++m_counters.timeouts;
            ++(c->lastLineAtMs == 0 ? m_counters.firstLineTimeouts : m_counters.idleTimeouts);
            event(c->label, LineKind::Connection,
                  c->lastLineAtMs == 0 ? QStringLiteral("no complete line within %1 ms, closing").arg(limits.firstLineTimeoutMs)
                                       : QStringLiteral("idle for %1 ms, closing").arg(limits.idleTimeoutMs));
            c->closeWhenDone();
        }
        m_log.flush();
        m_journal.sync();
    });
    m_housekeepingTimer->start(kHousekeepingMs);
    Q_EMIT runningChanged(true);
    return true;
}

void Node::connectPeers()
{
    for (PeerLink *link : std::as_const(m_links)) {
        link->resetBackoff();
        if (!link->m_connection && !link->m_dialing)
            dial(*link);
    }
}

void Node::stop()
{
    if (!m_running)
        return;
    m_running = false;
    m_clientsPaused = false;   // every connection closes now
    event("node", LineKind::LinkEvent, QStringLiteral("stopping"));
    delete m_server;
    m_server = nullptr;
    delete m_heartbeatTimer;
    m_heartbeatTimer = nullptr;
    delete m_housekeepingTimer;
    m_housekeepingTimer = nullptr;
    for (PeerLink *link : std::as_const(m_links))
        link->cancelRedial();
    std::vector<Connection *> all;
    for (auto &[id, c] : m_connections)
        all.push_back(c.get());
    for (Connection *c : all)
        c->abort(QStringLiteral("node stopped"));
    for (PeerLink *link : std::as_const(m_links))
        link->m_lastDead = false;
    m_graveyard.clear();
    m_flushQueue.clear();
    m_places.reset();
    delete m_poller;
    m_poller = nullptr;
    m_journal.close();
    m_log.close();
    Q_EMIT runningChanged(false);
}

Connection *Node::adopt(std::unique_ptr<Connection> c)
{
    Connection *raw = c.get();
    m_connections.emplace(raw->id(), std::move(c));
    return raw;
}

void Node::accept(qintptr fd)
{
    if (qsizetype(m_connections.size()) >= m_config.limits.maxConnections) {
        // Full: the newcomer is closed at once (nothing may be written to a client but replies);
        // everyone already connected is unaffected.
        ::close(int(fd));
        ++m_counters.connectionsRefused;
        if (m_counters.connectionsRefused == 1 || m_counters.connectionsRefused % 1000 == 0) {
            qCWarning(lcHerdNet, "%s: connection limit (%d) reached, %llu refused so far", qPrintable(m_name),
                      m_config.limits.maxConnections, static_cast<unsigned long long>(m_counters.connectionsRefused));
            error("node", QStringLiteral("connection limit (%1) reached: %2 refused so far")
                              .arg(m_config.limits.maxConnections).arg(m_counters.connectionsRefused));
        }
        return;
    }
    const quint64 id = m_nextConnectionId++;
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
    auto c = std::make_unique<Connection>(static_cast<ConnectionOwner *>(this), m_poller, id, int(fd), address,
                                          m_config.limits.maxLineBytes, m_config.limits.maxOutputBytes);
    c->label = "client#" + QByteArray::number(id) + ' ' + address.toLatin1();
    if (c->state() == Connection::State::Closed) {
        error(c->label, QStringLiteral("cannot watch connection: %1").arg(c->errorString()));
        return;
    }
    ++m_counters.connectionsAccepted;
    event(c->label, LineKind::Connection, QStringLiteral("connection opened"));
    qCDebug(lcHerdNet, "%s: %s opened", qPrintable(m_name), c->label.constData());
    adopt(std::move(c));
}

void Node::connectionLine(Connection &c, QByteArrayView line, bool final)
{
    Q_UNUSED(final);
    ++m_counters.linesIn;
    // No clock read per line: the time the line was read is the receive time of an IAMAT, the
    // idle check's and the log's time of the line and of everything it causes to be logged
    // (clock reads were a visible share per line; one time for all of it also keeps the log's
    // times in order).
    const protocol::Timestamp outerTime = m_lineTime;
    const qint64 outerMs = m_lineMs;
    m_lineTime = c.readAt;
    m_lineMs = m_lineTime.sec * 1000 + m_lineTime.nsec / 1'000'000;
    c.lastLineAtMs = m_lineMs;
    m_log.line(NodeLog::Dir::In, c.label, line, m_lineMs);
    // Recorded before it is handled, so the inspector shows it before its reply; its kind is
    // known once handled.
    const qsizetype slot = m_events ? m_events->line(m_name, Direction::In, LineKind::Invalid, c.label, line) : -1;
    m_inKind = LineKind::Invalid;
    dispatchLine(c, line);
    if (slot >= 0)
        m_events->setKind(slot, m_inKind);
    m_lineTime = outerTime;
    m_lineMs = outerMs;
}

void Node::dispatchLine(Connection &c, QByteArrayView line)
{
    if (c.role == PeerUp || c.role == Superseded) {
        // A retired duplicate still delivers what was sent on it before the switch.
        if (PeerLink *link = m_links.value(c.peerName)) {
            handlePeerLine(c, *link, line);
            return;
        }
    }
    if (c.role != Client && handleHandshake(c, line)) {
        ++m_counters.handshakeIn;
        m_inKind = LineKind::Handshake;
        return;
    }
    if (c.role == HelloSent || c.role == AwaitOk)
        return;   // handshake protocol violation already handled
    handleClientLine(c, line);
}

void Node::connectionOverlong(Connection &c, QByteArrayView head)
{
    ++m_counters.invalid;
    ++m_counters.linesTooLong;
    error(c.label, QStringLiteral("line longer than %1 bytes, closing; it began: %2")
                             .arg(m_config.limits.maxLineBytes)
                             .arg(QString::fromLatin1(protocol::escaped(head, 128))));
}

void Node::connectionEstablished(Connection &c)
{
    // Our dial reached the neighbour: say who we are and whom we want.
    event(c.label, LineKind::Connection, QStringLiteral("connected to %1, handshaking").arg(c.peerAddress()));
    c.role = HelloSent;
    c.nonceLocal = randomNonce();
    c.openedAtMs = nowMs();
    sendTo(c, "HERD-HELLO " + m_nameBytes + ' ' + c.peerName.toUtf8() + ' ' + c.nonceLocal, LineKind::Handshake);
}

void Node::connectionClosed(Connection &c, const QString &reason)
{
    auto it = m_connections.find(c.id());
    if (it == m_connections.end())
        return;
    m_graveyard.push_back(std::move(it->second));
    m_connections.erase(it);
    if (c.outputOverflowed)
        ++m_counters.outputOverflows;
    scheduleAfterBatch();

    PeerLink *link = c.peerName.isEmpty() ? nullptr : m_links.value(c.peerName);
    if (link && link->m_dialing == &c)
        link->m_dialing = nullptr;
    if (link && link->m_connection == &c && handshakeInProgress(link->peer())) {
        // The neighbour half-closed our link because a duplicate connection it prefers is up on
        // its side; that one is still handshaking here. Not a down: wait for it.
        link->m_connection = nullptr;
        link->m_handover = true;
        event(c.label, LineKind::LinkEvent, QStringLiteral("link moving to the duplicate connection"));
    } else if (link && link->m_connection == &c) {
        link->m_connection = nullptr;
        ++link->m_stats.timesDown;
        link->m_stats.lastChangeMs = nowMs();
        link->resetHeartbeats();
        event(c.label, LineKind::LinkEvent, QStringLiteral("link down: %1").arg(reason));
        qCInfo(lcHerdPeer, "%s: link to %s down: %s", qPrintable(m_name), qPrintable(link->peer()),
               qPrintable(reason));
        Q_EMIT linkChanged(link->peer(), false);
        if (m_running && !isLinkCut(link->peer()))
            link->scheduleRedial(link->nextRedialDelay());
    } else if (link && c.role == Superseded) {
        event(c.label, LineKind::Connection, QStringLiteral("duplicate connection closed"));
    } else if (link && link->m_handover && !handshakeInProgress(link->peer())) {
        // The duplicate we were waiting for failed: now the link is down after all.
        link->m_handover = false;
        ++link->m_stats.timesDown;
        link->m_stats.lastChangeMs = nowMs();
        link->resetHeartbeats();
        event(c.label, LineKind::LinkEvent, QStringLiteral("link down: %1").arg(reason));
        Q_EMIT linkChanged(link->peer(), false);
        if (m_running && !isLinkCut(link->peer()))
            link->scheduleRedial(link->nextRedialDelay());
    } else if (link && c.dialledByUs) {
        event(c.label, LineKind::LinkEvent, QStringLiteral("dial failed: %1").arg(reason));
        if (m_running && !link->m_connection && !link->m_dialing && !isLinkCut(link->peer()))
            link->scheduleRedial(link->nextRedialDelay());
    } else {
        event(c.label, LineKind::Connection, QStringLiteral("connection closed: %1").arg(reason));
        qCDebug(lcHerdNet, "%s: %s closed: %s", qPrintable(m_name), c.label.constData(), qPrintable(reason));
    }
}

bool Node::handshakeInProgress(const QString &peer) const
{
    for (const auto &[id, c] : m_connections) {
        // Only our own dial waiting for HERD-OK: the other side goes up on our AUTH, before we
        // hear its OK, and may retire the old link in between. (A handshake someone else started
        // cannot hold the link "up": a stranger's HELLO naming a neighbour would.)
        if (c->peerName == peer && c->dialledByUs && c->role == AwaitOk)
            return true;
    }
    return false;
}

void Node::connectionReadAhead(Connection &c, QByteArrayView buffered)
{
    // A read brings up to a few dozen pipelined IAMATs. Their store lookups are cache (and TLB)
    // misses in a table of millions of clients, the largest single cost per IAMAT: start
    // loading all their slots now, so the misses overlap while the lines are handled in order.
    const bool peer = c.role == PeerUp || c.role == Superseded;
    if (c.role != Client && !peer)
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
                    m_store.prefetch(QByteArrayView(field, fieldEnd - field));
                break;
            }
        }
        p = nl + 1;
    }
}

void Node::connectionWantsFlush(Connection &c)
{
    m_flushQueue.push_back(c.id());
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
    m_journal.writeOut();
    // Flushing may close connections, which may queue more; swap so the loop is stable.
    std::vector<quint64> queue;
    queue.swap(m_flushQueue);
    for (quint64 id : queue) {
        auto it = m_connections.find(id);
        if (it != m_connections.end())
            it->second->flush();
    }
    m_graveyard.clear();
    updateBackpressure();
}

void Node::connectionOutputBelow(Connection &c)
{
    Q_UNUSED(c);
    updateBackpressure();
}

void Node::updateBackpressure()
{
    const qint64 mark = m_clientsPaused ? kPeerLowWater : kPeerHighWater;
    Connection *behind = nullptr;
    QString peer;
    for (PeerLink *link : std::as_const(m_links)) {
        Connection *pc = link->m_connection;
        if (!pc) {
            link->m_flowStalled = false;
            continue;
        }
        if (link->m_flowStalled && pc->pendingOutput() <= kPeerLowWater)
            link->m_flowStalled = false;   // it did catch up after all
        if (pc->pendingOutput() > mark && link->liveness() == Liveness::Alive && !link->m_flowStalled) {
            if (!m_clientsPaused)
                link->m_flowMark = pc->bytesWritten();   // its progress is judged from here on
            behind = pc;
            peer = link->peer();
            break;
        }
    }
    if (behind) {
        behind->notifyWhenOutputBelow(kPeerLowWater);
        if (!m_clientsPaused)
            setClientsPaused(true, QStringLiteral("%1 is %2 bytes behind on floods").arg(peer).arg(behind->pendingOutput()));
    } else if (m_clientsPaused) {
        setClientsPaused(false, QString());
    }
}

void Node::setClientsPaused(bool paused, const QString &why)
{
    m_clientsPaused = paused;
    // Only connections that are clients for sure (they sent a line that was not a handshake): a
    // connection that has said nothing yet may be a neighbour dialling in, which must get through.
    for (auto &[id, c] : m_connections) {
        if (c->role == Client && (c->lastLineAtMs != 0 || !paused))
            c->setReadPaused(paused);
    }
    if (paused) {
        ++m_counters.backpressurePauses;
        m_pausedSinceMs = nowMs();
        event("node", LineKind::LinkEvent, QStringLiteral("clients paused: %1").arg(why));
    } else {
        event("node", LineKind::LinkEvent, QStringLiteral("clients resumed after %1 ms").arg(nowMs() - m_pausedSinceMs));
    }
}

void Node::event(QByteArrayView who, LineKind kind, const QString &text)
{
    m_log.event(who, text, m_lineMs);
    if (m_events)
        m_events->line(m_name, Direction::Event, kind, who.toByteArray(), text.toUtf8());
}

void Node::error(QByteArrayView who, const QString &text)
{
    m_log.error(who, text, m_lineMs);
    if (m_events)
        m_events->line(m_name, Direction::Event, LineKind::Error, who.toByteArray(), text.toUtf8());
}

void Node::sendTo(Connection &c, QByteArrayView text, LineKind kind)
{
    ++m_counters.linesOut;
    m_log.line(NodeLog::Dir::Out, c.label, text, m_lineMs);
    if (m_events)
        m_events->line(m_name, Direction::Out, kind, c.label, text);
    c.sendLine(text);
}

void Node::invalid(Connection &c, QByteArrayView line)
{
    ++m_counters.invalid;
    ++m_counters.invalidLines;
    QByteArray out;
    out.reserve(line.size() + 2);
    out.append("? ", 2).append(line);
    m_inKind = LineKind::Invalid;
    sendTo(c, out, LineKind::Invalid);
}

void Node::handleClientLine(Connection &c, QByteArrayView line)
{
    if (m_clientsPaused && !c.isReadPaused())
        c.setReadPaused(true);   // a client that connected or spoke first while paused
    const protocol::Message m = protocol::parse(line);
    switch (m.kind) {
    case Kind::Blank:
        m_inKind = LineKind::Blank;
        return;
    case Kind::Iamat: {
        ++m_counters.iamat;
        // Into a buffer kept for the purpose: no allocation per IAMAT (the reply, the store and
        // the floods copy the line).
        QByteArray &at = m_atScratch;
        protocol::formatAtInto(at, m_nameBytes, m_lineMs >= 0 ? m_lineTime : protocol::now(), m);
        m_inKind = LineKind::Iamat;
        sendTo(c, at, LineKind::AtReply);
        storeAndFlood(m, at, nullptr);
        return;
    }
    case Kind::Whatsat:
        handleWhatsat(c, m, line);
        return;
    case Kind::Peer:
        if (m.fields[0] == "HERD-HELLO" && handleHandshake(c, line)) {
            ++m_counters.handshakeIn;
            m_inKind = LineKind::Handshake;
            return;
        }
        invalid(c, line);
        return;
    case Kind::At:        // only an authenticated neighbour may flood
    case Kind::Invalid:
        invalid(c, line);
        return;
    }
}

void Node::handleWhatsat(Connection &c, const protocol::Message &m, QByteArrayView line)
{
    const ClientRecord *record = m_store.find(m.client);
    if (!record) {
        invalid(c, line);   // a client no node of the herd has heard of
        return;
    }
    ++m_counters.whatsat;
    m_inKind = LineKind::Whatsat;
    const QByteArray atLine = record->atLine().toByteArray();   // a copy: Places answers later
    const protocol::Message at = protocol::parse(atLine);
    PlacesQuery query;
    query.lat = at.position.lat;
    query.lng = at.position.lng;
    query.radiusKm = m.radiusKm;
    query.bound = m.bound;
    const quint64 ticket = c.reserveReply();
    const quint64 id = c.id();
    QElapsedTimer latency;
    latency.start();
    m_places->search(query, this, [this, id, ticket, atLine, latency](const QJsonObject &answer) {
        countPlacesAnswer(latency.nsecsElapsed() / 1000, answer.value(QLatin1StringView("status")).toString());
        auto it = m_connections.find(id);
        if (it == m_connections.end())
            return;   // the client left while Places was answering
        QByteArray text = atLine;
        text.append('\n').append(compactJson(answer)).append('\n');
        ++m_counters.linesOut;
        m_log.line(NodeLog::Dir::Out, it->second->label, text, m_lineMs);
        if (m_events)
            m_events->line(m_name, Direction::Out, LineKind::WhatsatReply, it->second->label, text);
        text.append('\n');
        it->second->fillReply(ticket, text);
    });
}

void Node::storeAndFlood(const protocol::Message &m, QByteArrayView atLine, PeerLink *from)
{
    if (!m_store.offer(m.client, m.timestamp, atLine)) {
        if (from) {
            ++from->m_stats.duplicatesDropped;
            ++m_counters.duplicatesDropped;
            m_inKind = LineKind::Duplicate;
            qCDebug(lcHerdFlood, "%s: duplicate from %s dropped: %.*s", qPrintable(m_name), qPrintable(from->peer()),
                    int(atLine.size()), atLine.data());
        }
        return;
    }
    if (from) {
        ++from->m_stats.floodsReceived;
        ++m_counters.floodsReceived;
        m_inKind = LineKind::Flood;
    }
    qCDebug(lcHerdFlood, "%s: stored from %s: %.*s", qPrintable(m_name),
            from ? qPrintable(from->peer()) : "a client", int(atLine.size()), atLine.data());
    if (m_journal.isOpen()) {
        m_journal.append(atLine);
        scheduleAfterBatch();
    }
    if (m_events)
        m_events->stored(m_name, m.client, m.timestamp, m.position, atLine, from ? from->peer() : QString());
    for (PeerLink *link : std::as_const(m_links)) {
        if (link == from || !link->m_connection)
            continue;
        ++link->m_stats.floodsSent;
        ++m_counters.floodsSent;
        sendTo(*link->m_connection, atLine, LineKind::Flood);
    }
}

// Whether `line` is exactly its fields joined by single spaces (nothing before, after or
// between them but one ' ' each).
static bool isSingleSpaced(QByteArrayView line, const protocol::Message &m)
{
    qsizetype total = m.fieldCount - 1;
    for (int i = 0; i < m.fieldCount; ++i)
        total += m.fields[i].size();
    if (total != line.size() || m.fields[0].data() != line.data())
        return false;
    for (int i = 1; i < m.fieldCount; ++i) {
        if (m.fields[i].data()[-1] != ' ')
            return false;
    }
    return true;
}

void Node::handlePeerLine(Connection &c, PeerLink &link, QByteArrayView line)
{
    const protocol::Message m = protocol::parse(line);
    if (m.kind == Kind::At) {
        ++m_counters.atIn;
        // Stored with single spaces: the stored line is what every node answers WHATSAT with.
        // Nodes send it that way, so it is only rebuilt when it is not (no copy per flood).
        if (isSingleSpaced(line, m)) {
            storeAndFlood(m, line, &link);
            return;
        }
        QByteArray at;
        at.reserve(line.size());
        at.append("AT ", 3).append(m.origin).append(' ').append(m.skew).append(' ').append(m.client)
            .append(' ').append(m.location).append(' ').append(m.time);
        storeAndFlood(m, at, &link);
        return;
    }
    if (m.kind == Kind::Peer) {
        bool ok = m.fieldCount >= 2;
        const quint64 seq = ok ? m.fields[1].toULongLong(&ok) : 0;
        // HERD-HB <seq> <store epoch> <store seq>: also says how far our copy of its store goes.
        if (ok && m.fields[0] == "HERD-HB" && (m.fieldCount == 2 || m.fieldCount == 4)) {
            ++link.m_stats.heartbeatsReceived;
            ++m_counters.heartbeatsIn;
            m_inKind = LineKind::Heartbeat;
            if (m.fieldCount == 4) {
                bool e = false;
                bool s = false;
                const quint64 epoch = m.fields[2].toULongLong(&e);
                const quint64 storeSeq = m.fields[3].toULongLong(&s);
                if (e && s) {
                    link.m_peerEpoch = epoch;
                    link.m_peerSeq = storeSeq;
                }
            }
            if (link.m_connection == &c)
                sendTo(c, "HERD-ACK " + m.fields[1].toByteArray(), LineKind::Heartbeat);
            return;
        }
        if (ok && m.fields[0] == "HERD-ACK" && m.fieldCount == 2) {
            m_inKind = LineKind::Heartbeat;
            ++m_counters.acksIn;
            link.ack(seq, nowUs());
            return;
        }
        // HERD-SYNC <epoch> <seq>: send what changed since then (everything if the epoch is
        // not this store's: the neighbour never saw it, or we restarted).
        if (m.fields[0] == "HERD-SYNC" && m.fieldCount == 3) {
            bool e = false;
            bool s = false;
            const quint64 epoch = m.fields[1].toULongLong(&e);
            const quint64 since = m.fields[2].toULongLong(&s);
            if (e && s) {
                m_inKind = LineKind::Handshake;
                ++m_counters.syncIn;
                if (link.m_connection)   // answered on the live link, even if asked on a duplicate
                    sendChangesSince(*link.m_connection, epoch == m_store.epoch() ? since : 0);
                return;
            }
        }
    }
    if (m.kind == Kind::Blank)
        return;
    ++m_counters.invalid;
    ++m_counters.invalidLines;
    error(c.label, QStringLiteral("unexpected line from peer, ignored"));
}

QByteArray Node::mac(QByteArrayView role, const QString &dialer, const QString &acceptor,
                     QByteArrayView dialerNonce, QByteArrayView acceptorNonce) const
{
    if (m_secret.isEmpty())
        return QByteArrayLiteral("-");
    // Role-tagged so one side's proof can never be replayed as the other's.
    QByteArray message = "herd-v1|";
    message.append(role).append('|').append(dialer.toUtf8()).append('|').append(acceptor.toUtf8())
        .append('|').append(dialerNonce).append('|').append(acceptorNonce);
    return QMessageAuthenticationCode::hash(message, m_secret, QCryptographicHash::Sha256).toHex();
}

void Node::refusePeer(Connection &c, const QString &why)
{
    PeerLink *link = m_links.value(c.peerName);
    if (link)
        ++link->m_stats.authFailures;
    ++m_counters.authFailures;
    error(c.label, QStringLiteral("peer refused: %1").arg(why));
    qCWarning(lcHerdPeer, "%s: peer %s refused: %s", qPrintable(m_name), qPrintable(c.peerName),
              qPrintable(why));
    c.abort(why);
}

// Returns true when the line was a handshake step (handled, possibly by refusing).
bool Node::handleHandshake(Connection &c, QByteArrayView line)
{
    QByteArrayView f[5];
    const int n = protocol::splitFields(line, f, 5);
    if (n == 0)
        return false;
    if (c.role == Client && f[0] == "HERD-HELLO") {
        // HERD-HELLO <dialer> <acceptor> <nonce>: anything wrong and it is just an invalid command.
        const QString dialer = n == 4 ? QString::fromUtf8(f[1]) : QString();
        if (n != 4 || f[2] != m_nameBytes || !m_links.contains(dialer) || !isHexNonce(f[3])
            || isLinkCut(dialer)) {
            if (n == 4 && isLinkCut(dialer))
                error(c.label, QStringLiteral("handshake refused: the link to %1 is cut").arg(dialer));
            else if (n == 4)
                error(c.label, QStringLiteral("handshake refused: %1 is not a neighbour of %2")
                                   .arg(dialer, QString::fromUtf8(f[2])));
            return false;
        }
        c.role = AwaitAuth;
        c.peerName = dialer;
        c.nonceRemote = f[3].toByteArray();
        c.nonceLocal = randomNonce();
        c.openedAtMs = nowMs();
        c.label = "peer " + dialer.toUtf8() + " (in)";
        sendTo(c, "HERD-WELCOME " + m_nameBytes + ' ' + c.nonceLocal + ' '
                      + mac("welcome", dialer, m_name, c.nonceRemote, c.nonceLocal), LineKind::Handshake);
        return true;
    }
    if (c.role == HelloSent) {
        if (n == 4 && f[0] == "HERD-WELCOME" && f[1] == c.peerName.toUtf8() && isHexNonce(f[2])) {
            c.nonceRemote = f[2].toByteArray();
            const QByteArray expected = mac("welcome", m_name, c.peerName, c.nonceLocal, c.nonceRemote);
            if (!constantTimeEqual(expected, f[3])) {
                refusePeer(c, m_secret.isEmpty() ? QStringLiteral("it requires a peer secret and we have none")
                                                 : QStringLiteral("wrong or missing peer secret"));
                return true;
            }
            c.role = AwaitOk;
            sendTo(c, "HERD-AUTH " + mac("auth", m_name, c.peerName, c.nonceLocal, c.nonceRemote), LineKind::Handshake);
            return true;
        }
        refusePeer(c, QStringLiteral("bad handshake reply: %1")
                          .arg(QString::fromLatin1(protocol::escaped(line, 80))));
        return true;
    }
    if (c.role == AwaitAuth && f[0] == "HERD-AUTH") {
        const QByteArray expected = mac("auth", c.peerName, m_name, c.nonceRemote, c.nonceLocal);
        if (n != 2 || !constantTimeEqual(expected, f[1])) {
            refusePeer(c, m_secret.isEmpty() ? QStringLiteral("it sent a peer secret proof and we have no secret")
                                             : QStringLiteral("wrong or missing peer secret"));
            return true;
        }
        sendTo(c, "HERD-OK", LineKind::Handshake);
        linkUp(c);
        return true;
    }
    if (c.role == AwaitOk) {
        if (n == 1 && f[0] == "HERD-OK") {
            linkUp(c);
            return true;
        }
        refusePeer(c, QStringLiteral("bad handshake reply: %1")
                          .arg(QString::fromLatin1(protocol::escaped(line, 80))));
        return true;
    }
    return false;
}

void Node::linkUp(Connection &c)
{
    PeerLink *link = m_links.value(c.peerName);
    if (!link)
        return;
    c.setMaxLineBytes(peerLineLimit(m_config));
    if (link->m_dialing == &c)
        link->m_dialing = nullptr;
    if (Connection *existing = link->m_connection; existing && existing != &c) {
        // Both ends dialled. Keep the connection dialled by the smaller name (both sides agree
        // on that); if both came from the same side, the newer one wins.
        const bool weAreSmaller = m_name < c.peerName;
        const bool newCanonical = c.dialledByUs == weAreSmaller;
        const bool oldCanonical = existing->dialledByUs == weAreSmaller;
        // The loser is retired without losing a line: we stop writing to it (half-close) but
        // keep reading what the other side sent before it made the same choice.
        if (oldCanonical && !newCanonical) {
            c.role = Superseded;
            c.label = "peer " + c.peerName.toUtf8() + " (duplicate)";
            c.finishWrites();
            return;
        }
        existing->role = Superseded;
        existing->label = "peer " + c.peerName.toUtf8() + " (duplicate)";
        link->m_connection = nullptr;
        existing->finishWrites();
        c.role = PeerUp;
        link->m_connection = &c;
        link->resetHeartbeats();   // acks for the old connection's heartbeats will not come
        c.setMaxOutputBytes(kPeerOutputCap);
        c.label = "peer " + c.peerName.toUtf8();
    } else if (link->m_handover) {
        // The other side retired our link for this duplicate before we saw it come up: the
        // link never went down.
        link->m_handover = false;
        c.role = PeerUp;
        c.setMaxOutputBytes(kPeerOutputCap);
        c.label = "peer " + c.peerName.toUtf8();
        link->m_connection = &c;
        link->resetHeartbeats();
    } else {
        c.role = PeerUp;
        c.setMaxOutputBytes(kPeerOutputCap);
        c.label = "peer " + c.peerName.toUtf8();
        link->m_connection = &c;
        link->m_lastDead = false;
        link->resetBackoff();
        link->cancelRedial();
        link->resetHeartbeats();
        ++link->m_stats.timesUp;
        link->m_stats.lastChangeMs = nowMs();
        event(c.label, LineKind::LinkEvent, QStringLiteral("link up (%1)").arg(c.peerAddress()));
        qCInfo(lcHerdPeer, "%s: link to %s up", qPrintable(m_name), qPrintable(link->peer()));
        Q_EMIT linkChanged(link->peer(), true);
    }
    // Catch-up: ask for what changed on the other side since the last heartbeat we got from
    // it (all of it if we have never seen its store). It does the same; the strictly-newer rule
    // drops what is already known and floods on the rest.
    sendTo(c, "HERD-SYNC " + QByteArray::number(link->m_peerEpoch) + ' ' + QByteArray::number(link->m_peerSeq),
           LineKind::Handshake);
}

void Node::sendChangesSince(Connection &c, quint64 since)
{
    // One pass over the store, no index: O(clients) CPU, but only the changes cross the network.
    quint64 sent = 0;
    PeerLink *link = m_links.value(c.peerName);
    m_store.forEach([&](const ClientRecord &record) {
        if (record.seq() > since) {
            sendTo(c, record.atLine(), LineKind::Flood);
            ++sent;
        }
    });
    m_counters.floodsSent += sent;
    if (link)
        link->m_stats.floodsSent += sent;
    event(c.label, LineKind::LinkEvent, QStringLiteral("catch-up: sent %1 of %2 updates (changes after #%3)")
                                            .arg(sent).arg(m_store.size()).arg(since));
}

void Node::dial(PeerLink &link)
{
    const auto [host, port] = m_peerAddress.value(link.peer());
    if (port == 0 || isLinkCut(link.peer()))
        return;   // its address is not known yet (port-0 herds fill it in before dialling)
    const QHostAddress literal(host);
    if (literal.isNull()) {
        // A host name: resolve without blocking, then dial the first address.
        QHostInfo::lookupHost(host, this, [this, peer = link.peer(), port = port](const QHostInfo &info) {
            PeerLink *l = m_links.value(peer);
            if (!l || !m_running || l->m_connection || l->m_dialing)
                return;
            if (info.addresses().isEmpty()) {
                error("peer " + peer.toUtf8(), QStringLiteral("cannot resolve host: %1").arg(info.errorString()));
                l->scheduleRedial(l->nextRedialDelay());
                return;
            }
            setPeerAddress(peer, info.addresses().constFirst().toString(), port);
            dial(*l);
            m_peerAddress.insert(peer, {info.hostName(), port});
        });
        return;
    }
    const quint64 id = m_nextConnectionId++;
    std::unique_ptr<Connection> c(Connection::dial(static_cast<ConnectionOwner *>(this), m_poller, id, host, port,
                                                   m_config.limits.maxLineBytes, kPeerOutputCap));
    c->peerName = link.peer();
    c->label = "peer " + link.peer().toUtf8() + " (out)";
    if (c->state() == Connection::State::Closed) {
        error(c->label, QStringLiteral("dial failed: %1").arg(c->errorString()));
        link.scheduleRedial(link.nextRedialDelay());
        return;
    }
    link.m_dialing = adopt(std::move(c));
}

void Node::heartbeat()
{
    // A neighbour holding clients back must be taking floods, if slowly: one that took nothing
    // for a whole heartbeat interval (stopped, or its host gone) holds nobody back (a down
    // neighbour never delays a client's reply); its link is then dropped at kPeerOutputCap or
    // when it misses its acks, and caught up later.
    if (m_clientsPaused) {
        for (PeerLink *link : std::as_const(m_links)) {
            Connection *pc = link->m_connection;
            if (!pc || link->m_flowStalled || pc->pendingOutput() <= kPeerLowWater)
                continue;
            if (pc->bytesWritten() == link->m_flowMark) {
                link->m_flowStalled = true;
                event(pc->label, LineKind::LinkEvent,
                      QStringLiteral("took no floods for %1 ms: no longer holding clients back").arg(m_config.peers.heartbeatMs));
            }
            link->m_flowMark = pc->bytesWritten();
        }
    }
    updateBackpressure();   // and a neighbour that turned suspect no longer holds clients back
    const qint64 now = nowUs();
    for (PeerLink *link : std::as_const(m_links)) {
        Connection *c = link->m_connection;
        if (!c)
            continue;
        if (link->missedAcks() >= m_config.peers.deadAfterMissed) {
            error(c->label, QStringLiteral("peer dead: %1 heartbeats unanswered").arg(link->missedAcks()));
            c->abort(QStringLiteral("peer dead (missed heartbeats)"));
            link->m_lastDead = true;
            continue;
        }
        const quint64 seq = link->nextHeartbeat(now);
        sendTo(*c, "HERD-HB " + QByteArray::number(seq) + ' ' + QByteArray::number(m_store.epoch()) + ' '
                       + QByteArray::number(m_store.seq()),
               LineKind::Heartbeat);
    }
}

void Node::countPlacesAnswer(qint64 us, const QString &status)
{
    size_t bucket = 0;
    while (bucket < kPlacesLatencyBoundsMs.size() && us > qint64(kPlacesLatencyBoundsMs[bucket]) * 1000)
        ++bucket;
    ++m_counters.placesLatency[bucket];
    m_counters.placesLatencySumUs += quint64(std::max<qint64>(us, 0));
    if (status == QLatin1StringView("OK") || status == QLatin1StringView("ZERO_RESULTS"))
        return;
    size_t kind = 0;
    while (kind + 1 < kPlacesErrorStatuses.size() && status != QLatin1StringView(kPlacesErrorStatuses[kind]))
        ++kind;
    ++m_counters.placesErrors[kind];
}

NodeStats Node::stats() const
{
    NodeStats s = m_counters;
    s.name = m_name;
    s.running = m_running;
    s.port = m_port;
    s.startedAtMs = m_startedAtMs;
    s.clientsKnown = m_store.size();
    s.clientsPaused = m_clientsPaused;
    s.clientConnections = 0;
    for (const auto &[id, c] : m_connections) {
        if (c->role == Client)
            ++s.clientConnections;
        else if (c->role == PeerUp || c->role == Superseded)
            ++s.peerConnections;
        else
            ++s.handshakingConnections;
    }
    for (const PeerLink *link : m_links) {
        s.links.append(link->info());
        s.links.back().cut = m_cutLinks.contains(link->peer());
    }
    return s;
}

} // namespace herd
