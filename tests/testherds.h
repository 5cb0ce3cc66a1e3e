#pragma once
// Herd configs the tests share: nodes on 127.0.0.1 with port 0 (free ports, told to their
// in-process neighbours before dialling), the offline Places provider, fast heartbeats.
#include "config.h"
#include "stats.h"

#include <QStringList>

namespace herdtest {

// Every node running and every link of every node up, each having seen at least `minAcks`
// heartbeat acks (2: settled, start-up catch-up over).
inline bool allLinksUp(const QList<herd::NodeStats> &stats, quint64 minAcks = 0)
{
    for (const herd::NodeStats &s : stats) {
        if (!s.running)
            return false;
        for (const herd::LinkInfo &l : s.links) {
            if (!l.up || l.stats.acksReceived < minAcks)
                return false;
        }
    }
    return true;
}

// The monitor's link table (a LinkTableModel) has `rows` rows, all up.
template <typename LinkModel>
bool allLinkRowsUp(const LinkModel &links, int rows)
{
    if (links.rowCount() != rows)
        return false;
    for (int row = 0; row < rows; ++row) {
        if (!links.index(row, 0).data(LinkModel::UpRole).toBool())
            return false;
    }
    return true;
}

inline herd::HerdConfig testHerd(const QStringList &names, const QList<QPair<QString, QString>> &links,
                                 const QString &logDir)
{
    herd::HerdConfig c;
    for (const QString &name : names)
        c.nodes.append(herd::NodeConfig{name, QStringLiteral("127.0.0.1"), 0});
    c.links = links;
    c.logDir = logDir;                                  // empty: no log files
    c.places.provider = QStringLiteral("offline");
    c.peers.heartbeatMs = 100;                          // liveness settles in a fraction of a second
    return c;
}

// Hill alone.
inline herd::HerdConfig singleNode(const QString &logDir)
{
    return testHerd({QStringLiteral("Hill")}, {}, logDir);
}

// Hill – Jaquez – Smith.
inline herd::HerdConfig lineOfThree(const QString &logDir)
{
    return testHerd({QStringLiteral("Hill"), QStringLiteral("Jaquez"), QStringLiteral("Smith")},
                    {{QStringLiteral("Hill"), QStringLiteral("Jaquez")}, {QStringLiteral("Jaquez"), QStringLiteral("Smith")}},
                    logDir);
}

// The classic Hill/Jaquez/Smith/Campbell/Singleton herd (resources/herds/builtin.json).
inline herd::HerdConfig classicHerd(const QString &logDir)
{
    const QString hill = QStringLiteral("Hill"), jaquez = QStringLiteral("Jaquez"), smith = QStringLiteral("Smith"),
                  campbell = QStringLiteral("Campbell"), singleton = QStringLiteral("Singleton");
    return testHerd({hill, jaquez, smith, campbell, singleton},
                    {{hill, jaquez}, {hill, smith}, {singleton, jaquez}, {singleton, smith}, {singleton, campbell},
                     {smith, campbell}},
                    logDir);
}

} // namespace herdtest
