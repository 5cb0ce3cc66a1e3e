#include "stats.h"

#include <algorithm>

namespace herd {

QString livenessName(Liveness l)
{
    switch (l) {
    case Liveness::Down: return QStringLiteral("down");
    case Liveness::Alive: return QStringLiteral("alive");
    case Liveness::Suspect: return QStringLiteral("suspect");
    case Liveness::Dead: return QStringLiteral("dead");
    }
    return {};
}

void PlacesStats::count(qint64 us, const QString &status)
{
    size_t bucket = 0;
    while (bucket < kPlacesLatencyBoundsMs.size() && us > qint64(kPlacesLatencyBoundsMs[bucket]) * 1000)
        ++bucket;
    ++latency[bucket];
    latencySumUs += quint64(std::max<qint64>(us, 0));
    if (status == QLatin1StringView("OK") || status == QLatin1StringView("ZERO_RESULTS"))
        return;
    size_t kind = 0;
    while (kind + 1 < kPlacesErrorStatuses.size() && status != QLatin1StringView(kPlacesErrorStatuses[kind]))
        ++kind;
    ++errors[kind];
}

} // namespace herd
