// The status endpoint: real HTTP clients (QNetworkAccessManager, raw sockets) against an
// in-process herd on port 0, real client traffic over TCP, names and exact values checked.
#include "herd.h"
#include "metrics.h"
#include "monitor.h"
#include "monitorjson.h"
#include "node.h"
#include "statusserver.h"
#include "testclient.h"
#include "testherds.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <memory>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace Qt::StringLiterals;
using herd::HerdConfig;
using herdtest::TestClient;

namespace {

constexpr char kSecretEnv[] = "HERD_TEST_STATUS_SECRET";
constexpr char kSecretValue[] = "peer-secret-value-3f9a";
constexpr char kKeyEnv[] = "HERD_TEST_STATUS_KEY";
constexpr char kKeyValue[] = "api-key-value-77c1";

struct HttpResult {
    int status = 0;
    QByteArray contentType;
    QByteArray body;
    QList<QNetworkReply::RawHeaderPair> headers;
    QByteArray header(const QByteArray &name) const
    {
        for (const auto &[k, v] : headers) {
            if (k.compare(name, Qt::CaseInsensitive) == 0)
                return v;
        }
        return {};
    }
};

HttpResult httpGet(QNetworkAccessManager &nam, const QString &url)
{
    QNetworkRequest request{QUrl(url)};
    std::unique_ptr<QNetworkReply> reply(nam.get(request));
    QSignalSpy finished(reply.get(), &QNetworkReply::finished);
    if (!reply->isFinished())
        static_cast<void>(finished.wait(10000));
    HttpResult r;
    r.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    r.contentType = reply->rawHeader("Content-Type");
    r.headers = reply->rawHeaderPairs();
    r.body = reply->readAll();
    return r;
}

// "name{labels}" -> value, and which families have HELP and TYPE lines.
struct Scrape {
    QHash<QByteArray, QByteArray> samples;
    QSet<QByteArray> help;
    QHash<QByteArray, QByteArray> type;
    QList<QByteArray> problems;

    double value(const QByteArray &key) const { return samples.value(key, "nan").toDouble(); }
    bool has(const QByteArray &key) const { return samples.contains(key); }
};

Scrape parseMetrics(const QByteArray &text)
{
    static const QRegularExpression sampleLine(
        uR"(\A([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*)?\})? ([^ ]+)\z)"_s);
    Scrape s;
    for (const QByteArray &line : text.split('\n')) {
        if (line.isEmpty())
            continue;
        if (line.startsWith("# HELP ")) {
            s.help.insert(line.split(' ').value(2));
        } else if (line.startsWith("# TYPE ")) {
            const QList<QByteArray> f = line.split(' ');
            s.type.insert(f.value(2), f.value(3));
        } else {
            const auto m = sampleLine.match(QString::fromUtf8(line));
            if (!m.hasMatch()) {
                s.problems.append("not a sample: " + line);
                continue;
            }
            const QByteArray name = m.captured(1).toUtf8();
            QByteArray family = name;
            for (const char *suffix : {"_bucket", "_sum", "_count"}) {
                if (family.endsWith(suffix) && s.type.value(family.chopped(qstrlen(suffix))) == "histogram")
                    family.chop(qstrlen(suffix));
            }
            if (!s.help.contains(family) || !s.type.contains(family))
                s.problems.append("no HELP/TYPE before " + line);
            const qsizetype space = line.lastIndexOf(' ');
            s.samples.insert(line.left(space), line.mid(space + 1));
        }
    }
    return s;
}

// A Google Places stand-in: every request gets the same canned answer.
class FakeGoogle : public QObject {
public:
    explicit FakeGoogle(QByteArray body) : m_body(std::move(body))
    {
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *s = m_server.nextPendingConnection()) {
                connect(s, &QTcpSocket::readyRead, s, [this, s] {
                    m_seen.append(s->readAll());
                    if (!m_seen.contains("\r\n\r\n"))
                        return;
                    ++requests;
                    s->write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                             + QByteArray::number(m_body.size()) + "\r\nConnection: close\r\n\r\n" + m_body);
                    s->disconnectFromHost();
                    m_seen.clear();
                });
                connect(s, &QTcpSocket::disconnected, s, &QObject::deleteLater);
            }
        });
        m_server.listen(QHostAddress::LocalHost, 0);
    }
    QString url() const { return u"http://127.0.0.1:%1/maps/api/place/nearbysearch/json"_s.arg(m_server.serverPort()); }
    int requests = 0;

private:
    QTcpServer m_server;
    QByteArray m_body;
    QByteArray m_seen;
};

QByteArray nowTime()
{
    return QByteArray::number(QDateTime::currentSecsSinceEpoch()) + ".250000000";
}

} // namespace

