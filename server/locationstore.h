#pragma once
#include "protocol.h"
#include <QByteArray>
#include <QHash>

namespace herd {

// What a node knows of one client: its newest accepted update.
struct ClientRecord {
    protocol::Timestamp time;
    QByteArray atLine;     // the AT line as the receiving node produced it, no terminator
};

// Client ID -> newest record. The strictly-newer rule lives here, and only here.
class LocationStore {
public:
    // Stores `atLine` for `client` if `time` is strictly newer than what is held. Returns whether
    // it was stored.
    bool offer(QByteArrayView client, protocol::Timestamp time, QByteArrayView atLine);
    const ClientRecord *find(QByteArrayView client) const;
    qsizetype size() const { return m_records.size(); }
    const QHash<QByteArray, ClientRecord> &records() const { return m_records; }
    void clear() { m_records.clear(); }

private:
    QHash<QByteArray, ClientRecord> m_records;
};

} // namespace herd
