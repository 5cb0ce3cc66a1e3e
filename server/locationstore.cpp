#include "locationstore.h"

#include <QRandomGenerator>

namespace herd {

LocationStore::LocationStore()
    : m_epoch(QRandomGenerator::system()->generate64() | 1)   // never 0: 0 means "unknown"
{
}

bool LocationStore::offer(QByteArrayView client, protocol::Timestamp time, QByteArrayView atLine)
{
    // Look up without allocating a key; only a new client pays for one.
    auto it = m_records.find(QByteArray::fromRawData(client.data(), client.size()));
    if (it == m_records.end()) {
        m_records.insert(client.toByteArray(), ClientRecord{time, ++m_seq, atLine.toByteArray()});
        return true;
    }
    if (!(time > it->time))
        return false;
    it->time = time;
    it->seq = ++m_seq;
    it->atLine = atLine.toByteArray();
    return true;
}

const ClientRecord *LocationStore::find(QByteArrayView client) const
{
    auto it = m_records.constFind(QByteArray::fromRawData(client.data(), client.size()));
    return it == m_records.cend() ? nullptr : &*it;
}

} // namespace herd