class tst_Status : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void metricsTextFormat();
    void metricsAndStatusMatchTraffic();
    void placesErrorsCounted();
    void httpErrors_data();
    void httpErrors();
    void connectionLimitAndHeadTimeout();
    void eventsStream_data();
    void eventsStream();
    void stalledEventsReaderIsClosed();
    void eventsStartWithWhatTheNodeHolds();
    void idleReadersDoNotLockOthersOut();

private:
    QString url(const QString &node, const char *path) const;
    herd::StatusServer *server(const QString &node) const;

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<herd::Herd> m_herd;
    QNetworkAccessManager m_nam;
};

void tst_Status::initTestCase()
{
    qputenv(kSecretEnv, kSecretValue);
    qputenv(kKeyEnv, kKeyValue);
}

void tst_Status::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    HerdConfig config = herdtest::testHerd({u"Hill"_s, u"Jaquez"_s}, {{u"Hill"_s, u"Jaquez"_s}}, QString());
    for (herd::NodeConfig &n : config.nodes)
        n.statusPort = 0;
    config.peerSecretEnv = QString::fromLatin1(kSecretEnv);
    config.places.apiKeyEnv = QString::fromLatin1(kKeyEnv);   // offline: the key is never used
    m_herd = std::make_unique<herd::Herd>(config);
    QVERIFY2(m_herd->start(), qPrintable(m_herd->lastError()));
    QCOMPARE(m_herd->statusServers().size(), 2);
    QTRY_VERIFY_WITH_TIMEOUT(m_herd->node(u"Hill"_s)->stats().links.value(0).up
                             && m_herd->node(u"Jaquez"_s)->stats().links.value(0).up, 5000);
}

void tst_Status::cleanup()
{
    m_herd.reset();
    m_dir.reset();
}

herd::StatusServer *tst_Status::server(const QString &node) const
{
    for (herd::StatusServer *s : m_herd->statusServers()) {
        if (s->objectName() == node)
            return s;
    }
    return nullptr;
}

QString tst_Status::url(const QString &node, const char *path) const
{
    herd::StatusServer *s = server(node);
    return s ? s->url() + QString::fromLatin1(path).mid(1) : QString();
}

void tst_Status::metricsTextFormat()
{
    // Pure function: label values escaped, HELP/TYPE per family, histogram cumulative.
    herd::NodeStats s;
    s.name = u"we\"ird\\node\nname"_s;
    s.iamat = 7;
    s.placesLatency[0] = 2;                             // <= 5 ms
    s.placesLatency[3] = 1;                             // <= 50 ms
    s.placesLatency.back() = 1;                         // > 10 s
    s.placesLatencySumUs = 12'003'000;
    s.placesErrors[1] = 3;                              // OVER_QUERY_LIMIT
    herd::LinkInfo link;
    link.peer = u"P"_s;
    link.up = true;
    link.stats.lastAckMs = 10'000;
    link.stats.timesDown = 4;
    s.links.append(link);
    const QByteArray text = herd::metrics::prometheusText(s, 12'500, {u"1.2.3"_s, u"6.4.2"_s});
    const Scrape m = parseMetrics(text);
    QVERIFY2(m.problems.isEmpty(), m.problems.join('\n').constData());
    const QByteArray node = R"(node="we\"ird\\node\nname")";
    QCOMPARE(m.value("herd_messages_received_total{" + node + ",command=\"IAMAT\"}"), 7.0);
    QCOMPARE(m.value("herd_build_info{version=\"1.2.3\",qt=\"6.4.2\"}"), 1.0);
    // The process series, from /proc/self: plausible values, not just present.
    QVERIFY(m.value("process_resident_memory_bytes") > 1024 * 1024);
    QVERIFY(m.value("process_virtual_memory_bytes") >= m.value("process_resident_memory_bytes"));
    QVERIFY(m.value("process_open_fds") >= 3);
    QVERIFY(m.value("process_max_fds") >= m.value("process_open_fds"));
    QVERIFY(m.value("process_cpu_seconds_total") > 0);
    const double started = m.value("process_start_time_seconds");
    const double now = double(QDateTime::currentSecsSinceEpoch());
    QVERIFY2(started > now - 3600 && started <= now + 2, QByteArray::number(started, 'f', 2).constData());
    QCOMPARE(m.value("herd_heartbeat_age_seconds{" + node + ",peer=\"P\"}"), 2.5);
    QCOMPARE(m.value("herd_link_flaps_total{" + node + ",peer=\"P\"}"), 4.0);
    QCOMPARE(m.value("herd_places_request_duration_seconds_bucket{" + node + ",le=\"0.005\"}"), 2.0);
    QCOMPARE(m.value("herd_places_request_duration_seconds_bucket{" + node + ",le=\"0.025\"}"), 2.0);
    QCOMPARE(m.value("herd_places_request_duration_seconds_bucket{" + node + ",le=\"0.05\"}"), 3.0);
    QCOMPARE(m.value("herd_places_request_duration_seconds_bucket{" + node + ",le=\"10\"}"), 3.0);
    QCOMPARE(m.value("herd_places_request_duration_seconds_bucket{" + node + ",le=\"+Inf\"}"), 4.0);
    QCOMPARE(m.value("herd_places_request_duration_seconds_count{" + node + "}"), 4.0);
    QCOMPARE(m.value("herd_places_request_duration_seconds_sum{" + node + "}"), 12.003);
    QCOMPARE(m.value("herd_places_errors_total{" + node + ",status=\"OVER_QUERY_LIMIT\"}"), 3.0);
    QCOMPARE(m.type.value("herd_places_request_duration_seconds"), QByteArray("histogram"));
    // Names: herd_ prefix (process_ for the standard process series), snake case, counters end in _total.
    for (auto it = m.type.cbegin(); it != m.type.cend(); ++it) {
        QVERIFY2(QRegularExpression(u"\\A(herd|process)_[a-z0-9_]+\\z"_s).match(QString::fromLatin1(it.key())).hasMatch(), it.key().constData());
        if (it.value() == "counter")
            QVERIFY2(it.key().endsWith("_total"), it.key().constData());
    }
    // No peer: no heartbeat age (and no NaN).
    s.links.clear();
    QVERIFY(!herd::metrics::prometheusText(s, 0).contains("herd_heartbeat_age_seconds{"));
}

