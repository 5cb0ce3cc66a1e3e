#include "monitor.h"

#include <QTimer>

namespace herd {

QString lineKindName(LineKind kind)
{
    switch (kind) {
    case LineKind::Iamat: return QStringLiteral("IAMAT");
    case LineKind::Whatsat: return QStringLiteral("WHATSAT");
    case LineKind::AtReply: return QStringLiteral("AT reply");
    case LineKind::WhatsatReply: return QStringLiteral("WHATSAT reply");
    case LineKind::Invalid: return QStringLiteral("invalid");
    case LineKind::Flood: return QStringLiteral("flood");
    case LineKind::Duplicate: return QStringLiteral("duplicate");
    case LineKind::Heartbeat: return QStringLiteral("heartbeat");
    case LineKind::Handshake: return QStringLiteral("handshake");
    case LineKind::LinkEvent: return QStringLiteral("link");
    case LineKind::Connection: return QStringLiteral("connection");
    case LineKind::Error: return QStringLiteral("error");
    case LineKind::Blank: return QStringLiteral("blank");
    }
    return {};
}

QString directionName(Direction dir)
{
    switch (dir) {
    case Direction::In: return QStringLiteral("in");
    case Direction::Out: return QStringLiteral("out");
    case Direction::Event: return QStringLiteral("event");
    }
    return {};
}

using protocol::nowUs;

void LatestUpdates::put(StoredUpdate update)
{
    const auto key = qMakePair(update.node, update.client);
    const auto it = m_index.constFind(key);
    if (it != m_index.cend()) {
        m_updates[*it] = std::move(update);
    } else {
        m_index.insert(key, m_updates.size());
        m_updates.append(std::move(update));
    }
}

QList<StoredUpdate> LatestUpdates::take()
{
    m_index.clear();
    return std::exchange(m_updates, {});
}

EventStream::EventStream(std::function<QList<NodeStats>()> statsSource, QObject *parent)
    : QObject(parent), m_statsSource(std::move(statsSource)), m_timer(new QTimer(this))
{
    qRegisterMetaType<herd::MonitorBatchPtr>();
    m_ring.reserve(kMaxTrafficRows);
    connect(m_timer, &QTimer::timeout, this, &EventStream::flush);
    m_timer->start(kIntervalMs);
}

qsizetype EventStream::line(const QString &node, Direction dir, LineKind kind, const QByteArray &who,
                            QByteArrayView text)
{
    TrafficRow row{nowUs(), node, dir, kind, who,
                   text.first(std::min<qsizetype>(text.size(), kMaxTextBytes)).toByteArray()};
    if (qsizetype(m_ring.size()) < kMaxTrafficRows) {
        m_ring.push_back(std::move(row));   // capacity reserved: slots never move
        return qsizetype(m_ring.size()) - 1;
    }
    // Full: the oldest row makes way (a bounded tail, with a count of what was dropped).
    const qsizetype slot = m_ringStart;
    m_ring[size_t(slot)] = std::move(row);
    m_ringStart = (m_ringStart + 1) % kMaxTrafficRows;
    ++m_trafficDropped;
    return slot;
}

void EventStream::setKind(qsizetype slot, LineKind kind)
{
    if (slot >= 0 && slot < qsizetype(m_ring.size()))
        m_ring[size_t(slot)].kind = kind;
}

void EventStream::stored(const QString &node, QByteArrayView client, protocol::Timestamp time,
                         const protocol::Location &where, QByteArrayView atLine, const QString &from)
{
    const qint64 now = nowUs();
    const QByteArray id = client.toByteArray();   // shared by the update and the hop
    // Only the newest location per (node, client) matters to the views.
    m_stored.put(StoredUpdate{node, id, time, where.lat, where.lng, atLine.toByteArray(), now});
    if (m_hops.size() < kMaxHops)
        m_hops.append(FloodHop{id, time, from, node, now});
    else
        ++m_hopsDropped;
}

void EventStream::flush()
{
    if (m_inFlight.load(std::memory_order_acquire))
        return;   // the GUI is still applying the last batch: keep merging
    auto batch = std::make_shared<MonitorBatch>();
    batch->timeUs = nowUs();
    batch->traffic.reserve(qsizetype(m_ring.size()));
    for (size_t i = 0; i < m_ring.size(); ++i)
        batch->traffic.append(std::move(m_ring[(size_t(m_ringStart) + i) % m_ring.size()]));
    m_ring.clear();
    m_ringStart = 0;
    batch->trafficDropped = std::exchange(m_trafficDropped, 0);
    batch->stored = m_stored.take();
    batch->hops = std::exchange(m_hops, {});
    batch->hopsDropped = std::exchange(m_hopsDropped, 0);
    if (m_statsSource)
        batch->stats = m_statsSource();
    m_inFlight.store(true, std::memory_order_release);
    Q_EMIT batchReady(batch);
}

} // namespace herd
