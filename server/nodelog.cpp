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
#include <unistd.h>

namespace herd {

namespace {

// One background thread writes every node's log batches, in order per file.
class LogWriter {
public:
    static constexpr qsizetype kMaxQueuedBytes = 256LL * 1024 * 1024;

    static LogWriter &instance()
    {
        static LogWriter writer;   // joined at exit, after draining
        return writer;
    }

    void write(int fd, QByteArray data)
    {
        std::unique_lock lock(m_mutex);
        // A disk this far behind: wait rather than grow without bound (or drop lines).
        m_drained.wait(lock, [this] { return m_queuedBytes < kMaxQueuedBytes; });
        m_queuedBytes += data.size();
        m_queue.push_back(Job{fd, std::move(data), false});
        m_wake.notify_one();
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
        QByteArray data;
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

    void run()
    {
        std::unique_lock lock(m_mutex);
        for (;;) {
            m_wake.wait(lock, [this] { return m_stop || !m_queue.empty(); });
            if (m_queue.empty() && m_stop)
                return;
            Job job = std::move(m_queue.front());
            m_queue.pop_front();
            lock.unlock();
            const char *p = job.data.constData();
            qsizetype left = job.data.size();
            while (left > 0) {
                const ssize_t n = ::write(job.fd, p, size_t(left));
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                    break;   // disk full or gone: nothing sensible to do with a log line
                p += n;
                left -= n;
            }
            if (job.close)
                ::close(job.fd);
            lock.lock();
            m_queuedBytes -= job.data.size();
            if (job.close)
                m_doneTicket = job.ticket;
            m_drained.notify_all();
        }
    }

    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::condition_variable m_drained;
    std::deque<Job> m_queue;
    qsizetype m_queuedBytes = 0;
    quint64 m_lastTicket = 0;
    quint64 m_doneTicket = 0;
    bool m_stop = false;
    std::thread m_thread;
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
    m_buffer.reserve(kFlushBytes * 2);
    return true;
}

QString NodeLog::path() const
{
    return m_fd >= 0 ? m_path : QString();
}

void NodeLog::stamp()
{
    // One timestamp rendering per millisecond, however many lines share it.
    const qint64 ms = QDateTime::currentMSecsSinceEpoch();
    if (ms != m_stampMs) {
        m_stampMs = ms;
        m_stampText = QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC)
                          .toString(Qt::ISODateWithMs).toLatin1();
    }
    m_buffer.append(m_stampText);
}

void NodeLog::line(Dir dir, QByteArrayView who, QByteArrayView text)
{
    if (m_fd < 0)
        return;
    stamp();
    m_buffer.append(' ').append(char(dir)).append(' ').append(who).append(' ');
    protocol::appendEscaped(m_buffer, text, 1024);
    m_buffer.append('\n');
    if (m_buffer.size() >= kFlushBytes)
        flush();
}

void NodeLog::event(QByteArrayView who, const QString &text)
{
    line(Dir::Event, who, text.toUtf8());
}

void NodeLog::error(QByteArrayView who, const QString &text)
{
    line(Dir::Error, who, text.toUtf8());
}

void NodeLog::flush()
{
    if (m_fd < 0 || m_buffer.isEmpty())
        return;
    QByteArray batch;
    batch.reserve(kFlushBytes * 2);
    batch.swap(m_buffer);
    LogWriter::instance().write(m_fd, std::move(batch));
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
