#include "connection.h"

#include <QDateTime>
#include <QHostAddress>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace herd {

namespace {
constexpr qsizetype kReadChunk = 64 * 1024;
constexpr qsizetype kReadBudget = 1024 * 1024;   // per wake-up, so one fast sender cannot starve others
constexpr qint64 kLingerMs = 2000;               // how long we drain a closing client's input

QString errnoString(int err) { return QString::fromLocal8Bit(std::strerror(err)); }

void setNoDelay(int fd)
{
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}
} // namespace

Connection::Connection(ConnectionOwner *owner, Poller *poller, quint64 id, int maxLineBytes,
                       qint64 maxOutputBytes)
    : m_owner(owner), m_poller(poller), m_id(id), m_maxOutput(maxOutputBytes), m_in(maxLineBytes)
{
    m_openedAtMs = QDateTime::currentMSecsSinceEpoch();
}

Connection::Connection(ConnectionOwner *owner, Poller *poller, quint64 id, int fd,
                       QString peerAddress, int maxLineBytes, qint64 maxOutputBytes)
    : Connection(owner, poller, id, maxLineBytes, maxOutputBytes)
{
    m_fd = fd;
    m_peerAddress = std::move(peerAddress);
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    setNoDelay(fd);
    if (!m_poller->add(fd, this, EPOLLIN | EPOLLRDHUP)) {
        m_error = errnoString(errno);
        ::close(fd);
        m_fd = -1;
        m_state = State::Closed;
    }
}

Connection *Connection::dial(ConnectionOwner *owner, Poller *poller, quint64 id, const QString &ip,
                             quint16 port, int maxLineBytes, qint64 maxOutputBytes)
{
    auto *c = new Connection(owner, poller, id, maxLineBytes, maxOutputBytes);
    c->m_state = State::Connecting;
    c->m_outgoing = true;
    c->m_peerAddress = ip + QLatin1Char(':') + QString::number(port);
    const QHostAddress address(ip);
    sockaddr_storage sa{};
    socklen_t len = 0;
    if (address.protocol() == QAbstractSocket::IPv4Protocol) {
        auto *s4 = reinterpret_cast<sockaddr_in *>(&sa);
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        s4->sin_addr.s_addr = htonl(address.toIPv4Address());
        len = sizeof(sockaddr_in);
    } else if (address.protocol() == QAbstractSocket::IPv6Protocol) {
        auto *s6 = reinterpret_cast<sockaddr_in6 *>(&sa);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        const Q_IPV6ADDR a6 = address.toIPv6Address();
        std::memcpy(&s6->sin6_addr, &a6, sizeof a6);
        len = sizeof(sockaddr_in6);
    } else {
        c->m_error = QStringLiteral("not an IP address: %1").arg(ip);
        c->m_state = State::Closed;
        return c;
    }
    c->m_fd = ::socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->m_fd < 0) {
        c->m_error = errnoString(errno);
        c->m_state = State::Closed;
        return c;
    }
    setNoDelay(c->m_fd);
    const int rc = ::connect(c->m_fd, reinterpret_cast<sockaddr *>(&sa), len);
    if (rc != 0 && errno != EINPROGRESS) {
        c->m_error = errnoString(errno);
        ::close(c->m_fd);
        c->m_fd = -1;
        c->m_state = State::Closed;
        return c;
    }
    c->m_wantWrite = true;
    if (!poller->add(c->m_fd, c, EPOLLOUT | EPOLLIN | EPOLLRDHUP)) {
        // As for an accepted descriptor: one that cannot be watched is closed, and says why.
        c->m_error = errnoString(errno);
        ::close(c->m_fd);
        c->m_fd = -1;
        c->m_state = State::Closed;
    }
    return c;
}

Connection::~Connection()
{
    if (m_fd >= 0) {
        m_poller->remove(m_fd, this);
        ::close(m_fd);
    }
}

void Connection::finishWrites()
{
    m_finishWrites = true;
    flush();
}

bool Connection::send(QByteArrayView bytes)
{
    return sendLine(bytes, false);
}

