#include "config.h"

#include <QFile>
#include <QHostAddress>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QJsonValue>
#include <QRegularExpression>
#include <QUrl>

#include <cmath>
#include <variant>

using namespace Qt::StringLiterals;

namespace herd {

namespace {

// A herd config is a few hundred bytes; the cap only stops `--config /dev/zero` from eating memory.
constexpr qint64 kMaxConfigBytes = 16 * 1024 * 1024;

// Ranges of the numeric settings. The brief leaves some open-ended; the caps here are far beyond
// any sensible value and keep products like heartbeat_ms * dead_after_missed inside an int.
constexpr int kMaxTimeoutMs = 600000;              // 10 min
constexpr int kMaxConcurrent = 10000;
constexpr int kMinLineBytes = 16;
constexpr int kMaxLineBytes = 16 * 1024 * 1024;
constexpr qint64 kMinOutputBytes = 1024;
constexpr qint64 kMaxOutputBytes = qint64(1) << 30;
constexpr int kMaxLimitTimeoutMs = 24 * 3600 * 1000;   // a day
constexpr int kMinHeartbeatMs = 10;
constexpr int kMaxHeartbeatMs = 600000;
constexpr int kMaxMissed = 1000;
constexpr int kMaxRedialMs = 600000;
constexpr qint64 kMaxLogBytes = qint64(1) << 40;
constexpr int kMaxLogKeep = 1000;

const QStringList &providerNames()
{
    static const QStringList names{u"auto"_s, u"google"_s, u"google-legacy"_s, u"offline"_s};
    return names;
}

const QStringList &logLevelNames()
{
    static const QStringList names{u"io"_s, u"events"_s, u"off"_s};
    return names;
}

bool isEnvVarName(const QString &s)
{
    static const QRegularExpression re(u"\\A[A-Za-z_][A-Za-z0-9_]*\\z"_s);
    return re.match(s).hasMatch();
}

bool hasSpaceOrControl(const QString &s)
{
    for (const QChar c : s) {
        if (c.isSpace() || c.category() == QChar::Other_Control)
            return true;
    }
    return false;
}

// "timeoutMs" -> "timeout_ms", "Nodes" -> "nodes": to suggest the key the user probably meant.
QString toSnakeCase(const QString &key)
{
    QString out;
    for (qsizetype i = 0; i < key.size(); ++i) {
        const QChar c = key.at(i);
        if (c.isUpper()) {
            if (i > 0 && key.at(i - 1) != u'_')
                out += u'_';
            out += c.toLower();
        } else {
            out += c == u'-' ? u'_' : c;
        }
    }
    return out;
}

// A user's string in a message, quoted and escaped as in JSON: the error must stay one line.
QString quoted(const QString &s)
{
    QString out = u"\""_s;
    for (const QChar c : s) {
        if (c == u'"' || c == u'\\')
            out += u'\\' + QString(c);
        else if (c == u'\n')
            out += u"\\n"_s;
        else if (c == u'\t')
            out += u"\\t"_s;
        else if (c == u'\r')
            out += u"\\r"_s;
        else if (c.category() == QChar::Other_Control || c == QChar::LineSeparator || c == QChar::ParagraphSeparator)
            out += u"\\u%1"_s.arg(uint(c.unicode()), 4, 16, QLatin1Char('0'));
        else
            out += c;
    }
    return out + u'"';
}

QString childPath(const QString &path, const QString &key)
{
    static const QRegularExpression plain(u"\\A[A-Za-z0-9_-]+\\z"_s);
    if (!plain.match(key).hasMatch())   // "foo bar", "", "a.b": bracket them so the path stays readable
        return path + u'[' + quoted(key) + u']';
    return path.isEmpty() ? key : path + u'.' + key;
}

QString indexPath(const QString &path, qsizetype i)
{
    return path + u'[' + QString::number(i) + u']';
}

QString integerRange(qint64 min, qint64 max)
{
    return u"must be an integer from %1 to %2"_s.arg(QString::number(min), QString::number(max));
}

// One key of a config object: its name in the file, the field it sets and what values it takes.
// The parser reads and toJson() prints the same table, so a key is listed once.
enum class Rule { Any, Range, EnvName, Provider, HttpUrl };

template <typename S>
struct Key {
    QString name;
    std::variant<int S::*, qint64 S::*, QString S::*> field;
    Rule rule = Rule::Any;
    qint64 min = 0;
    qint64 max = 0;
};

const QList<Key<PlacesConfig>> &placesKeys()
{
    static const QList<Key<PlacesConfig>> keys{
        {u"provider"_s, &PlacesConfig::provider, Rule::Provider},
        {u"endpoint"_s, &PlacesConfig::endpoint, Rule::HttpUrl},
        {u"api_key_env"_s, &PlacesConfig::apiKeyEnv, Rule::EnvName},
        {u"timeout_ms"_s, &PlacesConfig::timeoutMs, Rule::Range, 1, kMaxTimeoutMs},
        {u"dataset"_s, &PlacesConfig::dataset},
        {u"max_concurrent"_s, &PlacesConfig::maxConcurrent, Rule::Range, 1, kMaxConcurrent},
    };
    return keys;
}

const QList<Key<LimitsConfig>> &limitsKeys()
{
    static const QList<Key<LimitsConfig>> keys{
        {u"max_line_bytes"_s, &LimitsConfig::maxLineBytes, Rule::Range, kMinLineBytes, kMaxLineBytes},
        {u"max_output_bytes"_s, &LimitsConfig::maxOutputBytes, Rule::Range, kMinOutputBytes, kMaxOutputBytes},
        {u"max_connections"_s, &LimitsConfig::maxConnections, Rule::Range, 1, 1000000},
        {u"first_line_timeout_ms"_s, &LimitsConfig::firstLineTimeoutMs, Rule::Range, 0, kMaxLimitTimeoutMs},
        {u"idle_timeout_ms"_s, &LimitsConfig::idleTimeoutMs, Rule::Range, 0, kMaxLimitTimeoutMs},
    };
    return keys;
}

const QList<Key<PeerConfig>> &peerKeys()
{
    static const QList<Key<PeerConfig>> keys{
        {u"heartbeat_ms"_s, &PeerConfig::heartbeatMs, Rule::Range, kMinHeartbeatMs, kMaxHeartbeatMs},
        {u"suspect_after_missed"_s, &PeerConfig::suspectAfterMissed, Rule::Range, 1, kMaxMissed - 1},
        {u"dead_after_missed"_s, &PeerConfig::deadAfterMissed, Rule::Range, 2, kMaxMissed},
        {u"redial_min_ms"_s, &PeerConfig::redialMinMs, Rule::Range, 1, kMaxRedialMs},
        {u"redial_max_ms"_s, &PeerConfig::redialMaxMs, Rule::Range, 1, kMaxRedialMs},
    };
    return keys;
}

// The plain top-level keys (nodes, links, the sections and status_host have their own rules).
const QList<Key<HerdConfig>> &rootKeys()
{
    static const QList<Key<HerdConfig>> keys{
        {u"log_dir"_s, &HerdConfig::logDir},
        {u"state_dir"_s, &HerdConfig::stateDir},
        {u"peer_secret_env"_s, &HerdConfig::peerSecretEnv, Rule::EnvName},
    };
    return keys;
}

template <typename S>
QStringList keyNames(const QList<Key<S>> &keys)
{
    QStringList names;
    for (const Key<S> &k : keys)
        names.append(k.name);
    return names;
}

template <typename S>
void insertKeys(QJsonObject &out, const S &s, const QList<Key<S>> &keys)
{
    for (const Key<S> &k : keys)
        std::visit([&](auto field) { out.insert(k.name, QJsonValue(s.*field)); }, k.field);
}

// Validates one JSON document into a HerdConfig. Stops at the first problem, in reading order;
// within an object, unknown keys are reported before bad values (a misspelt key explains why
// its value seems to be ignored).
class Parser {
public:
    std::optional<HerdConfig> parse(const QByteArray &json);
    QString error() const { return m_error; }

private:
    bool fail(const QString &path, const QString &what)
    {
        if (m_error.isEmpty())
            m_error = path.isEmpty() ? what : path + u": "_s + what;
        return false;
    }

