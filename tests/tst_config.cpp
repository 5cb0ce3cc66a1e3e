#include "config.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

using namespace herd;
using namespace Qt::StringLiterals;

namespace {

// "A-B" per link, in config order: compares exactly, order and direction included.
QStringList linkStrings(const HerdConfig &cfg)
{
    QStringList out;
    for (const auto &[a, b] : cfg.links)
        out.append(a + u'-' + b);
    return out;
}

QStringList sortedKeys(const QJsonObject &obj)
{
    QStringList keys = obj.keys();
    keys.sort();
    return keys;
}

QStringList sorted(QStringList list)
{
    list.sort();
    return list;
}

QByteArray toBytes(const HerdConfig &cfg)
{
    return QJsonDocument(cfg.toJson()).toJson(QJsonDocument::Indented);
}

} // namespace

class tst_Config : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void presets_data();
    void presets();
    void builtinIsTheBuiltinPreset();
    void presetPortsAreDisjoint();
    void presetPathOfUnknownName();
    void defaults();
    void lookups();
    void toJsonHasEveryKey();
    void roundTrip_data();
    void roundTrip();
    void goodConfigs_data();
    void goodConfigs();
    void badConfigs_data();
    void badConfigs();
    void loadErrors();
};

void tst_Config::presets_data()
{
    QTest::addColumn<QString>("preset");
    QTest::addColumn<QStringList>("nodes");
    QTest::addColumn<int>("firstPort");
    QTest::addColumn<QStringList>("links");   // the classic herd's links, in their usual order

    const QStringList hillNodes{u"Hill"_s, u"Jaquez"_s, u"Smith"_s, u"Campbell"_s, u"Singleton"_s};
    const QStringList hillLinks{u"Hill-Jaquez"_s, u"Hill-Smith"_s, u"Singleton-Jaquez"_s,
                                u"Singleton-Smith"_s, u"Singleton-Campbell"_s, u"Smith-Campbell"_s};
    QTest::newRow("builtin") << u"builtin"_s << hillNodes << 12000 << hillLinks;
    QTest::newRow("hill") << u"hill"_s << hillNodes << 12010 << hillLinks;
    QTest::newRow("bailey")
        << u"bailey"_s
        << QStringList{u"Bailey"_s, u"Bona"_s, u"Campbell"_s, u"Clark"_s, u"Jaquez"_s} << 12020
        << QStringList{u"Clark-Jaquez"_s, u"Clark-Bona"_s, u"Campbell-Bailey"_s,
                       u"Campbell-Bona"_s, u"Campbell-Jaquez"_s, u"Bona-Bailey"_s};
    QTest::newRow("goloman")
        << u"goloman"_s
        << QStringList{u"Goloman"_s, u"Hands"_s, u"Holiday"_s, u"Welsh"_s, u"Wilkes"_s} << 12030
        << QStringList{u"Goloman-Hands"_s, u"Goloman-Holiday"_s, u"Goloman-Wilkes"_s,
                       u"Hands-Wilkes"_s, u"Holiday-Welsh"_s, u"Holiday-Wilkes"_s};
    QTest::newRow("alford")
        << u"alford"_s
        << QStringList{u"Alford"_s, u"Ball"_s, u"Hamilton"_s, u"Holiday"_s, u"Welsh"_s} << 12040
        << QStringList{u"Alford-Hamilton"_s, u"Alford-Welsh"_s, u"Ball-Holiday"_s,
                       u"Ball-Welsh"_s, u"Hamilton-Holiday"_s};
}

void tst_Config::presets()
{
    QFETCH(QString, preset);
    QFETCH(QStringList, nodes);
    QFETCH(int, firstPort);
    QFETCH(QStringList, links);

    QVERIFY(HerdConfig::presetNames().contains(preset));
    const QString path = HerdConfig::presetPath(preset);
    QCOMPARE(path, u":/herd/herds/%1.json"_s.arg(preset));
    QVERIFY2(QFile::exists(path), qPrintable(path + u" is not in the resources"_s));

    QString error;
    const std::optional<HerdConfig> cfg = HerdConfig::load(path, &error);
    QVERIFY2(cfg, qPrintable(error));
    QCOMPARE(cfg->nodeNames(), nodes);
    for (qsizetype i = 0; i < cfg->nodes.size(); ++i) {
        QCOMPARE(cfg->nodes.at(i).host, u"127.0.0.1"_s);
        QCOMPARE(int(cfg->nodes.at(i).port), firstPort + int(i));
    }
    QCOMPARE(linkStrings(*cfg), links);
    QCOMPARE(cfg->places.provider, u"auto"_s);
    QCOMPARE(cfg->logDir, u"logs"_s);
    // The presets set only nodes, links, provider and log_dir: everything else is the default.
    const HerdConfig defaults;
    QCOMPARE(cfg->places, defaults.places);
    QCOMPARE(cfg->limits, defaults.limits);
    QCOMPARE(cfg->peers, defaults.peers);
    QCOMPARE(cfg->peerSecretEnv, defaults.peerSecretEnv);
    // Every node is linked to something (the classic herds are connected).
    for (const QString &name : nodes)
        QVERIFY2(!cfg->neighbours(name).isEmpty(), qPrintable(name + u" has no neighbours"_s));
}

