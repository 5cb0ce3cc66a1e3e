// herd-bench: a load generator for herd (client protocol and flooding) and for herd-epoll-ceiling.
//
// Plain C++ on raw non-blocking sockets and epoll, no Qt and no herdcore: the generator shares the
// machine with the server it measures, so it must cost less than the server. Each load thread owns
// one epoll set and a share of the connections, and does one recv and at most one send per
// readiness event; pipelined requests are batched into that one send.
//
// Modes (see --help): iamat (throughput and latency), flood (time until every node of a herd
// holds an update, idle and under background load), whatsat (WHATSAT throughput), preload (store
// N clients with a known ID prefix, for iamat/whatsat --tag to reuse), free-port.
// Output: a human-readable table, then one final line of JSON.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdarg>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <latch>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000ULL;
constexpr size_t kReadBytes = 256 * 1024;   // one recv per readiness event, at most this much

uint64_t monoNs()
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * kNsPerSec + uint64_t(ts.tv_nsec);
}

uint64_t wallNs()
{
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * kNsPerSec + uint64_t(ts.tv_nsec);
}

void sleepUntil(uint64_t monoDeadlineNs)
{
    timespec ts{};
    ts.tv_sec = time_t(monoDeadlineNs / kNsPerSec);
    ts.tv_nsec = long(monoDeadlineNs % kNsPerSec);
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

[[noreturn]] void die(const std::string &message)
{
    std::fprintf(stderr, "herd-bench: %s\n", message.c_str());
    std::exit(2);
}

void appendUint(std::string &out, uint64_t v)
{
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, size_t(r.ptr - buf));
}

// POSIX seconds with exactly 9 fraction digits, as a client would send them.
void appendClientTime(std::string &out, uint64_t ns)
{
    appendUint(out, ns / kNsPerSec);
    char frac[10];
    uint64_t f = ns % kNsPerSec;
    frac[0] = '.';
    for (int i = 9; i >= 1; --i) {
        frac[i] = char('0' + f % 10);
        f /= 10;
    }
    out.append(frac, 10);
}

std::string fmt(const char *format, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char *format, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, format);
    const int n = std::vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    return std::string(buf, size_t(std::clamp(n, 0, int(sizeof buf) - 1)));
}

// Log-linear latency histogram in nanoseconds: 64 sub-buckets per power of two, so a reported
// percentile is within 1.6% of the true value; fixed size (30 KiB), cheap to record and merge.
class Histogram {
public:
    Histogram() : m_counts(kBuckets, 0) {}

    void record(uint64_t ns)
    {
        ++m_counts[index(ns)];
        ++m_total;
        m_sum += ns;
        m_max = std::max(m_max, ns);
    }

    void merge(const Histogram &o)
    {
        for (size_t i = 0; i < kBuckets; ++i)
            m_counts[i] += o.m_counts[i];
        m_total += o.m_total;
        m_sum += o.m_sum;
        m_max = std::max(m_max, o.m_max);
    }

    uint64_t count() const { return m_total; }
    double maxUs() const { return double(m_max) / 1e3; }
    double meanUs() const { return m_total ? double(m_sum) / double(m_total) / 1e3 : 0.0; }

    // The value at quantile q (0..1) in microseconds: the middle of its bucket, capped at max.
    double percentileUs(double q) const
    {
        if (m_total == 0)
            return 0.0;
        const uint64_t rank = std::max<uint64_t>(1, uint64_t(std::ceil(q * double(m_total))));
        uint64_t seen = 0;
        for (size_t i = 0; i < kBuckets; ++i) {
            seen += m_counts[i];
            if (seen >= rank) {
                const auto [low, width] = bucketRange(i);
                return double(std::min(m_max, low + width / 2)) / 1e3;
            }
        }
        return maxUs();
    }

private:
    static constexpr int kSubBits = 6;
    static constexpr uint64_t kSub = 1u << kSubBits;
    static constexpr size_t kBuckets = (64 - kSubBits + 1) * kSub;

    static size_t index(uint64_t v)
    {
        if (v < kSub)
            return size_t(v);
        const int msb = 63 - std::countl_zero(v);
        const int shift = msb - kSubBits;
        return size_t(shift + 1) * kSub + size_t((v >> shift) - kSub);
    }

    static std::pair<uint64_t, uint64_t> bucketRange(size_t i)
    {
        if (i < kSub)
            return {uint64_t(i), 1};
        const int shift = int(i / kSub) - 1;
        return {(kSub + i % kSub) << shift, uint64_t(1) << shift};
    }

    std::vector<uint64_t> m_counts;
    uint64_t m_total = 0;
    uint64_t m_sum = 0;
    uint64_t m_max = 0;
};

// ---------------------------------------------------------------------------------------------
// Command line

struct Options {
    std::string mode;
    std::string host = "127.0.0.1";
    std::vector<uint16_t> ports;
    int connections = 64;
    int depth = 16;              // requests in flight per connection
    double durationS = 5;
    double warmupS = 1;
    bool newClients = true;      // iamat: a fresh client ID per request, else a fixed pool
    int pool = 10000;            // client IDs in the repeat / whatsat pool
    double rate = 0;             // requests/s across all connections (flood: updates/s); 0 = max
    int threads = 1;
    int updates = 1000;          // flood: measured updates per phase
    bool spread = false;         // flood: send each update to the next node in turn
    double background = 0;       // flood: IAMAT/s of other traffic in the loaded phase
    int bgConnections = 0;       // flood: background connections (0: 4 per node)
    double timeoutS = 2;         // flood: an update not everywhere after this is lost
    int verify = 0;              // iamat: check this many acked clients on every port afterwards
    std::vector<uint16_t> verifyPorts;   // where to check them (default: the load's ports)
    std::string radius = "10";   // whatsat
    std::string tag;             // client ID prefix (default: a fresh one per run)
    int bound = 5;               // whatsat
};

void usage(FILE *to)
{
    std::fputs(
        "usage: herd-bench MODE [options]\n"
        "\n"
        "modes:\n"
        "  iamat     pipelined IAMAT load: requests/s and latency p50/p99/p99.9\n"
        "  flood     time until every node of a herd holds an update (idle, then --background)\n"
        "  whatsat   IAMAT a pool of clients, then pipelined WHATSAT load\n"
        "  preload   IAMAT clients <tag>p0 .. <tag>p(N-1) once each (--pool N), wait for every\n"
        "            reply: a store of N known clients for iamat/whatsat --tag\n"
        "  free-port print a TCP port that is free on --host right now, and exit\n"
        "\n"
        "common:\n"
        "  --host ADDR           IPv4 address of the node(s) (default 127.0.0.1)\n"
        "  --port P | --ports P1,P2,...  node ports; load modes spread connections over them\n"
        "  --connections N       connections (default 64)\n"
        "  --depth D             requests in flight per connection (default 16)\n"
        "  --duration SEC        measured time (default 5)\n"
        "  --warmup SEC          load before measuring, not counted (default 1)\n"
        "  --threads T           load threads, each with its own epoll set (default 1)\n"
        "  --rate R              target requests/s over all connections (0: as fast as possible);\n"
        "                        paced latency counts from the scheduled send time\n"
        "  --tag T               client ID prefix (default: a fresh one per run); with the tag of a\n"
        "                        preload, iamat --clients repeat and whatsat use its stored clients\n"
        "                        (whatsat then skips its own IAMAT setup)\n"
        "iamat:\n"
        "  --clients new|repeat  a fresh client ID per request, or a fixed pool (default new)\n"
        "  --pool N              repeat/whatsat: client IDs in the pool (default 10000)\n"
        "  --verify N            afterwards, check N acknowledged clients are held by every port\n"
        "  --verify-ports P,...  the ports to check (default: the load's ports), e.g. the whole herd\n"
        "flood:\n"
        "  --updates N           measured updates per phase, one at a time (default 1000)\n"
        "  --rate R              at most R updates/s (default 0: back to back)\n"
        "  --spread              send update i to node i mod n (default: always the first)\n"
        "  --background R        add a phase with R IAMAT/s of other traffic over all nodes\n"
        "  --bg-connections N    connections for that traffic (default 4 per node)\n"
        "  --timeout SEC         an update not held everywhere by then counts as lost (default 2)\n"
        "whatsat:\n"
        "  --radius KM --bound N WHATSAT arguments (default 10 and 5)\n"
        "preload:\n"
        "  --pool N              clients to store (default 10000), over --connections (one thread\n"
        "                        each, batches of 1024 in flight twice; default here 4)\n",
        to);
}

