#include "faultharness.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QHostAddress>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSocketNotifier>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <csignal>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <random>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

using namespace Qt::StringLiterals;

namespace herdfault {

namespace {

// ---------------------------------------------------------------------------------------------
// The classic herd (resources/herds/builtin.json).
constexpr int kNodes = 5;
const char *const kNames[kNodes] = {"Hill", "Jaquez", "Smith", "Campbell", "Singleton"};
constexpr int kLinkCount = 6;
constexpr int kLinks[kLinkCount][2] = {{0, 1}, {0, 2}, {4, 1}, {4, 2}, {4, 3}, {2, 3}};

QString nodeName(int n) { return QString::fromLatin1(kNames[n]); }

int linkBetween(int a, int b)
{
    for (int l = 0; l < kLinkCount; ++l) {
        if ((kLinks[l][0] == a && kLinks[l][1] == b) || (kLinks[l][0] == b && kLinks[l][1] == a))
            return l;
    }
    return -1;
}

QString linkName(int l) { return nodeName(kLinks[l][0]) + u'-' + nodeName(kLinks[l][1]); }

qint64 epochMs() { return QDateTime::currentMSecsSinceEpoch(); }

// Runs the event loop until `done` holds or `timeoutMs` passes; a 10 ms tick keeps it polling.
template <typename Pred>
bool spinUntil(Pred done, qint64 timeoutMs)
{
    QElapsedTimer clock;
    clock.start();
    QTimer tick;
    tick.start(10);
    while (!done()) {
        if (clock.elapsed() >= timeoutMs)
            return done();
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// Client times as the server compares them: (seconds, nanoseconds), never a double.
struct TimeKey {
    qint64 s = 0;
    qint32 ns = 0;
    friend auto operator<=>(const TimeKey &, const TimeKey &) = default;
};

std::optional<TimeKey> parseTime(QByteArrayView t)
{
    const qsizetype dot = t.indexOf('.');
    const QByteArrayView sec = dot < 0 ? t : t.first(dot);
    const QByteArrayView frac = dot < 0 ? QByteArrayView() : t.sliced(dot + 1);
    if (sec.isEmpty() || sec.size() > 18 || (dot >= 0 && (frac.isEmpty() || frac.size() > 9)))
        return std::nullopt;
    TimeKey k;
    for (char c : sec) {
        if (c < '0' || c > '9')
            return std::nullopt;
        k.s = k.s * 10 + (c - '0');
    }
    qint32 ns = 0;
    for (qsizetype i = 0; i < 9; ++i) {
        const char c = i < frac.size() ? frac[i] : '0';
        if (c < '0' || c > '9')
            return std::nullopt;
        ns = ns * 10 + (c - '0');
    }
    k.ns = ns;
    return k;
}

QByteArray formatTime(TimeKey k)
{
    QByteArray frac = QByteArray::number(k.ns).rightJustified(9, '0');
    return QByteArray::number(k.s) + '.' + frac;
}

bool isSkew(QByteArrayView s)
{
    if (s.size() < 12 || (s[0] != '+' && s[0] != '-'))
        return false;
    const qsizetype dot = s.indexOf('.');
    if (dot < 2 || s.size() - dot - 1 != 9)
        return false;
    for (qsizetype i = 1; i < s.size(); ++i) {
        if (i != dot && (s[i] < '0' || s[i] > '9'))
            return false;
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// Ports. Node ports are chosen below the kernel's ephemeral range: a node that is down must find
// its port free when it restarts, and an outgoing connection of anyone on the machine (our relays
// and clients included) could otherwise be sitting on it.
std::pair<int, int> ephemeralRange()
{
    QFile f(u"/proc/sys/net/ipv4/ip_local_port_range"_s);
    if (f.open(QIODevice::ReadOnly)) {
        const QList<QByteArray> parts = f.readAll().simplified().split(' ');
        if (parts.size() == 2)
            return {parts[0].toInt(), parts[1].toInt()};
    }
    return {32768, 60999};
}

bool canBind(quint16 port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);   // as QTcpServer does
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0 && ::listen(fd, 1) == 0;
    ::close(fd);
    return ok;
}

quint16 pickNodePort(std::mt19937_64 &rng, const QList<quint16> &taken)
{
    const auto [lo, hi] = ephemeralRange();
    int minPort = 10000;
    int maxPort = lo - 1;
    if (maxPort - minPort < 2000) {
        minPort = std::max(hi + 1, 1024);
        maxPort = 65535;
    }
    if (maxPort - minPort < 2000) {
        minPort = 20000;
        maxPort = 65000;
    }
    std::uniform_int_distribution<int> pick(minPort, maxPort);
    for (int attempt = 0; attempt < 500; ++attempt) {
        const auto port = quint16(pick(rng));
        if (!taken.contains(port) && canBind(port))
            return port;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------------
// A TCP relay for one direction of one link: node `from` dials its neighbour at our port, we
// dial the neighbour's real port and move bytes both ways, half-closes included (the nodes
// half-close a retired duplicate link and keep reading it). Raw non-blocking sockets, because
// QTcpSocket cannot half-close.
class Relay final : public QObject {
public:
    enum class Mode { Forward, Reset, Blackhole };

    Relay(int link, QObject *parent) : QObject(parent), m_link(link) {}
    ~Relay() override
    {
        for (auto &p : m_pairs)
            closePair(p.get(), true);
        if (m_acceptNotifier)
            m_acceptNotifier->setEnabled(false);
        if (m_listenFd >= 0)
            ::close(m_listenFd);
    }

    bool listen(QString *error)
    {
        m_listenFd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        socklen_t len = sizeof a;
        if (m_listenFd < 0 || ::bind(m_listenFd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0
            || ::listen(m_listenFd, 128) != 0
            || ::getsockname(m_listenFd, reinterpret_cast<sockaddr *>(&a), &len) != 0) {
            *error = u"relay: cannot listen: %1"_s.arg(QString::fromLocal8Bit(std::strerror(errno)));
            return false;
        }
        m_port = ntohs(a.sin_port);
        m_acceptNotifier = new QSocketNotifier(qintptr(m_listenFd), QSocketNotifier::Read, this);
        connect(m_acceptNotifier, &QSocketNotifier::activated, this, [this] { onAccept(); });
        return true;
    }

    quint16 port() const { return m_port; }
    void setTarget(quint16 port) { m_target = port; }
    int link() const { return m_link; }
    Mode mode() const { return m_mode; }
    qint64 bytesMoved() const { return m_bytes; }

    void setMode(Mode mode)
    {
        m_mode = mode;
        if (mode == Mode::Reset) {
            for (auto &p : m_pairs)
                closePair(p.get(), true);
        } else if (mode == Mode::Blackhole) {
            for (auto &p : m_pairs)
                updateNotifiers(p.get());
        } else {
            // Heal: held connections resume (or learn now that the other side gave up).
            for (auto &p : m_pairs) {
                if (p->dead)
                    continue;
                if (!p->connected && !p->connecting)
                    startConnect(p.get());
                pump(p.get());
            }
        }
        scheduleReap();
    }

private:
    struct End {
        int fd = -1;
        QSocketNotifier *rn = nullptr;
        QSocketNotifier *wn = nullptr;
        QByteArray out;          // to be written to this fd
        bool eof = false;        // read end-of-file from this fd
        bool shut = false;       // shut down our write side of this fd
    };
    struct Pair {
        End down;                // the dialling node
        End up;                  // the neighbour's real port
        bool connecting = false;
        bool connected = false;
        bool dead = false;
    };
    static constexpr qsizetype kCap = 1 << 20;

    void onAccept()
    {
        for (;;) {
            const int fd = ::accept4(m_listenFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0)
                return;
            const int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (m_mode == Mode::Reset) {
                resetClose(fd);
                continue;
            }
            auto pair = std::make_unique<Pair>();
            Pair *p = pair.get();
            p->down.fd = fd;
            makeNotifiers(p, p->down, false);
            m_pairs.push_back(std::move(pair));
            if (m_mode == Mode::Forward)
                startConnect(p);
            pump(p);
        }
    }

    static void resetClose(int fd)
    {
        const linger lg{1, 0};   // RST, not FIN
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        ::close(fd);
    }

    void makeNotifiers(Pair *p, End &e, bool up)
    {
        e.rn = new QSocketNotifier(qintptr(e.fd), QSocketNotifier::Read, this);
        e.wn = new QSocketNotifier(qintptr(e.fd), QSocketNotifier::Write, this);
        e.rn->setEnabled(false);
        e.wn->setEnabled(false);
        connect(e.rn, &QSocketNotifier::activated, this, [this, p] { pump(p); });
        connect(e.wn, &QSocketNotifier::activated, this, [this, p, up] {
            if (p->dead)
                return;
            if (up && p->connecting) {
                int err = 0;
                socklen_t len = sizeof err;
                ::getsockopt(p->up.fd, SOL_SOCKET, SO_ERROR, &err, &len);
                p->connecting = false;
                if (err != 0) {     // the neighbour is down: the dialler sees a reset
                    closePair(p, true);
                    scheduleReap();
                    return;
                }
                p->connected = true;
            }
            pump(p);
        });
    }

    void startConnect(Pair *p)
    {
        p->up.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p->up.fd < 0) {
            closePair(p, true);
            return;
        }
        const int one = 1;
        ::setsockopt(p->up.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(m_target);
        makeNotifiers(p, p->up, true);
        if (::connect(p->up.fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0) {
            p->connected = true;
        } else if (errno == EINPROGRESS) {
            p->connecting = true;
        } else {
            closePair(p, true);
        }
    }

    // Moves what `src` has into dst.out and writes dst.out; false on a socket error.
    bool move(End &src, bool srcReadable, End &dst, bool dstWritable)
    {
        if (srcReadable && !src.eof) {
            char buf[65536];
            while (dst.out.size() < kCap) {
                const ssize_t n = ::read(src.fd, buf, sizeof buf);
                if (n > 0) {
                    dst.out.append(buf, n);
                    m_bytes += n;
                    continue;
                }
                if (n == 0) {
                    src.eof = true;
                    break;
                }
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                return false;
            }
        }
        if (dstWritable) {
            qsizetype done = 0;
            while (done < dst.out.size()) {
                const ssize_t n = ::send(dst.fd, dst.out.constData() + done, size_t(dst.out.size() - done), MSG_NOSIGNAL);
                if (n > 0) {
                    done += n;
                    continue;
                }
                if (n < 0 && errno == EINTR)
                    continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                    break;
                return false;
            }
            dst.out.remove(0, done);
            if (dst.out.isEmpty() && src.eof && !dst.shut) {
                ::shutdown(dst.fd, SHUT_WR);
                dst.shut = true;
            }
        }
        return true;
    }

    void pump(Pair *p)
    {
        if (p->dead)
            return;
        if (m_mode == Mode::Blackhole) {
            updateNotifiers(p);
            return;
        }
        const bool ok = move(p->down, true, p->up, p->connected)
            && (!p->connected || move(p->up, true, p->down, true));
        if (!ok) {
            closePair(p, true);
            scheduleReap();
            return;
        }
        if (p->connected && p->down.eof && p->up.eof && p->down.out.isEmpty() && p->up.out.isEmpty()) {
            closePair(p, false);
            scheduleReap();
            return;
        }
        updateNotifiers(p);
    }

    void updateNotifiers(Pair *p)
    {
        if (p->dead)
            return;
        const bool on = m_mode == Mode::Forward;
        p->down.rn->setEnabled(on && !p->down.eof && p->up.out.size() < kCap);
        p->down.wn->setEnabled(on && !p->down.out.isEmpty());
        if (p->up.rn) {
            p->up.rn->setEnabled(on && p->connected && !p->up.eof && p->down.out.size() < kCap);
            p->up.wn->setEnabled(on && (p->connecting || (p->connected && !p->up.out.isEmpty())));
        }
    }

    void closeEnd(End &e, bool reset)
    {
        for (QSocketNotifier *n : {e.rn, e.wn}) {
            if (n) {
                n->setEnabled(false);
                n->deleteLater();
            }
        }
        e.rn = e.wn = nullptr;
        if (e.fd >= 0) {
            if (reset)
                resetClose(e.fd);
            else
                ::close(e.fd);
        }
        e.fd = -1;
    }

    void closePair(Pair *p, bool reset)
    {
        if (p->dead)
            return;
        p->dead = true;
        closeEnd(p->down, reset);
        closeEnd(p->up, reset);
    }

    void scheduleReap()
    {
        if (m_reapPending)
            return;
        m_reapPending = true;
        QTimer::singleShot(0, this, [this] {
            m_reapPending = false;
            std::erase_if(m_pairs, [](const std::unique_ptr<Pair> &p) { return p->dead; });
        });
    }

    int m_link;
    int m_listenFd = -1;
    quint16 m_port = 0;
    quint16 m_target = 0;
    QSocketNotifier *m_acceptNotifier = nullptr;
    Mode m_mode = Mode::Forward;
    std::vector<std::unique_ptr<Pair>> m_pairs;
    qint64 m_bytes = 0;
    bool m_reapPending = false;
};

// ---------------------------------------------------------------------------------------------
// The oracle's view of one client: every update sent for it since the newest one that can never
// be lost (older ones are pruned: a node answering one of them is stale by time alone).
struct Rec {
    QByteArray time;
    QByteArray location;
    QByteArray atLine;       // the AT reply, once acknowledged
    int node = -1;           // where it was sent
    int incarnation = -1;    // of that node
    bool acked = false;
};

struct ClientState {
    QByteArray id;
    std::map<TimeKey, Rec> recs;
    qint64 counter = 0;      // updates generated for it (times only grow)
    bool anyAcked = false;
    std::optional<TimeKey> maxObserved;              // newest valid line any node answered after the heal
};

struct Pending {
    int client = -1;
    TimeKey key;
    int node = -1;
    int incarnation = -1;
    qint64 sentMs = 0;       // run clock
    bool frozen = false;     // the node was SIGSTOPped at some point while this waited
};

struct Worker {
    int id = 0;
    std::vector<int> clients;
    std::array<QTcpSocket *, kNodes> socks{};
    std::array<int, kNodes> sockIncarnation{};
    std::array<QByteArray, kNodes> buf;
    std::optional<Pending> pending;
    QTimer *timer = nullptr;
    qint64 nextDueMs = 0;
};

struct NodeProc {
    QString name;
    quint16 port = 0;
    bool persistent = true;
    QString configPath;
    QProcess *proc = nullptr;
    enum class St { Down, Starting, Up, Stopped } st = St::Down;
    int incarnation = -1;
    std::vector<bool> lostState;    // per incarnation: killed and restarted without its state
    QByteArray out;
    QByteArray errTail;
    bool expectExit = true;
    int startRetries = 0;
};

struct Window {            // a fault's time span, epoch ms, for the log checks
    int kind;              // 0 kill, 1 stop, 2 cut
    int target;            // node or link
    qint64 startMs;
    qint64 endMs;          // 0 while active
};

struct Fault {
    enum Kind { KillEmpty, KillState, Stop, CutReset, CutBlackhole } kind;
    int target = -1;       // node or link
    int window = -1;
    bool active = true;
    bool planned = false;  // one of the first faults, one per kind
    QTimer *timer = nullptr;
};

struct Answer {
    bool got = false;
    bool known = false;
    QByteArray line;       // the AT line (or the unexpected reply)
};

// ---------------------------------------------------------------------------------------------
class Harness final : public QObject {
public:
    Harness(const Options &options, const std::function<void(const QString &)> &print)
        : m_opt(options), m_print(print)
    {
        m_report.seed = m_opt.seed;
        m_rng.seed(m_opt.seed);
        m_faultRng.seed(m_opt.seed * 7919 + 1);
        m_portRng.seed(std::random_device{}());
    }

    ~Harness() override
    {
        for (NodeProc &n : m_nodes) {
            if (n.proc && n.proc->state() != QProcess::NotRunning) {
                n.expectExit = true;
                ::kill(pid_t(n.proc->processId()), SIGCONT);
                n.proc->kill();
                n.proc->waitForFinished(3000);
            }
        }
    }

    Report run();

private:
    // --- output
    void say(const QString &text)
    {
        if (!m_opt.quiet)
            m_print(u"[%1s] "_s.arg(double(m_clock.elapsed()) / 1000.0, 7, 'f', 2) + text);
    }
    void problem(const QString &text)
    {
        if (m_report.problems.size() < 40)
            m_report.problems << text;
        m_print(u"[%1s] PROBLEM%2: "_s.arg(double(m_clock.elapsed()) / 1000.0, 7, 'f', 2)
                    .arg(m_opt.sabotage ? u" (expected in a sabotage run)"_s : QString()) + text);
    }
    qint64 now() const { return m_clock.elapsed(); }
    int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(m_rng); }
    bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(m_rng) < p; }
    int faultUniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(m_faultRng); }
    int scaled(int ms) const { return int(ms * m_opt.faultScale); }

    // --- setup
    bool setup();
    bool writeConfig(int n);
    void startNode(int n);
    bool waitAllUp(qint64 timeoutMs);
    bool warmUp();

    // --- nodes
    void killNode(int n);
    void stopNode(int n);
    void contNode(int n);
    bool running(int n) const { return m_nodes[n].st == NodeProc::St::Up || m_nodes[n].st == NodeProc::St::Stopped; }

    // --- traffic
    void startTraffic();
    void stopTraffic();
    void workerTick(Worker &w);
    void workerSend(Worker &w);
    QTcpSocket *socketFor(Worker &w, int node);
    void onWorkerReadable(Worker &w, int node);
    void onWorkerSocketGone(Worker &w, int node, const QString &why);
    void resolveInDoubt(Worker &w, const QString &why, bool blameNode);
    void scheduleNext(Worker &w);
    int pickNode();
    QByteArray randomLocation();
    void ack(const Pending &p, const QByteArray &line);

    // --- faults
    void planFaults();
    void fireFault(size_t index, int attempt);
    void endFault(Fault *f);
    void healAll();

    // --- check
    std::vector<std::vector<Answer>> sweep(const std::vector<int> &clients, qint64 timeoutMs);
    void converge();
    void checkFrozenDetections();
    void shutdownHerd();
    void sabotage();

    std::optional<std::pair<TimeKey, const Rec *>> required(const ClientState &c) const;
    bool durable(const Rec &r) const { return !m_nodes[r.node].lostState[size_t(r.incarnation)]; }

    Options m_opt;
    std::function<void(const QString &)> m_print;
    Report m_report;
    std::mt19937_64 m_rng;          // traffic: clients, nodes, locations, times
    std::mt19937_64 m_faultRng;     // the fault schedule alone, so a seed replays the same faults
    std::mt19937_64 m_portRng;
    QElapsedTimer m_clock;
    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_logDir;
    QString m_stateDir;
    QString m_secret;
    std::array<NodeProc, kNodes> m_nodes;
    std::vector<Relay *> m_relays;                  // two per link
    std::vector<ClientState> m_clients;
    std::vector<Worker> m_workers;
    std::vector<std::unique_ptr<Fault>> m_faults;
    std::vector<Window> m_windows;
    struct PlannedFault {
        qint64 atMs = 0;       // after traffic starts
        Fault::Kind kind = Fault::Stop;
        int target = -1;
        int durationMs = 0;
        bool planned = false;
    };
    std::vector<PlannedFault> m_schedule;
    std::vector<QTimer *> m_faultTimers;
    qint64 m_base = 0;                              // client time base, seconds
    qint64 m_probeCounter = 0;
    qint64 m_trafficEndMs = 0;
    bool m_trafficOn = false;
    int m_activeFaults = 0;
    qint64 m_healMs = 0;        // run clock when the final heal began
    qint64 m_regressions = 0;
};

// ---------------------------------------------------------------------------------------------
bool Harness::setup()
{
    m_dir = std::make_unique<QTemporaryDir>(QDir::tempPath() + u"/herd-fault-XXXXXX"_s);
    if (!m_dir->isValid()) {
        m_report.setupError = u"cannot create a temporary directory"_s;
        return false;
    }
    m_dir->setAutoRemove(false);   // removed at the end on success unless --keep
    m_report.workDir = m_dir->path();
    m_logDir = m_dir->filePath(u"logs"_s);
    m_stateDir = m_dir->filePath(u"state"_s);
    QDir().mkpath(m_logDir);
    QDir().mkpath(m_stateDir);
    QDir().mkpath(m_dir->filePath(u"conf"_s));
    m_secret = u"herd-fault-secret-%1"_s.arg(m_opt.seed);

    QList<quint16> taken;
    for (int n = 0; n < kNodes; ++n) {
        NodeProc &p = m_nodes[n];
        p.name = nodeName(n);
        p.persistent = !m_opt.volatileNodes.contains(p.name);
        p.port = pickNodePort(m_portRng, taken);
        if (p.port == 0) {
            m_report.setupError = u"no free port for %1"_s.arg(p.name);
            return false;
        }
        taken << p.port;
    }
    for (int l = 0; l < kLinkCount; ++l) {
        for (int dir = 0; dir < 2; ++dir) {
            const int from = kLinks[l][dir];
            const int to = kLinks[l][1 - dir];
            auto *relay = new Relay(l, this);
            Q_UNUSED(from);
            QString error;
            if (!relay->listen(&error)) {
                m_report.setupError = error;
                return false;
            }
            relay->setTarget(m_nodes[to].port);
            m_relays.push_back(relay);
        }
    }
    for (int n = 0; n < kNodes; ++n) {
        if (!writeConfig(n)) {
            m_report.setupError = u"cannot write the config of %1"_s.arg(nodeName(n));
            return false;
        }
    }

    // Client pool: IDs carry the seed; times start now so skews stay small.
    m_base = QDateTime::currentSecsSinceEpoch();
    m_clients.resize(size_t(m_opt.clients + kNodes));
    for (int c = 0; c < m_opt.clients; ++c)
        m_clients[size_t(c)].id = "fault" + QByteArray::number(m_opt.seed) + "-c" + QByteArray::number(c);
    for (int n = 0; n < kNodes; ++n)
        m_clients[size_t(m_opt.clients + n)].id = "fault" + QByteArray::number(m_opt.seed) + "-warm-" + kNames[n];
    return true;
}

// Node n's own config: itself on its real port, each neighbour at the relay n -> neighbour.
bool Harness::writeConfig(int n)
{
    QJsonArray nodes;
    for (int m = 0; m < kNodes; ++m) {
        quint16 port = m_nodes[m].port;
        const int l = linkBetween(n, m);
        if (l >= 0) {
            // Relays are in (link, direction) order: 2l + dir, where dir 0 is kLinks[l][0] dialling.
            const int dir = kLinks[l][0] == n ? 0 : 1;
            port = m_relays[size_t(2 * l + dir)]->port();
        }
        nodes.append(QJsonObject{{u"name"_s, nodeName(m)}, {u"host"_s, u"127.0.0.1"_s}, {u"port"_s, port}});
    }
    QJsonArray links;
    for (const auto &l : kLinks)
        links.append(QJsonArray{nodeName(l[0]), nodeName(l[1])});
    QJsonObject root{
        {u"nodes"_s, nodes},
        {u"links"_s, links},
        {u"places"_s, QJsonObject{{u"provider"_s, u"offline"_s}}},
        {u"peers"_s, QJsonObject{{u"heartbeat_ms"_s, m_opt.heartbeatMs},
                                 {u"suspect_after_missed"_s, 2},
                                 {u"dead_after_missed"_s, m_opt.deadAfterMissed},
                                 {u"redial_min_ms"_s, 50},
                                 {u"redial_max_ms"_s, 1000}}},
        {u"log_dir"_s, m_logDir},
        {u"peer_secret_env"_s, u"HERD_FAULT_PEER_SECRET"_s},
    };
    if (m_nodes[n].persistent)
        root.insert(u"state_dir"_s, m_stateDir);
    m_nodes[n].configPath = m_dir->filePath(u"conf/%1.json"_s.arg(nodeName(n)));
    QFile f(m_nodes[n].configPath);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(QJsonDocument(root).toJson()) > 0;
}

void Harness::startNode(int n)
{
    NodeProc &p = m_nodes[n];
    if (p.proc) {
        p.proc->disconnect(this);
        if (p.proc->state() != QProcess::NotRunning)
            p.proc->waitForFinished(2000);
        p.proc->deleteLater();
    }
    auto *proc = new QProcess(this);
    p.proc = proc;
    p.out.clear();
    p.errTail.clear();
    p.expectExit = false;
    p.st = NodeProc::St::Starting;
    p.incarnation = int(p.lostState.size());
    p.lostState.push_back(false);

    connect(proc, &QProcess::readyReadStandardOutput, this, [this, n, proc] {
        NodeProc &q = m_nodes[n];
        if (q.proc != proc)
            return;
        q.out += proc->readAllStandardOutput();
        if (q.st == NodeProc::St::Starting && q.out.contains("herd: serving")) {
            q.st = NodeProc::St::Up;
            q.startRetries = 0;
            say(u"%1 serving (incarnation %2%3)"_s.arg(q.name).arg(q.incarnation)
                    .arg(q.persistent ? u", state_dir"_s : u", empty state"_s));
        }
        if (q.out.size() > 4096)
            q.out = q.out.right(1024);
    });
    connect(proc, &QProcess::readyReadStandardError, this, [this, n, proc] {
        NodeProc &q = m_nodes[n];
        if (q.proc != proc)
            return;
        q.errTail += proc->readAllStandardError();
        if (q.errTail.size() > 4096)
            q.errTail = q.errTail.right(4096);
    });
    connect(proc, &QProcess::finished, this, [this, n, proc](int code, QProcess::ExitStatus status) {
        NodeProc &q = m_nodes[n];
        if (q.proc != proc)
            return;
        q.errTail += proc->readAllStandardError();
        const bool wasStarting = q.st == NodeProc::St::Starting;
        q.st = NodeProc::St::Down;
        if (q.expectExit)
            return;
        q.expectExit = true;
        // Our port was taken by someone else's connection in the meantime: not the server's
        // fault, try again (a few times).
        if (wasStarting && q.errTail.contains("cannot listen") && q.startRetries < 20) {
            ++q.startRetries;
            say(u"%1 could not bind its port yet, retrying: %2"_s.arg(q.name, QString::fromLocal8Bit(q.errTail.trimmed())));
            QTimer::singleShot(250, this, [this, n] { startNode(n); });
            return;
        }
        ++m_report.crashes;
        problem(u"%1 exited on its own (%2 %3); stderr: %4"_s.arg(q.name,
                    status == QProcess::CrashExit ? u"crash, signal/status"_s : u"exit code"_s)
                    .arg(code).arg(QString::fromLocal8Bit(q.errTail.right(1500))));
    });
    connect(proc, &QProcess::errorOccurred, this, [this, n, proc](QProcess::ProcessError e) {
        if (e == QProcess::FailedToStart && m_nodes[n].proc == proc) {
            m_nodes[n].st = NodeProc::St::Down;
            m_nodes[n].expectExit = true;
            ++m_report.crashes;
            problem(u"cannot start %1: %2"_s.arg(m_opt.herdBinary, proc->errorString()));
        }
    });

    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(u"GOOGLE_PLACES_API_KEY"_s);
    env.insert(u"QT_QPA_PLATFORM"_s, u"offscreen"_s);
    if (m_opt.secret)
        env.insert(u"HERD_FAULT_PEER_SECRET"_s, m_secret);
    else
        env.remove(u"HERD_FAULT_PEER_SECRET"_s);
    proc->setProcessEnvironment(env);
    proc->setWorkingDirectory(m_dir->path());
    proc->start(m_opt.herdBinary, {u"--headless"_s, u"--config"_s, p.configPath, u"--node"_s, p.name,
                                   u"--stats-interval"_s, u"0"_s});
}

bool Harness::waitAllUp(qint64 timeoutMs)
{
    return spinUntil([this] {
        return m_report.crashes > 0 || std::all_of(m_nodes.begin(), m_nodes.end(), [](const NodeProc &p) {
            return p.st == NodeProc::St::Up;
        });
    }, timeoutMs) && m_report.crashes == 0;
}

// One IAMAT per node (recorded in the oracle like any other), then wait until every node knows
// all five: the herd is connected end to end.
bool Harness::warmUp()
{
    for (int n = 0; n < kNodes; ++n) {
        const int ci = m_opt.clients + n;
        ClientState &c = m_clients[size_t(ci)];
        const TimeKey key{m_base, 0};
        const QByteArray loc = randomLocation();
        Rec r;
        r.time = formatTime(key);
        r.location = loc;
        r.node = n;
        r.incarnation = m_nodes[n].incarnation;
        c.recs[key] = r;
        c.counter = 1;
        QTcpSocket s;
        s.connectToHost(QHostAddress::LocalHost, m_nodes[n].port);
        s.write("IAMAT " + c.id + ' ' + loc + ' ' + r.time + '\n');
        QByteArray buf;
        spinUntil([&] {
            buf += s.readAll();
            return buf.contains('\n') || s.state() == QAbstractSocket::UnconnectedState;
        }, 10000);
        buf += s.readAll();
        if (!buf.startsWith("AT ") || !buf.contains('\n')) {
            m_report.setupError = u"%1 did not answer the warm-up IAMAT"_s.arg(nodeName(n));
            return false;
        }
        ++m_report.sent;
        ack(Pending{ci, key, n, m_nodes[n].incarnation, 0, false}, buf.left(buf.indexOf('\n')));
    }
    std::vector<int> warm;
    for (int n = 0; n < kNodes; ++n)
        warm.push_back(m_opt.clients + n);
    const bool ok = spinUntil([&] {
        const auto answers = sweep(warm, 10000);
        for (int n = 0; n < kNodes; ++n) {
            for (int ci : warm) {
                const Answer &a = answers[size_t(n)][size_t(ci)];
                if (!a.got || !a.known)
                    return false;
            }
        }
        return true;
    }, 30000);
    if (!ok)
        m_report.setupError = u"the herd did not connect within 30 s (an update did not reach every node)"_s;
    return ok;
}

// ---------------------------------------------------------------------------------------------
void Harness::killNode(int n)
{
    NodeProc &p = m_nodes[n];
    p.expectExit = true;
    p.lostState[size_t(p.incarnation)] = !p.persistent;
    p.st = NodeProc::St::Down;
    if (p.proc)
        p.proc->kill();   // SIGKILL
}

void Harness::stopNode(int n)
{
    NodeProc &p = m_nodes[n];
    ::kill(pid_t(p.proc->processId()), SIGSTOP);
    p.st = NodeProc::St::Stopped;
    for (Worker &w : m_workers) {
        if (w.pending && w.pending->node == n)
            w.pending->frozen = true;
    }
}

void Harness::contNode(int n)
{
    NodeProc &p = m_nodes[n];
    ::kill(pid_t(p.proc->processId()), SIGCONT);
    if (p.st == NodeProc::St::Stopped)
        p.st = NodeProc::St::Up;
}

// ---------------------------------------------------------------------------------------------
QByteArray Harness::randomLocation()
{
    const double lat = std::uniform_real_distribution<double>(-89.0, 89.0)(m_rng);
    const double lon = std::uniform_real_distribution<double>(-179.0, 179.0)(m_rng);
    QByteArray out;
    out += (lat < 0 ? '-' : '+') + QByteArray::number(std::abs(lat), 'f', 6);
    out += (lon < 0 ? '-' : '+') + QByteArray::number(std::abs(lon), 'f', 6);
    return out;
}

int Harness::pickNode()
{
    std::vector<int> up;
    std::vector<int> alive;
    for (int n = 0; n < kNodes; ++n) {
        if (m_nodes[n].st == NodeProc::St::Up)
            up.push_back(n);
        if (running(n))
            alive.push_back(n);
    }
    // Mostly nodes that answer; sometimes a frozen one (the request waits for SIGCONT or is
    // abandoned: an update in doubt).
    const std::vector<int> &from = (!up.empty() && !chance(0.05)) ? up : alive;
    if (from.empty())
        return -1;
    return from[size_t(uniform(0, int(from.size()) - 1))];
}

void Harness::startTraffic()
{
    m_workers.resize(size_t(m_opt.workers));
    for (int w = 0; w < m_opt.workers; ++w) {
        Worker &wk = m_workers[size_t(w)];
        wk.id = w;
        for (int c = w; c < m_opt.clients; c += m_opt.workers)
            wk.clients.push_back(c);
        wk.sockIncarnation.fill(-1);
        wk.timer = new QTimer(this);
        wk.timer->setSingleShot(true);
        connect(wk.timer, &QTimer::timeout, this, [this, w] { workerTick(m_workers[size_t(w)]); });
        wk.nextDueMs = now() + (qint64(w) * 1000 / std::max(1, m_opt.rate));
        wk.timer->start(int(std::max<qint64>(0, wk.nextDueMs - now())));
    }
    m_trafficOn = true;
}

void Harness::workerTick(Worker &w)
{
    if (w.pending) {   // the reply did not come in time
        const Pending p = *w.pending;
        const NodeProc &node = m_nodes[p.node];
        const bool live = node.st == NodeProc::St::Up && node.incarnation == p.incarnation && !p.frozen;
        resolveInDoubt(w, u"no reply in %1 ms"_s.arg(m_opt.requestTimeoutMs), live);
        if (w.socks[p.node]) {
            w.socks[p.node]->disconnect(this);
            w.socks[p.node]->abort();
            w.socks[p.node]->deleteLater();
            w.socks[p.node] = nullptr;
        }
        scheduleNext(w);
        return;
    }
    workerSend(w);
}

QTcpSocket *Harness::socketFor(Worker &w, int node)
{
    QTcpSocket *&s = w.socks[node];
    if (s && (w.sockIncarnation[node] != m_nodes[node].incarnation || s->state() == QAbstractSocket::UnconnectedState)) {
        s->disconnect(this);
        s->abort();
        s->deleteLater();
        s = nullptr;
    }
    if (!s) {
        s = new QTcpSocket(this);
        w.sockIncarnation[node] = m_nodes[node].incarnation;
        w.buf[node].clear();
        const int wid = w.id;
        connect(s, &QTcpSocket::readyRead, this, [this, wid, node] { onWorkerReadable(m_workers[size_t(wid)], node); });
        connect(s, &QTcpSocket::disconnected, this, [this, wid, node] {
            onWorkerSocketGone(m_workers[size_t(wid)], node, u"connection closed"_s);
        });
        connect(s, &QTcpSocket::errorOccurred, this, [this, wid, node, s](QAbstractSocket::SocketError) {
            onWorkerSocketGone(m_workers[size_t(wid)], node, s->errorString());
        });
        s->connectToHost(QHostAddress::LocalHost, m_nodes[node].port);
    }
    return s;
}

void Harness::workerSend(Worker &w)
{
    if (!m_trafficOn)
        return;
    const int node = pickNode();
    if (node < 0) {
        w.timer->start(50);
        return;
    }
    const int ci = w.clients[size_t(uniform(0, int(w.clients.size()) - 1))];
    ClientState &c = m_clients[size_t(ci)];
    TimeKey key;
    if (c.anyAcked && chance(0.03)) {
        // An old time, older than anything real for this client: answered, never the newest.
        key = TimeKey{m_base - 1000000 + (++m_probeCounter), uniform(0, 999999999)};
        ++m_report.probes;
    } else {
        // Strictly increasing per client, four per second, nanoseconds in play.
        const qint64 k = c.counter++;
        key = TimeKey{m_base + k / 4, qint32((k % 4) * 250000000 + uniform(0, 249999999))};
    }
    Rec r;
    r.time = formatTime(key);
    r.location = randomLocation();
    r.node = node;
    r.incarnation = m_nodes[node].incarnation;
    c.recs[key] = r;

    QTcpSocket *s = socketFor(w, node);
    s->write("IAMAT " + c.id + ' ' + r.location + ' ' + r.time + '\n');
    w.pending = Pending{ci, key, node, r.incarnation, now(), m_nodes[node].st == NodeProc::St::Stopped};
    ++m_report.sent;
    w.timer->start(m_opt.requestTimeoutMs);
}

void Harness::onWorkerReadable(Worker &w, int node)
{
    QTcpSocket *s = w.socks[node];
    if (!s)
        return;
    QByteArray &buf = w.buf[node];
    buf += s->readAll();
    qsizetype nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
        const QByteArray line = buf.left(nl);
        buf.remove(0, nl + 1);
        if (!w.pending || w.pending->node != node) {
            ++m_report.protocolErrors;
            problem(u"unexpected line from %1: %2"_s.arg(nodeName(node), QString::fromLatin1(line.left(200))));
            continue;
        }
        const Pending p = *w.pending;
        const ClientState &c = m_clients[size_t(p.client)];
        const Rec &r = c.recs.at(p.key);
        const QList<QByteArray> f = line.split(' ');
        const bool ok = f.size() == 6 && f[0] == "AT" && f[1] == kNames[node] && isSkew(f[2]) && f[3] == c.id
            && f[4] == r.location && f[5] == r.time;
        w.pending.reset();
        w.timer->stop();
        if (!ok) {
            ++m_report.protocolErrors;
            ++m_report.inDoubt;
            problem(u"IAMAT %1 %2 %3 to %4 answered \"%5\""_s.arg(QString::fromLatin1(c.id), QString::fromLatin1(r.location),
                    QString::fromLatin1(r.time), nodeName(node), QString::fromLatin1(line.left(200))));
        } else {
            ack(p, line);
            const qint64 latency = now() - p.sentMs;
            const bool frozen = p.frozen || m_nodes[node].st == NodeProc::St::Stopped;
            if (!frozen) {
                m_report.maxLatencyMs = std::max(m_report.maxLatencyMs, latency);
                if (latency > 1000)
                    ++m_report.slowReplies;
            }
        }
        scheduleNext(w);
    }
}

void Harness::ack(const Pending &p, const QByteArray &line)
{
    ClientState &c = m_clients[size_t(p.client)];
    auto it = c.recs.find(p.key);
    if (it == c.recs.end())
        return;   // pruned meanwhile: older than something durable
    it->second.atLine = line;
    it->second.acked = true;
    c.anyAcked = true;
    ++m_report.acknowledged;
    // Acked by a node with state_dir: never lost, so nothing older matters any more.
    if (m_nodes[p.node].persistent)
        c.recs.erase(c.recs.begin(), it);
}

void Harness::onWorkerSocketGone(Worker &w, int node, const QString &why)
{
    QTcpSocket *s = w.socks[node];
    if (!s)
        return;
    s->disconnect(this);
    s->deleteLater();
    w.socks[node] = nullptr;
    if (w.pending && w.pending->node == node) {
        const Pending p = *w.pending;
        const NodeProc &n = m_nodes[node];
        const bool live = n.st == NodeProc::St::Up && n.incarnation == p.incarnation && !p.frozen;
        resolveInDoubt(w, why, live);
        w.timer->stop();
        scheduleNext(w);
    }
}

void Harness::resolveInDoubt(Worker &w, const QString &why, bool blameNode)
{
    const Pending p = *w.pending;
    w.pending.reset();
    ++m_report.inDoubt;
    if (blameNode && m_trafficOn) {
        ++m_report.unansweredLive;
        problem(u"%1 (up, not frozen) did not answer IAMAT %2: %3"_s.arg(nodeName(p.node),
                QString::fromLatin1(m_clients[size_t(p.client)].id), why));
    }
}

void Harness::scheduleNext(Worker &w)
{
    if (!m_trafficOn)
        return;
    const qint64 period = qint64(m_opt.workers) * 1000 / std::max(1, m_opt.rate);
    w.nextDueMs += period;
    if (w.nextDueMs < now() - 1000)
        w.nextDueMs = now();
    w.timer->start(int(std::max<qint64>(0, w.nextDueMs - now())));
}

void Harness::stopTraffic()
{
    m_trafficOn = false;
    for (Worker &w : m_workers) {
        if (!w.pending)
            w.timer->stop();
    }
    // Let requests in flight finish (a frozen node's may not: those stay in doubt).
    spinUntil([this] {
        return std::none_of(m_workers.begin(), m_workers.end(), [](const Worker &w) { return w.pending.has_value(); });
    }, 1500);
    for (Worker &w : m_workers) {
        w.timer->stop();
        if (w.pending) {
            const int node = w.pending->node;
            resolveInDoubt(w, u"traffic stopped"_s, false);
            if (w.socks[node]) {
                w.socks[node]->disconnect(this);
                w.socks[node]->abort();
            }
        }
        for (QTcpSocket *&s : w.socks) {
            if (s) {
                s->disconnect(this);
                s->abort();
                s->deleteLater();
                s = nullptr;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The fault schedule is computed from the seed before traffic starts (times, kinds, targets,
// durations), so a seed replays the same faults whatever the machine's timing. The plan models
// each fault's span (a kill keeps its node busy for kRestartAllowanceMs after the restart too)
// and keeps at most maxConcurrentFaults at once; the first faults are one of each kind, in a
// seeded order. While that first SIGSTOP runs, nothing else touches the frozen node's neighbours
// or links, so every run checks at least one clean frozen-peer detection.
void Harness::planFaults()
{
    constexpr qint64 kRestartAllowanceMs = 500;
    const qint64 deadMs = qint64(m_opt.heartbeatMs) * m_opt.deadAfterMissed;
    struct Span {
        qint64 until;
        Fault::Kind kind;
        int target;
        bool planned;
    };
    std::vector<Span> active;
    std::vector<Fault::Kind> plan;
    if (m_opt.plannedFirst) {
        plan = {Fault::KillEmpty, Fault::KillState, Fault::Stop, Fault::CutReset, Fault::CutBlackhole};
        std::shuffle(plan.begin(), plan.end(), m_faultRng);
    }
    const bool anyVolatile = std::any_of(m_nodes.begin(), m_nodes.end(), [](const NodeProc &p) { return !p.persistent; });
    const bool anyPersistent = std::any_of(m_nodes.begin(), m_nodes.end(), [](const NodeProc &p) { return p.persistent; });
    if (!anyVolatile)
        std::erase(plan, Fault::KillEmpty);
    if (!anyPersistent)
        std::erase(plan, Fault::KillState);

    auto isNodeFault = [](Fault::Kind k) { return k == Fault::KillEmpty || k == Fault::KillState || k == Fault::Stop; };
    auto nearPlannedStop = [&](int node, int link) {
        for (const Span &a : active) {
            if (!a.planned || a.kind != Fault::Stop)
                continue;
            if (node >= 0 && (node == a.target || linkBetween(a.target, node) >= 0))
                return true;
            if (link >= 0 && (kLinks[link][0] == a.target || kLinks[link][1] == a.target))
                return true;
        }
        return false;
    };
    auto tryPlan = [&](Fault::Kind kind, qint64 t, bool planned) {
        std::vector<int> candidates;
        if (isNodeFault(kind)) {
            for (int n = 0; n < kNodes; ++n) {
                const bool busy = std::any_of(active.begin(), active.end(), [&](const Span &a) {
                    return isNodeFault(a.kind) && a.target == n;
                });
                const bool fits = kind == Fault::Stop || m_nodes[n].persistent == (kind == Fault::KillState);
                if (!busy && fits && !nearPlannedStop(n, -1))
                    candidates.push_back(n);
            }
        } else {
            for (int l = 0; l < kLinkCount; ++l) {
                const bool cut = std::any_of(active.begin(), active.end(), [&](const Span &a) {
                    return !isNodeFault(a.kind) && a.target == l;
                });
                if (!cut && !nearPlannedStop(-1, l))
                    candidates.push_back(l);
            }
        }
        if (candidates.empty())
            return false;
        PlannedFault pf;
        pf.atMs = t;
        pf.kind = kind;
        pf.planned = planned;
        pf.target = candidates[size_t(faultUniform(0, int(candidates.size()) - 1))];
        if (kind == Fault::KillEmpty || kind == Fault::KillState)
            pf.durationMs = scaled(faultUniform(300, 2000));
        else if (kind == Fault::Stop)   // long enough for the neighbours to declare it dead
            pf.durationMs = scaled(faultUniform(int(deadMs) + 1000, int(deadMs) + 2500));
        else
            pf.durationMs = scaled(faultUniform(600, 3000));
        const qint64 extra = kind == Fault::KillEmpty || kind == Fault::KillState ? kRestartAllowanceMs : 0;
        active.push_back(Span{t + pf.durationMs + extra, kind, pf.target, planned});
        m_schedule.push_back(pf);
        return true;
    };

    static constexpr Fault::Kind kRandomKinds[] = {Fault::KillState, Fault::KillEmpty, Fault::Stop,
                                                   Fault::CutReset, Fault::CutBlackhole, Fault::CutReset};
    qint64 t = faultUniform(200, 600);
    // No new fault too close to the end of traffic (a restart still has time to happen).
    while (t < m_opt.trafficMs - 500) {
        std::erase_if(active, [t](const Span &a) { return a.until <= t; });
        if (int(active.size()) < m_opt.maxConcurrentFaults) {
            bool placed = false;
            for (size_t i = 0; i < plan.size() && !placed; ++i) {
                if (tryPlan(plan[i], t, true)) {
                    plan.erase(plan.begin() + qsizetype(i));
                    placed = true;
                }
            }
            for (int attempt = 0; attempt < 8 && !placed && plan.empty(); ++attempt)
                placed = tryPlan(kRandomKinds[faultUniform(0, 5)], t, false);
        }
        t += faultUniform(m_opt.faultGapMinMs, m_opt.faultGapMaxMs);
    }
}

// A planned fault is due. Its target should be ready (the plan says so); when the machine ran
// late (a restart took longer than planned), it waits for it, up to 10 s, then is skipped.
void Harness::fireFault(size_t index, int attempt)
{
    if (!m_trafficOn || now() > m_trafficEndMs - 300)
        return;
    const PlannedFault &pf = m_schedule[index];
    bool ready = true;
    if (pf.kind == Fault::CutReset || pf.kind == Fault::CutBlackhole) {
        ready = m_relays[size_t(2 * pf.target)]->mode() == Relay::Mode::Forward;
    } else {
        ready = m_nodes[pf.target].st == NodeProc::St::Up;
        for (const auto &f : m_faults) {
            if (f->active && f->target == pf.target && f->kind != Fault::CutReset && f->kind != Fault::CutBlackhole)
                ready = false;
        }
    }
    if (!ready) {
        if (attempt < 200) {
            QTimer::singleShot(50, this, [this, index, attempt] { fireFault(index, attempt + 1); });
        } else {
            ++m_report.faultsSkipped;
            say(u"fault skipped: its target was not ready for 10 s"_s);
        }
        return;
    }

    auto fault = std::make_unique<Fault>();
    fault->kind = pf.kind;
    fault->planned = pf.planned;
    fault->target = pf.target;
    QString what;
    switch (pf.kind) {
    case Fault::KillEmpty:
    case Fault::KillState:
        m_windows.push_back(Window{0, pf.target, epochMs(), 0});
        killNode(pf.target);
        if (pf.kind == Fault::KillState)
            ++m_report.killsWithState;
        else
            ++m_report.killsEmpty;
        what = u"SIGKILL %1 (restart in %2 ms, %3)"_s.arg(nodeName(pf.target)).arg(pf.durationMs)
                   .arg(pf.kind == Fault::KillState ? u"from state_dir"_s : u"empty state"_s);
        break;
    case Fault::Stop:
        m_windows.push_back(Window{1, pf.target, epochMs(), 0});
        stopNode(pf.target);
        ++m_report.stops;
        what = u"SIGSTOP %1 for %2 ms"_s.arg(nodeName(pf.target)).arg(pf.durationMs);
        break;
    case Fault::CutReset:
    case Fault::CutBlackhole: {
        const Relay::Mode mode = pf.kind == Fault::CutReset ? Relay::Mode::Reset : Relay::Mode::Blackhole;
        m_windows.push_back(Window{2, pf.target, epochMs(), 0});
        m_relays[size_t(2 * pf.target)]->setMode(mode);
        m_relays[size_t(2 * pf.target + 1)]->setMode(mode);
        if (pf.kind == Fault::CutReset)
            ++m_report.cutsReset;
        else
            ++m_report.cutsBlackhole;
        what = u"cut %1 (%2) for %3 ms"_s.arg(linkName(pf.target),
                    pf.kind == Fault::CutReset ? u"reset"_s : u"blackhole"_s).arg(pf.durationMs);
        break;
    }
    }
    fault->window = int(m_windows.size()) - 1;
    ++m_report.faults;
    ++m_activeFaults;
    say(u"fault %1: %2"_s.arg(m_report.faults).arg(what));
    Fault *f = fault.get();
    f->timer = new QTimer(this);
    f->timer->setSingleShot(true);
    connect(f->timer, &QTimer::timeout, this, [this, f] { endFault(f); });
    f->timer->start(pf.durationMs);
    m_faults.push_back(std::move(fault));
}

void Harness::endFault(Fault *f)
{
    if (!f->active)
        return;
    f->active = false;
    f->timer->stop();
    --m_activeFaults;
    m_windows[size_t(f->window)].endMs = epochMs();
    switch (f->kind) {
    case Fault::KillEmpty:
    case Fault::KillState:
        say(u"restart %1"_s.arg(nodeName(f->target)));
        startNode(f->target);
        break;
    case Fault::Stop:
        say(u"SIGCONT %1"_s.arg(nodeName(f->target)));
        contNode(f->target);
        break;
    case Fault::CutReset:
    case Fault::CutBlackhole:
        say(u"heal %1"_s.arg(linkName(f->target)));
        m_relays[size_t(2 * f->target)]->setMode(Relay::Mode::Forward);
        m_relays[size_t(2 * f->target + 1)]->setMode(Relay::Mode::Forward);
        break;
    }
}

void Harness::healAll()
{
    m_healMs = now();
    for (QTimer *t : m_faultTimers)
        t->stop();
    for (auto &f : m_faults)
        endFault(f.get());
}

// ---------------------------------------------------------------------------------------------
// WHATSAT <client> 1 1 for each of `clients` on every node, pipelined (a window per node, under
// the node's output cap). answers[node][client].
std::vector<std::vector<Answer>> Harness::sweep(const std::vector<int> &clients, qint64 timeoutMs)
{
    constexpr int kWindow = 64;
    std::vector<std::vector<Answer>> answers(kNodes, std::vector<Answer>(m_clients.size()));
    struct Conn {
        QTcpSocket *sock = nullptr;
        size_t next = 0;             // next client to send
        std::deque<int> waiting;     // sent, answer not complete
        QByteArray buf;
        bool inBody = false;
        QByteArray atLine;
        bool failed = false;
    };
    std::array<Conn, kNodes> conns;
    auto done = [&](const Conn &c) { return c.failed || (c.next >= clients.size() && c.waiting.empty()); };
    auto refill = [&](Conn &c) {
        QByteArray out;
        while (c.next < clients.size() && c.waiting.size() < size_t(kWindow)) {
            const int ci = clients[c.next++];
            out += "WHATSAT " + m_clients[size_t(ci)].id + " 1 1\n";
            c.waiting.push_back(ci);
        }
        if (!out.isEmpty())
            c.sock->write(out);
    };
    for (int n = 0; n < kNodes; ++n) {
        Conn &c = conns[size_t(n)];
        if (!running(n) || m_nodes[n].st == NodeProc::St::Stopped) {
            c.failed = true;
            continue;
        }
        c.sock = new QTcpSocket(this);
        QTcpSocket *sock = c.sock;
        connect(sock, &QTcpSocket::readyRead, this, [&, n, sock] {
            Conn &k = conns[size_t(n)];
            k.buf += sock->readAll();
            qsizetype nl;
            qsizetype from = 0;
            while (!k.waiting.empty() && (nl = k.buf.indexOf('\n', from)) >= 0) {
                const QByteArray line = k.buf.mid(from, nl - from);
                from = nl + 1;
                Answer &a = answers[size_t(n)][size_t(k.waiting.front())];
                if (k.inBody) {
                    if (line.isEmpty()) {     // the blank line that ends a WHATSAT reply
                        a.got = true;
                        a.known = true;
                        a.line = k.atLine;
                        k.inBody = false;
                        k.waiting.pop_front();
                    }
                } else if (line.startsWith("AT ")) {
                    k.atLine = line;
                    k.inBody = true;
                } else {
                    a.got = true;
                    a.known = false;
                    a.line = line;            // "? WHATSAT ..." for an unknown client
                    k.waiting.pop_front();
                }
            }
            k.buf.remove(0, from);
            refill(k);
        });
        connect(sock, &QTcpSocket::errorOccurred, this, [&, n](QAbstractSocket::SocketError) {
            conns[size_t(n)].failed = true;
        });
        connect(sock, &QTcpSocket::connected, this, [&, n] { refill(conns[size_t(n)]); });
        sock->connectToHost(QHostAddress::LocalHost, m_nodes[n].port);
    }
    spinUntil([&] { return std::all_of(conns.begin(), conns.end(), done); }, timeoutMs);
    for (Conn &c : conns) {
        if (c.sock) {
            c.sock->disconnect(this);
            c.sock->abort();
            c.sock->deleteLater();
        }
    }
    return answers;
}

std::optional<std::pair<TimeKey, const Rec *>> Harness::required(const ClientState &c) const
{
    for (auto it = c.recs.rbegin(); it != c.recs.rend(); ++it) {
        if (it->second.acked && durable(it->second))
            return std::make_pair(it->first, &it->second);
    }
    return std::nullopt;
}

// Sweeps until every live node answers every client with the same acceptable line, then once
// more over everything to confirm nothing moved. Counts lost / stale / bad from the last sweep
// when the deadline passes.
void Harness::converge()
{
    std::vector<int> all;
    for (size_t ci = 0; ci < m_clients.size(); ++ci) {
        if (!m_clients[ci].recs.empty())
            all.push_back(int(ci));
    }
    m_report.clientsChecked = int(all.size());
    m_report.nodesChecked = kNodes;

    // Per (node, client): the newest key answered so far (a node never goes back).
    std::vector<std::vector<std::optional<TimeKey>>> last(kNodes, std::vector<std::optional<TimeKey>>(m_clients.size()));
    std::vector<QByteArray> agreed(m_clients.size());
    std::vector<int> todo = all;
    QElapsedTimer clock;
    clock.start();
    bool confirming = false;
    qint64 convergedAt = -1;

    enum class St { Ok, Exact, Newer, UnknownOk, NoAnswer, Lost, Stale, Bad };
    std::vector<std::vector<St>> status(kNodes, std::vector<St>(m_clients.size(), St::NoAnswer));

    for (;;) {
        const auto answers = sweep(todo, 30000);
        ++m_report.rounds;
        std::vector<int> unresolved;
        for (int ci : todo) {
            ClientState &c = m_clients[size_t(ci)];
            const auto req = required(c);
            // Newest valid key any node answers now: after the heal, nobody may end below it.
            for (int n = 0; n < kNodes; ++n) {
                const Answer &a = answers[size_t(n)][size_t(ci)];
                if (!a.got || !a.known)
                    continue;
                const QList<QByteArray> f = a.line.split(' ');
                const auto key = f.size() == 6 ? parseTime(f[5]) : std::nullopt;
                if (key && c.recs.count(*key) && (!c.maxObserved || *c.maxObserved < *key))
                    c.maxObserved = *key;
            }
            bool hasFloor = req.has_value();
            TimeKey floorKey = req ? req->first : TimeKey{};
            if (c.maxObserved && (!hasFloor || floorKey < *c.maxObserved)) {
                hasFloor = true;
                floorKey = *c.maxObserved;
            }

            bool resolved = true;
            QByteArray first;
            bool firstSet = false;
            for (int n = 0; n < kNodes; ++n) {
                const Answer &a = answers[size_t(n)][size_t(ci)];
                St &st = status[size_t(n)][size_t(ci)];
                if (!a.got) {
                    st = St::NoAnswer;
                } else if (!a.known) {
                    st = hasFloor ? St::Lost : St::UnknownOk;
                    if (!a.line.startsWith("? WHATSAT "))
                        st = St::Bad;
                } else {
                    const QList<QByteArray> f = a.line.split(' ');
                    const auto key = f.size() == 6 ? parseTime(f[5]) : std::nullopt;
                    if (!key || f[3] != c.id) {
                        st = St::Bad;
                    } else {
                        auto &prev = last[size_t(n)][size_t(ci)];
                        const bool regressed = prev && *key < *prev;
                        const std::optional<TimeKey> before = prev;
                        if (!prev || *prev < *key)
                            prev = *key;
                        if (regressed || (hasFloor && *key < floorKey)) {
                            st = St::Stale;
                        } else {
                            const auto it = c.recs.find(*key);
                            if (it == c.recs.end()) {
                                st = St::Bad;
                            } else if (it->second.acked) {
                                st = a.line == it->second.atLine
                                    ? (req && req->first == *key ? St::Exact : St::Newer) : St::Bad;
                            } else {
                                const Rec &r = it->second;
                                st = f[0] == "AT" && f[1] == kNames[r.node] && isSkew(f[2]) && f[4] == r.location
                                        && f[5] == r.time ? St::Newer : St::Bad;
                            }
                        }
                        if (regressed) {
                            // A node's store only moves forward: going back is a bug whenever seen.
                            ++m_regressions;
                            problem(u"%1 went back for %2: answered %3, earlier %4.%5"_s.arg(nodeName(n),
                                        QString::fromLatin1(c.id), QString::fromLatin1(f[5]))
                                        .arg(before->s).arg(before->ns, 9, 10, QChar(u'0')));
                        }
                    }
                }
                if (st == St::Bad && !a.line.isEmpty() && m_report.problems.size() < 40)
                    problem(u"%1 answers WHATSAT %2 with \"%3\": not a line any node acknowledged or was sent"_s
                                .arg(nodeName(n), QString::fromLatin1(c.id), QString::fromLatin1(a.line.left(200))));
                const QByteArray norm = a.got && a.known ? a.line : QByteArray();
                if (!firstSet) {
                    first = norm;
                    firstSet = true;
                } else if (norm != first) {
                    resolved = false;
                }
                if (st == St::NoAnswer || st == St::Lost || st == St::Stale || st == St::Bad)
                    resolved = false;
            }
            if (resolved && confirming && agreed[size_t(ci)] != first)
                resolved = false;   // moved since it agreed: keep watching
            if (resolved)
                agreed[size_t(ci)] = first;
            else
                unresolved.push_back(ci);
        }

        if (unresolved.empty()) {
            if (convergedAt < 0)
                convergedAt = now() - m_healMs;
            if (confirming)
                break;
            confirming = true;   // one more sweep over everything: stable?
            todo = all;
            continue;
        }
        if (confirming) {
            // Something changed after it all agreed: not converged after all.
            convergedAt = -1;
            confirming = false;
        }
        todo = unresolved;
        if (clock.elapsed() > m_opt.convergeTimeoutMs)
            break;
        // Sweeps are cheap; pace them so a slow catch-up is not drowned in WHATSATs.
        spinUntil([] { return false; }, 50);
    }
    m_report.convergenceMs = convergedAt;
    m_report.stale += m_regressions;

    for (int ci : all) {
        for (int n = 0; n < kNodes; ++n) {
            switch (status[size_t(n)][size_t(ci)]) {
            case St::Exact: ++m_report.exact; break;
            case St::Newer: ++m_report.newer; break;
            case St::UnknownOk: ++m_report.unknownOk; break;
            case St::Lost: ++m_report.lost; break;
            case St::Stale: ++m_report.stale; break;
            case St::Bad: ++m_report.bad; break;
            case St::NoAnswer: ++m_report.lost; break;
            case St::Ok: break;
            }
        }
    }
    if (convergedAt < 0) {
        int shown = 0;
        for (int ci : all) {
            for (int n = 0; n < kNodes && shown < 10; ++n) {
                const St st = status[size_t(n)][size_t(ci)];
                if (st == St::Lost || st == St::Stale || st == St::NoAnswer) {
                    const auto req = required(m_clients[size_t(ci)]);
                    problem(u"%1 %2 for %3; oracle: %4"_s.arg(nodeName(n),
                                st == St::Lost ? u"does not know"_s : st == St::Stale ? u"is stale"_s : u"did not answer"_s,
                                QString::fromLatin1(m_clients[size_t(ci)].id),
                                req ? QString::fromLatin1(req->second->atLine) : u"(nothing durable)"_s));
                    ++shown;
                }
            }
        }
    }
}

// Each SIGSTOP long enough to be noticed: every neighbour whose link to the frozen node was up
// when it froze, and that was itself running with the link uncut, must log "link down" for it
// before it is thawed (plus a little for the log's own clock granularity).
void Harness::checkFrozenDetections()
{
    const qint64 deadMs = qint64(m_opt.heartbeatMs) * m_opt.deadAfterMissed;
    QHash<int, QList<QByteArray>> logs;
    for (int n = 0; n < kNodes; ++n) {
        QFile f(QDir(m_logDir).filePath(nodeName(n) + u".log"_s));
        if (f.open(QIODevice::ReadOnly))
            logs.insert(n, f.readAll().split('\n'));
    }
    auto overlaps = [](const Window &w, qint64 s, qint64 e) { return w.startMs <= e && (w.endMs == 0 || w.endMs >= s); };
    for (const Window &stop : m_windows) {
        if (stop.kind != 1 || stop.endMs == 0 || stop.endMs - stop.startMs < deadMs + 800)
            continue;
        const int x = stop.target;
        const QByteArray tag = " peer " + QByteArray(kNames[x]) + ' ';
        for (int nb = 0; nb < kNodes; ++nb) {
            const int l = linkBetween(x, nb);
            if (l < 0)
                continue;
            bool excused = false;
            for (const Window &w : m_windows) {
                if (&w == &stop)
                    continue;
                if (((w.kind == 0 || w.kind == 1) && w.target == nb && overlaps(w, stop.startMs - 2000, stop.endMs))
                    || (w.kind == 2 && w.target == l && overlaps(w, stop.startMs - 2000, stop.endMs))
                    || (w.kind == 0 && w.target == x && overlaps(w, stop.startMs - 2000, stop.startMs)))
                    excused = true;
            }
            if (excused)
                continue;
            bool upAtStop = false;
            bool detected = false;
            for (const QByteArray &line : logs.value(nb)) {
                if (!line.contains(tag))
                    continue;
                const bool up = line.contains("link up");
                const bool down = line.contains("link down");
                if (!up && !down)
                    continue;
                const qint64 t = QDateTime::fromString(QString::fromLatin1(line.left(line.indexOf(' '))),
                                                       Qt::ISODateWithMs).toMSecsSinceEpoch();
                if (t < stop.startMs)
                    upAtStop = up;
                else if (down && t <= stop.endMs + 200)
                    detected = true;
            }
            if (!upAtStop)
                continue;
            ++m_report.frozenChecks;
            if (detected)
                ++m_report.frozenDetected;
            else
                problem(u"%1 was frozen for %2 ms but %3 never declared the link down"_s.arg(nodeName(x))
                            .arg(stop.endMs - stop.startMs).arg(nodeName(nb)));
        }
    }
}

void Harness::shutdownHerd()
{
    std::array<bool, kNodes> terminated{};
    for (int n = 0; n < kNodes; ++n) {
        NodeProc &p = m_nodes[n];
        if (p.proc && p.proc->state() != QProcess::NotRunning) {
            p.expectExit = true;
            ::kill(pid_t(p.proc->processId()), SIGTERM);
            terminated[size_t(n)] = true;
        }
    }
    for (int n = 0; n < kNodes; ++n) {
        NodeProc &p = m_nodes[n];
        if (!terminated[size_t(n)])
            continue;
        if (p.proc->state() != QProcess::NotRunning && !p.proc->waitForFinished(10000)) {
            ++m_report.uncleanExits;
            problem(u"%1 did not stop within 10 s of SIGTERM"_s.arg(p.name));
            p.proc->kill();
            p.proc->waitForFinished(3000);
            continue;
        }
        if ((p.proc->exitStatus() != QProcess::NormalExit || p.proc->exitCode() != 0)) {
            ++m_report.uncleanExits;
            problem(u"%1 exited with %2 after SIGTERM; stderr: %3"_s.arg(p.name).arg(p.proc->exitCode())
                        .arg(QString::fromLocal8Bit(p.proc->readAllStandardError().right(1000))));
        }
        p.st = NodeProc::St::Down;
    }
}

// Checks the checker: loses acknowledged updates on purpose, behind the oracle's back. A node with
// state_dir is cut off from every neighbour, acknowledges fresh updates for a few clients, is
// SIGKILLed and restarted with its state files deleted. The oracle still counts those updates as
// durable, so the run must report them lost or stale (and fail).
void Harness::sabotage()
{
    int victim = -1;
    for (int n = 0; n < kNodes && victim < 0; ++n) {
        if (m_nodes[n].persistent && m_nodes[n].st == NodeProc::St::Up)
            victim = n;
    }
    if (victim < 0) {
        problem(u"sabotage: no persistent node is up"_s);
        return;
    }
    say(u"sabotage: isolating %1, giving it updates, SIGKILL, deleting its state files"_s.arg(nodeName(victim)));
    std::vector<int> isolated;
    for (int l = 0; l < kLinkCount; ++l) {
        if (kLinks[l][0] == victim || kLinks[l][1] == victim) {
            m_relays[size_t(2 * l)]->setMode(Relay::Mode::Reset);
            m_relays[size_t(2 * l + 1)]->setMode(Relay::Mode::Reset);
            isolated.push_back(l);
        }
    }
    QTcpSocket s;
    s.connectToHost(QHostAddress::LocalHost, m_nodes[victim].port);
    for (int ci = 0; ci < std::min(10, m_opt.clients); ++ci) {
        ClientState &c = m_clients[size_t(ci)];
        const qint64 k = c.counter++;
        const TimeKey key{m_base + k / 4, qint32((k % 4) * 250000000)};
        Rec r;
        r.time = formatTime(key);
        r.location = randomLocation();
        r.node = victim;
        r.incarnation = m_nodes[victim].incarnation;
        c.recs[key] = r;
        s.write("IAMAT " + c.id + ' ' + r.location + ' ' + r.time + '\n');
        QByteArray buf;
        spinUntil([&] {
            buf += s.readAll();
            return buf.contains('\n') || s.state() == QAbstractSocket::UnconnectedState;
        }, 5000);
        ++m_report.sent;
        if (buf.startsWith("AT "))
            ack(Pending{ci, key, victim, r.incarnation, 0, false}, buf.left(buf.indexOf('\n')));
    }
    s.abort();
    killNode(victim);
    m_nodes[victim].lostState.back() = false;   // the oracle is not told
    m_nodes[victim].proc->waitForFinished(3000);
    QDir state(m_stateDir);
    for (const QString &f : state.entryList({nodeName(victim) + u".*"_s}, QDir::Files))
        state.remove(f);
    startNode(victim);
    spinUntil([&] { return m_nodes[victim].st == NodeProc::St::Up; }, 10000);
    for (int l : isolated) {
        m_relays[size_t(2 * l)]->setMode(Relay::Mode::Forward);
        m_relays[size_t(2 * l + 1)]->setMode(Relay::Mode::Forward);
    }
}

// ---------------------------------------------------------------------------------------------
Report Harness::run()
{
    m_clock.start();
    if (!QFileInfo(m_opt.herdBinary).isExecutable()) {
        m_report.setupError = u"herd binary not found or not executable: %1"_s.arg(m_opt.herdBinary);
        return m_report;
    }
    if (!setup())
        return m_report;
    QStringList vol;
    for (const NodeProc &p : m_nodes) {
        if (!p.persistent)
            vol << p.name;
    }
    say(u"seed %1; herd %2; work dir %3; volatile (no state_dir): %4"_s.arg(m_opt.seed)
            .arg(m_opt.herdBinary, m_dir->path(), vol.isEmpty() ? u"none"_s : vol.join(u", "_s)));

    for (int n = 0; n < kNodes; ++n)
        startNode(n);
    if (!waitAllUp(20000)) {
        if (m_report.setupError.isEmpty())
            m_report.setupError = u"the herd did not start"_s;
        return m_report;
    }
    if (!warmUp())
        return m_report;
    say(u"herd connected; traffic for %1 s at %2 IAMAT/s over %3 clients, %4 workers"_s
            .arg(double(m_opt.trafficMs) / 1000.0).arg(m_opt.rate).arg(m_opt.clients).arg(m_opt.workers));

    planFaults();
    say(u"%1 faults planned"_s.arg(m_schedule.size()));
    const qint64 trafficStart = now();
    m_trafficEndMs = trafficStart + m_opt.trafficMs;
    startTraffic();
    for (size_t i = 0; i < m_schedule.size(); ++i) {
        auto *timer = new QTimer(this);
        timer->setSingleShot(true);
        timer->setTimerType(Qt::PreciseTimer);
        connect(timer, &QTimer::timeout, this, [this, i] { fireFault(i, 0); });
        timer->start(int(m_schedule[i].atMs));
        m_faultTimers.push_back(timer);
    }
    qint64 nextStatus = trafficStart + m_opt.statusEveryMs;
    qint64 lastAcked = 0;
    while (now() < m_trafficEndMs) {
        spinUntil([&] { return now() >= m_trafficEndMs || (m_opt.statusEveryMs > 0 && now() >= nextStatus); },
                  m_trafficEndMs - now());
        if (m_opt.statusEveryMs > 0 && now() >= nextStatus && now() < m_trafficEndMs) {
            say(u"status: %1 acknowledged (%2/s), %3 in doubt, %4 faults (%5 active), %6 problems"_s
                    .arg(m_report.acknowledged)
                    .arg(double(m_report.acknowledged - lastAcked) * 1000.0 / m_opt.statusEveryMs, 0, 'f', 0)
                    .arg(m_report.inDoubt).arg(m_report.faults).arg(m_activeFaults).arg(m_report.problems.size()));
            lastAcked = m_report.acknowledged;
            nextStatus += m_opt.statusEveryMs;
        }
    }
    stopTraffic();
    say(u"traffic stopped: %1 sent, %2 acknowledged, %3 in doubt; healing everything"_s
            .arg(m_report.sent).arg(m_report.acknowledged).arg(m_report.inDoubt));
    if (m_opt.sabotage)
        sabotage();
    healAll();
    if (!waitAllUp(30000))
        problem(u"not every node is serving 30 s after the heal"_s);
    say(u"healed; checking %1 clients on %2 nodes"_s.arg(m_clients.size()).arg(kNodes));
    converge();
    say(u"checked: convergence %1 ms, %2 sweeps"_s.arg(m_report.convergenceMs).arg(m_report.rounds));
    shutdownHerd();
    checkFrozenDetections();

    m_report.passed = m_report.setupError.isEmpty() && m_report.convergenceMs >= 0 && m_report.lost == 0
        && m_report.stale == 0 && m_report.bad == 0 && m_report.crashes == 0 && m_report.uncleanExits == 0
        && m_report.unansweredLive == 0 && m_report.protocolErrors == 0
        && m_report.frozenDetected == m_report.frozenChecks;
    // A sabotage run is meant to fail: nothing to keep from it either.
    if ((m_report.passed || m_opt.sabotage) && !m_opt.keep) {
        m_dir->setAutoRemove(true);
        m_report.workDir.clear();
    }
    return m_report;
}

} // namespace

// ---------------------------------------------------------------------------------------------
Options Options::shortRun()
{
    Options o;
    o.seed = 1;
    o.seedSet = true;
    o.trafficMs = 9000;
    o.rate = 150;
    o.clients = 200;
    o.workers = 6;
    o.faultGapMinMs = 700;
    o.faultGapMaxMs = 1400;
    o.maxConcurrentFaults = 2;
    o.convergeTimeoutMs = 30000;
    o.statusEveryMs = 0;
    return o;
}

Report run(const Options &options, const std::function<void(const QString &)> &print)
{
    Options o = options;
    if (!o.seedSet) {
        o.seed = std::random_device{}() % 1000000;
        o.seedSet = true;
    }
    Harness h(o, print);
    return h.run();
}

QString summary(const Report &r, const Options &o)
{
    QString s;
    auto line = [&s](const QString &l) { s += l + u'\n'; };
    line(u"herd-fault: seed %1"_s.arg(r.seed));
    if (!r.setupError.isEmpty()) {
        line(u"setup failed: "_s + r.setupError);
        if (!r.workDir.isEmpty())
            line(u"work dir kept: "_s + r.workDir);
        line(u"result: ERROR"_s);
        return s;
    }
    line(u"faults injected:      %1 (SIGKILL+restart %2: %3 from state_dir, %4 empty; SIGSTOP/SIGCONT %5; "
         "link cuts %6: %7 reset, %8 blackhole)"_s
             .arg(r.faults).arg(r.killsWithState + r.killsEmpty).arg(r.killsWithState).arg(r.killsEmpty)
             .arg(r.stops).arg(r.cutsReset + r.cutsBlackhole).arg(r.cutsReset).arg(r.cutsBlackhole)
         + (r.faultsSkipped > 0 ? u"; %1 planned faults skipped (target not ready)"_s.arg(r.faultsSkipped) : QString()));
    line(u"updates:              %1 sent, %2 acknowledged (%3 deliberately old), %4 in doubt (no reply: node killed, frozen or cut off)"_s
             .arg(r.sent).arg(r.acknowledged).arg(r.probes).arg(r.inDoubt));
    line(u"replies (not frozen): max %1 ms, %2 over 1 s, %3 unanswered, %4 protocol errors"_s
             .arg(r.maxLatencyMs).arg(r.slowReplies).arg(r.unansweredLive).arg(r.protocolErrors));
    line(u"frozen peer detected: %1/%2 neighbour links declared down during a SIGSTOP"_s
             .arg(r.frozenDetected).arg(r.frozenChecks));
    line(u"convergence after heal: %1"_s.arg(r.convergenceMs >= 0 ? u"%1 ms (%2 sweeps)"_s.arg(r.convergenceMs).arg(r.rounds)
                                                                   : u"NOT within %1 ms"_s.arg(o.convergeTimeoutMs)));
    line(u"clients checked:      %1 on %2 nodes: %3 answers exact, %4 newer (in doubt or from a killed volatile node), "
         "%5 unknown everywhere (never durably acknowledged)"_s
             .arg(r.clientsChecked).arg(r.nodesChecked).arg(r.exact).arg(r.newer).arg(r.unknownOk));
    line(u"lost:                 %1"_s.arg(r.lost));
    line(u"stale:                %1"_s.arg(r.stale));
    line(u"bad lines:            %1"_s.arg(r.bad));
    line(u"node crashes:         %1, unclean exits on SIGTERM: %2"_s.arg(r.crashes).arg(r.uncleanExits));
    for (const QString &p : r.problems)
        line(u"  problem: "_s + p);
    if (!r.workDir.isEmpty())
        line(u"work dir kept:        "_s + r.workDir);
    line(r.passed ? u"result: PASS"_s : u"result: FAIL"_s);
    return s;
}

QString usage()
{
    return uR"(Usage: herd-fault [options]

Fault harness with an oracle: runs the classic five-node herd (Hill, Jaquez, Smith, Campbell,
Singleton) as one `herd --headless` process per node on loopback, each link through a relay of
this program; drives IAMAT traffic to random live nodes while it SIGKILLs and restarts nodes,
SIGSTOPs and SIGCONTs them and cuts links (reset or blackhole); then heals everything, stops the
traffic and checks with WHATSAT <client> 1 1 that every node answers every client with the newest
acknowledged AT line. Exit status 0 when nothing is lost or stale, 1 otherwise, 2 on a usage or
setup error.

Options:
  --seed N              random seed of the schedule, clients and locations (default: random,
                        printed first)
  --minutes M           traffic and faults for M minutes (decimals allowed; default 1)
  --seconds S           the same in seconds
  --rate R              IAMATs per second in all (default 200)
  --clients N           client IDs (default 500)
  --workers N           client connections, one request in flight each (default 8)
  --volatile LIST       comma-separated nodes without state_dir: a SIGKILL restarts them empty
                        and only survivors' knowledge must converge (default Campbell; "none")
  --max-faults N        faults active at once (default 2)
  --fault-gap MIN,MAX   milliseconds between fault starts (default 500,2500)
  --fault-scale F       multiply fault durations by F (default 1: kills 0.3-2 s down, stops
                        1-2.5 s past the dead threshold, cuts 0.6-3 s; 5: outages that
                        overflow the per-peer queues at high rates)
  --heartbeat-ms N      peers.heartbeat_ms of every node (default 200; dead after 5 missed)
  --converge-timeout S  seconds allowed for convergence after the heal (default 60)
  --no-secret           no peer secret (default: HMAC peer handshake on)
  --short               the ctest scenario: seed 1, 9 s, 150/s, 200 clients
  --herd PATH           the herd binary (default: the one built next to this tool, or $HERD_BINARY)
  --sabotage            check the checker: after the traffic, lose acknowledged updates on
                        purpose (isolate a node with state_dir, let it acknowledge updates,
                        SIGKILL it, delete its state files); the run must then FAIL
  --keep                keep the work directory (configs, logs, state) even on success
  --quiet               print only the summary
  -h, --help            this text

Examples:
  build/tests/herd-fault --short
  build/tests/herd-fault --minutes 10 --seed 42
  build/tests/herd-fault --minutes 3 --rate 400 --max-faults 3 --volatile Campbell,Hill
)"_s;
}

bool parseCommandLine(const QStringList &args, Options *o, bool *help, QString *error)
{
    *help = false;
    auto number = [&](int &i, const QString &opt, double min, double max, double *out) {
        if (i + 1 >= args.size()) {
            *error = u"%1 needs a value"_s.arg(opt);
            return false;
        }
        bool ok = false;
        const double v = args[++i].toDouble(&ok);
        if (!ok || v < min || v > max) {
            *error = u"%1: \"%2\" is not a number from %3 to %4"_s.arg(opt, args[i]).arg(min).arg(max);
            return false;
        }
        *out = v;
        return true;
    };
    for (int i = 1; i < args.size(); ++i) {
        const QString &a = args[i];
        double v = 0;
        if (a == u"-h"_s || a == u"--help"_s) {
            *help = true;
            return true;
        } else if (a == u"--short"_s) {
            const QString herd = o->herdBinary;
            *o = Options::shortRun();
            o->herdBinary = herd;
        } else if (a == u"--seed"_s) {
            if (!number(i, a, 0, 9e15, &v))
                return false;
            o->seed = quint64(v);
            o->seedSet = true;
        } else if (a == u"--minutes"_s) {
            if (!number(i, a, 0.01, 100000, &v))
                return false;
            o->trafficMs = qint64(v * 60000);
        } else if (a == u"--seconds"_s) {
            if (!number(i, a, 1, 6000000, &v))
                return false;
            o->trafficMs = qint64(v * 1000);
        } else if (a == u"--rate"_s) {
            if (!number(i, a, 1, 100000, &v))
                return false;
            o->rate = int(v);
        } else if (a == u"--clients"_s) {
            if (!number(i, a, 1, 1000000, &v))
                return false;
            o->clients = int(v);
        } else if (a == u"--workers"_s) {
            if (!number(i, a, 1, 1000, &v))
                return false;
            o->workers = int(v);
        } else if (a == u"--max-faults"_s) {
            if (!number(i, a, 1, 20, &v))
                return false;
            o->maxConcurrentFaults = int(v);
        } else if (a == u"--fault-scale"_s) {
            if (!number(i, a, 0.1, 100, &v))
                return false;
            o->faultScale = v;
        } else if (a == u"--heartbeat-ms"_s) {
            if (!number(i, a, 10, 60000, &v))
                return false;
            o->heartbeatMs = int(v);
        } else if (a == u"--converge-timeout"_s) {
            if (!number(i, a, 1, 3600, &v))
                return false;
            o->convergeTimeoutMs = qint64(v * 1000);
        } else if (a == u"--fault-gap"_s) {
            const QStringList parts = i + 1 < args.size() ? args[++i].split(u',') : QStringList();
            bool ok1 = false, ok2 = false;
            const int lo = parts.size() == 2 ? parts[0].toInt(&ok1) : 0;
            const int hi = parts.size() == 2 ? parts[1].toInt(&ok2) : 0;
            if (!ok1 || !ok2 || lo < 10 || hi < lo) {
                *error = u"--fault-gap needs MIN,MAX in milliseconds (10 <= MIN <= MAX)"_s;
                return false;
            }
            o->faultGapMinMs = lo;
            o->faultGapMaxMs = hi;
        } else if (a == u"--volatile"_s) {
            if (i + 1 >= args.size()) {
                *error = u"--volatile needs a value"_s;
                return false;
            }
            const QString v2 = args[++i];
            o->volatileNodes.clear();
            if (v2 != u"none"_s) {
                for (const QString &n : v2.split(u',', Qt::SkipEmptyParts)) {
                    bool known = false;
                    for (const char *name : kNames)
                        known = known || n == QLatin1String(name);
                    if (!known) {
                        *error = u"--volatile: \"%1\" is not a node (Hill, Jaquez, Smith, Campbell, Singleton)"_s.arg(n);
                        return false;
                    }
                    o->volatileNodes << n;
                }
            }
        } else if (a == u"--no-secret"_s) {
            o->secret = false;
        } else if (a == u"--herd"_s) {
            if (i + 1 >= args.size()) {
                *error = u"--herd needs a path"_s;
                return false;
            }
            o->herdBinary = args[++i];
        } else if (a == u"--sabotage"_s) {
            o->sabotage = true;
        } else if (a == u"--keep"_s) {
            o->keep = true;
        } else if (a == u"--quiet"_s) {
            o->quiet = true;
        } else {
            *error = u"unknown option \"%1\" (see --help)"_s.arg(a);
            return false;
        }
    }
    return true;
}

} // namespace herdfault