void tst_Config::builtinIsTheBuiltinPreset()
{
    QString error;
    const std::optional<HerdConfig> preset = HerdConfig::load(HerdConfig::presetPath(u"builtin"_s), &error);
    QVERIFY2(preset, qPrintable(error));
    QCOMPARE(HerdConfig::builtin(), *preset);
    QCOMPARE(HerdConfig::builtin().nodes.size(), 5);
}

void tst_Config::presetPortsAreDisjoint()
{
    // So that any presets can run side by side on one machine.
    QSet<int> ports;
    for (const QString &name : HerdConfig::presetNames()) {
        QString error;
        const std::optional<HerdConfig> cfg = HerdConfig::load(HerdConfig::presetPath(name), &error);
        QVERIFY2(cfg, qPrintable(error));
        for (const NodeConfig &n : cfg->nodes) {
            QVERIFY2(!ports.contains(n.port), qPrintable(u"%1: port %2 reused"_s.arg(name).arg(n.port)));
            ports.insert(n.port);
        }
    }
    QCOMPARE(ports.size(), 25);
}

void tst_Config::presetPathOfUnknownName()
{
    QCOMPARE(HerdConfig::presetNames(),
             (QStringList{u"builtin"_s, u"hill"_s, u"bailey"_s, u"goloman"_s, u"alford"_s}));
    QVERIFY(HerdConfig::presetPath(u"nosuch"_s).isEmpty());
    QVERIFY(HerdConfig::presetPath(QString()).isEmpty());
}

void tst_Config::defaults()
{
    QString error;
    const std::optional<HerdConfig> cfg = HerdConfig::fromJson(R"({"nodes": [{"name": "A"}]})", &error);
    QVERIFY2(cfg, qPrintable(error));
    QCOMPARE(cfg->nodes.size(), 1);
    QCOMPARE(cfg->nodes.at(0).name, u"A"_s);
    QCOMPARE(cfg->nodes.at(0).host, u"127.0.0.1"_s);
    QCOMPARE(cfg->nodes.at(0).port, quint16(0));
    QVERIFY(cfg->links.isEmpty());
    QCOMPARE(cfg->places.provider, u"auto"_s);
    QCOMPARE(cfg->places.endpoint, QString());
    QCOMPARE(cfg->places.apiKeyEnv, u"GOOGLE_PLACES_API_KEY"_s);
    QCOMPARE(cfg->places.timeoutMs, 10000);
    QCOMPARE(cfg->places.dataset, QString());
    QCOMPARE(cfg->places.maxConcurrent, 64);
    QCOMPARE(cfg->limits.maxLineBytes, 4096);
    QCOMPARE(cfg->limits.maxOutputBytes, qint64(1) << 20);
    QCOMPARE(cfg->peers.heartbeatMs, 1000);
    QCOMPARE(cfg->peers.suspectAfterMissed, 2);
    QCOMPARE(cfg->peers.deadAfterMissed, 5);
    QCOMPARE(cfg->peers.redialMinMs, 100);
    QCOMPARE(cfg->peers.redialMaxMs, 2000);
    QCOMPARE(cfg->logDir, u"logs"_s);
    QCOMPARE(cfg->peerSecretEnv, u"HERD_PEER_SECRET"_s);
    QCOMPARE(cfg->nodes.at(0).statusPort, -1);   // no status endpoint unless asked for
    QCOMPARE(cfg->statusHost, u"127.0.0.1"_s);

    HerdConfig expected;
    expected.nodes.append(NodeConfig{u"A"_s});
    QCOMPARE(*cfg, expected);
}

void tst_Config::lookups()
{
    const HerdConfig cfg = HerdConfig::builtin();
    QCOMPARE(cfg.nodeNames(),
             (QStringList{u"Hill"_s, u"Jaquez"_s, u"Smith"_s, u"Campbell"_s, u"Singleton"_s}));
    QVERIFY(cfg.node(u"Nope"_s) == nullptr);
    QVERIFY(cfg.node(u"hill"_s) == nullptr);   // names are case-sensitive
    const NodeConfig *smith = cfg.node(u"Smith"_s);
    QVERIFY(smith);
    QCOMPARE(smith->port, quint16(12002));
    // In config order of the links, whichever end the node is on.
    QCOMPARE(cfg.neighbours(u"Hill"_s), (QStringList{u"Jaquez"_s, u"Smith"_s}));
    QCOMPARE(cfg.neighbours(u"Singleton"_s), (QStringList{u"Jaquez"_s, u"Smith"_s, u"Campbell"_s}));
    QCOMPARE(cfg.neighbours(u"Smith"_s), (QStringList{u"Hill"_s, u"Singleton"_s, u"Campbell"_s}));
    QCOMPARE(cfg.neighbours(u"Campbell"_s), (QStringList{u"Singleton"_s, u"Smith"_s}));
    QVERIFY(cfg.neighbours(u"Nope"_s).isEmpty());
}

