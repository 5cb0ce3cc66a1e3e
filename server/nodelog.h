#pragma once
#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <memory>

class QFile;

namespace herd {

// One node's log file: every line in and out, connections, link changes, errors.
// Buffered in memory and written in batches (see kFlushBytes and the node's flush timer), so
// logging every line stays on and cheap on the hot path.
class NodeLog {
    Q_DISABLE_COPY_MOVE(NodeLog)
public:
    enum class Dir : char { In = '<', Out = '>', Event = '*', Error = '!' };

    NodeLog();
    ~NodeLog();

    // Opens (appends to) <dir>/<node>.log, creating dir. Empty dir: logging off.
    bool open(const QString &dir, const QString &node, QString *error);
    bool isOpen() const { return m_file != nullptr; }
    QString path() const;

    // `who` names the connection ("client#12 127.0.0.1:40112", "peer Jaquez"); the text is
    // escaped (control bytes shown as \n, \xNN) and truncated.
    void line(Dir dir, QByteArrayView who, QByteArrayView text);
    void event(QByteArrayView who, const QString &text);
    void error(QByteArrayView who, const QString &text);
    void flush();
    void close();

private:
    void stamp();

    std::unique_ptr<QFile> m_file;
    QByteArray m_buffer;
    qint64 m_stampMs = -1;
    QByteArray m_stampText;
    static constexpr qsizetype kFlushBytes = 64 * 1024;
};

} // namespace herd
