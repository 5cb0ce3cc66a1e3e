#pragma once
#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <memory>

namespace herd {

// One node's log file: every line in and out, connections, link changes, errors.
//
// The network thread does the least it can per line: it appends a compact record (direction,
// time in milliseconds, the connection's label and the line's raw bytes, at most what the
// escaped text can show) to a buffer. Batches (kFlushBytes, or the node's 500 ms tick) go to
// one writer thread per process, which renders them (timestamp, escaping) into the text format
// and writes them, in order per file. So logging every line stays on and the network thread
// never formats or waits on the disk (unless the disk falls more than kMaxQueuedBytes behind).
//
// The file format, one line per record:
//   2024-05-20T12:34:56.789Z < client#7 127.0.0.1:40112 IAMAT kiwi +34-118 1621464827
class NodeLog {
    Q_DISABLE_COPY_MOVE(NodeLog)
public:
    enum class Dir : char { In = '<', Out = '>', Event = '*', Error = '!' };

    NodeLog();
    ~NodeLog();

    // Opens (appends to) <dir>/<node>.log, creating dir. Empty dir: logging off.
    bool open(const QString &dir, const QString &node, QString *error);
    bool isOpen() const { return m_fd >= 0; }
    QString path() const;

    // `who` names the connection ("client#12 127.0.0.1:40112", "peer Jaquez"); the text is
    // escaped (control bytes shown as \n, \xNN) and truncated. `ms` is the time to log (ms since
    // the epoch, UTC), when the caller has already read the clock; -1: now.
    void line(Dir dir, QByteArrayView who, QByteArrayView text, qint64 ms = -1);
    void event(QByteArrayView who, const QString &text, qint64 ms = -1);
    void error(QByteArrayView who, const QString &text, qint64 ms = -1);
    void flush();
    void close();   // returns once everything logged so far is written

    // The text shown of a line: at most this many bytes once escaped, then "...(N bytes)".
    static constexpr qsizetype kMaxTextBytes = 1024;

private:
    int m_fd = -1;
    QString m_path;
    QByteArray m_buffer;   // records, see nodelog.cpp
    static constexpr qsizetype kFlushBytes = 256 * 1024;
};

} // namespace herd