void tst_Status::metricsAndStatusMatchTraffic()
{
    const quint16 hillPort = m_herd->node(u"Hill"_s)->port();
    TestClient client(hillPort);
    QVERIFY(client.isConnected());
    const QByteArray t = nowTime();
    client.send("IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 " + t + "\n");
    QVERIFY(client.readLine().startsWith("AT Hill "));
    client.send("IAMAT apple +34.1-118.4 " + t + "\n");
    QVERIFY(client.readLine().startsWith("AT Hill "));
    client.send("WHATSAT kiwi.cs.ucla.edu 10 2\n");        // the offline provider
    bool ok = false;
    const QByteArray answer = client.readUntil("\n\n", &ok);
    QVERIFY2(ok && answer.startsWith("AT Hill "), answer.constData());
    client.send("HELLO there\n");
    QCOMPARE(client.readLine(), QByteArray("? HELLO there"));
    client.send("WHATSAT nobody 10 2\n");                  // unknown client: invalid
    QCOMPARE(client.readLine(), QByteArray("? WHATSAT nobody 10 2"));

    {   // An over-long line: the connection is closed.
        TestClient longLine(hillPort);
        longLine.send(QByteArray(5000, 'x') + '\n');
        bool closed = false;
        longLine.readToClose(&closed);
        QVERIFY(closed);
    }
    {   // A would-be neighbour with the wrong secret.
        TestClient impostor(hillPort);
        impostor.send("HERD-HELLO Jaquez Hill 0123456789abcdef0123456789abcdef\n");
        QVERIFY(impostor.readLine().startsWith("HERD-WELCOME Hill "));
        impostor.send("HERD-AUTH 00\n");
        bool closed = false;
        impostor.readToClose(&closed);
        QVERIFY(closed);
    }
    QTRY_COMPARE(m_herd->node(u"Jaquez"_s)->stats().clientsKnown, qint64(2));

    const HttpResult hill = httpGet(m_nam, url(u"Hill"_s, "/metrics"));
    QCOMPARE(hill.status, 200);
    QCOMPARE(hill.contentType, QByteArray("text/plain; version=0.0.4; charset=utf-8"));
    QCOMPARE(hill.header("Connection"), QByteArray("close"));
    const Scrape m = parseMetrics(hill.body);
    QVERIFY2(m.problems.isEmpty(), m.problems.join('\n').constData());
    const auto expect = [&m](const Scrape &s, const QByteArray &key, double value) {
        Q_UNUSED(m);
        QVERIFY2(s.has(key), ("missing " + key).constData());
        QVERIFY2(s.value(key) == value, (key + " = " + s.samples.value(key) + ", expected "
                                         + QByteArray::number(value)).constData());
    };
    expect(m, R"(herd_messages_received_total{node="Hill",command="IAMAT"})", 2);
    expect(m, R"(herd_messages_received_total{node="Hill",command="WHATSAT"})", 1);
    expect(m, R"(herd_messages_received_total{node="Hill",command="invalid"})", 2);
    expect(m, R"(herd_messages_received_total{node="Hill",command="AT"})", 0);
    expect(m, R"(herd_rejects_total{node="Hill",reason="invalid_line"})", 2);
    expect(m, R"(herd_rejects_total{node="Hill",reason="line_too_long"})", 1);
    expect(m, R"(herd_rejects_total{node="Hill",reason="auth_failure"})", 1);
    expect(m, R"(herd_rejects_total{node="Hill",reason="too_many_connections"})", 0);
    expect(m, R"(herd_rejects_total{node="Hill",reason="output_overflow"})", 0);
    expect(m, R"(herd_peer_auth_failures_total{node="Hill",peer="Jaquez"})", 1);
    expect(m, R"(herd_clients_known{node="Hill"})", 2);
    expect(m, R"(herd_floods_sent_total{node="Hill",peer="Jaquez"})", 2);
    expect(m, R"(herd_duplicates_dropped_total{node="Hill",peer="Jaquez"})", 0);
    expect(m, R"(herd_peer_up{node="Hill",peer="Jaquez"})", 1);
    expect(m, R"(herd_link_flaps_total{node="Hill",peer="Jaquez"})", 0);
    expect(m, R"(herd_connections{node="Hill",kind="client"})", 1);
    expect(m, R"(herd_connections{node="Hill",kind="peer"})", 1);
    expect(m, R"(herd_node_running{node="Hill"})", 1);
    expect(m, R"(herd_places_request_duration_seconds_count{node="Hill"})", 1);
    expect(m, R"(herd_places_request_duration_seconds_bucket{node="Hill",le="+Inf"})", 1);
    expect(m, R"(herd_places_errors_total{node="Hill",status="UNKNOWN_ERROR"})", 0);
    expect(m, "herd_build_info{version=\"" HERD_VERSION "\",qt=\"" + QByteArray(qVersion()) + "\"}", 1);
    QVERIFY(m.has(R"(herd_heartbeat_age_seconds{node="Hill",peer="Jaquez"})"));
    QVERIFY(m.value(R"(herd_heartbeat_age_seconds{node="Hill",peer="Jaquez"})") < 5);
    QVERIFY(m.value(R"(herd_messages_received_total{node="Hill",command="HERD-ACK"})") >= 1);
    QVERIFY2(!hill.body.contains("kiwi") && !hill.body.contains("apple"), "a client ID in the metrics");

    const Scrape j = parseMetrics(httpGet(m_nam, url(u"Jaquez"_s, "/metrics")).body);
    expect(j, R"(herd_messages_received_total{node="Jaquez",command="AT"})", 2);
    expect(j, R"(herd_floods_received_total{node="Jaquez",peer="Hill"})", 2);
    expect(j, R"(herd_messages_received_total{node="Jaquez",command="IAMAT"})", 0);
    expect(j, R"(herd_clients_known{node="Jaquez"})", 2);

    const HttpResult status = httpGet(m_nam, url(u"Hill"_s, "/status"));
    QCOMPARE(status.status, 200);
    QCOMPARE(status.contentType, QByteArray("application/json"));
    const QJsonObject o = QJsonDocument::fromJson(status.body).object();
    QCOMPARE(o.value(u"node"_s).toString(), u"Hill"_s);
    QCOMPARE(o.value(u"hosted"_s).toArray(), (QJsonArray{u"Hill"_s, u"Jaquez"_s}));
    const QJsonObject hillConfig = o.value(u"herd"_s).toObject().value(u"nodes"_s).toArray().at(0).toObject();
    QCOMPARE(hillConfig.value(u"port"_s).toInt(), int(hillPort));
    QCOMPARE(hillConfig.value(u"status_port"_s).toInt(), int(server(u"Hill"_s)->port()));
    QCOMPARE(o.value(u"endpoints"_s).toObject().value(u"Hill"_s).toString(), server(u"Hill"_s)->url());
    QCOMPARE(o.value(u"endpoints"_s).toObject().value(u"Jaquez"_s).toString(), server(u"Jaquez"_s)->url());
    const herd::NodeStats stats = herd::json::toNodeStats(o.value(u"stats"_s).toObject());
    QCOMPARE(stats.name, u"Hill"_s);
    QCOMPARE(stats.iamat, 2u);
    QCOMPARE(stats.invalidLines, 2u);
    QCOMPARE(stats.linesTooLong, 1u);
    QCOMPARE(stats.clientsKnown, qint64(2));
    QCOMPARE(stats.links.size(), 1);
    QCOMPARE(stats.links[0].stats.floodsSent, 2u);
    QCOMPARE(o.value(u"build"_s).toObject().value(u"version"_s).toString(), QStringLiteral(HERD_VERSION));

    // Secrets never leave: not the peer secret, not the API key (their variable names may).
    for (const QByteArray &body : {hill.body, status.body}) {
        QVERIFY2(!body.contains(kSecretValue), "the peer secret in a response");
        QVERIFY2(!body.contains(kKeyValue), "the API key in a response");
    }
    QVERIFY(status.body.contains(kSecretEnv));
}