double parseDouble(const std::string &key, const std::string &v)
{
    char *end = nullptr;
    errno = 0;
    const double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || errno != 0 || !std::isfinite(d) || d < 0)
        die(key + ": not a non-negative number: \"" + v + "\"");
    return d;
}

int parseInt(const std::string &key, const std::string &v, int min, int max)
{
    int i = 0;
    const auto r = std::from_chars(v.data(), v.data() + v.size(), i);
    if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size() || i < min || i > max)
        die(fmt("%s: not an integer from %d to %d: \"%s\"", key.c_str(), min, max, v.c_str()));
    return i;
}

Options parseOptions(int argc, char **argv)
{
    Options o;
    bool connectionsGiven = false;
    if (argc < 2)
        die("no mode given (see --help)");
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args[0] == "--help" || args[0] == "-h") {
        usage(stdout);
        std::exit(0);
    }
    o.mode = args[0];
    if (o.mode != "iamat" && o.mode != "flood" && o.mode != "whatsat" && o.mode != "preload"
        && o.mode != "free-port")
        die("unknown mode \"" + o.mode + "\" (see --help)");
    for (size_t i = 1; i < args.size(); ++i) {
        std::string key = args[i];
        std::string value;
        bool hasValue = false;
        if (const size_t eq = key.find('='); eq != std::string::npos) {
            value = key.substr(eq + 1);
            key.resize(eq);
            hasValue = true;
        }
        if (key == "--help" || key == "-h") {
            usage(stdout);
            std::exit(0);
        }
        if (key == "--spread") {
            o.spread = true;
            continue;
        }
        if (!hasValue) {
            if (i + 1 >= args.size())
                die(key + ": needs a value");
            value = args[++i];
        }
        if (key == "--host") {
            o.host = value;
        } else if (key == "--port" || key == "--ports" || key == "--verify-ports") {
            std::vector<uint16_t> &list = key == "--verify-ports" ? o.verifyPorts : o.ports;
            size_t start = 0;
            while (start <= value.size()) {
                const size_t comma = std::min(value.find(',', start), value.size());
                list.push_back(uint16_t(parseInt(key, value.substr(start, comma - start), 1, 65535)));
                start = comma + 1;
            }
        } else if (key == "--connections") {
            o.connections = parseInt(key, value, 1, 1'000'000);
            connectionsGiven = true;
        } else if (key == "--depth") {
            o.depth = parseInt(key, value, 1, 1'000'000);
        } else if (key == "--duration") {
            o.durationS = parseDouble(key, value);
        } else if (key == "--warmup") {
            o.warmupS = parseDouble(key, value);
        } else if (key == "--clients") {
            if (value != "new" && value != "repeat")
                die("--clients: new or repeat, not \"" + value + "\"");
            o.newClients = value == "new";
        } else if (key == "--pool") {
            o.pool = parseInt(key, value, 1, 100'000'000);
        } else if (key == "--rate") {
            o.rate = parseDouble(key, value);
        } else if (key == "--threads") {
            o.threads = parseInt(key, value, 1, 256);
        } else if (key == "--updates") {
            o.updates = parseInt(key, value, 1, 100'000'000);
        } else if (key == "--background") {
            o.background = parseDouble(key, value);
        } else if (key == "--bg-connections") {
            o.bgConnections = parseInt(key, value, 1, 100'000);
        } else if (key == "--timeout") {
            o.timeoutS = parseDouble(key, value);
        } else if (key == "--verify") {
            o.verify = parseInt(key, value, 0, 10'000'000);
        } else if (key == "--tag") {
            if (value.empty() || value.size() > 64
                || value.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
                    != std::string::npos)
                die("--tag: 1 to 64 characters from A-Z a-z 0-9 . _ -");
            o.tag = value;
        } else if (key == "--radius") {
            o.radius = value;
        } else if (key == "--bound") {
            o.bound = parseInt(key, value, 1, 1000);
        } else {
            die("unknown option \"" + key + "\" (see --help)");
        }
    }
    if (o.mode == "preload" && !connectionsGiven)
        o.connections = 4;   // one thread each
    if (o.ports.empty() && o.mode != "free-port")
        die("--port or --ports is required");
    if (o.durationS <= 0)
        die("--duration must be positive");
    return o;
}

// ---------------------------------------------------------------------------------------------
// Sockets

sockaddr_in makeAddr(const std::string &host, uint16_t port)
{
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
        die("--host: not an IPv4 address: \"" + host + "\"");
    return addr;
}

// A blocking connect (loopback answers at once), then non-blocking with Nagle off: requests are
// batched by us, and Nagle would only add delay to the last partial segment.
int connectTo(const std::string &host, uint16_t port, std::string *error)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *error = fmt("socket: %s", std::strerror(errno));
        return -1;
    }
    const sockaddr_in addr = makeAddr(host, port);
    if (::connect(fd, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) != 0) {
        *error = fmt("connect %s:%u: %s", host.c_str(), unsigned(port), std::strerror(errno));
        ::close(fd);
        return -1;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    return fd;
}

// Sends everything, waiting for writability when the kernel buffer is full. For setup and
// probes, not the load loop.
bool sendAll(int fd, std::string_view data)
{
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
            data.remove_prefix(size_t(n));
        } else if (n < 0 && errno == EAGAIN) {
            pollfd p{fd, POLLOUT, 0};
            ::poll(&p, 1, 1000);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return false;
        }
    }
    return true;
}

// A blocking line reader over a non-blocking socket, for setup and verification.
class LineReader {
public:
    explicit LineReader(int fd) : m_fd(fd) {}

