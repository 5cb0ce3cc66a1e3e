#include "nodelog.h"
#include "protocol.h"

#include <QDateTime>
#include <QDir>
#include <QFile>

namespace herd {

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
    auto file = std::make_unique<QFile>(QDir(dir).filePath(node + QStringLiteral(".log")));
    if (!file->open(QIODevice::WriteOnly | QIODevice::Append | QIODevice::Unbuffered)) {
        if (error)
            *error = QStringLiteral("cannot open log file %1: %2").arg(file->fileName(), file->errorString());
        return false;
    }
    m_file = std::move(file);
    m_buffer.reserve(kFlushBytes * 2);
    return true;
}

QString NodeLog::path() const
{
    return m_file ? m_file->fileName() : QString();
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
    if (!m_file)
        return;
    stamp();
    m_buffer.append(' ').append(char(dir)).append(' ').append(who).append(' ')
        .append(protocol::escaped(text, 1024)).append('\n');
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
    if (!m_file || m_buffer.isEmpty())
        return;
    m_file->write(m_buffer);
    m_buffer.resize(0);
}

void NodeLog::close()
{
    flush();
    m_file.reset();
}

} // namespace herd