void tst_Status::placesErrorsCounted()
{
    FakeGoogle google(R"({"html_attributions": [], "results": [], "status": "OVER_QUERY_LIMIT", "error_message": "slow down"})");
    HerdConfig config = herdtest::singleNode(QString());
    config.nodes[0].statusPort = 0;
    config.places.provider = u"google-legacy"_s;
    config.places.endpoint = google.url();
    config.places.apiKeyEnv = QString::fromLatin1(kKeyEnv);
    herd::Herd herd(config);
    QVERIFY2(herd.start(), qPrintable(herd.lastError()));
    TestClient client(herd.node(u"Hill"_s)->port());
    client.send("IAMAT kiwi +34.1-118.4 " + nowTime() + "\n");
    QVERIFY(client.readLine().startsWith("AT "));
    client.send("WHATSAT kiwi 5 3\n");
    bool ok = false;
    const QByteArray answer = client.readUntil("\n\n", &ok);
    QVERIFY2(ok && answer.contains("OVER_QUERY_LIMIT"), answer.constData());
    QCOMPARE(google.requests, 1);

    const HttpResult r = httpGet(m_nam, herd.statusServers().at(0)->url() + u"metrics"_s);
    const Scrape m = parseMetrics(r.body);
    QVERIFY2(m.problems.isEmpty(), m.problems.join('\n').constData());
    QCOMPARE(m.value(R"(herd_places_errors_total{node="Hill",status="OVER_QUERY_LIMIT"})"), 1.0);
    QCOMPARE(m.value(R"(herd_places_errors_total{node="Hill",status="REQUEST_DENIED"})"), 0.0);
    QCOMPARE(m.value(R"(herd_places_request_duration_seconds_count{node="Hill"})"), 1.0);
    QCOMPARE(m.value(R"(herd_messages_received_total{node="Hill",command="WHATSAT"})"), 1.0);
    QVERIFY(m.value(R"(herd_places_request_duration_seconds_sum{node="Hill"})") > 0);
    QVERIFY2(!r.body.contains(kKeyValue), "the API key in /metrics");
    QVERIFY2(!httpGet(m_nam, herd.statusServers().at(0)->url() + u"status"_s).body.contains(kKeyValue),
             "the API key in /status");
}

