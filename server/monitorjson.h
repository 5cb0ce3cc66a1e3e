#pragma once
// The monitor's data as JSON: node counters and links (the status endpoint's /status) and whole
// monitor batches (its /events stream, one batch per line), so a monitor in another process or
// on another host sees what an in-process one sees. Lossless both ways: bytes travel as Latin-1
// strings (one code point per byte), so a line that is not UTF-8 comes back byte for byte.
#include "monitor.h"
#include "node.h"
#include "peerlink.h"

#include <QJsonObject>
#include <optional>

namespace herd::json {

QJsonObject fromLinkInfo(const LinkInfo &link);
LinkInfo toLinkInfo(const QJsonObject &o);

QJsonObject fromNodeStats(const NodeStats &stats);
NodeStats toNodeStats(const QJsonObject &o);

QJsonObject fromBatch(const MonitorBatch &batch);
// nullopt when `o` is not a batch (no "time_us").
std::optional<MonitorBatch> toBatch(const QJsonObject &o);

// One batch as one compact line of JSON, newline included: the unit of the /events stream.
QByteArray batchLine(const MonitorBatch &batch);

// Stable lower-case names for the wire ("iamat", "at-reply", ...; "in", "out", "event").
QString kindToken(LineKind kind);
std::optional<LineKind> kindFromToken(const QString &token);
QString directionToken(Direction dir);
std::optional<Direction> directionFromToken(const QString &token);

} // namespace herd::json