bool Connection::sendLine(QByteArrayView text, bool newline)
{
    if (m_state == State::Closed || m_state == State::Lingering || m_finishWrites)
        return false;
    if (!m_slots.empty()) {
        QByteArray bytes = text.toByteArray();
        if (newline)
            bytes.append('\n');
        m_slots.push_back(Slot{0, true, std::move(bytes)});
        return true;
    }
    return appendOutput(text, newline);
}

bool Connection::appendOutput(QByteArrayView bytes, bool newline)
{
    if (m_outPos > 0 && m_outPos == m_out.size()) {
        m_out.resize(0);
        m_outPos = 0;
    }
    // Straight into the output buffer: no per-line temporary on the hot path.
    m_out.append(bytes);
    if (newline)
        m_out.append('\n');
    if (pendingOutput() > m_maxOutput) {
        m_outputOverflowed = true;
        abort(QStringLiteral("output limit exceeded (%1 bytes unread)").arg(pendingOutput()));
        return false;
    }
    if (!m_flushQueued && m_state != State::Connecting) {
        m_flushQueued = true;
        m_owner->connectionWantsFlush(*this);
    }
    return true;
}

quint64 Connection::reserveReply()
{
    const quint64 ticket = m_nextTicket++;
    m_slots.push_back(Slot{ticket, false, {}});
    return ticket;
}

void Connection::fillReply(quint64 ticket, QByteArrayView bytes)
{
    for (Slot &slot : m_slots) {
        if (slot.ticket == ticket) {
            slot.ready = true;
            slot.bytes = bytes.toByteArray();
            break;
        }
    }
    // Release every reply at the front that is ready, in order.
    while (!m_slots.empty() && m_slots.front().ready) {
        Slot slot = std::move(m_slots.front());
        m_slots.pop_front();
        if (!appendOutput(slot.bytes))
            return;
    }
    finishIfDone();
}

