#pragma once
#include "protocol.h"
#include <QByteArray>
#include <QHash>

namespace herd {

// What a node knows of one client: its newest accepted update.
struct ClientRecord {
    protocol::Timestamp time;
    quint64 seq = 0;       // the store's change counter when this record was last stored
    QByteArray atLine;     // the AT line as the receiving node produced it, no terminator
};

// Client ID -> newest record. The strictly-newer rule lives here, and only here.
class LocationStore {
public:
    LocationStore();
    // Stores `atLine` for `client` if `time` is strictly newer than what is held. Returns whether
    // it was stored.
    bool offer(QByteArrayView client, protocol::Timestamp time, QByteArrayView atLine);
    const ClientRecord *find(QByteArrayView client) const;
    qsizetype size() const { return m_records.size(); }
    // Changes so far: every stored update takes the next number. With the epoch (random, one
    // per store) a neighbour can ask for "everything after seq N" when its link comes back.
    quint64 seq() const { return m_seq; }
    quint64 epoch() const { return m_epoch; }
    const QHash<QByteArray, ClientRecord> &records() const { return m_records; }

private:
    QHash<QByteArray, ClientRecord> m_records;
    quint64 m_seq = 0;
    quint64 m_epoch;
};

} // namespace herd
