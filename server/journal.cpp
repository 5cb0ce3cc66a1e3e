#include "journal.h"
#include "locationstore.h"
#include "protocol.h"

#include <QDir>
#include <QFile>
#include <QSaveFile>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace herd {

namespace {

constexpr qint64 kMinCompactBytes = 64LL * 1024 * 1024;

// Applies every complete, valid AT line of `data` to the store; returns how many were stored.
qint64 load(const QByteArray &data, LocationStore *store)
{
    qint64 stored = 0;
    qsizetype start = 0;
    while (start < data.size()) {
        const qsizetype nl = data.indexOf('\n', start);
        if (nl < 0)
            break;   // a torn last line: the crash happened mid-write
        const QByteArrayView line(data.constData() + start, nl - start);
        start = nl + 1;
        const protocol::Message m = protocol::parse(line);
        if (m.kind == protocol::Kind::At && store->offer(m.client, m.timestamp, line))
            ++stored;
    }
    return stored;
}

bool writeAll(int fd, const char *data, qint64 size)
{
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size_t(size));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        size -= n;
    }
    return true;
}

} // namespace

Journal::~Journal()
{
    close();
}

bool Journal::open(const QString &dir, const QString &node, LocationStore *store, QString *error)
{
    close();
    m_dir = dir;
    m_node = node;
    m_store = store;
    if (!QDir().mkpath(dir)) {
        *error = QStringLiteral("cannot create state directory %1").arg(dir);
        return false;
    }
    const QDir d(dir);
    for (const QString &name : {node + QStringLiteral(".snapshot"), node + QStringLiteral(".journal")}) {
        QFile f(d.filePath(name));
        if (!f.exists())
            continue;
        if (!f.open(QIODevice::ReadOnly)) {
            *error = QStringLiteral("cannot read %1: %2").arg(f.fileName(), f.errorString());
            return false;
        }
        load(f.readAll(), store);
    }
    return compact(error);
}

bool Journal::compact(QString *error)
{
    const QDir d(m_dir);
    QSaveFile snapshot(d.filePath(m_node + QStringLiteral(".snapshot")));
    if (!snapshot.open(QIODevice::WriteOnly)) {
        *error = QStringLiteral("cannot write %1: %2").arg(snapshot.fileName(), snapshot.errorString());
        return false;
    }
    QByteArray chunk;
    qint64 bytes = 0;
    m_store->forEach([&](const ClientRecord &r) {
        chunk.append(r.atLine()).append('\n');
        if (chunk.size() > 1 << 20) {
            bytes += snapshot.write(chunk);
            chunk.clear();
        }
    });
    bytes += snapshot.write(chunk);
    snapshot.flush();
    ::fdatasync(int(snapshot.handle()));
    if (!snapshot.commit()) {
        *error = QStringLiteral("cannot write %1: %2").arg(snapshot.fileName(), snapshot.errorString());
        return false;
    }
    m_snapshotBytes = bytes;
    // Only now that the snapshot holds everything may the journal start over.
    if (m_fd >= 0)
        ::close(m_fd);
    const QByteArray path = QFile::encodeName(d.filePath(m_node + QStringLiteral(".journal")));
    m_fd = ::open(path.constData(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (m_fd < 0) {
        *error = QStringLiteral("cannot open %1: %2").arg(QString::fromLocal8Bit(path),
                                                          QString::fromLocal8Bit(std::strerror(errno)));
        return false;
    }
    ::fsync(m_fd);
    if (const int dirFd = ::open(QFile::encodeName(m_dir).constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dirFd >= 0) {
        ::fsync(dirFd);   // the rename and the truncation are durable too
        ::close(dirFd);
    }
    m_journalBytes = 0;
    return true;
}

void Journal::append(QByteArrayView atLine)
{
    if (m_fd < 0)
        return;
    m_buffer.append(atLine).append('\n');
}

void Journal::writeOut()
{
    if (m_fd < 0 || m_buffer.isEmpty())
        return;
    if (writeAll(m_fd, m_buffer.constData(), m_buffer.size())) {
        m_journalBytes += m_buffer.size();
        m_dirty = true;
    }
    m_buffer.resize(0);
    if (m_journalBytes > std::max(kMinCompactBytes, 2 * m_snapshotBytes)) {
        QString error;
        compact(&error);
    }
}

void Journal::sync()
{
    if (m_fd >= 0 && m_dirty) {
        ::fdatasync(m_fd);
        m_dirty = false;
    }
}

void Journal::close()
{
    if (m_fd < 0)
        return;
    writeOut();
    sync();
    ::close(m_fd);
    m_fd = -1;
}

} // namespace herd