void tst_Status::httpErrors_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<QByteArray>("statusLine");
    QTest::addColumn<QByteArray>("header");   // a header the response must have

    QTest::newRow("POST") << QByteArray("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                          << QByteArray("HTTP/1.1 405 ") << QByteArray("\r\nAllow: GET\r\n");
    QTest::newRow("HEAD") << QByteArray("HEAD /status HTTP/1.1\r\n\r\n") << QByteArray("HTTP/1.1 405 ")
                          << QByteArray("\r\nAllow: GET\r\n");
    QTest::newRow("unknown path") << QByteArray("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
                                  << QByteArray("HTTP/1.1 404 ") << QByteArray();
    QTest::newRow("root") << QByteArray("GET / HTTP/1.1\r\n\r\n") << QByteArray("HTTP/1.1 404 ") << QByteArray();
    QTest::newRow("garbage") << QByteArray("GARBAGE\r\n\r\n") << QByteArray("HTTP/1.1 400 ") << QByteArray();
    QTest::newRow("not a path") << QByteArray("GET metrics HTTP/1.1\r\n\r\n") << QByteArray("HTTP/1.1 400 ")
                                << QByteArray();
    QTest::newRow("HTTP/2.0") << QByteArray("GET /metrics HTTP/2.0\r\n\r\n") << QByteArray("HTTP/1.1 400 ")
                              << QByteArray();
    QTest::newRow("header without colon") << QByteArray("GET /metrics HTTP/1.1\r\nbad header\r\n\r\n")
                                          << QByteArray("HTTP/1.1 400 ") << QByteArray();
    QTest::newRow("folded header") << QByteArray("GET /metrics HTTP/1.1\r\nA: b\r\n c\r\n\r\n")
                                   << QByteArray("HTTP/1.1 400 ") << QByteArray();
    QTest::newRow("head over 8 KiB")
        << QByteArray("GET /metrics HTTP/1.1\r\nX-Pad: " + QByteArray(9000, 'a') + "\r\n\r\n")
        << QByteArray("HTTP/1.1 400 ") << QByteArray();
    QTest::newRow("endless head") << QByteArray("GET /metrics HTTP/1.1\r\n" + QByteArray(20000, 'a'))
                                  << QByteArray("HTTP/1.1 400 ") << QByteArray();
    QTest::newRow("HTTP/1.0 with a query") << QByteArray("GET /metrics?x=1 HTTP/1.0\r\n\r\n")
                                           << QByteArray("HTTP/1.1 200 ")
                                           << QByteArray("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n");
    QTest::newRow("bare LF") << QByteArray("GET /status HTTP/1.1\nHost: x\n\n") << QByteArray("HTTP/1.1 200 ")
                             << QByteArray("\r\nContent-Type: application/json\r\n");
}

void tst_Status::httpErrors()
{
    QFETCH(QByteArray, request);
    QFETCH(QByteArray, statusLine);
    QFETCH(QByteArray, header);
    TestClient c(server(u"Hill"_s)->port());
    QVERIFY(c.isConnected());
    c.send(request);
    bool closed = false;
    const QByteArray response = c.readToClose(&closed);
    QVERIFY2(closed, "the connection stays open");
    QVERIFY2(response.startsWith(statusLine), response.left(200).constData());
    QVERIFY2(response.contains("\r\nConnection: close\r\n"), response.left(300).constData());
    QVERIFY2(header.isEmpty() || response.contains(header), response.left(300).constData());
    const qsizetype bodyAt = response.indexOf("\r\n\r\n") + 4;
    QVERIFY(bodyAt >= 4);
    const QRegularExpression length(u"\r\nContent-Length: ([0-9]+)\r\n"_s);
    const auto match = length.match(QString::fromLatin1(response.left(bodyAt)));
    QVERIFY2(match.hasMatch(), "no Content-Length");
    QCOMPARE(response.size() - bodyAt, match.captured(1).toLongLong());
}

void tst_Status::connectionLimitAndHeadTimeout()
{
    const quint16 port = server(u"Hill"_s)->port();
    std::vector<std::unique_ptr<TestClient>> idle;
    // From one address at most kMaxConnectionsPerAddress: the next one gets 503.
    for (int i = 0; i < herd::StatusServer::kMaxConnectionsPerAddress; ++i) {
        idle.push_back(std::make_unique<TestClient>(port, u"127.0.0.1"_s, u"127.0.0.2"_s));
        QVERIFY(idle.back()->isConnected());
    }
    {
        TestClient sameAddress(port, u"127.0.0.1"_s, u"127.0.0.2"_s);
        bool closed = false;
        const QByteArray response = sameAddress.readToClose(&closed);
        QVERIFY2(closed && response.startsWith("HTTP/1.1 503 "), response.constData());
    }
    // In all at most kMaxConnections: the next one, from anywhere, gets 503.
    for (int i = int(idle.size()); i < herd::StatusServer::kMaxConnections; ++i) {
        const QString from = u"127.0.1.%1"_s.arg(1 + i / herd::StatusServer::kMaxConnectionsPerAddress);
        idle.push_back(std::make_unique<TestClient>(port, u"127.0.0.1"_s, from));
        QVERIFY(idle.back()->isConnected());
    }
    TestClient extra(port, u"127.0.0.1"_s, u"127.0.2.1"_s);
    bool closed = false;
    const QByteArray response = extra.readToClose(&closed);
    QVERIFY2(closed && response.startsWith("HTTP/1.1 503 "), response.constData());
    QVERIFY(response.contains("\r\nConnection: close\r\n"));
    for (const auto &c : idle)
        QVERIFY(c->isConnected());
    // None sent a request head: all are closed after 5 s.
    QTRY_VERIFY_WITH_TIMEOUT(std::all_of(idle.begin(), idle.end(), [](const auto &c) {
                                 c->socket().readAll();
                                 return !c->isConnected();
                             }),
                             herd::StatusServer::kHeadTimeoutMs + 3000);
    // Room again.
    QTRY_COMPARE(httpGet(m_nam, url(u"Hill"_s, "/metrics")).status, 200);
}

void tst_Status::eventsStream_data()
{
    QTest::addColumn<bool>("monitorInProcess");
    QTest::newRow("own stream") << false;
    QTest::newRow("the in-process monitor's stream") << true;
}

void tst_Status::eventsStream()
{
    QFETCH(bool, monitorInProcess);
    std::unique_ptr<herd::EventStream> monitor;
    if (monitorInProcess) {
        // As the GUI does: one stream for the whole herd, acknowledged batch by batch.
        herd::Herd *h = m_herd.get();
        monitor = std::make_unique<herd::EventStream>([h] { return h->stats(); });
        herd::EventStream *raw = monitor.get();
        connect(raw, &herd::EventStream::batchReady, raw, [raw] { raw->batchApplied(); });
        m_herd->setEventStream(raw);
    }
    QNetworkRequest request{QUrl(url(u"Hill"_s, "/events"))};
    std::unique_ptr<QNetworkReply> reply(m_nam.get(request));
    // The first line comes at once, before anything happens.
    QTRY_VERIFY_WITH_TIMEOUT(reply->canReadLine(), 3000);
    QCOMPARE(reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), 200);
    QCOMPARE(reply->rawHeader("Content-Type"), QByteArray("application/x-ndjson"));
    QCOMPARE(reply->rawHeader("Cache-Control"), QByteArray("no-store"));
    QVERIFY(!reply->hasRawHeader("Content-Length"));
    const auto first = herd::json::toBatch(QJsonDocument::fromJson(reply->readLine()).object());
    QVERIFY2(first, "the first line is not a batch");
    QCOMPARE(first->stats.size(), 1);
    QCOMPARE(first->stats[0].name, u"Hill"_s);
    QCOMPARE(server(u"Hill"_s)->subscriberCount(), 1);

    // An update from a client: a later line carries it (stored at Hill, and its traffic).
    TestClient client(m_herd->node(u"Jaquez"_s)->port());
    client.send("IAMAT events-client +10-20 " + nowTime() + "\n");
    QVERIFY(client.readLine().startsWith("AT Jaquez "));
    bool sawStored = false;
    bool sawTraffic = false;
    bool onlyHill = true;
    QTRY_VERIFY_WITH_TIMEOUT(([&] {
        while (reply->canReadLine()) {
            const auto batch = herd::json::toBatch(QJsonDocument::fromJson(reply->readLine()).object());
            if (!batch)
                continue;
            for (const herd::StoredUpdate &u : batch->stored) {
                onlyHill = onlyHill && u.node == u"Hill"_s;
                sawStored = sawStored || (u.client == "events-client" && u.node == u"Hill"_s);
            }
            for (const herd::TrafficRow &row : batch->traffic) {
                onlyHill = onlyHill && row.node == u"Hill"_s;
                sawTraffic = sawTraffic || row.text.contains("events-client");
            }
            for (const herd::FloodHop &hop : batch->hops)
                onlyHill = onlyHill && hop.to == u"Hill"_s;
            for (const herd::NodeStats &s : batch->stats)
                onlyHill = onlyHill && s.name == u"Hill"_s;
        }
        return sawStored && sawTraffic;
    }()), 5000);
    QVERIFY2(onlyHill, "a line of another node in Hill's stream");

    // Idle, still a line at least every second.
    reply->readAll();
    QSignalSpy more(reply.get(), &QIODevice::readyRead);
    QVERIFY(more.wait(2500));

    reply->abort();
    QTRY_COMPARE(server(u"Hill"_s)->subscriberCount(), 0);
    if (monitor)
        m_herd->setEventStream(nullptr);
}