void tst_Config::toJsonHasEveryKey()
{
    // --print-config shows every setting with its effective value, defaults included.
    HerdConfig cfg;
    cfg.nodes.append(NodeConfig{u"A"_s});
    const QJsonObject json = cfg.toJson();
    QCOMPARE(sortedKeys(json), sorted({u"nodes"_s, u"links"_s, u"places"_s, u"limits"_s, u"peers"_s,
                                       u"log_dir"_s, u"log_max_bytes"_s, u"log_keep"_s, u"state_dir"_s,
                                       u"peer_secret_env"_s, u"status_host"_s}));
    // log_level, herd-wide and per node, is printed only when set (the default depends on the mode).
    HerdConfig leveled = cfg;
    leveled.logLevel = u"off"_s;
    leveled.nodes[0].logLevel = u"io"_s;
    QCOMPARE(leveled.toJson().value(u"log_level"_s).toString(), u"off"_s);
    QCOMPARE(leveled.toJson().value(u"nodes"_s).toArray().at(0).toObject().value(u"log_level"_s).toString(), u"io"_s);
    QCOMPARE(leveled.logLevelOf(u"A"_s), u"io"_s);
    leveled.nodes[0].logLevel.clear();
    QCOMPARE(leveled.logLevelOf(u"A"_s), u"off"_s);
    // status_port has no default: it is printed only for a node that has an endpoint.
    QCOMPARE(sortedKeys(json.value(u"nodes"_s).toArray().at(0).toObject()),
             sorted({u"name"_s, u"host"_s, u"port"_s}));
    cfg.nodes[0].statusPort = 0;
    QCOMPARE(sortedKeys(cfg.toJson().value(u"nodes"_s).toArray().at(0).toObject()),
             sorted({u"name"_s, u"host"_s, u"port"_s, u"status_port"_s}));
    QCOMPARE(sortedKeys(json.value(u"places"_s).toObject()),
             sorted({u"provider"_s, u"endpoint"_s, u"api_key_env"_s, u"timeout_ms"_s, u"dataset"_s,
                     u"max_concurrent"_s}));
    QCOMPARE(sortedKeys(json.value(u"limits"_s).toObject()),
             sorted({u"max_line_bytes"_s, u"max_output_bytes"_s, u"max_connections"_s,
                     u"first_line_timeout_ms"_s, u"idle_timeout_ms"_s}));
    QCOMPARE(sortedKeys(json.value(u"peers"_s).toObject()),
             sorted({u"heartbeat_ms"_s, u"suspect_after_missed"_s, u"dead_after_missed"_s,
                     u"redial_min_ms"_s, u"redial_max_ms"_s}));
    QVERIFY(json.value(u"links"_s).isArray());
    QCOMPARE(json.value(u"nodes"_s).toArray().at(0).toObject().value(u"host"_s).toString(), u"127.0.0.1"_s);
    QCOMPARE(json.value(u"nodes"_s).toArray().at(0).toObject().value(u"port"_s).toInt(-1), 0);
    QCOMPARE(json.value(u"places"_s).toObject().value(u"timeout_ms"_s).toInt(), 10000);
    QCOMPARE(json.value(u"limits"_s).toObject().value(u"max_output_bytes"_s).toInteger(), qint64(1) << 20);
    QCOMPARE(json.value(u"log_dir"_s).toString(), u"logs"_s);
    QCOMPARE(json.value(u"peer_secret_env"_s).toString(), u"HERD_PEER_SECRET"_s);
    QCOMPARE(json.value(u"status_host"_s).toString(), u"127.0.0.1"_s);
}

void tst_Config::roundTrip_data()
{
    QTest::addColumn<QByteArray>("json");

    for (const QString &name : HerdConfig::presetNames()) {
        QFile file(HerdConfig::presetPath(name));
        QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(file.fileName()));
        QTest::newRow(qPrintable(name)) << file.readAll();
    }
    QTest::newRow("minimal") << QByteArray(R"({"nodes": [{"name": "Solo"}]})");
    QTest::newRow("everything set") << QByteArray(R"({
        "nodes": [
            {"name": "Zoë", "host": "10.0.0.1", "port": 65535},
            {"name": "b", "host": "node-b.example.org", "port": 1},
            {"name": "c", "port": 0, "status_port": 0},
            {"name": "d", "port": 0, "status_port": 9100}
        ],
        "links": [["b", "Zoë"], ["c", "b"], ["c", "d"]],
        "places": {
            "provider": "google-legacy",
            "endpoint": "http://127.0.0.1:8080/maps/api/place/nearbysearch/json",
            "api_key_env": "_K1",
            "timeout_ms": 600000,
            "dataset": "/tmp/places.geojson",
            "max_concurrent": 10000
        },
        "limits": {"max_line_bytes": 16, "max_output_bytes": 1073741824},
        "peers": {"heartbeat_ms": 10, "suspect_after_missed": 1, "dead_after_missed": 2,
                  "redial_min_ms": 7, "redial_max_ms": 7},
        "log_dir": "",
        "peer_secret_env": "S",
        "status_host": "::1"
    })");
}