    bool checkKeys(const QJsonObject &obj, const QString &path, const QStringList &known);
    bool objectAt(const QJsonValue &v, const QString &path, QJsonObject *out);
    bool readString(const QJsonObject &obj, const QString &path, const QString &key, QString *out);
    bool readEnvName(const QJsonObject &obj, const QString &path, const QString &key, QString *out);
    bool readLogLevel(const QJsonObject &obj, const QString &path, QString *out);
    template <typename T>
    bool readInt(const QJsonObject &obj, const QString &path, const QString &key, qint64 min,
                 qint64 max, T *out);
    // Every key of the table that `obj` has, in table order; stops at the first bad value.
    template <typename S>
    bool readKeys(const QJsonObject &obj, const QString &path, const QList<Key<S>> &keys, S *out);
    template <typename S, typename T>
    bool readKey(const QJsonObject &obj, const QString &path, const Key<S> &key, T *out);
    template <typename S>
    bool readKey(const QJsonObject &obj, const QString &path, const Key<S> &key, QString *out);

    bool parseNodes(const QJsonObject &root, HerdConfig *cfg);
    bool parseNode(const QJsonValue &v, const QString &path, NodeConfig *node);
    bool parseLinks(const QJsonObject &root, HerdConfig *cfg);
    bool parsePlaces(const QJsonObject &root, PlacesConfig *places);
    bool parseLimits(const QJsonObject &root, LimitsConfig *limits);
    bool parsePeers(const QJsonObject &root, PeerConfig *peers);
    bool parseStatusHost(const QJsonObject &root, HerdConfig *cfg);
    bool checkStatusPorts(const HerdConfig &cfg);

