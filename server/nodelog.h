#pragma once
#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <memory>

namespace herd {

struct HerdConfig;
struct LogFile;

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
//
// Levels: Io logs every line in and out; Events only connections, links, errors and, once a
// minute, a summary of the lines not logged (so a busy node writes a few lines a minute, not
// one per request); Off opens no file. With a size cap, the writer rotates the file when the
// next lines would pass it (<node>.log -> <node>.log.1 -> ... -> <node>.log.<keep>), and
// reopenAll() (SIGHUP) reopens every file by its name, so an outside rotation (mv, then HUP)
// takes effect without a restart.
class NodeLog {
    Q_DISABLE_COPY_MOVE(NodeLog)
public:
    enum class Dir : char { In = '<', Out = '>', Event = '*', Error = '!' };
    enum class Level { Off, Events, Io };

    struct Options {
        Level level = Level::Io;
        qint64 maxBytes = 0;   // 0: no cap
        int keep = 0;          // rotated files kept; 0: the file is emptied at the cap instead
    };

    NodeLog();
    ~NodeLog();

    // Opens (appends to) <dir>/<node>.log, creating dir. Empty dir or level Off: logging off.
    bool open(const QString &dir, const QString &node, QString *error) { return open(dir, node, Options(), error); }
    bool open(const QString &dir, const QString &node, const Options &options, QString *error);
    // The node's log as the config says (log_dir, its log_level, log_max_bytes, log_keep). A
    // directory or file that cannot be written is a warning, not an error: the node runs
    // without its log file (a read-only working directory must not stop a server).
    bool open(const HerdConfig &config, const QString &node, QString *error);
    bool isOpen() const { return m_fd >= 0; }
    QString path() const;
    Level level() const { return m_io ? Level::Io : (m_fd >= 0 ? Level::Events : Level::Off); }

    // "io", "events", "off".
    static bool parseLevel(const QString &name, Level *level);
    static QStringView levelName(Level level);
    // Reopens every open log file of the process by its path (after it was moved away), from
    // the writer thread, in order with what is queued. Thread-safe: called from a signal notifier.
    static void reopenAll();
    // Waits until everything flushed so far (by any log) is written. For tests.
    static void sync();

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
    // Level Events: how often the summary of the lines not logged is written.
    static constexpr qint64 kSummaryMs = 60000;

private:
    void countSkipped(Dir dir, QByteArrayView who);
    void summarise(qint64 now);

    int m_fd = -1;
    bool m_io = true;      // log every line (level Io)
    QString m_path;
    std::shared_ptr<LogFile> m_file;   // shared with the writer thread
    QByteArray m_buffer;   // records, see nodelog.cpp
    // Level Events: lines not logged since the last summary.
    quint64 m_skippedClientIn = 0, m_skippedClientOut = 0, m_skippedPeerIn = 0, m_skippedPeerOut = 0;
    qint64 m_summaryAtMs = 0;
    static constexpr qsizetype kFlushBytes = 256 * 1024;
};

} // namespace herd
