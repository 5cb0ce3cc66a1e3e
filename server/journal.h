#pragma once
// Optional persistence (config "state_dir"): a restarted node resumes with what it knew.
//
// <state_dir>/<node>.snapshot holds every stored AT line; <node>.journal appends each newly
// stored one. Durability: the journal is written (write(2), so it survives a killed process)
// before the node flushes the replies of the same event-loop pass: an acknowledged update is in
// the kernel's page cache before the client sees its AT line. fdatasync(2) runs every
// kSyncIntervalMs, so a power loss or kernel crash loses at most that window. At open, and when
// the journal outgrows the snapshot, the snapshot is rewritten (temp file, fsync, rename) and
// the journal truncated. A torn last journal line (a crash mid-write) is skipped at load.
#include <QByteArray>
#include <QByteArrayView>
#include <QString>

namespace herd {

class LocationStore;

class Journal {
    Q_DISABLE_COPY_MOVE(Journal)
public:
    static constexpr int kSyncIntervalMs = 500;   // the node's housekeeping tick

    Journal() = default;
    ~Journal();

    // Loads snapshot + journal into `store` (strictly-newer rule), writes a fresh snapshot and
    // opens an empty journal. Returns false with *error (one line) on an I/O failure.
    bool open(const QString &dir, const QString &node, LocationStore *store, QString *error);
    bool isOpen() const { return m_fd >= 0; }

    void append(QByteArrayView atLine);   // buffered until writeOut()
    void writeOut();                      // write(2) what is buffered; compacts when due
    void sync();                          // fdatasync(2)
    void close();

private:
    bool compact(QString *error);

    QString m_dir;
    QString m_node;
    LocationStore *m_store = nullptr;
    int m_fd = -1;
    QByteArray m_buffer;
    qint64 m_journalBytes = 0;
    qint64 m_snapshotBytes = 0;
    bool m_dirty = false;     // written since the last sync
};

} // namespace herd
