#include "nodelog.h"
#include "config.h"
#include "protocol.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QLoggingCategory>

#include <cerrno>
#include <condition_variable>
#include <algorithm>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <mutex>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <vector>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcHerdLog, "herd.log", QtInfoMsg)

namespace herd {

// An open log file, shared by its NodeLog (which creates it) and the writer thread (which alone
// uses fd and size after that: rotation and reopening put a new file under the same fd).
struct LogFile {
    int fd = -1;
    QByteArray path;        // encoded for open(2)
    qint64 size = 0;        // bytes in the file now
    qint64 maxBytes = 0;    // 0: no cap
    int keep = 0;
};

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

    void add(LogFile *file)
    {
        std::lock_guard lock(m_mutex);
        m_files.insert(file);
    }

    // Queues a batch of records for `file`; returns an empty buffer (a recycled one when there is
    // one: the same few buffers go back and forth instead of a fresh allocation per batch).
    QByteArray write(const std::shared_ptr<LogFile> &file, QByteArray records)
    {
        QByteArray spare;
        std::unique_lock lock(m_mutex);
        // A disk this far behind: wait rather than grow without bound (or drop lines).
        m_drained.wait(lock, [this] { return m_queuedBytes < kMaxQueuedBytes; });
        m_queuedBytes += records.size();
        m_queue.push_back(Job{file, std::move(records), Job::Write});
        if (!m_spare.empty()) {
            spare = std::move(m_spare.back());
            m_spare.pop_back();
        }
        if (m_waiting)
            m_wake.notify_one();
        return spare;
    }

    // Writes what is queued for `file`, closes it, and returns when that is done.
    void close(const std::shared_ptr<LogFile> &file) { queueAndWait(file, Job::Close); }
    // Returns once everything queued so far is written.
    void sync() { queueAndWait(nullptr, Job::Sync); }
    // Every open file reopened by name, after what is queued so far. Does not wait.
    void reopenAll()
    {
        std::lock_guard lock(m_mutex);
        m_queue.push_back(Job{nullptr, {}, Job::Reopen});
        m_wake.notify_one();
    }

private:
    struct Job {
        enum Kind { Write, Close, Sync, Reopen };
        std::shared_ptr<LogFile> file;
        QByteArray records;
        Kind kind;
        quint64 ticket = 0;
    };

