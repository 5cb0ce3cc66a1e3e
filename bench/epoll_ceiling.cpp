// herd-epoll-ceiling: the plainest single-threaded epoll line server that answers IAMAT, written
// only as the yardstick for herd: what one core can do with parsing plus system calls
// and nothing else (no validation, no store, no flooding, no logging).
//
//   herd-epoll-ceiling [--port P] [--host 127.0.0.1]     (P = 0 picks a free port)
//
// Prints "port P" on stdout once listening. For each line `IAMAT a b c` it writes
// `AT Ceiling +0.000000000 a b c\n`; any other non-blank line gets `? <line>\n`. Replies to one
// read are batched into one write. SIGINT/SIGTERM stop it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr size_t kReadBytes = 256 * 1024;        // one recv per wake-up, at most this much
constexpr size_t kMaxCarry = 64 * 1024;          // a partial line longer than this: drop the client
constexpr size_t kMaxPendingOut = 4 * 1024 * 1024;   // unread replies beyond this: drop the client

volatile std::sig_atomic_t g_stop = 0;

void onSignal(int)
{
    g_stop = 1;
}

struct Client {
    int fd = -1;
    std::string carry;       // bytes of an unfinished line from earlier reads
    std::string out;         // replies not yet accepted by the kernel
    size_t outPos = 0;
    bool wantOut = false;    // EPOLLOUT armed
};

bool isSpace(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

// Splits at runs of white space into at most 5 fields; returns the field count (5 = too many).
int splitFields(std::string_view line, std::string_view *fields)
{
    int n = 0;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && isSpace(line[i]))
            ++i;
        if (i == line.size())
            break;
        const size_t begin = i;
        while (i < line.size() && !isSpace(line[i]))
            ++i;
        if (n == 5)
            return 5;
        fields[n++] = line.substr(begin, i - begin);
    }
    return n;
}

void answer(std::string_view line, std::string &out)
{
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    std::string_view f[5];
    const int n = splitFields(line, f);
    if (n == 0)
        return;   // blank line: no reply, as in herd
    if (n == 4 && f[0] == "IAMAT") {
        out.append("AT Ceiling +0.000000000 ");
        out.append(f[1]);
        out.push_back(' ');
        out.append(f[2]);
        out.push_back(' ');
        out.append(f[3]);
        out.push_back('\n');
    } else {
        out.append("? ");
        out.append(line);
        out.push_back('\n');
    }
}

class Server {
public:
    bool listenOn(const char *host, int port)
    {
        m_listenFd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (m_listenFd < 0)
            return false;
        const int one = 1;
        ::setsockopt(m_listenFd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(uint16_t(port));
        if (::inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
            std::fprintf(stderr, "herd-epoll-ceiling: bad host %s\n", host);
            return false;
        }
        if (::bind(m_listenFd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0
            || ::listen(m_listenFd, 4096) != 0) {
            std::fprintf(stderr, "herd-epoll-ceiling: cannot listen on %s:%d: %s\n", host, port,
                         std::strerror(errno));
            return false;
        }
        socklen_t len = sizeof addr;
        ::getsockname(m_listenFd, reinterpret_cast<sockaddr *>(&addr), &len);
        m_port = ntohs(addr.sin_port);
        m_epfd = ::epoll_create1(EPOLL_CLOEXEC);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = nullptr;   // null marks the listening socket
        return m_epfd >= 0 && ::epoll_ctl(m_epfd, EPOLL_CTL_ADD, m_listenFd, &ev) == 0;
    }

    int port() const { return m_port; }

    void run()
    {
        std::vector<epoll_event> events(1024);
        while (!g_stop) {
            const int n = ::epoll_wait(m_epfd, events.data(), int(events.size()), 200);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                std::perror("herd-epoll-ceiling: epoll_wait");
                return;
            }
            for (int i = 0; i < n; ++i) {
                auto *c = static_cast<Client *>(events[size_t(i)].data.ptr);
                if (!c) {
                    acceptAll();
                    continue;
                }
                const uint32_t e = events[size_t(i)].events;
                if (e & EPOLLOUT)
                    flush(c);
                if (c->fd >= 0 && (e & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)))
                    readFrom(c);
            }
            // Closed clients are freed here, after the batch, since later events may name them.
            for (Client *c : m_closed)
                delete c;
            m_closed.clear();
        }
    }

private:
    void acceptAll()
    {
        for (;;) {
            const int fd = ::accept4(m_listenFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0)
                return;   // EAGAIN, or out of descriptors: try again on the next wake-up
            const int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            auto *c = new Client;
            c->fd = fd;
            epoll_event ev{};
            ev.events = EPOLLIN | EPOLLRDHUP;
            ev.data.ptr = c;
            ::epoll_ctl(m_epfd, EPOLL_CTL_ADD, fd, &ev);
        }
    }