void Connection::flush()
{
    m_flushQueued = false;
    if (m_fd < 0 || m_state == State::Connecting)
        return;
    while (m_outPos < m_out.size()) {
        const ssize_t n = ::send(m_fd, m_out.constData() + m_outPos, size_t(m_out.size() - m_outPos),
                                 MSG_NOSIGNAL);
        if (n > 0) {
            m_outPos += n;
            m_bytesWritten += quint64(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        closeFd(QStringLiteral("write failed: %1").arg(errnoString(errno)));
        return;
    }
    if (m_outPos == m_out.size()) {
        m_out.resize(0);
        m_outPos = 0;
        // Give back the memory a burst needed, but keep a small buffer for the next replies.
        if (m_out.capacity() > 256 * 1024)
            m_out.squeeze();
    }
    const bool want = m_outPos < m_out.size();
    if (!want && m_finishWrites && !m_writeShut && m_fd >= 0) {
        m_writeShut = true;
        ::shutdown(m_fd, SHUT_WR);
    }
    if (want != m_wantWrite) {
        m_wantWrite = want;
        updateInterest();
    }
    if (m_notifyBelow > 0 && pendingOutput() <= m_notifyBelow) {
        m_notifyBelow = 0;
        m_owner->connectionOutputBelow(*this);
    }
    finishIfDone();
}

void Connection::closeWhenDone()
{
    if (m_state == State::Open)
        m_state = State::Draining;
    m_readShut = true;
    updateInterest();
    finishIfDone();
}

void Connection::abort(const QString &reason)
{
    if (m_state == State::Closed)
        return;
    if (m_fd >= 0) {
        // RST rather than FIN: nothing more is owed to this peer.
        linger lg{1, 0};
        ::setsockopt(m_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    closeFd(reason);
}

void Connection::finishIfDone()
{
    if (m_state != State::Draining || !m_slots.empty() || m_outPos < m_out.size())
        return;
    startLinger();
}

void Connection::startLinger()
{
    // Half-close, then read and discard until the client closes too (or the deadline passes):
    // closing with unread input would send RST and could destroy replies still in flight.
    ::shutdown(m_fd, SHUT_WR);
    if (m_eofSeen) {
        closeFd(QStringLiteral("closed"));
        return;
    }
    m_state = State::Lingering;
    m_lingerDeadlineMs = QDateTime::currentMSecsSinceEpoch() + kLingerMs;
    m_wantWrite = false;
    m_poller->modify(m_fd, this, EPOLLIN | EPOLLRDHUP);
}

void Connection::closeFd(const QString &reason)
{
    if (m_state == State::Closed)
        return;
    m_state = State::Closed;
    if (m_fd >= 0) {
        m_poller->remove(m_fd, this);
        ::close(m_fd);
        m_fd = -1;
    }
    m_owner->connectionClosed(*this, reason);
}

void Connection::setReadPaused(bool paused)
{
    if (paused == m_readPaused)
        return;
    m_readPaused = paused;
    updateInterest();   // level-triggered: what arrived meanwhile is reported once resumed
}

void Connection::updateInterest()
{
    if (m_fd < 0 || m_state == State::Closed)
        return;
    std::uint32_t events = m_wantWrite ? std::uint32_t(EPOLLOUT) : 0u;
    if ((!m_readShut && !m_readPaused) || m_state == State::Lingering)
        events |= EPOLLIN | EPOLLRDHUP;
    m_poller->modify(m_fd, this, events);
}

void Connection::onPollEvent(std::uint32_t events)
{
    if (m_state == State::Closed)
        return;
    if (m_state == State::Connecting) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(m_fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
            m_error = errnoString(err ? err : ECONNREFUSED);
            closeFd(m_error);
            return;
        }
        m_state = State::Open;
        m_wantWrite = false;
        updateInterest();
        m_owner->connectionEstablished(*this);
        if (m_state != State::Closed && pendingOutput() > 0)
            flush();
        return;
    }
    if (m_state == State::Lingering) {
        char sink[16 * 1024];
        for (;;) {
            const ssize_t n = ::recv(m_fd, sink, sizeof sink, 0);
            if (n > 0)
                continue;
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return;
            closeFd(QStringLiteral("closed"));
            return;
        }
    }
    if ((events & (EPOLLERR | EPOLLHUP)) && m_readShut) {
        // Reset or fully closed while we were no longer reading: nothing can be delivered.
        closeFd(QStringLiteral("connection reset by peer"));
        return;
    }
    if (events & EPOLLOUT)
        flush();
    if (m_state == State::Closed)
        return;
    // Paused: not read, unless the connection is gone (hang-up or error are reported whatever the
    // interest; ignoring them would spin): then what it sent is handled and it closes.
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !m_readShut
        && (!m_readPaused || (events & (EPOLLHUP | EPOLLERR))))
        readInput();
}

void Connection::readInput()
{
    qsizetype budget = kReadBudget;
    bool eof = false;
    while (budget > 0) {
        char *space = m_in.prepareWrite(kReadChunk);   // recv() straight into the line buffer
        const ssize_t n = ::recv(m_fd, space, size_t(kReadChunk), 0);
        const int err = errno;
        m_in.commitWrite(n > 0 ? qsizetype(n) : 0);
        if (n > 0) {
            budget -= n;
            if (n < kReadChunk)
                break;
            continue;
        }
        if (n == 0) {
            eof = true;
            break;
        }
        if (err == EINTR)
            continue;
        if (err == EAGAIN || err == EWOULDBLOCK)
            break;
        closeFd(QStringLiteral("read failed: %1").arg(errnoString(err)));
        return;
    }
    m_readAt = protocol::now();
    if (!m_in.isOverlong())
        m_owner->connectionReadAhead(*this, m_in.pending());
    processInput(eof);
}

void Connection::processInput(bool atEof)
{
    while (m_state == State::Open || m_state == State::Connecting) {
        const LineFramer::Result r = m_in.next();
        if (r.event == LineFramer::Event::NeedMore)
            break;
        if (r.event == LineFramer::Event::Overlong) {
            m_owner->connectionOverlong(*this, r.bytes);
            closeWhenDone();
            return;
        }
        m_owner->connectionLine(*this, r.bytes, false);
    }
    if (m_state != State::Open || !atEof)
        return;
    m_eofSeen = true;
    // The final line of a half-closed client is still a command, unless it is too long.
    const LineFramer::Result last = m_in.finish();
    if (last.event == LineFramer::Event::Overlong) {
        m_owner->connectionOverlong(*this, last.bytes);
    } else if (last.event == LineFramer::Event::FinalLine) {
        m_owner->connectionLine(*this, last.bytes, true);
    }
    if (m_state == State::Open)
        closeWhenDone();
}

} // namespace herd