    // One line without its '\n' (and '\r'); false on close, error or deadline.
    bool readLine(std::string &line, uint64_t deadlineNs)
    {
        for (;;) {
            const size_t nl = m_buf.find('\n', m_pos);
            if (nl != std::string::npos) {
                size_t end = nl;
                if (end > m_pos && m_buf[end - 1] == '\r')
                    --end;
                line.assign(m_buf, m_pos, end - m_pos);
                m_pos = nl + 1;
                if (m_pos > 65536) {
                    m_buf.erase(0, m_pos);
                    m_pos = 0;
                }
                return true;
            }
            const uint64_t now = monoNs();
            if (now >= deadlineNs)
                return false;
            pollfd p{m_fd, POLLIN, 0};
            const int wait = int(std::min<uint64_t>((deadlineNs - now) / 1'000'000 + 1, 1000));
            if (::poll(&p, 1, wait) <= 0)
                continue;
            char buf[65536];
            const ssize_t n = ::recv(m_fd, buf, sizeof buf, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                return false;
            if (n > 0)
                m_buf.append(buf, size_t(n));
        }
    }

    // A whole WHATSAT answer: its first line; the rest (up to the blank line) is consumed.
    bool readAnswer(std::string &first, uint64_t deadlineNs)
    {
        if (!readLine(first, deadlineNs))
            return false;
        if (!first.starts_with("AT "))
            return true;   // "? ..." is a single line
        std::string line;
        do {
            if (!readLine(line, deadlineNs))
                return false;
        } while (!line.empty());
        return true;
    }

private:
    int m_fd;
    std::string m_buf;
    size_t m_pos = 0;
};

// A location near the bundled offline places (UCLA), so WHATSAT answers carry results.
constexpr std::string_view kLocation = "+34.068930-118.445127";

// A tag in every client ID of this run, so repeated runs against one herd never collide with
// (older or newer) updates of an earlier run.
std::string runTag()
{
    return fmt("hb%" PRIx64 ".", uint64_t((wallNs() / 1000) & 0xffffffffffULL));
}

// ---------------------------------------------------------------------------------------------
// The load engine: iamat, whatsat, and flood's background traffic.

enum class Kind { Iamat, Whatsat };

struct LoadSpec {
    Kind kind = Kind::Iamat;
    std::string host;
    std::vector<uint16_t> ports;
    int connections = 1;
    int depth = 1;
    int threads = 1;
    bool newClients = true;
    int pool = 1;
    double rate = 0;
    std::string idPrefix;        // runTag()
    std::string whatsatTail;     // " <radius> <bound>\n"
};

struct LoadResult {
    Histogram latency;           // replies received inside the measured window
    uint64_t windowReplies = 0;
    uint64_t totalReplies = 0;
    uint64_t sent = 0;
    uint64_t questionReplies = 0;   // "? ..." answers
    uint64_t badReplies = 0;        // anything else that is not an AT line
    uint64_t disconnects = 0;       // connections the server closed or reset
    double measuredS = 0;
    std::vector<std::pair<int, uint64_t>> acked;   // (connection index, replies received)
    std::string error;
};

// Client IDs are derived from (connection, request number), so nothing per request is stored and
// verification can rebuild the ID of any acknowledged request.
void appendClientId(std::string &out, const LoadSpec &s, int conn, uint64_t seq)
{
    out += s.idPrefix;
    if (s.kind == Kind::Iamat && s.newClients) {
        appendUint(out, uint64_t(conn));
        out.push_back('.');
        appendUint(out, seq);
        return;
    }
    uint64_t idx;
    const auto pool = uint64_t(s.pool);
    const auto n = uint64_t(s.connections);
    if (s.kind == Kind::Whatsat) {
        idx = (uint64_t(conn) * 7919 + seq) % pool;
    } else if (pool >= n) {
        // Each connection owns the IDs congruent to it modulo n, so the times it sends for an ID
        // only grow and every update is stored (and, in a herd, flooded).
        const uint64_t owned = (pool - 1 - uint64_t(conn)) / n + 1;
        idx = uint64_t(conn) + (seq % owned) * n;
    } else {
        idx = uint64_t(conn) % pool;
    }
    out.push_back('p');
    appendUint(out, idx);
}

struct Conn {
    int fd = -1;
    int index = 0;               // global connection number
    bool alive = false;
    bool wantOut = false;        // EPOLLOUT armed
    bool inBody = false;         // WHATSAT: between its AT line and the blank line
    bool replyOk = false;        // WHATSAT: the reply being read began with "AT "
    std::string out;
    size_t outPos = 0;
    std::string carry;           // a partial line from earlier reads
    std::vector<uint64_t> sentAt;   // FIFO ring of send times (ns), one per request in flight
    uint64_t head = 0;           // requests answered
    uint64_t tail = 0;           // requests generated
    uint64_t lastClientNs = 0;   // client time of the last IAMAT: strictly increasing
    size_t mask = 0;

    uint64_t inFlight() const { return tail - head; }
};

struct Window {
    uint64_t startNs = 0;
    uint64_t measureStartNs = 0;
    uint64_t endNs = UINT64_MAX;
    const std::atomic<bool> *stop = nullptr;   // background: run until set
};

class LoadThread {
public:
    LoadThread(const LoadSpec &spec, int threadIndex) : m_spec(spec), m_threadIndex(threadIndex) {}

    // Connects this thread's share: connections i with i mod threads == threadIndex.
    bool connectAll()
    {
        m_epfd = ::epoll_create1(EPOLL_CLOEXEC);
        size_t ring = 1;
        while (ring < size_t(m_spec.depth))
            ring <<= 1;
        for (int i = m_threadIndex; i < m_spec.connections; i += m_spec.threads) {
            auto c = std::make_unique<Conn>();
            c->index = i;
            c->fd = connectTo(m_spec.host, m_spec.ports[size_t(i) % m_spec.ports.size()], &m_result.error);
            if (c->fd < 0)
                return false;
            c->alive = true;
            c->sentAt.assign(ring, 0);
            c->mask = ring - 1;
            epoll_event ev{};
            ev.events = EPOLLIN | EPOLLRDHUP;
            ev.data.ptr = c.get();
            ::epoll_ctl(m_epfd, EPOLL_CTL_ADD, c->fd, &ev);
            m_conns.push_back(std::move(c));
        }
        return true;
    }