    void close(Client *c)
    {
        ::close(c->fd);   // also removes it from the epoll set
        c->fd = -1;
        m_closed.push_back(c);
    }

    void readFrom(Client *c)
    {
        const ssize_t n = ::recv(c->fd, m_buf, kReadBytes, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            // End of input: a final line without '\n' still gets its answer, as in herd.
            if (!c->carry.empty()) {
                answer(c->carry, c->out);
                c->carry.clear();
            }
            flush(c);
            if (c->fd >= 0)
                close(c);
            return;
        }
        std::string_view data(m_buf, size_t(n));
        if (!c->carry.empty()) {
            const size_t nl = data.find('\n');
            if (nl == std::string_view::npos) {
                c->carry.append(data);
                if (c->carry.size() > kMaxCarry)
                    close(c);
                return;
            }
            c->carry.append(data.substr(0, nl));
            answer(c->carry, c->out);
            c->carry.clear();
            data.remove_prefix(nl + 1);
        }
        for (;;) {
            const void *nlp = std::memchr(data.data(), '\n', data.size());
            if (!nlp)
                break;
            const size_t nl = size_t(static_cast<const char *>(nlp) - data.data());
            answer(data.substr(0, nl), c->out);
            data.remove_prefix(nl + 1);
        }
        if (!data.empty())
            c->carry.assign(data);
        flush(c);
    }

    void flush(Client *c)
    {
        while (c->outPos < c->out.size()) {
            const ssize_t n = ::send(c->fd, c->out.data() + c->outPos, c->out.size() - c->outPos,
                                     MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN)
                    break;
                close(c);
                return;
            }
            c->outPos += size_t(n);
        }
        if (c->outPos == c->out.size()) {
            c->out.clear();
            c->outPos = 0;
        } else if (c->out.size() - c->outPos > kMaxPendingOut) {
            close(c);
            return;
        }
        const bool want = c->outPos < c->out.size();
        if (want != c->wantOut) {
            c->wantOut = want;
            epoll_event ev{};
            ev.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u);
            ev.data.ptr = c;
            ::epoll_ctl(m_epfd, EPOLL_CTL_MOD, c->fd, &ev);
        }
    }

    int m_listenFd = -1;
    int m_epfd = -1;
    int m_port = 0;
    std::vector<Client *> m_closed;
    char m_buf[kReadBytes];
};

} // namespace

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a(argv[i]);
        if ((a == "--port" || a == "--host") && i + 1 < argc) {
            if (a == "--port")
                port = std::atoi(argv[++i]);
            else
                host = argv[++i];
        } else if (a.starts_with("--port=")) {
            port = std::atoi(argv[i] + 7);
        } else if (a.starts_with("--host=")) {
            host = argv[i] + 7;
        } else {
            std::fprintf(stderr, "usage: herd-epoll-ceiling [--port P (0: any)] [--host ADDR]\n");
            return a == "--help" || a == "-h" ? 0 : 2;
        }
    }
    if (port < 0 || port > 65535) {
        std::fprintf(stderr, "herd-epoll-ceiling: --port must be 0 to 65535\n");
        return 2;
    }
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &lim);
    }
    std::signal(SIGPIPE, SIG_IGN);
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);

    auto *server = new Server;   // on the heap: it holds the 256 KiB read buffer
    if (!server->listenOn(host, port))
        return 1;
    std::printf("port %d\n", server->port());
    std::fflush(stdout);
    server->run();
    return 0;
}
