#pragma once
#include <QJsonObject>
#include <QList>
#include <QPair>
#include <QString>
#include <QStringList>
#include <optional>

namespace herd {

struct NodeConfig {
    QString name;
    QString host = QStringLiteral("127.0.0.1");   // where it listens and where neighbours dial it
    quint16 port = 0;                              // 0: any free port (tests)
    int statusPort = -1;                           // HTTP status endpoint; -1: none, 0: any free port
    QString logLevel = {};                         // io | events | off; empty: the herd's log_level

    friend bool operator==(const NodeConfig &, const NodeConfig &) = default;
};

struct PlacesConfig {
    QString provider = QStringLiteral("auto");     // google | google-legacy | offline | auto
    QString endpoint;                              // empty: the provider's default URL
    QString apiKeyEnv = QStringLiteral("GOOGLE_PLACES_API_KEY");
    int timeoutMs = 10000;
    QString dataset;                               // offline: GeoJSON file; empty: the bundled one
    int maxConcurrent = 64;                        // Places requests in flight per node

    friend bool operator==(const PlacesConfig &, const PlacesConfig &) = default;
};

struct LimitsConfig {
    int maxLineBytes = 4096;                       // a longer line closes the connection
    qint64 maxOutputBytes = 1 << 20;               // unread replies buffered per client before cut-off
    int maxConnections = 10000;                    // open connections per node (clients + peers)
    int firstLineTimeoutMs = 60000;                // a client must complete a line by then; 0: off
    int idleTimeoutMs = 75000;                     // a client silent this long is closed; 0: off

    friend bool operator==(const LimitsConfig &, const LimitsConfig &) = default;
};

struct PeerConfig {
    int heartbeatMs = 1000;                        // heartbeat interval on every link
    int suspectAfterMissed = 2;                    // missed acks before a peer is "suspect"
    int deadAfterMissed = 5;                       // missed acks before the link is dropped and redialled
    int redialMinMs = 100;                         // first redial delay
    int redialMaxMs = 2000;                        // back-off cap

    friend bool operator==(const PeerConfig &, const PeerConfig &) = default;
};

struct HerdConfig {
    QList<NodeConfig> nodes;
    QList<QPair<QString, QString>> links;          // undirected, each pair once
    PlacesConfig places;
    LimitsConfig limits;
    PeerConfig peers;
    QString logDir = QStringLiteral("logs");       // empty: no log files
    QString logLevel;                              // io | events | off; empty: the program's default
    qint64 logMaxBytes = 100LL << 20;              // a node's log is rotated at this size; 0: never
    int logKeep = 5;                               // rotated files kept (<node>.log.1 ...)
    QString stateDir;                              // empty: no persistence (see journal.h)
    QString peerSecretEnv = QStringLiteral("HERD_PEER_SECRET");
    QString statusHost = QStringLiteral("127.0.0.1");   // where every status endpoint listens

    friend bool operator==(const HerdConfig &, const HerdConfig &) = default;

    const NodeConfig *node(const QString &name) const;
    QStringList neighbours(const QString &name) const;   // in config order
    QStringList nodeNames() const;
    // The node's log level: its own, else the herd's (either may be empty: the default).
    QString logLevelOf(const QString &name) const;

    // The effective config, in the file format (what --print-config prints).
    QJsonObject toJson() const;

    // Parse and validate. On failure returns nullopt and sets *error to one line naming the JSON
    // path of the problem, e.g. "nodes[2].port: must be an integer from 0 to 65535".
    static std::optional<HerdConfig> fromJson(const QByteArray &json, QString *error);
    // Same, from a file; the error starts with the file name.
    static std::optional<HerdConfig> load(const QString &path, QString *error);
    // The built-in five-node herd (resources/herds/builtin.json).
    static HerdConfig builtin();
    // Names of the bundled presets ("builtin", "hill", "bailey", "goloman", "alford") and their
    // resource paths.
    static QStringList presetNames();
    static QString presetPath(const QString &name);   // empty for an unknown name
};

// The address a configured host listens on: "localhost" is 127.0.0.1 (one address, not
// whatever the resolver returns first); anything else is an address literal, taken as written.
QString bindAddress(const QString &host);

} // namespace herd
