#include "nodelog.h"
#include "protocol.h"

#include <QDateTime>
#include <QDir>
#include <QFile>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <mutex>
#include <thread>
#include <vector>
#include <unistd.h>

namespace herd {

namespace {

// A record in a NodeLog buffer: this header, then the `who` bytes, then the first `keptBytes`
// of the line (all of it, or enough for kMaxTextBytes of escaped text: every byte takes at least
// one). Copied in and out with memcpy: records are not aligned.
struct RecordHeader {
    qint64 ms;             // when, ms since the epoch (UTC)
    quint32 textBytes;     // the whole line's size, for "...(N bytes)"
    quint32 whoBytes;
    quint16 keptBytes;
    char dir;
};
static_assert(NodeLog::kMaxTextBytes <= 0xffff, "keptBytes is 16 bits");

// One background thread renders and writes every node's log batches, in order per file.
class LogWriter {
public:
    static constexpr qsizetype kMaxQueuedBytes = 256LL * 1024 * 1024;
    static constexpr size_t kMaxSpareBuffers = 8;

    static LogWriter &instance()
    {
        static LogWriter writer;   // joined at exit, after draining
        return writer;
    }

    // Queues a batch of records for `fd`; returns an empty buffer (a recycled one when there is
    // one: the same few buffers go back and forth instead of a fresh allocation per batch).
    QByteArray write(int fd, QByteArray records)
    {
        QByteArray spare;
        std::unique_lock lock(m_mutex);
        // A disk this far behind: wait rather than grow without bound (or drop lines).
        m_drained.wait(lock, [this] { return m_queuedBytes < kMaxQueuedBytes; });
        m_queuedBytes += records.size();
        m_queue.push_back(Job{fd, std::move(records), false});
        if (!m_spare.empty()) {
            spare = std::move(m_spare.back());
            m_spare.pop_back();
        }
        if (m_waiting)
            m_wake.notify_one();
        return spare;
    }

    // Writes what is queued for `fd`, closes it, and returns when that is done.
    void close(int fd)
    {
        std::unique_lock lock(m_mutex);
        const quint64 ticket = ++m_lastTicket;
        m_queue.push_back(Job{fd, {}, true, ticket});
        m_wake.notify_one();
        m_drained.wait(lock, [this, ticket] { return m_doneTicket >= ticket; });
    }

private:
    struct Job {
        int fd;
        QByteArray records;
        bool close;
        quint64 ticket = 0;
    };

    LogWriter() : m_thread([this] { run(); }) {}
    ~LogWriter()
    {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
            m_wake.notify_one();
        }
        m_thread.join();
    }

    // "2024-05-20T12:34:56.789Z" (Qt::ISODateWithMs in UTC), rendered by QDateTime once per
    // second; within a second only the milliseconds change.
    void appendStamp(qint64 ms)
    {
        if (ms != m_stampMs) {
            if (ms >= 0 && m_stampMs >= 0 && ms / 1000 == m_stampMs / 1000 && m_stampText.size() >= 5) {
                char *z = m_stampText.data() + m_stampText.size() - 4;   // "789Z"
                const int milli = int(ms % 1000);
                z[0] = char('0' + milli / 100);
                z[1] = char('0' + milli / 10 % 10);
                z[2] = char('0' + milli % 10);
            } else {
                m_stampText = QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC)
                                  .toString(Qt::ISODateWithMs).toLatin1();
            }
            m_stampMs = ms;
        }
        m_text.append(m_stampText);
    }

    // Renders a batch of records into m_text, in the file's text format.
    void render(const QByteArray &records)
    {
        m_text.resize(0);
        const char *p = records.constData();
        const char *end = p + records.size();
        while (p < end) {
            RecordHeader h;
            std::memcpy(&h, p, sizeof h);
            p += sizeof h;
            appendStamp(h.ms);
            const char sep[3] = {' ', h.dir, ' '};
            m_text.append(sep, 3).append(p, h.whoBytes).append(' ');
            p += h.whoBytes;
            protocol::appendEscapedPrefix(m_text, QByteArrayView(p, h.keptBytes), h.textBytes,
                                          NodeLog::kMaxTextBytes);
            p += h.keptBytes;
            m_text.append('\n');
        }
    }

    void writeAll(int fd)
    {
        const char *p = m_text.constData();
        qsizetype left = m_text.size();
        while (left > 0) {
            const ssize_t n = ::write(fd, p, size_t(left));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;   // disk full or gone: nothing sensible to do with a log line
            p += n;
            left -= n;
        }
    }