    void run(const Window &w)
    {
        m_window = w;
        m_buf.resize(kReadBytes);
        std::vector<epoll_event> events(512);
        const bool paced = m_spec.rate > 0;
        // Each thread paces its share; threads are staggered so their sends interleave.
        const double interval = paced ? 1e9 * m_spec.threads / m_spec.rate : 0;
        double nextDue = double(w.startNs) + interval * m_threadIndex / m_spec.threads;
        size_t rr = 0;

        if (!paced) {
            const uint64_t now = monoNs();
            for (auto &c : m_conns) {
                while (c->inFlight() < uint64_t(m_spec.depth))
                    enqueue(*c, now);
                flush(*c);
            }
        }
        for (;;) {
            uint64_t now = monoNs();
            if (now >= w.endNs || (w.stop && w.stop->load(std::memory_order_relaxed)))
                break;
            if (paced) {
                // Issue every request that is due, on the next connection with a free slot. A
                // request that finds none stays due: it goes out late, and its latency counts
                // from when it was due (no coordinated omission).
                while (nextDue <= double(now)) {
                    Conn *chosen = nullptr;
                    for (size_t tries = 0; tries < m_conns.size(); ++tries) {
                        Conn &c = *m_conns[rr];
                        rr = rr + 1 == m_conns.size() ? 0 : rr + 1;
                        if (c.alive && c.inFlight() < uint64_t(m_spec.depth)) {
                            chosen = &c;
                            break;
                        }
                    }
                    if (!chosen)
                        break;
                    // An empty output buffer means it is not yet on the dirty list (nor
                    // waiting for EPOLLOUT, which flushes by itself).
                    if (chosen->out.empty())
                        m_dirty.push_back(chosen);
                    enqueue(*chosen, uint64_t(nextDue));
                    nextDue += interval;
                }
                for (Conn *c : m_dirty)
                    flush(*c);
                m_dirty.clear();
            }
            uint64_t waitNs = std::min<uint64_t>(w.endNs - now, 20'000'000);   // re-check stop
            if (paced)
                waitNs = std::min<uint64_t>(waitNs, nextDue > double(now) ? uint64_t(nextDue) - now : 0);
            const timespec ts{time_t(waitNs / kNsPerSec), long(waitNs % kNsPerSec)};
            const int n = ::epoll_pwait2(m_epfd, events.data(), int(events.size()), &ts, nullptr);
            if (n < 0 && errno != EINTR) {
                m_result.error = fmt("epoll_pwait2: %s", std::strerror(errno));
                break;
            }
            for (int i = 0; i < n; ++i) {
                Conn &c = *static_cast<Conn *>(events[size_t(i)].data.ptr);
                if (!c.alive)
                    continue;
                const uint32_t e = events[size_t(i)].events;
                if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                    readFrom(c, paced);
                if (c.alive && (e & EPOLLOUT))
                    flush(c);
            }
        }
        for (auto &c : m_conns) {
            m_result.acked.emplace_back(c->index, c->head);
            if (c->fd >= 0)
                ::close(c->fd);
            c->fd = -1;
        }
        ::close(m_epfd);
    }

    LoadResult &result() { return m_result; }

private:
    void enqueue(Conn &c, uint64_t sentNs)
    {
        const uint64_t seq = c.tail;
        if (m_spec.kind == Kind::Iamat) {
            c.out.append("IAMAT ");
            appendClientId(c.out, m_spec, c.index, seq);
            c.out.push_back(' ');
            c.out.append(kLocation);
            c.out.push_back(' ');
            c.lastClientNs = std::max(wallNs(), c.lastClientNs + 1);
            appendClientTime(c.out, c.lastClientNs);
            c.out.push_back('\n');
        } else {
            c.out.append("WHATSAT ");
            appendClientId(c.out, m_spec, c.index, seq);
            c.out.append(m_spec.whatsatTail);
        }
        c.sentAt[seq & c.mask] = sentNs;
        ++c.tail;
        ++m_result.sent;
    }

    void flush(Conn &c)
    {
        while (c.outPos < c.out.size()) {
            const ssize_t n = ::send(c.fd, c.out.data() + c.outPos, c.out.size() - c.outPos, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno != EAGAIN)
                    lose(c);
                break;
            }
            c.outPos += size_t(n);
        }
        if (!c.alive)
            return;
        if (c.outPos == c.out.size()) {
            c.out.clear();
            c.outPos = 0;
        }
        const bool want = c.outPos < c.out.size();
        if (want != c.wantOut) {
            c.wantOut = want;
            epoll_event ev{};
            ev.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u);
            ev.data.ptr = &c;
            ::epoll_ctl(m_epfd, EPOLL_CTL_MOD, c.fd, &ev);
        }
    }

    void lose(Conn &c)
    {
        ++m_result.disconnects;
        ::close(c.fd);
        c.fd = -1;
        c.alive = false;
    }

    // One complete reply: pops its send time; counts and times it if inside the window.
    void completeReply(Conn &c, bool ok, bool question, uint64_t now)
    {
        if (c.head == c.tail) {
            ++m_result.badReplies;   // a reply nobody asked for
            return;
        }
        const uint64_t sent = c.sentAt[c.head & c.mask];
        ++c.head;
        ++m_result.totalReplies;
        if (!ok)
            ++(question ? m_result.questionReplies : m_result.badReplies);
        if (now >= m_window.measureStartNs && now < m_window.endNs) {
            ++m_result.windowReplies;
            m_result.latency.record(now > sent ? now - sent : 0);
        }
    }

    void onLine(Conn &c, std::string_view line, uint64_t now)
    {
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (m_spec.kind == Kind::Iamat) {
            completeReply(c, line.starts_with("AT "), line.starts_with("? "), now);
            return;
        }
        // WHATSAT: the AT line, the JSON (no blank line inside), then a blank line; or "? ...".
        if (c.inBody) {
            if (line.empty()) {
                c.inBody = false;
                completeReply(c, c.replyOk, false, now);
            }
            return;
        }
        if (line.starts_with("AT ")) {
            c.inBody = true;
            c.replyOk = true;
        } else {
            completeReply(c, false, line.starts_with("? "), now);
        }
    }

    void readFrom(Conn &c, bool paced)
    {
        const ssize_t n = ::recv(c.fd, m_buf.data(), m_buf.size(), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            lose(c);
            return;
        }
        const uint64_t now = monoNs();
        std::string_view data(m_buf.data(), size_t(n));
        if (!c.carry.empty()) {
            const size_t nl = data.find('\n');
            if (nl == std::string_view::npos) {
                c.carry.append(data);
                return;
            }
            c.carry.append(data.substr(0, nl));
            onLine(c, c.carry, now);
            c.carry.clear();
            data.remove_prefix(nl + 1);
        }
        for (;;) {
            const void *nlp = std::memchr(data.data(), '\n', data.size());
            if (!nlp)
                break;
            const size_t nl = size_t(static_cast<const char *>(nlp) - data.data());
            onLine(c, data.substr(0, nl), now);
            data.remove_prefix(nl + 1);
        }
        if (!data.empty())
            c.carry.assign(data);
        if (!paced) {
            // Closed loop: every answer is replaced at once, keeping depth requests in flight.
            while (c.inFlight() < uint64_t(m_spec.depth))
                enqueue(c, now);
        }
        flush(c);
    }

    const LoadSpec &m_spec;
    int m_threadIndex;
    int m_epfd = -1;
    std::vector<std::unique_ptr<Conn>> m_conns;
    std::vector<Conn *> m_dirty;
    std::vector<char> m_buf;
    Window m_window;
    LoadResult m_result;
};