    QString m_error;
};

bool Parser::checkKeys(const QJsonObject &obj, const QString &path, const QStringList &known)
{
    for (auto it = obj.constBegin(); it != obj.constEnd(); ++it) {
        const QString key = it.key();
        if (known.contains(key))
            continue;
        const QString guess = toSnakeCase(key).toLower();
        if (guess != key && known.contains(guess))
            return fail(childPath(path, key), u"unknown key (did you mean %1?)"_s.arg(quoted(guess)));
        return fail(childPath(path, key), u"unknown key"_s);
    }
    return true;
}

bool Parser::objectAt(const QJsonValue &v, const QString &path, QJsonObject *out)
{
    if (!v.isObject())
        return fail(path, u"must be an object"_s);
    *out = v.toObject();
    return true;
}

bool Parser::readString(const QJsonObject &obj, const QString &path, const QString &key, QString *out)
{
    const QJsonValue v = obj.value(key);
    if (v.isUndefined())
        return true;
    if (!v.isString())
        return fail(childPath(path, key), u"must be a string"_s);
    *out = v.toString();
    return true;
}

bool Parser::readEnvName(const QJsonObject &obj, const QString &path, const QString &key, QString *out)
{
    const QJsonValue v = obj.value(key);
    if (v.isUndefined())
        return true;
    if (!v.isString() || !isEnvVarName(v.toString()))
        return fail(childPath(path, key),
                    u"must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)"_s);
    *out = v.toString();
    return true;
}

bool Parser::readLogLevel(const QJsonObject &obj, const QString &path, QString *out)
{
    const QString key = u"log_level"_s;
    const QJsonValue v = obj.value(key);
    if (v.isUndefined())
        return true;
    if (!v.isString() || !logLevelNames().contains(v.toString()))
        return fail(childPath(path, key), u"must be one of %1"_s.arg(logLevelNames().join(u", "_s)));
    *out = v.toString();
    return true;
}

template <typename T>
bool Parser::readInt(const QJsonObject &obj, const QString &path, const QString &key, qint64 min,
                     qint64 max, T *out)
{
    const QJsonValue v = obj.value(key);
    if (v.isUndefined())
        return true;
    // JSON has one number type: 12000.0 is the integer 12000, 12000.5 is not an integer.
    const double d = v.toDouble();
    if (!v.isDouble() || !std::isfinite(d) || std::trunc(d) != d || d < double(min) || d > double(max))
        return fail(childPath(path, key), integerRange(min, max));
    *out = T(d);
    return true;
}

template <typename S>
bool Parser::readKeys(const QJsonObject &obj, const QString &path, const QList<Key<S>> &keys, S *out)
{
    for (const Key<S> &k : keys) {
        if (!std::visit([&](auto field) { return readKey(obj, path, k, &(out->*field)); }, k.field))
            return false;
    }
    return true;
}

template <typename S, typename T>
bool Parser::readKey(const QJsonObject &obj, const QString &path, const Key<S> &key, T *out)
{
    return readInt(obj, path, key.name, key.min, key.max, out);
}

template <typename S>
bool Parser::readKey(const QJsonObject &obj, const QString &path, const Key<S> &key, QString *out)
{
    switch (key.rule) {
    case Rule::EnvName:
        return readEnvName(obj, path, key.name, out);
    case Rule::Provider: {
        const QJsonValue v = obj.value(key.name);
        if (v.isUndefined())
            return true;
        if (!v.isString() || !providerNames().contains(v.toString()))
            return fail(childPath(path, key.name), u"must be one of %1"_s.arg(providerNames().join(u", "_s)));
        *out = v.toString();
        return true;
    }
    case Rule::HttpUrl: {
        if (!readString(obj, path, key.name, out))
            return false;
        if (out->isEmpty())
            return true;
        const QUrl url(*out, QUrl::StrictMode);
        const QString scheme = url.scheme();
        if (!url.isValid() || (scheme != u"http"_s && scheme != u"https"_s) || url.host().isEmpty())
            return fail(childPath(path, key.name), u"must be an http or https URL, or empty for the provider's default"_s);
        return true;
    }
    case Rule::Any:
    case Rule::Range:
        break;
    }
    return readString(obj, path, key.name, out);
}

std::optional<HerdConfig> Parser::parse(const QByteArray &json)
{
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        fail({}, u"offset %1: %2"_s.arg(QString::number(parseError.offset), parseError.errorString()));
        return std::nullopt;
    }
    if (!doc.isObject()) {
        fail(u"top level"_s, u"must be an object"_s);
        return std::nullopt;
    }
    const QJsonObject root = doc.object();
    HerdConfig cfg;
    const bool ok = checkKeys(root, {},
                              QStringList{u"nodes"_s, u"links"_s, u"places"_s, u"limits"_s, u"peers"_s}
                                  + keyNames(rootKeys())
                                  + QStringList{u"log_level"_s, u"log_max_bytes"_s, u"log_keep"_s, u"status_host"_s})
            && parseNodes(root, &cfg)
            && parseLinks(root, &cfg)
            && parsePlaces(root, &cfg.places)
            && parseLimits(root, &cfg.limits)
            && parsePeers(root, &cfg.peers)
            && readKeys(root, {}, rootKeys(), &cfg)
            && readLogLevel(root, {}, &cfg.logLevel)
            && readInt(root, {}, u"log_max_bytes"_s, 0, kMaxLogBytes, &cfg.logMaxBytes)
            && readInt(root, {}, u"log_keep"_s, 0, kMaxLogKeep, &cfg.logKeep)
            && parseStatusHost(root, &cfg)
            && checkStatusPorts(cfg);
    if (!ok)
        return std::nullopt;
    return cfg;
}

bool Parser::parseNodes(const QJsonObject &root, HerdConfig *cfg)
{
    const QString path = u"nodes"_s;
    const QJsonValue v = root.value(path);
    if (v.isUndefined())
        return fail(path, u"missing (a herd needs a non-empty array of nodes)"_s);
    const QJsonArray array = v.toArray();
    if (!v.isArray() || array.isEmpty())
        return fail(path, u"must be a non-empty array of nodes"_s);

    QHash<QString, qsizetype> byName;
    QHash<QPair<QString, quint16>, qsizetype> byEndpoint;   // host lower-cased: DNS names ignore case
    for (qsizetype i = 0; i < array.size(); ++i) {
        const QString nodePath = indexPath(path, i);
        NodeConfig node;
        if (!parseNode(array.at(i), nodePath, &node))
            return false;
        if (const auto it = byName.constFind(node.name); it != byName.constEnd())
            return fail(childPath(nodePath, u"name"_s),
                        u"duplicate node name %1 (also %2)"_s.arg(quoted(node.name), indexPath(path, *it)));
        byName.insert(node.name, i);
        if (node.port != 0) {   // port 0 is "any free port": several nodes may ask for it
            const QPair<QString, quint16> endpoint(node.host.toLower(), node.port);
            if (const auto it = byEndpoint.constFind(endpoint); it != byEndpoint.constEnd())
                return fail(childPath(nodePath, u"port"_s),
                            u"%1:%2 is already used by %3 (%4)"_s.arg(
                                node.host, QString::number(node.port), indexPath(path, *it),
                                quoted(cfg->nodes.at(*it).name)));
            byEndpoint.insert(endpoint, i);
        }
        cfg->nodes.append(node);
    }
    return true;
}

bool Parser::parseNode(const QJsonValue &v, const QString &path, NodeConfig *node)
{
    QJsonObject obj;
    if (!objectAt(v, path, &obj) || !checkKeys(obj, path, {u"name"_s, u"host"_s, u"port"_s, u"status_port"_s, u"log_level"_s}))
        return false;

    const QString namePath = childPath(path, u"name"_s);
    const QJsonValue name = obj.value(u"name"_s);
    if (name.isUndefined())
        return fail(namePath, u"missing (required)"_s);
    if (!name.isString() || name.toString().isEmpty())
        return fail(namePath, u"must be a non-empty string"_s);
    node->name = name.toString();
    // Names travel as one field of AT lines and handshakes.
    if (hasSpaceOrControl(node->name))
        return fail(namePath, u"%1 must not contain white space or control characters"_s.arg(quoted(node->name)));
    // Each node's log file is <log_dir>/<name>.log.
    if (node->name.contains(u'/') || node->name.contains(u'\\'))
        return fail(namePath, u"%1 must not contain '/' or '\\'"_s.arg(quoted(node->name)));

    const QString hostPath = childPath(path, u"host"_s);
    const QJsonValue host = obj.value(u"host"_s);
    if (!host.isUndefined()) {
        if (!host.isString() || host.toString().isEmpty())
            return fail(hostPath, u"must be a non-empty string"_s);
        if (hasSpaceOrControl(host.toString()))
            return fail(hostPath, u"%1 must not contain white space or control characters"_s.arg(quoted(host.toString())));
        node->host = host.toString();
    }
    return readInt(obj, path, u"port"_s, 0, 65535, &node->port)
        && readInt(obj, path, u"status_port"_s, 0, 65535, &node->statusPort)
        && readLogLevel(obj, path, &node->logLevel);
}

bool Parser::parseLinks(const QJsonObject &root, HerdConfig *cfg)
{
    const QString path = u"links"_s;
    const QJsonValue v = root.value(path);
    if (v.isUndefined())
        return true;   // a one-node herd, or nodes that only serve clients
    if (!v.isArray())
        return fail(path, u"must be an array of [\"A\", \"B\"] pairs"_s);

    const QJsonArray array = v.toArray();
    QHash<QPair<QString, QString>, qsizetype> seen;   // (smaller, larger): links are undirected
    for (qsizetype i = 0; i < array.size(); ++i) {
        const QString linkPath = indexPath(path, i);
        const QJsonValue link = array.at(i);
        if (!link.isArray() || link.toArray().size() != 2)
            return fail(linkPath, u"must be an array of two node names"_s);
        const QJsonArray pair = link.toArray();
        QString ends[2];
        for (qsizetype j = 0; j < 2; ++j) {
            const QString endPath = indexPath(linkPath, j);
            if (!pair.at(j).isString())
                return fail(endPath, u"must be a node name (a string)"_s);
            ends[j] = pair.at(j).toString();
            if (!cfg->node(ends[j]))
                return fail(endPath, u"unknown node %1"_s.arg(quoted(ends[j])));
        }
        if (ends[0] == ends[1])
            return fail(linkPath, u"links node %1 to itself"_s.arg(quoted(ends[0])));
        const QPair<QString, QString> key = ends[0] < ends[1] ? qMakePair(ends[0], ends[1])
                                                               : qMakePair(ends[1], ends[0]);
        if (const auto it = seen.constFind(key); it != seen.constEnd())
            return fail(linkPath, u"duplicate of %1 (%2, %3)"_s.arg(indexPath(path, *it), quoted(ends[0]),
                                                                   quoted(ends[1])));
        seen.insert(key, i);
        cfg->links.append(qMakePair(ends[0], ends[1]));
    }
    return true;
}

bool Parser::parsePlaces(const QJsonObject &root, PlacesConfig *places)
{
    const QString path = u"places"_s;
    const QJsonValue v = root.value(path);
    if (v.isUndefined())
        return true;
    QJsonObject obj;
    return objectAt(v, path, &obj) && checkKeys(obj, path, keyNames(placesKeys()))
        && readKeys(obj, path, placesKeys(), places);
}

bool Parser::parseLimits(const QJsonObject &root, LimitsConfig *limits)
{
    const QString path = u"limits"_s;
    const QJsonValue v = root.value(path);
    if (v.isUndefined())
        return true;
    QJsonObject obj;
    return objectAt(v, path, &obj) && checkKeys(obj, path, keyNames(limitsKeys()))
        && readKeys(obj, path, limitsKeys(), limits);
}

bool Parser::parsePeers(const QJsonObject &root, PeerConfig *peers)
{
    const QString path = u"peers"_s;
    const QJsonValue v = root.value(path);
    if (v.isUndefined())
        return true;
    QJsonObject obj;
    if (!objectAt(v, path, &obj) || !checkKeys(obj, path, keyNames(peerKeys()))
        || !readKeys(obj, path, peerKeys(), peers))
        return false;

    // A pair that breaks its order is reported at the key the file sets; when a file sets only
    // one of them, the other is the default and the message names its value.
    if (peers->deadAfterMissed <= peers->suspectAfterMissed) {
        if (obj.contains(u"dead_after_missed"_s))
            return fail(childPath(path, u"dead_after_missed"_s),
                        u"must be greater than peers.suspect_after_missed (%1)"_s.arg(peers->suspectAfterMissed));
        return fail(childPath(path, u"suspect_after_missed"_s),
                    u"must be less than peers.dead_after_missed (%1)"_s.arg(peers->deadAfterMissed));
    }
    if (peers->redialMaxMs < peers->redialMinMs) {
        if (obj.contains(u"redial_max_ms"_s))
            return fail(childPath(path, u"redial_max_ms"_s),
                        u"must be at least peers.redial_min_ms (%1)"_s.arg(peers->redialMinMs));
        return fail(childPath(path, u"redial_min_ms"_s),
                    u"must be at most peers.redial_max_ms (%1)"_s.arg(peers->redialMaxMs));
    }
    return true;
}

bool Parser::parseStatusHost(const QJsonObject &root, HerdConfig *cfg)
{
    const QString key = u"status_host"_s;
    const QJsonValue v = root.value(key);
    if (v.isUndefined())
        return true;
    // A bind address, so an address literal: a name could resolve to anything, or to nothing.
    if (!v.isString() || (v.toString() != u"localhost"_s && QHostAddress(v.toString()).isNull()))
        return fail(key, u"must be an IP address (e.g. \"127.0.0.1\", \"::1\", \"0.0.0.0\") or \"localhost\""_s);
    cfg->statusHost = v.toString();
    return true;
}

// Status endpoints all listen on status_host: two fixed ones may not share a port, nor take a
// node's own port there.
bool Parser::checkStatusPorts(const HerdConfig &cfg)
{
    const auto sameHost = [&](const QString &host) {
        const auto norm = [](const QString &h) { return bindAddress(h).toLower(); };
        return norm(host) == norm(cfg.statusHost);
    };
    for (qsizetype i = 0; i < cfg.nodes.size(); ++i) {
        const NodeConfig &n = cfg.nodes.at(i);
        if (n.statusPort <= 0)
            continue;
        const QString path = childPath(indexPath(u"nodes"_s, i), u"status_port"_s);
        for (qsizetype j = 0; j < cfg.nodes.size(); ++j) {
            const NodeConfig &other = cfg.nodes.at(j);
            if (j < i && other.statusPort == n.statusPort)
                return fail(path, u"%1 is already the status port of %2 (%3)"_s.arg(
                                      QString::number(n.statusPort), indexPath(u"nodes"_s, j), quoted(other.name)));
            if (other.port == n.statusPort && sameHost(other.host))
                return fail(path, u"%1 is the port of %2 (%3)"_s.arg(
                                      QString::number(n.statusPort), indexPath(u"nodes"_s, j), quoted(other.name)));
        }
    }
    return true;
}

} // namespace