// A reader of /events that stops reading gets merged batches once it owes kMaxUnwrittenBytes and is
// closed after kStalledMs without progress; a reader that keeps up goes on receiving, and
// clients go on being answered.
void tst_Status::stalledEventsReaderIsClosed()
{
    // A raw socket with a small receive window that sends its request and never reads.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    QVERIFY(fd >= 0);
    const int small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server(u"Hill"_s)->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    QCOMPARE(::connect(fd, reinterpret_cast<const sockaddr *>(&addr), sizeof addr), 0);
    const QByteArray request = "GET /events HTTP/1.1\r\nHost: x\r\n\r\n";
    QCOMPARE(::send(fd, request.constData(), size_t(request.size()), 0), ssize_t(request.size()));
    QTRY_COMPARE(server(u"Hill"_s)->subscriberCount(), 1);

    QTcpSocket reader;
    qint64 readerBytes = 0;
    connect(&reader, &QIODevice::readyRead, this, [&] { readerBytes += reader.readAll().size(); });
    reader.connectToHost(QHostAddress::LocalHost, server(u"Hill"_s)->port());
    QVERIFY(reader.waitForConnected(3000));
    reader.write(request);
    QTRY_COMPARE(server(u"Hill"_s)->subscriberCount(), 2);

    // Big batches (each line travels in, out and stored): a couple of megabytes each.
    TestClient client(m_herd->node(u"Hill"_s)->port());
    const QByteArray id(1000, 'x');
    int sent = 0;
    int answered = 0;
    QTRY_VERIFY_WITH_TIMEOUT(([&] {
        QByteArray burst;
        for (int i = 0; i < 100; ++i)
            burst += "IAMAT " + id + QByteArray::number(sent + i) + " +10-20 " + nowTime() + "\n";
        client.send(burst);
        sent += 100;
        for (int i = 0; i < 100; ++i)
            answered += client.readLine().startsWith("AT Hill ") ? 1 : 0;
        return server(u"Hill"_s)->subscriberCount() < 2;
    }()), 2 * herd::EventStream::kStalledMs + 10000);
    QCOMPARE(server(u"Hill"_s)->subscriberCount(), 1);
    // The reader that never read cost the clients nothing: every update was answered and stored.
    QVERIFY(sent > 0);
    QCOMPARE(answered, sent);
    QVERIFY(m_herd->node(u"Hill"_s)->store().size() >= qsizetype(sent));
    // The stalled one was cut off: after what was in flight, its connection ends.
    char sink[65536];
    ssize_t got = 0;
    QTRY_VERIFY_WITH_TIMEOUT(([&] {
        while ((got = ::recv(fd, sink, sizeof sink, MSG_DONTWAIT)) > 0) {
        }
        return got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    }()), 10000);
    ::close(fd);

    // The reader that reads is still served, with lines that keep coming.
    const qint64 before = readerBytes;
    client.send("IAMAT after-the-stall +10-20 " + nowTime() + "\n");
    QVERIFY(client.readLine().startsWith("AT Hill "));
    QTRY_VERIFY_WITH_TIMEOUT(readerBytes > before, 3000);
    QCOMPARE(reader.state(), QAbstractSocket::ConnectedState);
    QCOMPARE(server(u"Hill"_s)->subscriberCount(), 1);
}