// Runs the load: warm-up then measured duration, or until *stop when stop is given.
LoadResult runLoad(const LoadSpec &spec, double warmupS, double durationS, const std::atomic<bool> *stop)
{
    const int threads = std::min(spec.threads, spec.connections);
    LoadSpec s = spec;
    s.threads = threads;
    std::vector<std::unique_ptr<LoadThread>> workers;
    for (int t = 0; t < threads; ++t)
        workers.push_back(std::make_unique<LoadThread>(s, t));
    std::latch connected(threads);
    std::latch go(1);
    std::atomic<bool> failed{false};
    Window w;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            LoadThread &worker = *workers[size_t(t)];
            const bool ok = worker.connectAll();
            if (!ok)
                failed = true;
            connected.count_down();
            go.wait();
            if (ok && !failed)
                worker.run(w);
        });
    }
    connected.wait();
    w.startNs = monoNs();
    w.measureStartNs = w.startNs + uint64_t(warmupS * 1e9);
    w.endNs = stop ? UINT64_MAX : w.measureStartNs + uint64_t(durationS * 1e9);
    w.stop = stop;
    go.count_down();
    for (auto &th : pool)
        th.join();
    const uint64_t finished = monoNs();

    LoadResult total;
    for (auto &worker : workers) {
        LoadResult &r = worker->result();
        if (!r.error.empty() && total.error.empty())
            total.error = r.error;
        total.latency.merge(r.latency);
        total.windowReplies += r.windowReplies;
        total.totalReplies += r.totalReplies;
        total.sent += r.sent;
        total.questionReplies += r.questionReplies;
        total.badReplies += r.badReplies;
        total.disconnects += r.disconnects;
        total.acked.insert(total.acked.end(), r.acked.begin(), r.acked.end());
    }
    total.measuredS = double(std::min(finished, w.endNs) - std::min(w.measureStartNs, finished)) / 1e9;
    return total;
}

LoadSpec loadSpecFrom(const Options &o, Kind kind, const std::string &tag)
{
    LoadSpec s;
    s.kind = kind;
    s.host = o.host;
    s.ports = o.ports;
    s.connections = o.connections;
    s.depth = o.depth;
    s.threads = o.threads;
    s.newClients = o.newClients;
    s.pool = o.pool;
    s.rate = o.rate;
    s.idPrefix = tag;
    s.whatsatTail = " " + o.radius + " " + std::to_string(o.bound) + "\n";
    return s;
}

std::string portsJson(const std::vector<uint16_t> &ports)
{
    std::string s = "[";
    for (size_t i = 0; i < ports.size(); ++i)
        s += (i ? "," : "") + std::to_string(ports[i]);
    return s + "]";
}

std::string portsText(const std::vector<uint16_t> &ports)
{
    std::string s;
    for (size_t i = 0; i < ports.size(); ++i)
        s += (i ? "," : "") + std::to_string(ports[i]);
    return s;
}

struct VerifyResult {
    uint64_t checked = 0;   // (client, port) pairs
    uint64_t missing = 0;
};

// Asks every port for a sample of acknowledged clients (evenly spread, always each connection's
// last one) until it answers with their AT line, or 5 s pass: "none lost" checked from outside.
VerifyResult verifyHeld(const LoadSpec &spec, const LoadResult &r, int samples, const std::vector<uint16_t> &ports)
{
    std::vector<std::string> ids;
    const size_t perConn = std::max<size_t>(1, size_t(samples) / std::max<size_t>(1, r.acked.size()));
    for (const auto &[conn, acked] : r.acked) {
        if (acked == 0)
            continue;
        const uint64_t k = std::min<uint64_t>(perConn, acked);
        for (uint64_t j = 0; j < k; ++j) {
            const uint64_t seq = (acked - 1) - j * (acked / k);   // j = 0: the last one
            std::string id;
            appendClientId(id, spec, conn, seq);
            ids.push_back(std::move(id));
        }
    }
    VerifyResult v;
    const uint64_t deadline = monoNs() + 5 * kNsPerSec;
    for (uint16_t port : ports) {
        std::string error;
        const int fd = connectTo(spec.host, port, &error);
        if (fd < 0)
            die("verify: " + error);
        LineReader reader(fd);
        // Pipelined in chunks: the answers come back in order.
        for (size_t start = 0; start < ids.size(); start += 256) {
            const size_t end = std::min(ids.size(), start + 256);
            std::vector<size_t> pending;
            for (size_t i = start; i < end; ++i)
                pending.push_back(i);
            while (!pending.empty()) {
                std::string batch;
                for (size_t i : pending)
                    batch += "WHATSAT " + ids[i] + " 1 1\n";
                if (!sendAll(fd, batch))
                    die(fmt("verify: port %u closed the connection", unsigned(port)));
                std::vector<size_t> still;
                for (size_t i : pending) {
                    std::string first;
                    if (!reader.readAnswer(first, deadline + kNsPerSec))
                        die(fmt("verify: no answer from port %u", unsigned(port)));
                    if (!first.starts_with("AT "))
                        still.push_back(i);
                }
                if (monoNs() >= deadline) {
                    v.missing += still.size();
                    break;
                }
                pending.swap(still);
            }
            v.checked += end - start;
        }
        ::close(fd);
    }
    return v;
}

void printLoad(const char *mode, const Options &o, const LoadSpec &spec, const LoadResult &r,
               const VerifyResult *verify)
{
    const double rps = r.measuredS > 0 ? double(r.windowReplies) / r.measuredS : 0;
    const uint64_t errors = r.questionReplies + r.badReplies + r.disconnects;
    const char *unit = spec.kind == Kind::Iamat ? "IAMAT" : "WHATSAT";
    std::printf("herd-bench %s: %s:%s, %d connections x depth %d, %d thread(s), clients %s, rate %s\n",
                mode, o.host.c_str(), portsText(o.ports).c_str(), spec.connections, spec.depth,
                std::min(spec.threads, spec.connections),
                spec.kind == Kind::Whatsat ? "pool" : (spec.newClients ? "new" : "repeat"),
                spec.rate > 0 ? fmt("%.0f/s", spec.rate).c_str() : "max");
    std::printf("  %-22s %14.1f s (after %.1f s warm-up)\n", "measured", r.measuredS, o.warmupS);
    std::printf("  %-22s %14.0f %s/s\n", "throughput", rps, unit);
    std::printf("  %-22s %14" PRIu64 " (%" PRIu64 " sent in all)\n", "replies in window", r.windowReplies, r.sent);
    std::printf("  %-22s %14.1f us\n", "latency p50", r.latency.percentileUs(0.50));
    std::printf("  %-22s %14.1f us\n", "latency p99", r.latency.percentileUs(0.99));
    std::printf("  %-22s %14.1f us\n", "latency p99.9", r.latency.percentileUs(0.999));
    std::printf("  %-22s %14.1f us\n", "latency max", r.latency.maxUs());
    std::printf("  %-22s %14" PRIu64 " (? %" PRIu64 ", malformed %" PRIu64 ", disconnects %" PRIu64 ")\n",
                "errors", errors, r.questionReplies, r.badReplies, r.disconnects);
    if (verify)
        std::printf("  %-22s %14" PRIu64 " of %" PRIu64 " (client, port) pairs missing\n", "verify",
                    verify->missing, verify->checked);
    std::string json = fmt(
        "{\"mode\":\"%s\",\"host\":\"%s\",\"ports\":%s,\"connections\":%d,\"depth\":%d,\"threads\":%d,"
        "\"clients\":\"%s\",\"rate_target\":%.0f,\"duration_s\":%.3f,\"warmup_s\":%.3f,"
        "\"requests_per_s\":%.1f,\"replies\":%" PRIu64 ",\"sent\":%" PRIu64 ",",
        mode, o.host.c_str(), portsJson(o.ports).c_str(), spec.connections, spec.depth,
        std::min(spec.threads, spec.connections),
        spec.kind == Kind::Whatsat ? "pool" : (spec.newClients ? "new" : "repeat"), spec.rate,
        r.measuredS, o.warmupS, rps, r.windowReplies, r.sent);
    json += fmt("\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f,"
                "\"errors\":%" PRIu64 ",\"question_replies\":%" PRIu64 ",\"bad_replies\":%" PRIu64
                ",\"disconnects\":%" PRIu64,
                r.latency.percentileUs(0.50), r.latency.percentileUs(0.99), r.latency.percentileUs(0.999),
                r.latency.maxUs(), r.latency.meanUs(), errors, r.questionReplies, r.badReplies, r.disconnects);
    if (verify)
        json += fmt(",\"verify_checked\":%" PRIu64 ",\"verify_missing\":%" PRIu64, verify->checked, verify->missing);
    std::printf("%s}\n", json.c_str());
}