QString bindAddress(const QString &host)
{
    return host == u"localhost"_s ? u"127.0.0.1"_s : host;
}

const NodeConfig *HerdConfig::node(const QString &name) const
{
    for (const NodeConfig &n : nodes) {
        if (n.name == name)
            return &n;
    }
    return nullptr;
}

QStringList HerdConfig::neighbours(const QString &name) const
{
    QStringList out;
    for (const auto &[a, b] : links) {
        if (a == name)
            out.append(b);
        else if (b == name)
            out.append(a);
    }
    return out;
}

QString HerdConfig::logLevelOf(const QString &name) const
{
    const NodeConfig *n = node(name);
    return n && !n->logLevel.isEmpty() ? n->logLevel : logLevel;
}

QStringList HerdConfig::nodeNames() const
{
    QStringList out;
    out.reserve(nodes.size());
    for (const NodeConfig &n : nodes)
        out.append(n.name);
    return out;
}

QJsonObject HerdConfig::toJson() const
{
    QJsonArray nodesJson;
    for (const NodeConfig &n : nodes) {
        QJsonObject node{{u"name"_s, n.name}, {u"host"_s, n.host}, {u"port"_s, int(n.port)}};
        if (n.statusPort >= 0)   // absent: no endpoint (there is no default to print)
            node.insert(u"status_port"_s, n.statusPort);
        if (!n.logLevel.isEmpty())
            node.insert(u"log_level"_s, n.logLevel);
        nodesJson.append(node);
    }

    QJsonArray linksJson;
    for (const auto &[a, b] : links)
        linksJson.append(QJsonArray{a, b});

    QJsonObject placesJson;
    insertKeys(placesJson, places, placesKeys());
    QJsonObject limitsJson;
    insertKeys(limitsJson, limits, limitsKeys());
    QJsonObject peersJson;
    insertKeys(peersJson, peers, peerKeys());
    QJsonObject root{
        {u"nodes"_s, nodesJson},
        {u"links"_s, linksJson},
        {u"places"_s, placesJson},
        {u"limits"_s, limitsJson},
        {u"peers"_s, peersJson},
        {u"log_max_bytes"_s, logMaxBytes},
        {u"log_keep"_s, logKeep},
        {u"status_host"_s, statusHost},
    };
    insertKeys(root, *this, rootKeys());
    if (!logLevel.isEmpty())   // absent: the program's default (io for the monitor, events headless)
        root.insert(u"log_level"_s, logLevel);
    return root;
}

