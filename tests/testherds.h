#pragma once
// Herd configs the tests share: nodes on 127.0.0.1 with port 0 (free ports, told to their
// in-process neighbours before dialling), the offline Places provider, fast heartbeats.
#include "config.h"

#include <QStringList>

namespace herdtest {

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