void tst_Config::roundTrip()
{
    QFETCH(QByteArray, json);
    QString error;
    const std::optional<HerdConfig> first = HerdConfig::fromJson(json, &error);
    QVERIFY2(first, qPrintable(error));
    const QByteArray printed = toBytes(*first);
    const std::optional<HerdConfig> second = HerdConfig::fromJson(printed, &error);
    QVERIFY2(second, qPrintable(error + u"\n"_s + QString::fromUtf8(printed)));
    QCOMPARE(*second, *first);
    QCOMPARE(second->toJson(), first->toJson());
    QCOMPARE(toBytes(*second), printed);
}

void tst_Config::goodConfigs_data()
{
    QTest::addColumn<QByteArray>("json");

    QTest::newRow("one node, no links") << QByteArray(R"({"nodes": [{"name": "A", "port": 1}]})");
    QTest::newRow("empty links") << QByteArray(R"({"nodes": [{"name": "A"}], "links": []})");
    QTest::newRow("port 0 twice on one host")
        << QByteArray(R"({"nodes": [{"name": "A", "port": 0}, {"name": "B", "port": 0}]})");
    QTest::newRow("same port, different hosts")
        << QByteArray(R"({"nodes": [{"name": "A", "host": "10.0.0.1", "port": 9000},
                                    {"name": "B", "host": "10.0.0.2", "port": 9000}]})");
    QTest::newRow("port 65535") << QByteArray(R"({"nodes": [{"name": "A", "port": 65535}]})");
    QTest::newRow("integral double port") << QByteArray(R"({"nodes": [{"name": "A", "port": 12000.0}]})");
    QTest::newRow("non-ASCII name") << QByteArray(R"({"nodes": [{"name": "Zoë-1_x.y"}]})");
    QTest::newRow("empty endpoint and log_dir")
        << QByteArray(R"({"nodes": [{"name": "A"}], "places": {"endpoint": ""}, "log_dir": ""})");
    QTest::newRow("https endpoint")
        << QByteArray(R"({"nodes": [{"name": "A"}], "places": {"endpoint": "https://places.googleapis.com/v1/places:searchNearby"}})");
    QTest::newRow("every provider")
        << QByteArray(R"({"nodes": [{"name": "A"}], "places": {"provider": "offline"}})");
    QTest::newRow("empty sections")
        << QByteArray(R"({"nodes": [{"name": "A"}], "places": {}, "limits": {}, "peers": {}})");
    QTest::newRow("bounds low")
        << QByteArray(R"({"nodes": [{"name": "A"}], "limits": {"max_line_bytes": 16, "max_output_bytes": 1024},
                          "places": {"timeout_ms": 1, "max_concurrent": 1}})");
    QTest::newRow("bounds high")
        << QByteArray(R"({"nodes": [{"name": "A"}], "limits": {"max_line_bytes": 16777216, "max_output_bytes": 1073741824},
                          "places": {"timeout_ms": 600000, "max_concurrent": 10000}})");
    QTest::newRow("only dead_after_missed, above the default suspect")
        << QByteArray(R"({"nodes": [{"name": "A"}], "peers": {"dead_after_missed": 3}})");
    QTest::newRow("status ports 0 twice, and bounds")
        << QByteArray(R"({"nodes": [{"name": "A", "status_port": 0}, {"name": "B", "status_port": 0},
                                    {"name": "C", "status_port": 65535}]})");
    QTest::newRow("status port equal to a node port on another host")
        << QByteArray(R"({"nodes": [{"name": "A", "host": "10.0.0.1", "port": 9100, "status_port": 9100}]})");
    QTest::newRow("status_host any address")
        << QByteArray(R"({"nodes": [{"name": "A"}], "status_host": "0.0.0.0"})");
    QTest::newRow("status_host localhost") << QByteArray(R"({"nodes": [{"name": "A"}], "status_host": "localhost"})");
    QTest::newRow("only redial_max_ms, equal to the default min")
        << QByteArray(R"({"nodes": [{"name": "A"}], "peers": {"redial_max_ms": 100}})");
}

void tst_Config::goodConfigs()
{
    QFETCH(QByteArray, json);
    QString error;
    QVERIFY2(HerdConfig::fromJson(json, &error), qPrintable(error));
}