int runIamat(const Options &o)
{
    const LoadSpec spec = loadSpecFrom(o, Kind::Iamat, o.tag.empty() ? runTag() : o.tag);
    const LoadResult r = runLoad(spec, o.warmupS, o.durationS, nullptr);
    if (!r.error.empty())
        die(r.error);
    VerifyResult v;
    if (o.verify > 0)
        v = verifyHeld(spec, r, o.verify, o.verifyPorts.empty() ? o.ports : o.verifyPorts);
    printLoad("iamat", o, spec, r, o.verify > 0 ? &v : nullptr);
    return r.questionReplies + r.badReplies + r.disconnects + v.missing == 0 ? 0 : 1;
}

int runWhatsat(const Options &o)
{
    const std::string tag = o.tag.empty() ? runTag() : o.tag;
    LoadSpec spec = loadSpecFrom(o, Kind::Whatsat, tag);
    // Every port must know every pool client: IAMAT them on the first and let the herd flood,
    // then wait until each other port answers for the last one (floods keep order per link).
    // With --tag the pool was stored beforehand (preload): no setup.
    std::string error;
    const int fd = o.tag.empty() ? connectTo(o.host, o.ports[0], &error) : -2;
    if (fd == -1)
        die(error);
    LineReader reader(fd);
    std::string line;
    uint64_t clientNs = wallNs();
    for (int start = 0; fd >= 0 && start < o.pool; start += 1000) {
        std::string batch;
        const int end = std::min(o.pool, start + 1000);
        for (int i = start; i < end; ++i) {
            batch += "IAMAT " + tag + "p" + std::to_string(i) + " " + std::string(kLocation) + " ";
            appendClientTime(batch, clientNs++);
            batch += "\n";
        }
        if (!sendAll(fd, batch))
            die("setup: the node closed the connection");
        for (int i = start; i < end; ++i) {
            if (!reader.readLine(line, monoNs() + 10 * kNsPerSec) || !line.starts_with("AT "))
                die("setup: IAMAT not answered with AT: \"" + line + "\"");
        }
    }
    if (fd >= 0)
        ::close(fd);
    for (size_t p = 1; fd >= 0 && p < o.ports.size(); ++p) {
        const int qfd = connectTo(o.host, o.ports[p], &error);
        if (qfd < 0)
            die(error);
        LineReader q(qfd);
        const uint64_t deadline = monoNs() + 10 * kNsPerSec;
        const std::string ask = "WHATSAT " + tag + "p" + std::to_string(o.pool - 1) + " 1 1\n";
        do {
            if (!sendAll(qfd, ask) || !q.readAnswer(line, deadline))
                die(fmt("setup: port %u never learnt the pool", unsigned(o.ports[p])));
        } while (!line.starts_with("AT "));
        ::close(qfd);
    }
    const LoadResult r = runLoad(spec, o.warmupS, o.durationS, nullptr);
    if (!r.error.empty())
        die(r.error);
    printLoad("whatsat", o, spec, r, nullptr);
    return r.questionReplies + r.badReplies + r.disconnects == 0 ? 0 : 1;
}