std::optional<HerdConfig> HerdConfig::fromJson(const QByteArray &json, QString *error)
{
    Parser parser;
    std::optional<HerdConfig> cfg = parser.parse(json);
    if (!cfg && error)
        *error = parser.error();
    return cfg;
}

std::optional<HerdConfig> HerdConfig::load(const QString &path, QString *error)
{
    const auto failWith = [&](const QString &what) -> std::optional<HerdConfig> {
        if (error)
            *error = u"%1: %2"_s.arg(path, what);
        return std::nullopt;
    };
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return failWith(u"cannot read: "_s + file.errorString());
    const QByteArray json = file.read(kMaxConfigBytes + 1);
    if (json.size() > kMaxConfigBytes)
        return failWith(u"cannot read: larger than %1 bytes"_s.arg(kMaxConfigBytes));
    if (file.error() != QFileDevice::NoError)
        return failWith(u"cannot read: "_s + file.errorString());

    QString parseError;
    std::optional<HerdConfig> cfg = fromJson(json, &parseError);
    if (!cfg)
        return failWith(parseError);
    return cfg;
}

HerdConfig HerdConfig::builtin()
{
    // Parsed once: the resource is compiled in, so it cannot change while we run.
    static const HerdConfig cfg = [] {
        QString error;
        std::optional<HerdConfig> parsed = load(presetPath(u"builtin"_s), &error);
        if (!parsed)   // a build defect (resource missing or invalid); tst_config catches it
            qFatal("herd: the built-in herd config is broken: %s", qPrintable(error));
        return *parsed;
    }();
    return cfg;
}

QStringList HerdConfig::presetNames()
{
    return {u"builtin"_s, u"hill"_s, u"bailey"_s, u"goloman"_s, u"alford"_s};
}

QString HerdConfig::presetPath(const QString &name)
{
    if (!presetNames().contains(name))
        return {};
    return u":/herd/herds/%1.json"_s.arg(name);
}

} // namespace herd