void tst_Config::badConfigs_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("prefix");     // the error must start with this: the JSON path
    QTest::addColumn<QString>("fragment");   // and contain this

    const auto row = [](const char *name, const char *json, const QString &prefix, const QString &fragment) {
        QTest::newRow(name) << QByteArray(json) << prefix << fragment;
    };

    // Syntax and shape.
    row("empty input", "", u"offset 0: "_s, QString());
    row("unterminated object", R"({"nodes": [{"name": "A"}])", u"offset "_s, u"unterminated object"_s);
    row("trailing garbage", R"({"nodes": [{"name": "A"}]} x)", u"offset "_s, QString());
    row("top level array", "[]", u"top level: "_s, u"must be an object"_s);
    row("unknown top-level key", R"({"nodes": [{"name": "A"}], "frobnicate": 1})",
        u"frobnicate: unknown key"_s, QString());
    row("camelCase key", R"({"nodes": [{"name": "A"}], "logDir": "x"})",
        u"logDir: unknown key"_s, u"did you mean \"log_dir\"?"_s);
    row("key with a space", R"({"nodes": [{"name": "A"}], "foo bar": 1})",
        u"[\"foo bar\"]: unknown key"_s, QString());

    // nodes
    row("nodes missing", "{}", u"nodes: "_s, u"missing"_s);
    row("nodes empty", R"({"nodes": []})", u"nodes: "_s, u"non-empty array"_s);
    row("nodes an object", R"({"nodes": {"name": "A"}})", u"nodes: "_s, u"non-empty array"_s);
    row("node not an object", R"({"nodes": [{"name": "A"}, "B"]})", u"nodes[1]: "_s, u"must be an object"_s);
    row("node unknown key", R"({"nodes": [{"name": "A", "prot": 1}]})", u"nodes[0].prot: unknown key"_s, QString());
    row("node name missing", R"({"nodes": [{"port": 1}]})", u"nodes[0].name: "_s, u"missing"_s);
    row("node name empty", R"({"nodes": [{"name": ""}]})", u"nodes[0].name: "_s, u"non-empty string"_s);
    row("node name a number", R"({"nodes": [{"name": 42}]})", u"nodes[0].name: "_s, u"non-empty string"_s);
    row("node name with space", R"({"nodes": [{"name": "A"}, {"name": "Hill Top"}]})",
        u"nodes[1].name: "_s, u"white space"_s);
    row("node name with tab", R"({"nodes": [{"name": "A\tB"}]})", u"nodes[0].name: "_s, u"white space"_s);
    row("node name with newline", R"({"nodes": [{"name": "A\nB"}]})", u"nodes[0].name: \"A\\nB\" must not"_s,
        u"white space"_s);
    row("unknown key with newline", R"({"nodes": [{"name": "A"}], "a\nb": 1})", u"[\"a\\nb\"]: unknown key"_s, QString());
    row("unknown node with quote", R"({"nodes": [{"name": "A"}], "links": [["A", "x\"y"]]})",
        u"links[0][1]: unknown node \"x\\\"y\""_s, QString());
    row("node name with slash", R"({"nodes": [{"name": "../A"}]})", u"nodes[0].name: "_s, u"'/'"_s);
    row("duplicate node name", R"({"nodes": [{"name": "A", "port": 1}, {"name": "A", "port": 2}]})",
        u"nodes[1].name: "_s, u"duplicate node name \"A\" (also nodes[0])"_s);
    row("host empty", R"({"nodes": [{"name": "A", "host": ""}]})", u"nodes[0].host: "_s, u"non-empty string"_s);
    row("host null", R"({"nodes": [{"name": "A", "host": null}]})", u"nodes[0].host: "_s, u"non-empty string"_s);
    row("host with space", R"({"nodes": [{"name": "A", "host": "a b"}]})", u"nodes[0].host: "_s, u"white space"_s);
    const QString portRange = u"must be an integer from 0 to 65535"_s;
    row("port a string", R"({"nodes": [{"name": "A", "port": "12000"}]})", u"nodes[0].port: "_s, portRange);
    row("port too big", R"({"nodes": [{"name": "A"}, {"name": "B"}, {"name": "C", "port": 65536}]})",
        u"nodes[2].port: "_s, portRange);
    row("port negative", R"({"nodes": [{"name": "A", "port": -1}]})", u"nodes[0].port: "_s, portRange);
    row("port with a fraction", R"({"nodes": [{"name": "A", "port": 12000.5}]})", u"nodes[0].port: "_s, portRange);
    row("port a boolean", R"({"nodes": [{"name": "A", "port": true}]})", u"nodes[0].port: "_s, portRange);
    row("port huge", R"({"nodes": [{"name": "A", "port": 1e300}]})", u"nodes[0].port: "_s, portRange);
    row("port used twice",
        R"({"nodes": [{"name": "A", "port": 9000}, {"name": "B", "port": 9001}, {"name": "C", "port": 9000}]})",
        u"nodes[2].port: "_s, u"127.0.0.1:9000 is already used by nodes[0] (\"A\")"_s);
    row("port used twice, host case differs",
        R"({"nodes": [{"name": "A", "host": "localhost", "port": 9000},
                      {"name": "B", "host": "LocalHost", "port": 9000}]})",
        u"nodes[1].port: "_s, u"already used by nodes[0]"_s);

    // links
    const char *twoNodes = R"({"nodes": [{"name": "A"}, {"name": "B"}], "links": %1})";
    const auto linksRow = [&](const char *name, const char *links, const QString &prefix, const QString &fragment) {
        QTest::newRow(name) << QString::fromLatin1(twoNodes).arg(QString::fromUtf8(links)).toUtf8() << prefix << fragment;
    };
    linksRow("links an object", R"({"A": "B"})", u"links: "_s, u"must be an array"_s);
    linksRow("link a string", R"(["A-B"])", u"links[0]: "_s, u"two node names"_s);
    linksRow("link of one", R"([["A"]])", u"links[0]: "_s, u"two node names"_s);
    linksRow("link of three", R"([["A", "B"], ["A", "B", "C"]])", u"links[1]: "_s, u"two node names"_s);
    linksRow("link end a number", R"([["A", 2]])", u"links[0][1]: "_s, u"must be a node name"_s);
    linksRow("link to unknown node", R"([["A", "B"], ["Foo", "A"]])", u"links[1][0]: unknown node \"Foo\""_s, QString());
    linksRow("link names are case-sensitive", R"([["a", "B"]])", u"links[0][0]: unknown node \"a\""_s, QString());
    linksRow("self-link", R"([["A", "A"]])", u"links[0]: "_s, u"to itself"_s);
    linksRow("duplicate link", R"([["A", "B"], ["A", "B"]])", u"links[1]: "_s, u"duplicate of links[0]"_s);
    linksRow("duplicate link, reversed", R"([["A", "B"], ["B", "A"]])", u"links[1]: "_s, u"duplicate of links[0]"_s);

    // places
    const char *onePlaces = R"({"nodes": [{"name": "A"}], "places": %1})";
    const auto placesRow = [&](const char *name, const char *places, const QString &prefix, const QString &fragment) {
        QTest::newRow(name) << QString::fromLatin1(onePlaces).arg(QString::fromUtf8(places)).toUtf8() << prefix << fragment;
    };
    placesRow("places an array", "[]", u"places: "_s, u"must be an object"_s);
    placesRow("places unknown key", R"({"timeoutMs": 5})", u"places.timeoutMs: unknown key"_s,
              u"did you mean \"timeout_ms\"?"_s);
    placesRow("unknown provider", R"({"provider": "bing"})", u"places.provider: "_s,
              u"must be one of auto, google, google-legacy, offline"_s);
    placesRow("provider case", R"({"provider": "Google"})", u"places.provider: "_s, u"must be one of"_s);
    placesRow("provider a number", R"({"provider": 1})", u"places.provider: "_s, u"must be one of"_s);
    placesRow("endpoint ftp", R"({"endpoint": "ftp://example.org/x"})", u"places.endpoint: "_s, u"http or https URL"_s);
    placesRow("endpoint not a URL", R"({"endpoint": "not a url"})", u"places.endpoint: "_s, u"http or https URL"_s);
    placesRow("endpoint without host", R"({"endpoint": "http://"})", u"places.endpoint: "_s, u"http or https URL"_s);
    placesRow("endpoint a number", R"({"endpoint": 5})", u"places.endpoint: "_s, u"must be a string"_s);
    placesRow("api_key_env empty", R"({"api_key_env": ""})", u"places.api_key_env: "_s, u"environment variable name"_s);
    placesRow("api_key_env leading digit", R"({"api_key_env": "1KEY"})", u"places.api_key_env: "_s,
              u"environment variable name"_s);
    placesRow("api_key_env with dash", R"({"api_key_env": "MY-KEY"})", u"places.api_key_env: "_s,
              u"environment variable name"_s);
    placesRow("timeout zero", R"({"timeout_ms": 0})", u"places.timeout_ms: "_s, u"must be an integer from 1 to 600000"_s);
    placesRow("timeout too long", R"({"timeout_ms": 600001})", u"places.timeout_ms: "_s, u"from 1 to 600000"_s);
    placesRow("timeout a string", R"({"timeout_ms": "10"})", u"places.timeout_ms: "_s, u"from 1 to 600000"_s);
    placesRow("dataset a number", R"({"dataset": 3})", u"places.dataset: "_s, u"must be a string"_s);
    placesRow("max_concurrent zero", R"({"max_concurrent": 0})", u"places.max_concurrent: "_s, u"from 1 to 10000"_s);

    // limits
    row("limits not an object", R"({"nodes": [{"name": "A"}], "limits": 4096})", u"limits: "_s, u"must be an object"_s);
    row("max_line_bytes too small", R"({"nodes": [{"name": "A"}], "limits": {"max_line_bytes": 15}})",
        u"limits.max_line_bytes: "_s, u"from 16 to 16777216"_s);
    row("max_output_bytes too small", R"({"nodes": [{"name": "A"}], "limits": {"max_output_bytes": 1023}})",
        u"limits.max_output_bytes: "_s, u"from 1024 to 1073741824"_s);
    row("max_output_bytes too big", R"({"nodes": [{"name": "A"}], "limits": {"max_output_bytes": 1073741825}})",
        u"limits.max_output_bytes: "_s, u"from 1024 to 1073741824"_s);
    row("max_connections zero", R"({"nodes": [{"name": "A"}], "limits": {"max_connections": 0}})",
        u"limits.max_connections: "_s, u"from 1 to 1000000"_s);
    row("idle timeout negative", R"({"nodes": [{"name": "A"}], "limits": {"idle_timeout_ms": -1}})",
        u"limits.idle_timeout_ms: "_s, u"from 0 to 86400000"_s);
    row("first line timeout not a number", R"({"nodes": [{"name": "A"}], "limits": {"first_line_timeout_ms": "60s"}})",
        u"limits.first_line_timeout_ms: "_s, u""_s);

    // peers
    row("peers unknown key", R"({"nodes": [{"name": "A"}], "peers": {"heartbeat": 5}})",
        u"peers.heartbeat: unknown key"_s, QString());
    row("heartbeat too fast", R"({"nodes": [{"name": "A"}], "peers": {"heartbeat_ms": 9}})",
        u"peers.heartbeat_ms: "_s, u"from 10 to 600000"_s);
    row("suspect zero", R"({"nodes": [{"name": "A"}], "peers": {"suspect_after_missed": 0}})",
        u"peers.suspect_after_missed: "_s, u"must be an integer from 1"_s);
    row("dead not after suspect", R"({"nodes": [{"name": "A"}], "peers": {"suspect_after_missed": 3, "dead_after_missed": 3}})",
        u"peers.dead_after_missed: "_s, u"must be greater than peers.suspect_after_missed (3)"_s);
    row("suspect alone past the default dead", R"({"nodes": [{"name": "A"}], "peers": {"suspect_after_missed": 5}})",
        u"peers.suspect_after_missed: "_s, u"must be less than peers.dead_after_missed (5)"_s);
    row("redial_min zero", R"({"nodes": [{"name": "A"}], "peers": {"redial_min_ms": 0}})",
        u"peers.redial_min_ms: "_s, u"from 1 to"_s);
    row("redial_max below min", R"({"nodes": [{"name": "A"}], "peers": {"redial_min_ms": 500, "redial_max_ms": 499}})",
        u"peers.redial_max_ms: "_s, u"at least peers.redial_min_ms (500)"_s);
    row("redial_min alone past the default max", R"({"nodes": [{"name": "A"}], "peers": {"redial_min_ms": 5000}})",
        u"peers.redial_min_ms: "_s, u"at most peers.redial_max_ms (2000)"_s);

    // top-level scalars
    row("log_dir a number", R"({"nodes": [{"name": "A"}], "log_dir": 1})", u"log_dir: "_s, u"must be a string"_s);
    row("log_level unknown", R"({"nodes": [{"name": "A"}], "log_level": "loud"})", u"log_level: "_s,
        u"must be one of io, events, off"_s);
    row("node log_level unknown", R"({"nodes": [{"name": "A", "log_level": 1}]})", u"nodes[0].log_level: "_s,
        u"must be one of io, events, off"_s);
    row("log_keep negative", R"({"nodes": [{"name": "A"}], "log_keep": -1})", u"log_keep: "_s,
        u"must be an integer from 0 to 1000"_s);
    row("log_max_bytes fraction", R"({"nodes": [{"name": "A"}], "log_max_bytes": 1.5})", u"log_max_bytes: "_s,
        u"must be an integer from 0 to"_s);
    row("log_dir null", R"({"nodes": [{"name": "A"}], "log_dir": null})", u"log_dir: "_s, u"must be a string"_s);
    row("peer_secret_env empty", R"({"nodes": [{"name": "A"}], "peer_secret_env": ""})",
        u"peer_secret_env: "_s, u"environment variable name"_s);
    row("peer_secret_env with space", R"({"nodes": [{"name": "A"}], "peer_secret_env": "HERD SECRET"})",
        u"peer_secret_env: "_s, u"environment variable name"_s);

    // Status endpoint.
    row("status_port negative", R"({"nodes": [{"name": "A", "status_port": -1}]})",
        u"nodes[0].status_port: "_s, u"from 0 to 65535"_s);
    row("status_port too big", R"({"nodes": [{"name": "A"}, {"name": "B", "status_port": 65536}]})",
        u"nodes[1].status_port: "_s, u"from 0 to 65535"_s);
    row("status_port a string", R"({"nodes": [{"name": "A", "status_port": "9100"}]})",
        u"nodes[0].status_port: "_s, u"integer"_s);
    row("status_port fractional", R"({"nodes": [{"name": "A", "status_port": 9100.5}]})",
        u"nodes[0].status_port: "_s, u"integer"_s);
    row("status_port twice", R"({"nodes": [{"name": "A", "status_port": 9100}, {"name": "B", "status_port": 9100}]})",
        u"nodes[1].status_port: "_s, u"already the status port of nodes[0] (\"A\")"_s);
    row("status_port is a node's port", R"({"nodes": [{"name": "A", "port": 9100}, {"name": "B", "status_port": 9100}]})",
        u"nodes[1].status_port: "_s, u"the port of nodes[0] (\"A\")"_s);
    row("statusPort misspelt", R"({"nodes": [{"name": "A", "statusPort": 9100}]})",
        u"nodes[0].statusPort: unknown key (did you mean \"status_port\"?)"_s, QString());
    row("status_host a name", R"({"nodes": [{"name": "A"}], "status_host": "example.org"})",
        u"status_host: "_s, u"IP address"_s);
    row("status_host empty", R"({"nodes": [{"name": "A"}], "status_host": ""})", u"status_host: "_s, u"IP address"_s);
    row("status_host a number", R"({"nodes": [{"name": "A"}], "status_host": 127})", u"status_host: "_s, u"IP address"_s);

    // Reading order: the first problem wins, unknown keys of an object before its values.
    row("first node error wins", R"({"nodes": [{"name": "A", "port": -1}, {"name": ""}]})",
        u"nodes[0].port: "_s, QString());
    row("unknown key before bad value", R"({"nodes": [{"name": "", "colour": "red"}]})",
        u"nodes[0].colour: unknown key"_s, QString());
}

void tst_Config::badConfigs()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, prefix);
    QFETCH(QString, fragment);

    QString error;
    const std::optional<HerdConfig> cfg = HerdConfig::fromJson(json, &error);
    QVERIFY2(!cfg, "a bad config was accepted");
    QVERIFY2(error.startsWith(prefix), qPrintable(u"got: "_s + error));
    QVERIFY2(error.contains(fragment), qPrintable(u"got: "_s + error));
    QVERIFY2(!error.contains(u'\n'), qPrintable(u"not one line: "_s + error));
    QVERIFY2(error.indexOf(u": "_s) > 0, qPrintable(u"not \"<path>: <message>\": "_s + error));

    // A null error pointer is allowed.
    QVERIFY(!HerdConfig::fromJson(json, nullptr));
}