// Preload: clients <tag>p0 .. <tag>p(pool-1), each IAMATed once, so a node holds exactly that
// many (plus whatever it held before). Connection c sends the IDs congruent to c modulo the
// number of connections, in batches; the next batch goes out before the replies to the previous
// one are read, so the node is never idle waiting for us. Every reply must be an AT line.
int runPreload(const Options &o)
{
    const std::string tag = o.tag.empty() ? runTag() : o.tag;
    const int conns = std::min(o.connections, o.pool);
    constexpr int kBatch = 1024;
    std::atomic<uint64_t> bad{0};
    std::mutex errorMutex;
    std::string firstError;
    const uint64_t t0 = monoNs();
    std::vector<std::thread> threads;
    for (int c = 0; c < conns; ++c) {
        threads.emplace_back([&, c] {
            auto fail = [&](const std::string &e) {
                std::lock_guard lock(errorMutex);
                if (firstError.empty())
                    firstError = e;
            };
            std::string error;
            const int fd = connectTo(o.host, o.ports[size_t(c) % o.ports.size()], &error);
            if (fd < 0)
                return fail(error);
            LineReader reader(fd);
            std::string line;
            uint64_t clientNs = 0;
            int owed = 0;   // replies of the batch before the one just sent
            for (int64_t next = c; next < o.pool || owed > 0;) {
                int sent = 0;
                std::string batch;
                for (; sent < kBatch && next < o.pool; ++sent, next += conns) {
                    batch += "IAMAT ";
                    batch += tag;
                    batch += 'p';
                    appendUint(batch, uint64_t(next));
                    batch += ' ';
                    batch += kLocation;
                    batch += ' ';
                    clientNs = std::max(wallNs(), clientNs + 1);
                    appendClientTime(batch, clientNs);
                    batch += '\n';
                }
                if (sent > 0 && !sendAll(fd, batch)) {
                    ::close(fd);
                    return fail("preload: the node closed the connection");
                }
                for (; owed > 0; --owed) {
                    if (!reader.readLine(line, monoNs() + 30 * kNsPerSec)) {
                        ::close(fd);
                        return fail("preload: no reply within 30 s");
                    }
                    if (!line.starts_with("AT "))
                        ++bad;
                }
                owed = sent;
            }
            ::close(fd);
        });
    }
    for (auto &th : threads)
        th.join();
    if (!firstError.empty())
        die(firstError);
    const double seconds = double(monoNs() - t0) / 1e9;
    std::printf("herd-bench preload: %s:%s, %d clients (%sp0 ..), %d connection(s)\n", o.host.c_str(),
                portsText(o.ports).c_str(), o.pool, tag.c_str(), conns);
    std::printf("  %-22s %14.2f s\n", "took", seconds);
    std::printf("  %-22s %14.0f IAMAT/s\n", "rate", double(o.pool) / seconds);
    std::printf("  %-22s %14" PRIu64 "\n", "errors", bad.load());
    std::printf("{\"mode\":\"preload\",\"host\":\"%s\",\"ports\":%s,\"clients\":%d,\"tag\":\"%s\","
                "\"connections\":%d,\"seconds\":%.3f,\"requests_per_s\":%.1f,\"errors\":%" PRIu64 "}\n",
                o.host.c_str(), portsJson(o.ports).c_str(), o.pool, tag.c_str(), conns, seconds,
                double(o.pool) / seconds, bad.load());
    return bad.load() == 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// Flood: one update at a time; IAMAT to one node, then WHATSAT <client> 1 1 to each other node,
// re-asked as soon as the answer is "? ...", until every node answers with the AT line.

struct FloodSocket {
    int fd = -1;
    int node = 0;
    bool isProbe = false;           // WHATSAT probe, else the IAMAT sender
    std::string carry;
    bool inBody = false;            // probe: inside a positive answer's JSON
    std::deque<uint32_t> tags;      // the update each request in flight belongs to, in order
};

struct FloodPhase {
    std::string name;
    Histogram completion;           // IAMAT sent -> every node holds it
    std::vector<Histogram> perNode; // IAMAT sent -> this node holds it
    uint64_t lost = 0;
    uint64_t badReplies = 0;
    uint64_t probes = 0;            // WHATSATs sent in all
    int updates = 0;
    double seconds = 0;
    LoadResult background;
    double backgroundRate = 0;
};

class Flooder {
public:
    Flooder(const Options &o) : m_o(o), m_tag(runTag())
    {
        m_epfd = ::epoll_create1(EPOLL_CLOEXEC);
        for (size_t i = 0; i < o.ports.size(); ++i) {
            for (const bool probe : {false, true}) {
                auto s = std::make_unique<FloodSocket>();
                s->node = int(i);
                s->isProbe = probe;
                open(*s);
                (probe ? m_probes : m_senders).push_back(std::move(s));
            }
        }
        m_buf.resize(kReadBytes);
    }

    // One update; returns false if some node did not hold it within timeoutNs.
    bool update(FloodPhase &phase, uint32_t tag, uint64_t timeoutNs, bool record)
    {
        // First take in whatever arrived since the last update (late replies, a connection the
        // server closed while we were pacing), so we never send on a socket already closed.
        epoll_event events[64];
        const timespec zero{0, 0};
        for (int k; (k = ::epoll_pwait2(m_epfd, events, 64, &zero, nullptr)) > 0;) {
            for (int i = 0; i < k; ++i)
                readFrom(*static_cast<FloodSocket *>(events[i].data.ptr), phase);
        }
        const size_t n = m_o.ports.size();
        const int target = m_o.spread ? int(tag % n) : 0;
        m_client = m_tag + std::to_string(tag);
        m_current = tag;
        m_doneAt.assign(n, 0);
        m_remaining = int(n);

        std::string iamat = "IAMAT " + m_client + " " + std::string(kLocation) + " ";
        appendClientTime(iamat, wallNs());
        iamat += "\n";
        m_t0 = monoNs();
        send(*m_senders[size_t(target)], iamat, tag);
        for (size_t i = 0; i < n; ++i) {
            if (int(i) != target)
                ask(*m_probes[i], phase);
        }
        const uint64_t deadline = m_t0 + timeoutNs;
        while (m_remaining > 0) {
            const uint64_t now = monoNs();
            if (now >= deadline)
                break;
            const uint64_t waitNs = deadline - now;
            const timespec ts{time_t(waitNs / kNsPerSec), long(waitNs % kNsPerSec)};
            const int k = ::epoll_pwait2(m_epfd, events, 64, &ts, nullptr);
            for (int i = 0; i < k; ++i)
                readFrom(*static_cast<FloodSocket *>(events[i].data.ptr), phase);
        }
        if (m_remaining > 0) {
            if (record)
                ++phase.lost;
            return false;
        }
        if (record) {
            uint64_t last = 0;
            for (size_t i = 0; i < n; ++i) {
                phase.perNode[i].record(m_doneAt[i] - m_t0);
                last = std::max(last, m_doneAt[i]);
            }
            phase.completion.record(last - m_t0);
        }
        return true;
    }

private:
    void open(FloodSocket &s)
    {
        std::string error;
        s.fd = connectTo(m_o.host, m_o.ports[size_t(s.node)], &error);
        if (s.fd < 0)
            die(error);
        s.carry.clear();
        s.inBody = false;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.ptr = &s;
        ::epoll_ctl(m_epfd, EPOLL_CTL_ADD, s.fd, &ev);
    }

    // The server closed a connection. Idle ones are expected (herd closes a connection that sent
    // nothing for a minute: the senders of nodes that are never a target): open a new one. With
    // requests in flight, it is an error.
    void closed(FloodSocket &s)
    {
        if (!s.tags.empty())
            die(fmt("flood: port %u closed the connection", unsigned(m_o.ports[size_t(s.node)])));
        ::close(s.fd);   // also leaves the epoll set
        open(s);
    }

    void send(FloodSocket &s, const std::string &line, uint32_t tag)
    {
        if (!sendAll(s.fd, line)) {
            closed(s);
            if (!sendAll(s.fd, line))
                die(fmt("flood: port %u closed the connection", unsigned(m_o.ports[size_t(s.node)])));
        }
        s.tags.push_back(tag);
    }

    void ask(FloodSocket &s, FloodPhase &phase)
    {
        send(s, "WHATSAT " + m_client + " 1 1\n", m_current);
        ++phase.probes;
    }

    void held(int node)
    {
        if (m_doneAt[size_t(node)] == 0) {
            m_doneAt[size_t(node)] = monoNs();
            --m_remaining;
        }
    }

    void onLine(FloodSocket &s, std::string_view line, FloodPhase &phase)
    {
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (s.tags.empty()) {
            ++phase.badReplies;
            return;
        }
        const uint32_t tag = s.tags.front();
        const bool current = tag == m_current;
        if (!s.isProbe) {
            s.tags.pop_front();
            if (!line.starts_with("AT "))
                ++phase.badReplies;
            else if (current)
                held(s.node);   // the receiving node holds it once it has answered
            return;
        }
        if (s.inBody) {
            if (line.empty()) {
                s.inBody = false;
                s.tags.pop_front();
            }
            return;
        }
        if (line.starts_with("AT ")) {
            s.inBody = true;
            if (current)
                held(s.node);
        } else if (line.starts_with("? ")) {
            s.tags.pop_front();
            if (current && m_doneAt[size_t(s.node)] == 0)
                ask(s, phase);   // not there yet: ask again at once
        } else {
            s.tags.pop_front();
            ++phase.badReplies;
        }
    }

    void readFrom(FloodSocket &s, FloodPhase &phase)
    {
        const ssize_t n = ::recv(s.fd, m_buf.data(), m_buf.size(), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            closed(s);
            return;
        }
        std::string_view data(m_buf.data(), size_t(n));
        s.carry.append(data);
        size_t pos = 0;
        for (;;) {
            const size_t nl = s.carry.find('\n', pos);
            if (nl == std::string::npos)
                break;
            onLine(s, std::string_view(s.carry).substr(pos, nl - pos), phase);
            pos = nl + 1;
        }
        s.carry.erase(0, pos);
    }

    const Options &m_o;
    std::string m_tag;
    int m_epfd = -1;
    std::vector<std::unique_ptr<FloodSocket>> m_senders;
    std::vector<std::unique_ptr<FloodSocket>> m_probes;
    std::vector<char> m_buf;
    std::string m_client;
    uint32_t m_current = 0;
    uint64_t m_t0 = 0;
    std::vector<uint64_t> m_doneAt;
    int m_remaining = 0;
};

void runFloodPhase(const Options &o, Flooder &f, FloodPhase &phase, uint32_t &tag)
{
    phase.perNode.assign(o.ports.size(), Histogram());
    phase.updates = o.updates;
    const uint64_t timeoutNs = uint64_t(o.timeoutS * 1e9);
    const uint64_t start = monoNs();
    for (int u = 0; u < o.updates; ++u) {
        if (o.rate > 0)
            sleepUntil(start + uint64_t(double(u) * 1e9 / o.rate));
        f.update(phase, tag++, timeoutNs, true);
    }
    phase.seconds = double(monoNs() - start) / 1e9;
}

int runFlood(const Options &o)
{
    if (o.ports.size() < 2)
        die("flood: --ports needs at least two nodes");
    Flooder f(o);
    uint32_t tag = 0;
    // Warm-up: the links may still be coming up; wait (up to 10 s) until one update goes round.
    {
        FloodPhase warm;
        warm.perNode.assign(o.ports.size(), Histogram());
        bool ok = false;
        for (int i = 0; i < 10 && !ok; ++i)
            ok = f.update(warm, tag++, kNsPerSec, false);
        if (!ok)
            die("flood: no update reached every node within 10 s (is every link up?)");
        for (int i = 0; i < 50; ++i)
            f.update(warm, tag++, kNsPerSec, false);
    }
    std::vector<FloodPhase> phases(1);
    phases[0].name = "idle";
    runFloodPhase(o, f, phases[0], tag);
    if (o.background > 0) {
        FloodPhase &loaded = phases.emplace_back();
        loaded.name = fmt("bg %.0f/s", o.background);
        loaded.backgroundRate = o.background;
        LoadSpec bg;
        bg.kind = Kind::Iamat;
        bg.host = o.host;
        bg.ports = o.ports;
        bg.connections = o.bgConnections > 0 ? o.bgConnections : int(4 * o.ports.size());
        bg.depth = o.depth;
        bg.threads = 1;   // the probe loop needs the other core more than the background does
        bg.newClients = true;
        bg.rate = o.background;
        bg.idPrefix = runTag() + "bg.";
        std::atomic<bool> stop{false};
        LoadResult bgResult;
        std::thread th([&] { bgResult = runLoad(bg, 0.5, 0, &stop); });
        ::usleep(500'000);   // let the background traffic reach its rate
        runFloodPhase(o, f, loaded, tag);
        stop = true;
        th.join();
        if (!bgResult.error.empty())
            die("background: " + bgResult.error);
        loaded.background = std::move(bgResult);
    }

    std::printf("herd-bench flood: %s:%s, %d updates per phase, one at a time, %s, to %s\n",
                o.host.c_str(), portsText(o.ports).c_str(), o.updates,
                o.rate > 0 ? fmt("at most %.0f/s", o.rate).c_str() : "back to back",
                o.spread ? "each node in turn" : "the first node");
    std::printf("  %-12s %8s %6s %10s %10s %10s %10s %12s %12s\n", "phase", "updates", "lost", "p50 us",
                "p99 us", "p99.9 us", "max us", "updates/s", "bg IAMAT/s");
    std::string json = fmt("{\"mode\":\"flood\",\"host\":\"%s\",\"ports\":%s,\"spread\":%s,\"rate_target\":%.0f,"
                           "\"phases\":[",
                           o.host.c_str(), portsJson(o.ports).c_str(), o.spread ? "true" : "false", o.rate);
    int failures = 0;
    for (size_t p = 0; p < phases.size(); ++p) {
        const FloodPhase &ph = phases[p];
        const double bgRate = ph.background.measuredS > 0 ? double(ph.background.windowReplies) / ph.background.measuredS : 0;
        const uint64_t bgErrors = ph.background.questionReplies + ph.background.badReplies + ph.background.disconnects;
        failures += int(ph.lost + ph.badReplies + bgErrors);
        std::printf("  %-12s %8d %6" PRIu64 " %10.1f %10.1f %10.1f %10.1f %12.0f %12.0f\n", ph.name.c_str(),
                    ph.updates, ph.lost, ph.completion.percentileUs(0.5), ph.completion.percentileUs(0.99),
                    ph.completion.percentileUs(0.999), ph.completion.maxUs(), double(ph.updates) / ph.seconds, bgRate);
        json += fmt("%s{\"phase\":\"%s\",\"updates\":%d,\"lost\":%" PRIu64 ",\"p50_us\":%.1f,\"p99_us\":%.1f,"
                    "\"p999_us\":%.1f,\"max_us\":%.1f,\"updates_per_s\":%.1f,\"probes\":%" PRIu64
                    ",\"bad_replies\":%" PRIu64 ",\"background_rate_target\":%.0f,\"background_per_s\":%.1f,"
                    "\"background_p99_us\":%.1f,\"background_errors\":%" PRIu64 ",\"per_node_p50_us\":[",
                    p ? "," : "", ph.name.c_str(), ph.updates, ph.lost, ph.completion.percentileUs(0.5),
                    ph.completion.percentileUs(0.99), ph.completion.percentileUs(0.999), ph.completion.maxUs(),
                    double(ph.updates) / ph.seconds, ph.probes, ph.badReplies, ph.backgroundRate, bgRate,
                    ph.background.latency.percentileUs(0.99), bgErrors);
        for (size_t i = 0; i < ph.perNode.size(); ++i)
            json += fmt("%s%.1f", i ? "," : "", ph.perNode[i].percentileUs(0.5));
        json += "]}";
    }
    std::printf("  per node (time until that node holds it; the sender's is its AT reply):\n");
    std::printf("  %-12s %6s %10s %10s %10s\n", "phase", "port", "p50 us", "p99 us", "max us");
    for (const FloodPhase &ph : phases) {
        for (size_t i = 0; i < ph.perNode.size(); ++i)
            std::printf("  %-12s %6u %10.1f %10.1f %10.1f\n", ph.name.c_str(), unsigned(o.ports[i]),
                        ph.perNode[i].percentileUs(0.5), ph.perNode[i].percentileUs(0.99), ph.perNode[i].maxUs());
    }
    for (const FloodPhase &ph : phases) {
        std::printf("  %s: %" PRIu64 " WHATSAT probes (%.1f per update)", ph.name.c_str(), ph.probes,
                    double(ph.probes) / std::max(1, ph.updates));
        if (ph.backgroundRate > 0)
            std::printf(", background p99 %.1f us, errors %" PRIu64, ph.background.latency.percentileUs(0.99),
                        ph.background.questionReplies + ph.background.badReplies + ph.background.disconnects);
        std::printf("\n");
    }
    std::printf("%s]}\n", json.c_str());
    return failures == 0 ? 0 : 1;
}

int runFreePort(const Options &o)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = makeAddr(o.host, 0);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0
        || ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0)
        die(fmt("free-port: %s", std::strerror(errno)));
    std::printf("%u\n", unsigned(ntohs(addr.sin_port)));
    ::close(fd);
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    std::signal(SIGPIPE, SIG_IGN);
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;   // thousands of connections
        ::setrlimit(RLIMIT_NOFILE, &lim);
    }
    const Options o = parseOptions(argc, argv);
    if (o.mode == "free-port")
        return runFreePort(o);
    if (o.mode == "flood")
        return runFlood(o);
    if (o.mode == "whatsat")
        return runWhatsat(o);
    if (o.mode == "preload")
        return runPreload(o);
    return runIamat(o);
}