// A monitor attaching to a running herd: the first /events lines carry every client the node
// holds (stored before anyone subscribed), so its tables and map are not empty until clients
// move. They are walked a slice at a time, never in one stop of the node.
void tst_Status::eventsStartWithWhatTheNodeHolds()
{
    TestClient client(m_herd->node(u"Hill"_s)->port());
    QByteArrayList replies;
    for (int i = 0; i < 3; ++i) {
        client.send("IAMAT held-" + QByteArray::number(i) + " +1" + QByteArray::number(i) + ".5-20.25 " + nowTime() + "\n");
        replies.append(client.readLine());
        QVERIFY(replies.back().startsWith("AT Hill "));
    }
    QTRY_COMPARE(m_herd->node(u"Jaquez"_s)->store().size(), qsizetype(3));   // flooded before we look

    for (const QString &node : {u"Hill"_s, u"Jaquez"_s}) {
        QNetworkRequest request{QUrl(url(node, "/events"))};
        std::unique_ptr<QNetworkReply> reply(m_nam.get(request));
        QList<herd::StoredUpdate> held;
        QTRY_VERIFY_WITH_TIMEOUT(([&] {
            while (reply->canReadLine()) {
                const auto batch = herd::json::toBatch(QJsonDocument::fromJson(reply->readLine()).object());
                if (batch)
                    held.append(batch->stored);
            }
            return held.size() >= 3;
        }()), 5000);
        QCOMPARE(held.size(), qsizetype(3));
        for (int i = 0; i < 3; ++i) {
            const QByteArray id = "held-" + QByteArray::number(i);
            const auto it = std::find_if(held.cbegin(), held.cend(),
                                         [&](const herd::StoredUpdate &u) { return u.client == id; });
            QVERIFY2(it != held.cend(), id.constData());
            QCOMPARE(it->node, node);
            QCOMPARE(it->atLine, replies.at(i));   // the origin's line, byte for byte, on both nodes
            QCOMPARE(it->lat, 10.5 + i);
            QCOMPARE(it->lng, -20.25);
        }
        reply->abort();
    }
}