void tst_Config::loadErrors()
{
    QTemporaryDir dir;
    QVERIFY2(dir.isValid(), qPrintable(dir.errorString()));
    QString error;

    const QString missing = dir.filePath(u"missing.json"_s);
    QVERIFY(!HerdConfig::load(missing, &error));
    QVERIFY2(error.startsWith(missing + u": cannot read: "_s), qPrintable(error));

    QVERIFY(!HerdConfig::load(dir.path(), &error));   // a directory
    QVERIFY2(error.startsWith(dir.path() + u": cannot read: "_s), qPrintable(error));

    const auto write = [&](const QString &name, const QByteArray &content) {
        QFile file(dir.filePath(name));
        if (!file.open(QIODevice::WriteOnly) || file.write(content) != content.size())
            return QString();
        return file.fileName();
    };

    const QString badPort = write(u"herd.json"_s, R"({"nodes": [{"name": "A", "port": 70000}]})");
    QVERIFY(!badPort.isEmpty());
    QVERIFY(!HerdConfig::load(badPort, &error));
    QVERIFY2(error.startsWith(badPort + u": nodes[0].port: must be an integer from 0 to 65535"_s), qPrintable(error));

    const QString broken = write(u"broken.json"_s, "{\n  \"nodes\": [\n");
    QVERIFY(!broken.isEmpty());
    QVERIFY(!HerdConfig::load(broken, &error));
    QVERIFY2(error.startsWith(broken + u": offset "_s), qPrintable(error));

    const QString good = write(u"good.json"_s, toBytes(HerdConfig::builtin()));
    QVERIFY(!good.isEmpty());
    const std::optional<HerdConfig> cfg = HerdConfig::load(good, &error);
    QVERIFY2(cfg, qPrintable(error));
    QCOMPARE(*cfg, HerdConfig::builtin());

    QVERIFY(!HerdConfig::load(missing, nullptr));   // a null error pointer is allowed
}

QTEST_GUILESS_MAIN(tst_Config)
#include "tst_config.moc"
