#pragma once
// A node's counters in the Prometheus text exposition format (version 0.0.4), for the status
// endpoint's /metrics. Pure functions: no sockets, testable on a NodeStats built by hand.
#include "node.h"

#include <QByteArray>
#include <QString>

namespace herd::metrics {

struct BuildInfo {
    QString version;   // the project version (CMake)
    QString qt;        // the Qt run-time version
};
BuildInfo buildInfo();

// Every metric with its # HELP and # TYPE, labelled by node (and peer, command, reason, kind,
// status, le). Never a client ID as a label: a label per client would be unbounded.
// `nowMs` (epoch ms) dates the heartbeat ages.
QByteArray prometheusText(const NodeStats &stats, qint64 nowMs, const BuildInfo &build = buildInfo());

// A label value escaped for the text format: backslash, double quote and line feed.
QByteArray escapeLabelValue(const QString &value);

} // namespace herd::metrics