// Readers that never read, from a few addresses, fill every /events slot of a node: a reader from
// somewhere else still gets in (it takes the place of the oldest reader of the address holding
// the most), and the node goes on answering its clients meanwhile.
void tst_Status::idleReadersDoNotLockOthersOut()
{
    const quint16 port = server(u"Hill"_s)->port();
    std::vector<std::unique_ptr<TestClient>> idle;
    for (int i = 0; i < herd::StatusServer::kMaxSubscribers + 4; ++i) {
        const QString from = u"127.0.3.%1"_s.arg(1 + i % 3);
        idle.push_back(std::make_unique<TestClient>(port, u"127.0.0.1"_s, from));
        QVERIFY(idle.back()->isConnected());
        idle.back()->send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
        QTRY_COMPARE(server(u"Hill"_s)->subscriberCount(),
                     std::min(i + 1, std::min(herd::StatusServer::kMaxSubscribers,
                                              3 * herd::StatusServer::kMaxSubscribersPerAddress)));
    }
    QTcpSocket newcomer;
    newcomer.bind(QHostAddress(u"127.0.4.1"_s));
    newcomer.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(newcomer.waitForConnected(3000));
    newcomer.write("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    QByteArray got;
    QTRY_VERIFY_WITH_TIMEOUT(([&] {
        got += newcomer.readAll();
        return got.count('\n') >= 6;   // the head and a first line
    }()), 5000);
    QVERIFY2(got.startsWith("HTTP/1.1 200 "), got.left(200).constData());
    TestClient client(m_herd->node(u"Hill"_s)->port());
    client.send("IAMAT beside-idle-readers +10-20 " + nowTime() + "\n");
    QVERIFY(client.readLine().startsWith("AT Hill "));
}

QTEST_MAIN(tst_Status)
#include "tst_status.moc"