    void run()
    {
        std::unique_lock lock(m_mutex);
        for (;;) {
            m_waiting = true;
            m_wake.wait(lock, [this] { return m_stop || !m_queue.empty(); });
            m_waiting = false;
            if (m_queue.empty() && m_stop)
                return;
            Job job = std::move(m_queue.front());
            m_queue.pop_front();
            lock.unlock();
            if (!job.records.isEmpty()) {
                render(job.records);
                writeAll(job.fd);
                // Give back the memory a burst needed, but keep a batch's worth.
                if (m_text.capacity() > 4 * 1024 * 1024)
                    m_text.squeeze();
            }
            if (job.close)
                ::close(job.fd);
            const qsizetype bytes = job.records.size();
            job.records.resize(0);   // keeps the capacity for reuse
            lock.lock();
            m_queuedBytes -= bytes;
            if (!job.close && m_spare.size() < kMaxSpareBuffers)
                m_spare.push_back(std::move(job.records));
            if (job.close)
                m_doneTicket = job.ticket;
            m_drained.notify_all();
        }
    }

    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::condition_variable m_drained;
    std::deque<Job> m_queue;
    std::vector<QByteArray> m_spare;   // emptied record buffers, for the next batches
    qsizetype m_queuedBytes = 0;
    quint64 m_lastTicket = 0;
    quint64 m_doneTicket = 0;
    bool m_waiting = false;   // the thread sleeps on m_wake: only then is a notify needed
    bool m_stop = false;
    // The writer thread's own, used without the lock.
    QByteArray m_text;
    qint64 m_stampMs = -1;
    QByteArray m_stampText;
    std::thread m_thread;   // last: starts once everything above is constructed
};

} // namespace

NodeLog::NodeLog() = default;

NodeLog::~NodeLog()
{
    close();
}

bool NodeLog::open(const QString &dir, const QString &node, QString *error)
{
    close();
    if (dir.isEmpty())
        return true;
    if (!QDir().mkpath(dir)) {
        if (error)
            *error = QStringLiteral("cannot create log directory %1").arg(dir);
        return false;
    }
    m_path = QDir(dir).filePath(node + QStringLiteral(".log"));
    m_fd = ::open(QFile::encodeName(m_path).constData(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (m_fd < 0) {
        if (error)
            *error = QStringLiteral("cannot open log file %1: %2").arg(m_path, QString::fromLocal8Bit(std::strerror(errno)));
        return false;
    }
    m_buffer.reserve(kFlushBytes + 4096);
    return true;
}

QString NodeLog::path() const
{
    return m_fd >= 0 ? m_path : QString();
}

void NodeLog::line(Dir dir, QByteArrayView who, QByteArrayView text, qint64 ms)
{
    if (m_fd < 0)
        return;
    RecordHeader h;
    h.ms = ms >= 0 ? ms : QDateTime::currentMSecsSinceEpoch();
    h.textBytes = quint32(std::min<qsizetype>(text.size(), 0xffffffff));
    h.whoBytes = quint32(who.size());
    h.keptBytes = quint16(std::min(text.size(), kMaxTextBytes));
    h.dir = char(dir);
    const qsizetype at = m_buffer.size();
    m_buffer.resize(at + qsizetype(sizeof h) + who.size() + h.keptBytes);
    char *p = m_buffer.data() + at;
    std::memcpy(p, &h, sizeof h);
    p += sizeof h;
    if (!who.isEmpty())
        std::memcpy(p, who.data(), size_t(who.size()));
    p += who.size();
    if (h.keptBytes)
        std::memcpy(p, text.data(), h.keptBytes);
    if (m_buffer.size() >= kFlushBytes)
        flush();
}

void NodeLog::event(QByteArrayView who, const QString &text, qint64 ms)
{
    line(Dir::Event, who, text.toUtf8(), ms);
}

void NodeLog::error(QByteArrayView who, const QString &text, qint64 ms)
{
    line(Dir::Error, who, text.toUtf8(), ms);
}

void NodeLog::flush()
{
    if (m_fd < 0 || m_buffer.isEmpty())
        return;
    m_buffer = LogWriter::instance().write(m_fd, std::move(m_buffer));
    if (m_buffer.capacity() < kFlushBytes + 4096)
        m_buffer.reserve(kFlushBytes + 4096);
}

void NodeLog::close()
{
    if (m_fd < 0)
        return;
    flush();
    LogWriter::instance().close(m_fd);
    m_fd = -1;
}

} // namespace herd