    void queueAndWait(const std::shared_ptr<LogFile> &file, Job::Kind kind)
    {
        std::unique_lock lock(m_mutex);
        const quint64 ticket = ++m_lastTicket;
        m_queue.push_back(Job{file, {}, kind, ticket});
        m_wake.notify_one();
        m_drained.wait(lock, [this, ticket] { return m_doneTicket >= ticket; });
    }

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
    void stamp(qint64 ms)
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
    }

    // Renders a batch of records into m_text (m_textSize bytes), in the file's text format.
    // Written through a pointer, not appended piece by piece: this is most of the writer's work.
    void render(const QByteArray &records)
    {
        m_textSize = 0;
        const char *p = records.constData();
        const char *end = p + records.size();
        while (p < end) {
            RecordHeader h;
            std::memcpy(&h, p, sizeof h);
            p += sizeof h;
            const QByteArrayView who(p, h.whoBytes);
            p += h.whoBytes;
            const QByteArrayView text(p, h.keptBytes);
            p += h.keptBytes;
            stamp(h.ms);
            const bool asIs = h.textBytes == h.keptBytes && allPlain(text);
            if (!asIs) {   // rare: escapes or a truncated line
                m_escaped.resize(0);
                protocol::appendEscapedPrefix(m_escaped, text, h.textBytes, NodeLog::kMaxTextBytes);
            }
            const QByteArrayView shown = asIs ? text : QByteArrayView(m_escaped);
            char *out = reserveText(m_stampText.size() + 3 + who.size() + 1 + shown.size() + 1);
            out = put(out, m_stampText);
            *out++ = ' ';
            *out++ = h.dir;
            *out++ = ' ';
            out = put(out, who);
            *out++ = ' ';
            out = put(out, shown);
            *out++ = '\n';
            m_textSize = out - m_text.constData();
        }
    }

    // Room for `bytes` more at m_textSize; returns where to write them.
    char *reserveText(qsizetype bytes)
    {
        if (m_textSize + bytes > m_text.size())
            m_text.resize(std::max(m_text.size() * 2, m_textSize + bytes + 64 * 1024));
        return m_text.data() + m_textSize;
    }
    static char *put(char *out, QByteArrayView bytes)
    {
        std::memcpy(out, bytes.data(), size_t(bytes.size()));
        return out + bytes.size();
    }

    // Whether every byte shows as itself once escaped (printable ASCII, not a backslash). Eight
    // bytes at a time: a word has a byte below 0x20, above 0x7e or equal to '\\' exactly when the
    // matching bit trick below is non-zero (each is exact as a yes/no for the whole word).
    static bool allPlain(QByteArrayView text)
    {
        constexpr quint64 ones = 0x0101010101010101ULL;
        constexpr quint64 highs = 0x8080808080808080ULL;
        const char *p = text.data();
        qsizetype n = text.size();
        quint64 bad = 0;
        for (; n >= 8; p += 8, n -= 8) {
            quint64 x;
            std::memcpy(&x, p, 8);
            const quint64 below = (x - ones * 0x20) & ~x;           // some byte < 0x20
            const quint64 above = (x + ones * (127 - 0x7e)) | x;    // some byte > 0x7e
            const quint64 b = x ^ (ones * '\\');
            const quint64 slash = (b - ones) & ~b;                  // some byte == '\\'
            bad |= (below | above | slash) & highs;
        }
        for (; n > 0; ++p, --n) {
            const auto c = static_cast<unsigned char>(*p);
            if (c < 0x20 || c > 0x7e || c == '\\')
                return false;
        }
        return bad == 0;
    }

    static void writeFully(int fd, const char *p, qsizetype left)
    {
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

    // The rendered batch into `file`, rotating it whenever the next whole lines would pass its
    // cap (a single line longer than the cap goes alone into a fresh file).
    void writeAll(LogFile &file)
    {
        const char *p = m_text.constData();
        qsizetype left = m_textSize;
        while (left > 0) {
            qsizetype chunk = left;
            if (file.maxBytes > 0 && file.size + left > file.maxBytes) {
                const qsizetype room = qsizetype(std::max<qint64>(0, file.maxBytes - file.size));
                const void *nl = room > 0 ? ::memrchr(p, '\n', size_t(std::min(room, left))) : nullptr;
                chunk = nl ? static_cast<const char *>(nl) - p + 1 : 0;
                if (chunk == 0) {
                    if (file.size > 0) {
                        rotate(file);
                        continue;
                    }
                    const void *end = std::memchr(p, '\n', size_t(left));
                    chunk = end ? static_cast<const char *>(end) - p + 1 : left;
                }
            }
            writeFully(file.fd, p, chunk);
            file.size += chunk;
            p += chunk;
            left -= chunk;
        }
    }

    static QByteArray numbered(const QByteArray &path, int i)
    {
        return path + '.' + QByteArray::number(i);
    }

    // <path>.<keep-1> -> <path>.<keep>, ..., <path> -> <path>.1, and a new <path> under the
    // same descriptor. keep 0: the file is emptied instead.
    static void rotate(LogFile &file)
    {
        if (file.keep <= 0) {
            if (::ftruncate(file.fd, 0) == 0)
                file.size = 0;
            else
                file.maxBytes = 0;   // cannot: stop trying, keep writing
            return;
        }
        for (int i = file.keep - 1; i >= 1; --i)
            ::rename(numbered(file.path, i).constData(), numbered(file.path, i + 1).constData());
        ::rename(file.path.constData(), numbered(file.path, 1).constData());
        if (!reopen(file))
            file.maxBytes = 0;
    }

    // A new file at the path, put under the old descriptor (so no one else needs to know).
    static bool reopen(LogFile &file)
    {
        const int fd = ::open(file.path.constData(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
            return false;
        const bool ok = ::dup3(fd, file.fd, O_CLOEXEC) >= 0;
        ::close(fd);
        struct stat st {};
        file.size = ok && ::fstat(file.fd, &st) == 0 ? qint64(st.st_size) : 0;
        return ok;
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
            std::vector<LogFile *> reopening;
            if (job.kind == Job::Reopen)
                reopening.assign(m_files.begin(), m_files.end());
            if (job.kind == Job::Close)
                m_files.erase(job.file.get());
            lock.unlock();
            if (!job.records.isEmpty()) {
                render(job.records);
                writeAll(*job.file);
                // Give back the memory a burst needed, but keep a batch's worth.
                if (m_text.size() > 4 * 1024 * 1024)
                    m_text = QByteArray();
            }
            for (LogFile *file : reopening)
                reopen(*file);
            if (job.kind == Job::Close)
                ::close(job.file->fd);
            const qsizetype bytes = job.records.size();
            job.records.resize(0);   // keeps the capacity for reuse
            lock.lock();
            m_queuedBytes -= bytes;
            if (job.kind == Job::Write && m_spare.size() < kMaxSpareBuffers)
                m_spare.push_back(std::move(job.records));
            if (job.ticket)
                m_doneTicket = job.ticket;
            m_drained.notify_all();
        }
    }

    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::condition_variable m_drained;
    std::deque<Job> m_queue;
    std::vector<QByteArray> m_spare;   // emptied record buffers, for the next batches
    std::set<LogFile *> m_files;       // open, for reopenAll()
    qsizetype m_queuedBytes = 0;
    quint64 m_lastTicket = 0;
    quint64 m_doneTicket = 0;
    bool m_waiting = false;   // the thread sleeps on m_wake: only then is a notify needed
    bool m_stop = false;
    // The writer thread's own, used without the lock.
    QByteArray m_text;         // rendered batch: the first m_textSize bytes
    qsizetype m_textSize = 0;
    QByteArray m_escaped;      // one line's escaped text, when it needs escaping
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

bool NodeLog::open(const QString &dir, const QString &node, const Options &options, QString *error)
{
    close();
    if (dir.isEmpty() || options.level == Level::Off)
        return true;
    if (!QDir().mkpath(dir)) {
        if (error)
            *error = QStringLiteral("cannot create log directory %1").arg(dir);
        return false;
    }
    m_path = QDir(dir).filePath(node + QStringLiteral(".log"));
    auto file = std::make_shared<LogFile>();
    file->path = QFile::encodeName(m_path);
    file->fd = ::open(file->path.constData(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (file->fd < 0) {
        if (error)
            *error = QStringLiteral("cannot open log file %1: %2").arg(m_path, QString::fromLocal8Bit(std::strerror(errno)));
        return false;
    }
    struct stat st {};
    file->size = ::fstat(file->fd, &st) == 0 ? qint64(st.st_size) : 0;
    file->maxBytes = options.maxBytes;
    file->keep = options.keep;
    m_fd = file->fd;
    m_file = std::move(file);
    LogWriter::instance().add(m_file.get());
    m_io = options.level == Level::Io;
    m_skippedClientIn = m_skippedClientOut = m_skippedPeerIn = m_skippedPeerOut = 0;
    m_summaryAtMs = QDateTime::currentMSecsSinceEpoch();
    m_buffer.reserve(kFlushBytes + 4096);
    return true;
}

bool NodeLog::open(const HerdConfig &config, const QString &node, QString *error)
{
    Q_UNUSED(error);
    Options options;
    if (!parseLevel(config.logLevelOf(node), &options.level))
        options.level = Level::Io;
    options.maxBytes = config.logMaxBytes;
    options.keep = config.logKeep;
    QString why;
    if (!open(config.logDir, node, options, &why))
        qCWarning(lcHerdLog, "%s: %s; running without a log file", qPrintable(node), qPrintable(why));
    return true;
}

bool NodeLog::parseLevel(const QString &name, Level *level)
{
    if (name == QLatin1String("io") || name.isEmpty())
        *level = Level::Io;
    else if (name == QLatin1String("events"))
        *level = Level::Events;
    else if (name == QLatin1String("off"))
        *level = Level::Off;
    else
        return false;
    return true;
}

QStringView NodeLog::levelName(Level level)
{
    switch (level) {
    case Level::Off: return u"off";
    case Level::Events: return u"events";
    case Level::Io: break;
    }
    return u"io";
}

void NodeLog::reopenAll()
{
    LogWriter::instance().reopenAll();
}

void NodeLog::sync()
{
    LogWriter::instance().sync();
}

void NodeLog::countSkipped(Dir dir, QByteArrayView who)
{
    const bool peer = who.startsWith("peer ");
    if (dir == Dir::In)
        ++(peer ? m_skippedPeerIn : m_skippedClientIn);
    else
        ++(peer ? m_skippedPeerOut : m_skippedClientOut);
}

void NodeLog::summarise(qint64 now)
{
    const qint64 seconds = (now - m_summaryAtMs + 500) / 1000;
    m_summaryAtMs = now;
    if (m_skippedClientIn + m_skippedClientOut + m_skippedPeerIn + m_skippedPeerOut == 0)
        return;
    const QString text = QStringLiteral("in the last %1 s: clients %2 lines in, %3 out; peer links %4 in, %5 out")
        .arg(seconds).arg(m_skippedClientIn).arg(m_skippedClientOut).arg(m_skippedPeerIn).arg(m_skippedPeerOut);
    m_skippedClientIn = m_skippedClientOut = m_skippedPeerIn = m_skippedPeerOut = 0;
    line(Dir::Event, "node", text.toUtf8(), now);
}

QString NodeLog::path() const
{
    return m_fd >= 0 ? m_path : QString();
}

void NodeLog::line(Dir dir, QByteArrayView who, QByteArrayView text, qint64 ms)
{
    if (m_fd < 0)
        return;
    if (!m_io && (dir == Dir::In || dir == Dir::Out)) {
        countSkipped(dir, who);
        return;
    }
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
    if (m_fd < 0)
        return;
    if (!m_io) {
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        if (now - m_summaryAtMs >= kSummaryMs)
            summarise(now);
    }
    if (m_buffer.isEmpty())
        return;
    m_buffer = LogWriter::instance().write(m_file, std::move(m_buffer));
    if (m_buffer.capacity() < kFlushBytes + 4096)
        m_buffer.reserve(kFlushBytes + 4096);
}

void NodeLog::close()
{
    if (m_fd < 0)
        return;
    if (!m_io)
        summarise(QDateTime::currentMSecsSinceEpoch());
    flush();
    LogWriter::instance().close(m_file);
    m_file.reset();
    m_fd = -1;
}

} // namespace herd
