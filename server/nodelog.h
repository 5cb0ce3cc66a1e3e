#pragma once
#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <memory>

namespace herd {

// One node's log file: every line in and out, connections, link changes, errors.
// Buffered in memory and handed in batches (kFlushBytes, or the node's 500 ms tick) to one
// writer thread per process, so logging every line stays on and the network thread never waits
// on the disk (unless the disk falls more than kMaxQueuedBytes behind).
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
    // escaped (control bytes shown as \n, \xNN) and truncated.
    void line(Dir dir, QByteArrayView who, QByteArrayView text);
    void event(QByteArrayView who, const QString &text);
    void error(QByteArrayView who, const QString &text);
    void flush();
    void close();   // returns once everything logged so far is written

private:
    void stamp();

    int m_fd = -1;
    QString m_path;
    QByteArray m_buffer;
    qint64 m_stampMs = -1;
    QByteArray m_stampText;
    static constexpr qsizetype kFlushBytes = 64 * 1024;
};

} // namespace herd
