#include "places.h"

#include <QElapsedTimer>
#include <QFile>
#include <QHostAddress>
#include <QJsonArray>
#include <QJsonDocument>
#include <QPointer>
#include <QSet>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>
#include <QUrlQuery>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>

using namespace herd;

namespace {

// '+' and '/' must be percent-encoded in the legacy URL: a key that needs it tests the scrubbing
// of both spellings.
const QByteArray kKey = QByteArrayLiteral("AIzaHERD-tst+places/7f3c9d1e");
const char kKeyEnv[] = "HERD_TST_PLACES_KEY";
const QString kKeyEnvName = QString::fromLatin1(kKeyEnv);

// A minimal HTTP/1.1 server on 127.0.0.1: records every request (request line, headers, body by
// Content-Length) and either answers at once with a canned reply or holds it until respond().
// Keep-alive: several requests may come on one connection, one after the other.
class FakeHttpServer : public QObject {
    Q_OBJECT
public:
    struct Request {
        QByteArray method;
        QByteArray target;
        QHash<QByteArray, QByteArray> headers;   // names lower-cased
        QByteArray body;
        QPointer<QTcpSocket> socket;

        QString path() const { return QUrl::fromEncoded(target).path(); }
        QUrlQuery query() const { return QUrlQuery(QUrl::fromEncoded(target)); }
        QJsonObject json() const { return QJsonDocument::fromJson(body).object(); }
    };

    explicit FakeHttpServer(QObject *parent = nullptr) : QObject(parent), m_server(new QTcpServer(this))
    {
        connect(m_server, &QTcpServer::newConnection, this, &FakeHttpServer::onNewConnection);
    }

    bool listen() { return m_server->listen(QHostAddress::LocalHost, 0); }
    QString url(const QString &path) const
    {
        return QStringLiteral("http://127.0.0.1:%1%2").arg(m_server->serverPort()).arg(path);
    }

    void replyWith(int status, const QByteArray &body)
    {
        m_autoReply = true;
        m_status = status;
        m_body = body;
    }
    void holdReplies() { m_autoReply = false; }

    void respond(qsizetype index, int status, const QByteArray &body, const QByteArray &extraHeaders = {})
    {
        QTcpSocket *socket = m_requests.at(index).socket;
        if (!socket)
            return;
        socket->write("HTTP/1.1 " + QByteArray::number(status) + " Canned\r\n"
                      "Content-Type: application/json; charset=UTF-8\r\n" + extraHeaders
                      + "Content-Length: " + QByteArray::number(body.size()) + "\r\n\r\n" + body);
    }

    int count() const { return int(m_requests.size()); }
    int disconnects() const { return m_disconnects; }
    int count(const QString &path) const
    {
        return int(std::count_if(m_requests.begin(), m_requests.end(),
                                 [&](const Request &r) { return r.path() == path; }));
    }
    const Request &request(qsizetype index) const { return m_requests.at(index); }
    qsizetype indexOf(const QString &path, int nth) const
    {
        for (qsizetype i = 0; i < m_requests.size(); ++i) {
            if (m_requests.at(i).path() == path && nth-- == 0)
                return i;
        }
        return -1;
    }

private:
    void onNewConnection()
    {
        while (QTcpSocket *socket = m_server->nextPendingConnection()) {
            socket->setParent(this);   // die after our connections are gone, not in mid-destructor
            connect(socket, &QTcpSocket::readyRead, this, [this, socket] { parse(socket); });
            connect(socket, &QTcpSocket::disconnected, this, [this, socket] {
                ++m_disconnects;
                m_buffers.remove(socket);
                socket->deleteLater();
            });
        }
    }

    void parse(QTcpSocket *socket)
    {
        QByteArray &buffer = m_buffers[socket];
        buffer += socket->readAll();
        for (;;) {
            const qsizetype headEnd = buffer.indexOf("\r\n\r\n");
            if (headEnd < 0)
                return;
            const QList<QByteArray> lines = buffer.left(headEnd).split('\n');
            Request r;
            const QList<QByteArray> requestLine = lines.value(0).trimmed().split(' ');
            r.method = requestLine.value(0);
            r.target = requestLine.value(1);
            for (qsizetype i = 1; i < lines.size(); ++i) {
                const QByteArray line = lines.at(i).trimmed();
                const qsizetype colon = line.indexOf(':');
                if (colon > 0)
                    r.headers.insert(line.left(colon).trimmed().toLower(), line.mid(colon + 1).trimmed());
            }
            const qsizetype length = r.headers.value("content-length", "0").toLongLong();
            if (buffer.size() < headEnd + 4 + length)
                return;
            r.body = buffer.mid(headEnd + 4, length);
            buffer.remove(0, headEnd + 4 + length);
            r.socket = socket;
            m_requests.append(r);
            if (m_autoReply)
                respond(m_requests.size() - 1, m_status, m_body);
        }
    }

    QTcpServer *m_server;   // child of this
    QHash<QTcpSocket *, QByteArray> m_buffers;
    QList<Request> m_requests;
    int m_disconnects = 0;
    bool m_autoReply = true;
    int m_status = 200;
    QByteArray m_body = QByteArrayLiteral("{}");
};

struct Answer {
    int calls = 0;
    QJsonObject json;

    QString status() const { return json.value(QStringLiteral("status")).toString(); }
    QString message() const { return json.value(QStringLiteral("error_message")).toString(); }
    QJsonArray results() const { return json.value(QStringLiteral("results")).toArray(); }
    QByteArray dump() const { return QJsonDocument(json).toJson(QJsonDocument::Compact); }
};
using AnswerPtr = std::shared_ptr<Answer>;

AnswerPtr ask(PlacesProvider &provider, const PlacesQuery &query, QObject *context)
{
    auto answer = std::make_shared<Answer>();
    provider.search(query, context, [answer](const QJsonObject &json) {
        ++answer->calls;
        answer->json = json;
    });
    return answer;
}

PlacesQuery query(double lat, double lng, double radiusKm, int bound)
{
    PlacesQuery q;
    q.lat = lat;
    q.lng = lng;
    q.radiusKm = radiusKm;
    q.bound = bound;
    return q;
}

PlacesQuery ucla(double radiusKm = 10, int bound = 5)
{
    return query(34.068930, -118.445127, radiusKm, bound);
}

PlacesConfig config(const QString &provider, const QString &endpoint = QString())
{
    PlacesConfig c;
    c.provider = provider;
    c.endpoint = endpoint;
    c.apiKeyEnv = kKeyEnvName;
    c.timeoutMs = 5000;
    return c;
}

double haversineKm(double lat1, double lng1, double lat2, double lng2)
{
    constexpr double rad = std::numbers::pi / 180;
    const double a = std::pow(std::sin((lat2 - lat1) * rad / 2), 2)
        + std::cos(lat1 * rad) * std::cos(lat2 * rad) * std::pow(std::sin((lng2 - lng1) * rad / 2), 2);
    return 2 * 6371.0088 * std::asin(std::sqrt(a));
}

double distanceTo(const PlacesQuery &q, const QJsonValue &result)
{
    const QJsonObject loc = result[QStringLiteral("geometry")][QStringLiteral("location")].toObject();
    return haversineKm(q.lat, q.lng, loc.value(QStringLiteral("lat")).toDouble(),
                       loc.value(QStringLiteral("lng")).toDouble());
}

QByteArray newApiPlaces(int n)
{
    QJsonArray places;
    for (int i = 0; i < n; ++i) {
        places.append(QJsonObject{
            {QStringLiteral("id"), QStringLiteral("place-%1").arg(i)},
            {QStringLiteral("displayName"), QJsonObject{{QStringLiteral("text"), QStringLiteral("Place %1").arg(i)}}},
            {QStringLiteral("location"), QJsonObject{{QStringLiteral("latitude"), 34.07 + i * 0.001},
                                                     {QStringLiteral("longitude"), -118.44}}},
        });
    }
    return QJsonDocument(QJsonObject{{QStringLiteral("places"), places}}).toJson();
}

QByteArray legacyResults(int n, const QString &status = QStringLiteral("OK"))
{
    QJsonArray results;
    for (int i = 0; i < n; ++i) {
        results.append(QJsonObject{
            {QStringLiteral("name"), QStringLiteral("Legacy %1").arg(i)},
            {QStringLiteral("place_id"), QStringLiteral("legacy-%1").arg(i)},
            {QStringLiteral("reference"), QStringLiteral("ref-%1").arg(i)},
            {QStringLiteral("geometry"),
             QJsonObject{{QStringLiteral("location"),
                          QJsonObject{{QStringLiteral("lat"), 34.07}, {QStringLiteral("lng"), -118.44}}}}},
        });
    }
    return QJsonDocument(QJsonObject{
                             {QStringLiteral("html_attributions"), QJsonArray{QStringLiteral("Listings by X")}},
                             {QStringLiteral("results"), results},
                             {QStringLiteral("status"), status},
                             {QStringLiteral("next_page_token"), QStringLiteral("NEXT-PAGE-123")},
                             {QStringLiteral("info_messages"), QJsonArray{QStringLiteral("kept as is")}},
                         })
        .toJson();
}

// A port nobody listens on (as far as one can know without racing).
quint16 closedPort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    const quint16 port = probe.serverPort();
    probe.close();
    return port;
}

} // namespace

class tst_Places : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void googleRequestShape();
    void googleMapsToLegacy();
    void googleTrimsToBound();
    void googleZeroResults();
    void googleErrors_data();
    void googleErrors();

    void legacyRequestAndPassthrough();
    void legacyErrors_data();
    void legacyErrors();

    void timeout_data();
    void timeout();
    void connectionRefused_data();
    void connectionRefused();
    void keyUnset_data();
    void keyUnset();

    void autoPicksProvider();
    void badConfig_data();
    void badConfig();

    void offlineBundledDataset();
    void offlineBundledFileIsWellFormed();
    void offlineCustomDataset();
    void offlineMalformedDataset_data();
    void offlineMalformedDataset();

    void noCallbackAfterContextDies_offline();
    void noCallbackAfterContextDies_inFlight();
    void noCallbackAfterContextDies_queued();
    void redirectNotFollowed_data();
    void redirectNotFollowed();
    void destroyedWithPendingSearches();
    void maxConcurrentQueues();
    void maxConcurrentAllowsParallel();

private:
    void checkErrorAnswer(const QString &providerName, const QString &path);   // reads the _data row
    std::unique_ptr<PlacesProvider> make(const PlacesConfig &c)
    {
        QString error;
        auto provider = PlacesProvider::create(c, &error);
        if (!provider)
            qWarning("create failed: %s", qPrintable(error));
        return provider;
    }

    static bool holdsKey(const Answer &a)
    {
        const QByteArray dump = a.dump();
        return dump.contains(kKey) || dump.contains(QUrl::toPercentEncoding(QString::fromLatin1(kKey)));
    }
};

void tst_Places::init()
{
    qputenv(kKeyEnv, kKey);
}

void tst_Places::cleanup()
{
    qunsetenv(kKeyEnv);
}

void tst_Places::googleRequestShape()
{
    FakeHttpServer server;
    QVERIFY(server.listen());
    server.replyWith(200, newApiPlaces(1));
    auto provider = make(config(QStringLiteral("google"), server.url(QStringLiteral("/v1/places:searchNearby"))));
    QVERIFY(provider);
    QCOMPARE(provider->kind(), QStringLiteral("google"));

    auto a = ask(*provider, ucla(2.5, 7), this);
    QCOMPARE(a->calls, 0);   // never inside search()
    QTRY_COMPARE(a->calls, 1);

    QCOMPARE(server.count(), 1);
    const auto &r = server.request(0);
    QCOMPARE(r.method, QByteArray("POST"));
    QCOMPARE(r.path(), QStringLiteral("/v1/places:searchNearby"));
    QVERIFY2(!r.target.contains("key"), r.target.constData());
    QVERIFY(r.headers.value("content-type").startsWith("application/json"));
    QCOMPARE(r.headers.value("x-goog-api-key"), kKey);
    const QList<QByteArray> mask = r.headers.value("x-goog-fieldmask").split(',');
    for (const char *field : {"places.id", "places.displayName", "places.location", "places.types",
                              "places.formattedAddress", "places.rating", "places.userRatingCount",
                              "places.businessStatus", "places.priceLevel",
                              "places.currentOpeningHours.openNow"}) {
        QVERIFY2(mask.contains(QByteArray(field)), field);
    }

    const QJsonObject body = r.json();
    QVERIFY2(!body.isEmpty(), r.body.constData());
    const QJsonObject circle = body[QStringLiteral("locationRestriction")][QStringLiteral("circle")].toObject();
    QCOMPARE(circle[QStringLiteral("center")][QStringLiteral("latitude")].toDouble(), 34.068930);
    QCOMPARE(circle[QStringLiteral("center")][QStringLiteral("longitude")].toDouble(), -118.445127);
    QCOMPARE(circle[QStringLiteral("radius")].toDouble(), 2500.0);   // metres
    QCOMPARE(body[QStringLiteral("maxResultCount")].toInt(), 7);
    QVERIFY2(!holdsKey(*a), a->dump().constData());
}

void tst_Places::googleMapsToLegacy()
{
    const QByteArray canned = R"({"places": [
      {"id": "ChIJ-full", "displayName": {"text": "Royce Hall", "languageCode": "en"},
       "formattedAddress": "340 Royce Dr, Los Angeles, CA 90095, USA",
       "shortFormattedAddress": "340 Royce Dr, Los Angeles",
       "location": {"latitude": 34.0729, "longitude": -118.4422},
       "types": ["university", "point_of_interest", "establishment"],
       "rating": 4.8, "userRatingCount": 321, "businessStatus": "OPERATIONAL",
       "priceLevel": "PRICE_LEVEL_MODERATE",
       "iconMaskBaseUri": "https://maps.gstatic.com/mapfiles/place_api/icons/v2/school_pinlet",
       "iconBackgroundColor": "#7B9EB0",
       "photos": [{"name": "places/ChIJ-full/photos/P1", "widthPx": 4032, "heightPx": 3024,
                   "authorAttributions": [{"displayName": "A. Bruin", "uri": "https://example.org/u/1"}]}],
       "currentOpeningHours": {"openNow": true},
       "plusCode": {"globalCode": "8553XHF5+5W", "compoundCode": "XHF5+5W Los Angeles, California"}},
      {"id": "ChIJ-min", "displayName": {"text": "Powell Library"},
       "formattedAddress": "10740 Dickson Ct, Los Angeles",
       "location": {"latitude": 34.0716, "longitude": -118.4421},
       "priceLevel": "PRICE_LEVEL_UNSPECIFIED"}
    ]})";
    FakeHttpServer server;
    QVERIFY(server.listen());
    server.replyWith(200, canned);
    auto provider = make(config(QStringLiteral("google"), server.url(QStringLiteral("/nearby"))));
    QVERIFY(provider);

    auto a = ask(*provider, ucla(), this);
    QTRY_COMPARE(a->calls, 1);
    QCOMPARE(a->status(), QStringLiteral("OK"));
    QCOMPARE(a->json[QStringLiteral("html_attributions")].toArray(), QJsonArray());
    QVERIFY(!a->json.contains(QStringLiteral("places")));
    const QJsonArray results = a->results();
    QCOMPARE(results.size(), 2);

    const QJsonObject full = results.at(0).toObject();
    QCOMPARE(full[QStringLiteral("name")].toString(), QStringLiteral("Royce Hall"));
    QCOMPARE(full[QStringLiteral("place_id")].toString(), QStringLiteral("ChIJ-full"));
    QCOMPARE(full[QStringLiteral("geometry")][QStringLiteral("location")][QStringLiteral("lat")].toDouble(), 34.0729);
    QCOMPARE(full[QStringLiteral("geometry")][QStringLiteral("location")][QStringLiteral("lng")].toDouble(), -118.4422);
    QCOMPARE(full[QStringLiteral("types")].toArray().size(), 3);
    QCOMPARE(full[QStringLiteral("vicinity")].toString(), QStringLiteral("340 Royce Dr, Los Angeles"));
    QCOMPARE(full[QStringLiteral("rating")].toDouble(), 4.8);
    QCOMPARE(full[QStringLiteral("user_ratings_total")].toInt(), 321);
    QCOMPARE(full[QStringLiteral("business_status")].toString(), QStringLiteral("OPERATIONAL"));
    QCOMPARE(full[QStringLiteral("price_level")].toInt(-1), 2);
    QCOMPARE(full[QStringLiteral("icon_background_color")].toString(), QStringLiteral("#7B9EB0"));
    QVERIFY(full[QStringLiteral("icon_mask_base_uri")].toString().endsWith(QStringLiteral("school_pinlet")));
    QCOMPARE(full[QStringLiteral("opening_hours")][QStringLiteral("open_now")].toBool(false), true);
    QCOMPARE(full[QStringLiteral("plus_code")][QStringLiteral("global_code")].toString(), QStringLiteral("8553XHF5+5W"));
    QCOMPARE(full[QStringLiteral("plus_code")][QStringLiteral("compound_code")].toString(),
             QStringLiteral("XHF5+5W Los Angeles, California"));
    const QJsonObject photo = full[QStringLiteral("photos")][0].toObject();
    QCOMPARE(photo[QStringLiteral("photo_reference")].toString(), QStringLiteral("places/ChIJ-full/photos/P1"));
    QCOMPARE(photo[QStringLiteral("width")].toInt(), 4032);
    QCOMPARE(photo[QStringLiteral("height")].toInt(), 3024);
    QCOMPARE(photo[QStringLiteral("html_attributions")][0].toString(),
             QStringLiteral("<a href=\"https://example.org/u/1\">A. Bruin</a>"));

    // Only what the source had: no invented ratings, no price level for "unspecified".
    const QJsonObject minimal = results.at(1).toObject();
    QStringList keys = minimal.keys();
    keys.sort();
    QCOMPARE(keys, (QStringList{QStringLiteral("geometry"), QStringLiteral("name"), QStringLiteral("place_id"),
                                QStringLiteral("vicinity")}));
    QCOMPARE(minimal[QStringLiteral("vicinity")].toString(), QStringLiteral("10740 Dickson Ct, Los Angeles"));
}

void tst_Places::googleTrimsToBound()
{
    FakeHttpServer server;
    QVERIFY(server.listen());
    server.replyWith(200, newApiPlaces(5));   // a server that ignores maxResultCount
    auto provider = make(config(QStringLiteral("google"), server.url(QStringLiteral("/nearby"))));
    QVERIFY(provider);

    auto a = ask(*provider, ucla(10, 3), this);
    QTRY_COMPARE(a->calls, 1);
    QCOMPARE(a->status(), QStringLiteral("OK"));
    const QJsonArray results = a->results();
    QCOMPARE(results.size(), 3);
    for (int i = 0; i < 3; ++i)
        QCOMPARE(results.at(i)[QStringLiteral("place_id")].toString(), QStringLiteral("place-%1").arg(i));
}

void tst_Places::googleZeroResults()
{
    FakeHttpServer server;
    QVERIFY(server.listen());
    server.replyWith(200, "{}");   // how the new API says "nothing here"
    auto provider = make(config(QStringLiteral("google"), server.url(QStringLiteral("/nearby"))));
    QVERIFY(provider);

    auto a = ask(*provider, ucla(), this);
    QTRY_COMPARE(a->calls, 1);
    QCOMPARE(a->status(), QStringLiteral("ZERO_RESULTS"));
    QCOMPARE(a->results(), QJsonArray());
    QVERIFY(a->json[QStringLiteral("html_attributions")].isArray());
}

void tst_Places::googleErrors_data()
{
    QTest::addColumn<int>("http");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("status");
    QTest::addColumn<QString>("message");

    auto error = [](int code, const char *status, const QByteArray &message) {
        return QByteArray(R"({"error": {"code": )") + QByteArray::number(code) + R"(, "message": ")" + message
            + R"(", "status": ")" + status + R"("}})";
    };
    QTest::newRow("403 permission denied, key echoed")
        << 403 << error(403, "PERMISSION_DENIED", "API key " + kKey + " is not valid. Please pass a valid API key.")
        << QStringLiteral("REQUEST_DENIED")
        << QStringLiteral("API key <redacted> is not valid. Please pass a valid API key.");
    QTest::newRow("401 unauthenticated") << 401 << error(401, "UNAUTHENTICATED", "Request is missing credentials.")
                                         << QStringLiteral("REQUEST_DENIED")
                                         << QStringLiteral("Request is missing credentials.");
    QTest::newRow("429 resource exhausted")
        << 429 << error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'SearchNearby requests'.")
        << QStringLiteral("OVER_QUERY_LIMIT")
        << QStringLiteral("Quota exceeded for quota metric 'SearchNearby requests'.");
    QTest::newRow("400 invalid argument")
        << 400 << error(400, "INVALID_ARGUMENT", "Invalid value at 'location_restriction.circle.radius'.")
        << QStringLiteral("INVALID_REQUEST") << QStringLiteral("Invalid value at 'location_restriction.circle.radius'.");
    QTest::newRow("500 internal") << 500 << error(500, "INTERNAL", "Internal error encountered.")
                                  << QStringLiteral("UNKNOWN_ERROR") << QStringLiteral("Internal error encountered.");
    QTest::newRow("403, no JSON") << 403 << QByteArray("<html>Forbidden</html>") << QStringLiteral("REQUEST_DENIED")
                                  << QStringLiteral("Places API answered HTTP 403");
    QTest::newRow("429, empty") << 429 << QByteArray() << QStringLiteral("OVER_QUERY_LIMIT")
                                << QStringLiteral("Places API answered HTTP 429");
    QTest::newRow("503, text") << 503 << QByteArray("Service Unavailable") << QStringLiteral("UNKNOWN_ERROR")
                               << QStringLiteral("Places API answered HTTP 503");
    QTest::newRow("200, not JSON") << 200 << QByteArray("{\"places\": [") << QStringLiteral("UNKNOWN_ERROR")
                                   << QStringLiteral("Places API answered with malformed JSON");
    QTest::newRow("200, 5 MiB") << 200 << QByteArray(5 * 1024 * 1024, ' ') << QStringLiteral("UNKNOWN_ERROR")
                                << QStringLiteral("Places answer larger than 4194304 bytes");
    QTest::newRow("200, places not a list") << 200 << QByteArray(R"({"places": 7})") << QStringLiteral("UNKNOWN_ERROR")
                                            << QStringLiteral("Places API answer has no places list");
}

void tst_Places::checkErrorAnswer(const QString &providerName, const QString &path)
{
    // Both Google providers answer an HTTP failure the same way: a legacy-shaped error object.
    QFETCH(int, http);
    QFETCH(QByteArray, body);
    QFETCH(QString, status);
    QFETCH(QString, message);

    FakeHttpServer server;
    QVERIFY(server.listen());
    server.replyWith(http, body);
    auto provider = make(config(providerName, server.url(path)));
    QVERIFY(provider);

    auto a = ask(*provider, ucla(), this);
    QTRY_COMPARE(a->calls, 1);
    QCOMPARE(a->status(), status);
    QCOMPARE(a->message(), message);
    QCOMPARE(a->results(), QJsonArray());
    QVERIFY(a->json[QStringLiteral("html_attributions")].isArray());
    QVERIFY2(!holdsKey(*a), a->dump().constData());
}

void tst_Places::googleErrors()
{
    checkErrorAnswer(QStringLiteral("google"), QStringLiteral("/nearby"));
}

void tst_Places::legacyRequestAndPassthrough()
{
    FakeHttpServer server;
    QVERIFY(server.listen());
    server.replyWith(200, legacyResults(4));
    auto provider = make(config(QStringLiteral("google-legacy"), server.url(QStringLiteral("/nearbysearch/json"))));
    QVERIFY(provider);
    QCOMPARE(provider->kind(), QStringLiteral("google-legacy"));

    auto a = ask(*provider, ucla(10, 2), this);
    QCOMPARE(a->calls, 0);
    auto b = ask(*provider, query(-33.8688, 151.2093, 0.5, 20), this);
    QTRY_COMPARE(a->calls, 1);
    QTRY_COMPARE(b->calls, 1);

    QCOMPARE(server.count(), 2);
    const auto &r = server.request(0);
    QCOMPARE(r.method, QByteArray("GET"));
    QCOMPARE(r.path(), QStringLiteral("/nearbysearch/json"));
    QCOMPARE(r.query().queryItemValue(QStringLiteral("location")), QStringLiteral("34.06893,-118.445127"));
    QCOMPARE(r.query().queryItemValue(QStringLiteral("radius")), QStringLiteral("10000"));
    QCOMPARE(r.query().queryItemValue(QStringLiteral("key"), QUrl::FullyDecoded), QString::fromLatin1(kKey));
    QVERIFY2(r.target.contains("key=" + QUrl::toPercentEncoding(QString::fromLatin1(kKey))), r.target.constData());
    const auto &r2 = server.request(1);
    QCOMPARE(r2.query().queryItemValue(QStringLiteral("location")), QStringLiteral("-33.8688,151.2093"));
    QCOMPARE(r2.query().queryItemValue(QStringLiteral("radius")), QStringLiteral("500"));

    // Passed through, every key kept, only results cut to the bound.
    QCOMPARE(a->status(), QStringLiteral("OK"));
    QCOMPARE(a->json[QStringLiteral("next_page_token")].toString(), QStringLiteral("NEXT-PAGE-123"));
    QCOMPARE(a->json[QStringLiteral("html_attributions")].toArray(), QJsonArray{QStringLiteral("Listings by X")});
    QCOMPARE(a->json[QStringLiteral("info_messages")].toArray(), QJsonArray{QStringLiteral("kept as is")});
    QCOMPARE(a->results().size(), 2);
    QCOMPARE(a->results().at(1)[QStringLiteral("place_id")].toString(), QStringLiteral("legacy-1"));
    QCOMPARE(a->results().at(1)[QStringLiteral("reference")].toString(), QStringLiteral("ref-1"));
    QCOMPARE(b->results().size(), 4);
    QVERIFY2(!holdsKey(*a), a->dump().constData());
}

void tst_Places::legacyErrors_data()
{
    QTest::addColumn<int>("http");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("status");
    QTest::addColumn<QString>("message");

    const QByteArray encodedKey = QUrl::toPercentEncoding(QString::fromLatin1(kKey));
    QTest::newRow("200 REQUEST_DENIED, key echoed")
        << 200
        << QByteArray(R"({"html_attributions": [], "results": [], "status": "REQUEST_DENIED", "error_message": "The provided API key is invalid: )"
                      + kKey + " (" + encodedKey + ")\"}")
        << QStringLiteral("REQUEST_DENIED")
        << QStringLiteral("The provided API key is invalid: <redacted> (<redacted>)");
    QTest::newRow("200 OVER_QUERY_LIMIT") << 200
                                          << QByteArray(R"({"results": [], "status": "OVER_QUERY_LIMIT", "error_message": "You have exceeded your daily request quota."})")
                                          << QStringLiteral("OVER_QUERY_LIMIT")
                                          << QStringLiteral("You have exceeded your daily request quota.");
    QTest::newRow("200, not JSON") << 200 << QByteArray("<html>oops</html>") << QStringLiteral("UNKNOWN_ERROR")
                                   << QStringLiteral("Places API answered with malformed JSON");
    QTest::newRow("200, no status") << 200 << QByteArray(R"({"results": []})") << QStringLiteral("UNKNOWN_ERROR")
                                    << QStringLiteral("Places API answer has no status");
    QTest::newRow("403") << 403 << QByteArray("Forbidden") << QStringLiteral("REQUEST_DENIED")
                         << QStringLiteral("Places API answered HTTP 403");
    QTest::newRow("429") << 429 << QByteArray() << QStringLiteral("OVER_QUERY_LIMIT")
                         << QStringLiteral("Places API answered HTTP 429");
    QTest::newRow("400 with error_message")
        << 400 << QByteArray(R"({"status": "INVALID_REQUEST", "error_message": "Invalid request. Missing the 'location' parameter."})")
        << QStringLiteral("INVALID_REQUEST") << QStringLiteral("Invalid request. Missing the 'location' parameter.");
    QTest::newRow("500") << 500 << QByteArray("boom") << QStringLiteral("UNKNOWN_ERROR")
                         << QStringLiteral("Places API answered HTTP 500");
}

void tst_Places::legacyErrors()
{
    checkErrorAnswer(QStringLiteral("google-legacy"), QStringLiteral("/json"));
}

void tst_Places::timeout_data()
{
    QTest::addColumn<QString>("provider");
    QTest::newRow("google") << QStringLiteral("google");
    QTest::newRow("google-legacy") << QStringLiteral("google-legacy");
}

void tst_Places::timeout()
{
    QFETCH(QString, provider);
    FakeHttpServer server;
    QVERIFY(server.listen());
    server.holdReplies();   // reads the request, never answers
    PlacesConfig c = config(provider, server.url(QStringLiteral("/stall")));
    c.timeoutMs = 300;
    auto places = make(c);
    QVERIFY(places);

    QElapsedTimer clock;
    clock.start();
    auto a = ask(*places, ucla(), this);
    QTRY_COMPARE(server.count(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(a->calls, 1, 5000);
    QVERIFY2(clock.elapsed() >= 300, "answered before the deadline");
    QCOMPARE(a->status(), QStringLiteral("UNKNOWN_ERROR"));
    QCOMPARE(a->message(), QStringLiteral("Places request timed out after 300 ms"));
    QVERIFY2(!holdsKey(*a), a->dump().constData());
}

void tst_Places::connectionRefused_data()
{
    timeout_data();
}

void tst_Places::connectionRefused()
{
    QFETCH(QString, provider);
    const quint16 port = closedPort();
    QVERIFY(port != 0);
    auto places = make(config(provider, QStringLiteral("http://127.0.0.1:%1/nearby").arg(port)));
    QVERIFY(places);

    auto a = ask(*places, ucla(), this);
    QTRY_COMPARE(a->calls, 1);
    QCOMPARE(a->status(), QStringLiteral("UNKNOWN_ERROR"));
    QVERIFY2(a->message().contains(QStringLiteral("connection refused")), a->dump().constData());
    QVERIFY2(!a->message().contains(QStringLiteral("key=")), a->dump().constData());
    QVERIFY2(!holdsKey(*a), a->dump().constData());
}

void tst_Places::keyUnset_data()
{
    QTest::addColumn<QString>("provider");
    QTest::addColumn<bool>("emptyValue");   // set but empty counts as unset
    QTest::newRow("google, unset") << QStringLiteral("google") << false;
    QTest::newRow("google, empty") << QStringLiteral("google") << true;
    QTest::newRow("google-legacy, unset") << QStringLiteral("google-legacy") << false;
    QTest::newRow("google-legacy, empty") << QStringLiteral("google-legacy") << true;
}

void tst_Places::keyUnset()
{
    QFETCH(QString, provider);
    QFETCH(bool, emptyValue);
    if (emptyValue)
        qputenv(kKeyEnv, QByteArray());
    else
        qunsetenv(kKeyEnv);

    FakeHttpServer server;
    QVERIFY(server.listen());
    QString error;
    auto places = PlacesProvider::create(config(provider, server.url(QStringLiteral("/nearby"))), &error);
    QVERIFY2(places, qPrintable(error));
    QCOMPARE(places->kind(), provider);

    auto a = ask(*places, ucla(), this);
    QCOMPARE(a->calls, 0);
    QTRY_COMPARE(a->calls, 1);
    QCOMPARE(a->status(), QStringLiteral("REQUEST_DENIED"));
    QCOMPARE(a->message(), kKeyEnvName + QStringLiteral(" is not set"));
    QCOMPARE(a->results(), QJsonArray());
    QCOMPARE(server.count(), 0);
}

void tst_Places::autoPicksProvider()
{
    auto withKey = make(config(QStringLiteral("auto")));
    QVERIFY(withKey);
    QCOMPARE(withKey->kind(), QStringLiteral("google"));

    qputenv(kKeyEnv, QByteArray());
    auto emptyKey = make(config(QStringLiteral("auto")));
    QVERIFY(emptyKey);
    QCOMPARE(emptyKey->kind(), QStringLiteral("offline"));

    qunsetenv(kKeyEnv);
    auto noKey = make(config(QStringLiteral("auto")));
    QVERIFY(noKey);
    QCOMPARE(noKey->kind(), QStringLiteral("offline"));
}

void tst_Places::badConfig_data()
{
    QTest::addColumn<QString>("provider");
    QTest::addColumn<QString>("endpoint");
    QTest::addColumn<QString>("errorMentions");
    QTest::newRow("unknown provider") << QStringLiteral("bing") << QString() << QStringLiteral("bing");
    QTest::newRow("ftp endpoint") << QStringLiteral("google") << QStringLiteral("ftp://example.org/x")
                                  << QStringLiteral("places.endpoint");
    QTest::newRow("no host") << QStringLiteral("google-legacy") << QStringLiteral("http:///x")
                             << QStringLiteral("places.endpoint");
}

void tst_Places::badConfig()
{
    QFETCH(QString, provider);
    QFETCH(QString, endpoint);
    QFETCH(QString, errorMentions);
    QString error;
    auto places = PlacesProvider::create(config(provider, endpoint), &error);
    QVERIFY(!places);
    QVERIFY2(error.contains(errorMentions), qPrintable(error));
    QVERIFY(!error.contains(QLatin1Char('\n')));
}

void tst_Places::offlineBundledDataset()
{
    auto places = make(config(QStringLiteral("offline")));
    QVERIFY(places);
    QCOMPARE(places->kind(), QStringLiteral("offline"));

    struct Case {
        PlacesQuery q;
        int atLeast;
    };
    const Case cases[] = {
        {ucla(1, 20), 5},
        {ucla(10, 20), 20},
        {query(-33.8688, 151.2093, 3, 5), 5},   // Sydney CBD
        {query(35.6812, 139.7671, 5, 5), 3},    // Tokyo Station
        {query(51.5074, -0.1278, 5, 5), 5},     // London
        {query(40.7580, -73.9855, 3, 5), 3},    // Times Square
        {query(37.7749, -122.4194, 5, 5), 3},   // San Francisco
    };
    for (const Case &c : cases) {
        auto a = ask(*places, c.q, this);
        QCOMPARE(a->calls, 0);
        QTRY_COMPARE(a->calls, 1);
        QCOMPARE(a->status(), QStringLiteral("OK"));
        const QJsonArray results = a->results();
        QVERIFY2(results.size() >= std::min(c.atLeast, c.q.bound), a->dump().constData());
        QVERIFY(results.size() <= c.q.bound);
        double last = 0;
        for (const QJsonValue &r : results) {
            const double km = distanceTo(c.q, r);
            QVERIFY2(km <= c.q.radiusKm, qPrintable(r[QStringLiteral("name")].toString()));
            QVERIFY2(km >= last, "not nearest first");
            last = km;
            QVERIFY(!r[QStringLiteral("name")].toString().isEmpty());
            QVERIFY(r[QStringLiteral("place_id")].toString().startsWith(QStringLiteral("herd-")));
            QVERIFY(!r[QStringLiteral("types")].toArray().isEmpty());
            QVERIFY(!r[QStringLiteral("vicinity")].toString().isEmpty());
        }
    }

    // The middle of the Pacific.
    auto none = ask(*places, query(0, -140, 50, 20), this);
    QTRY_COMPARE(none->calls, 1);
    QCOMPARE(none->status(), QStringLiteral("ZERO_RESULTS"));
    QCOMPARE(none->results(), QJsonArray());
    QVERIFY(none->json[QStringLiteral("html_attributions")].isArray());
}

void tst_Places::offlineBundledFileIsWellFormed()
{
    QFile file(QStringLiteral(":/herd/places/places.geojson"));
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QJsonArray features = QJsonDocument::fromJson(file.readAll())[QStringLiteral("features")].toArray();
    QVERIFY2(features.size() >= 60 && features.size() <= 150, qPrintable(QString::number(features.size())));
    QSet<QString> seen;
    for (const QJsonValue &f : features) {
        const QJsonObject p = f[QStringLiteral("properties")].toObject();
        const QString name = p[QStringLiteral("name")].toString();
        QVERIFY(!name.isEmpty());
        QVERIFY2(!p[QStringLiteral("types")].toArray().isEmpty(), qPrintable(name));
        QVERIFY2(!p[QStringLiteral("vicinity")].toString().isEmpty(), qPrintable(name));
        const QString id = name + p[QStringLiteral("vicinity")].toString();
        QVERIFY2(!seen.contains(id), qPrintable(name));
        seen.insert(id);
    }
}

void tst_Places::offlineCustomDataset()
{
    // Due north of (0, 0): 0.001° of latitude is 111.2 m.
    const QByteArray geojson = R"({"type": "FeatureCollection", "features": [
      {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, 0.05]},
       "properties": {"name": "Five km", "types": ["museum"], "vicinity": "North St"}},
      {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, 0.2]},
       "properties": {"name": "Twenty-two km", "types": ["park"], "vicinity": "Far St"}},
      {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, 0.001, 12.5]},
       "properties": {"name": "Hundred metres", "place_id": "my-own-id", "rating": 4.5}},
      {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0.01, 0]},
       "properties": {"name": "One km east", "types": ["library", "point_of_interest"], "vicinity": "East St"}}
    ]})";
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QFile file(dir.filePath(QStringLiteral("mine.geojson")));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(geojson);
    file.close();

    PlacesConfig c = config(QStringLiteral("offline"));
    c.dataset = file.fileName();
    auto places = make(c);
    QVERIFY(places);

    auto all = ask(*places, query(0, 0, 6, 20), this);
    auto two = ask(*places, query(0, 0, 6, 2), this);
    auto none = ask(*places, query(0, 0, 0.1, 20), this);
    auto far = ask(*places, query(0, 0, 50, 20), this);
    QTRY_COMPARE(far->calls, 1);   // answers come in order
    QCOMPARE(all->calls, 1);
    QCOMPARE(two->calls, 1);
    QCOMPARE(none->calls, 1);

    auto names = [](const Answer &a) {
        QStringList out;
        for (const QJsonValue &r : a.results())
            out << r[QStringLiteral("name")].toString();
        return out;
    };
    QCOMPARE(all->status(), QStringLiteral("OK"));
    QCOMPARE(names(*all), (QStringList{QStringLiteral("Hundred metres"), QStringLiteral("One km east"),
                                       QStringLiteral("Five km")}));
    QCOMPARE(names(*two), (QStringList{QStringLiteral("Hundred metres"), QStringLiteral("One km east")}));
    QCOMPARE(none->status(), QStringLiteral("ZERO_RESULTS"));
    QCOMPARE(none->results(), QJsonArray());
    QCOMPARE(names(*far).size(), 4);

    const QJsonObject near = all->results().at(0).toObject();
    QCOMPARE(near[QStringLiteral("place_id")].toString(), QStringLiteral("my-own-id"));
    QCOMPARE(near[QStringLiteral("rating")].toDouble(), 4.5);
    QCOMPARE(near[QStringLiteral("types")].toArray(),
             (QJsonArray{QStringLiteral("point_of_interest"), QStringLiteral("establishment")}));
    QVERIFY(!near.contains(QStringLiteral("vicinity")));
    QCOMPARE(near[QStringLiteral("geometry")][QStringLiteral("location")][QStringLiteral("lat")].toDouble(), 0.001);

    const QJsonObject east = all->results().at(1).toObject();
    QVERIFY(!east.contains(QStringLiteral("rating")));
    QCOMPARE(east[QStringLiteral("vicinity")].toString(), QStringLiteral("East St"));
    QCOMPARE(east[QStringLiteral("geometry")][QStringLiteral("location")][QStringLiteral("lng")].toDouble(), 0.01);

    // Derived IDs are stable: the same from a second load.
    const QString derived = east[QStringLiteral("place_id")].toString();
    QVERIFY(derived.startsWith(QStringLiteral("herd-")));
    auto again = make(c);
    QVERIFY(again);
    auto same = ask(*again, query(0, 0, 6, 20), this);
    QTRY_COMPARE(same->calls, 1);
    QCOMPARE(same->results().at(1)[QStringLiteral("place_id")].toString(), derived);
}

void tst_Places::offlineMalformedDataset_data()
{
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("errorMentions");
    auto point = [](const QByteArray &coords, const QByteArray &props) {
        return QByteArray(R"({"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": )")
            + coords + R"(}, "properties": )" + props + "}]}";
    };
    QTest::newRow("missing file") << QByteArray() << QStringLiteral("missing.geojson");
    QTest::newRow("not JSON") << QByteArray("{\"type\": \"FeatureCollection\", ") << QStringLiteral("invalid JSON");
    QTest::newRow("not a collection") << QByteArray(R"({"type": "Feature"})") << QStringLiteral("FeatureCollection");
    QTest::newRow("features not a list") << QByteArray(R"({"type": "FeatureCollection", "features": {}})")
                                         << QStringLiteral("features");
    QTest::newRow("line string")
        << QByteArray(R"({"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "properties": {"name": "x"}}]})")
        << QStringLiteral("features[0].geometry");
    QTest::newRow("one coordinate") << point("[1]", R"({"name": "x"})") << QStringLiteral("coordinates");
    QTest::newRow("latitude out of range") << point("[0, 91]", R"({"name": "x"})") << QStringLiteral("out of range");
    QTest::newRow("no name") << point("[0, 0]", R"({"types": ["park"]})") << QStringLiteral("name");
    QTest::newRow("no properties") << point("[0, 0]", "null") << QStringLiteral("properties");
    QTest::newRow("types not a list") << point("[0, 0]", R"({"name": "x", "types": "park"})")
                                      << QStringLiteral("types");
    QTest::newRow("rating text") << point("[0, 0]", R"({"name": "x", "rating": "good"})")
                                 << QStringLiteral("rating");
}

void tst_Places::offlineMalformedDataset()
{
    QFETCH(QByteArray, content);
    QFETCH(QString, errorMentions);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    PlacesConfig c = config(QStringLiteral("offline"));
    c.dataset = dir.filePath(QStringLiteral("missing.geojson"));
    if (!content.isEmpty()) {
        c.dataset = dir.filePath(QStringLiteral("bad.geojson"));
        QFile file(c.dataset);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(content);
    }
    QString error;
    auto places = PlacesProvider::create(c, &error);
    QVERIFY(!places);
    QVERIFY2(error.contains(c.dataset), qPrintable(error));
    QVERIFY2(error.contains(errorMentions), qPrintable(error));
}

void tst_Places::noCallbackAfterContextDies_offline()
{
    auto places = make(config(QStringLiteral("offline")));
    QVERIFY(places);
    auto *context = new QObject;
    auto dropped = ask(*places, ucla(), context);
    delete context;
    auto kept = ask(*places, ucla(), this);
    QTRY_COMPARE(kept->calls, 1);   // queued after the first: the first had its chance
    QCOMPARE(dropped->calls, 0);
}

void tst_Places::noCallbackAfterContextDies_inFlight()
{
    FakeHttpServer server;
    QVERIFY(server.listen());
    server.holdReplies();
    PlacesConfig c = config(QStringLiteral("google"), server.url(QStringLiteral("/nearby")));
    c.maxConcurrent = 1;
    auto places = make(c);
    QVERIFY(places);

    auto *context = new QObject;
    auto dropped = ask(*places, ucla(10, 1), context);
    auto kept = ask(*places, ucla(10, 2), this);
    QTRY_COMPARE(server.count(), 1);
    delete context;
    // The abandoned request frees its slot at once, not at the timeout.
    QTRY_COMPARE(server.count(), 2);
    QCOMPARE(server.request(1).json()[QStringLiteral("maxResultCount")].toInt(), 2);
    server.respond(1, 200, newApiPlaces(2));
    QTRY_COMPARE(kept->calls, 1);
    QCOMPARE(kept->results().size(), 2);
    server.respond(0, 200, newApiPlaces(1));   // too late: the reply is gone
    QCOMPARE(dropped->calls, 0);
}

void tst_Places::noCallbackAfterContextDies_queued()
{
    FakeHttpServer server;
    QVERIFY(server.listen());
    server.holdReplies();
    PlacesConfig c = config(QStringLiteral("google-legacy"), server.url(QStringLiteral("/json")));
    c.maxConcurrent = 1;
    auto places = make(c);
    QVERIFY(places);

    auto *context = new QObject;
    auto first = ask(*places, ucla(1, 1), this);
    auto dropped = ask(*places, ucla(2, 2), context);
    auto third = ask(*places, ucla(3, 3), this);
    QTRY_COMPARE(server.count(), 1);
    delete context;   // while its search waits in the queue
    server.respond(0, 200, legacyResults(1));
    QTRY_COMPARE(first->calls, 1);
    QTRY_COMPARE(server.count(), 2);
    // The dead asker's search was never sent.
    QCOMPARE(server.request(1).query().queryItemValue(QStringLiteral("radius")), QStringLiteral("3000"));
    server.respond(1, 200, legacyResults(3));
    QTRY_COMPARE(third->calls, 1);
    QCOMPARE(third->results().size(), 3);
    QCOMPARE(dropped->calls, 0);
    QCOMPARE(server.count(), 2);
}

void tst_Places::redirectNotFollowed_data()
{
    timeout_data();
}

void tst_Places::redirectNotFollowed()
{
    QFETCH(QString, provider);
    FakeHttpServer server;
    QVERIFY(server.listen());
    server.holdReplies();
    auto places = make(config(provider, server.url(QStringLiteral("/nearby"))));
    QVERIFY(places);

    auto a = ask(*places, ucla(), this);
    QTRY_COMPARE(server.count(), 1);
    server.respond(0, 307, QByteArray(), "Location: " + server.url(QStringLiteral("/elsewhere")).toLatin1() + "\r\n");
    QTRY_COMPARE(a->calls, 1);
    QCOMPARE(a->status(), QStringLiteral("UNKNOWN_ERROR"));
    QCOMPARE(a->message(), QStringLiteral("Places API answered HTTP 307"));
    QCOMPARE(server.count(QStringLiteral("/elsewhere")), 0);
}

void tst_Places::destroyedWithPendingSearches()
{
    FakeHttpServer server;
    QVERIFY(server.listen());
    server.holdReplies();
    PlacesConfig c = config(QStringLiteral("google"), server.url(QStringLiteral("/nearby")));
    c.maxConcurrent = 1;
    auto places = make(c);
    QVERIFY(places);

    auto inFlight = ask(*places, ucla(), this);
    auto queued = ask(*places, ucla(), this);
    QTRY_COMPARE(server.count(), 1);
    places.reset();   // the node is going away: no answers, no crash
    QTRY_COMPARE(server.disconnects(), 1);
    QCOMPARE(inFlight->calls, 0);
    QCOMPARE(queued->calls, 0);
    QCOMPARE(server.count(), 1);
}

void tst_Places::maxConcurrentQueues()
{
    FakeHttpServer server;
    QVERIFY(server.listen());
    server.holdReplies();
    PlacesConfig c = config(QStringLiteral("google"), server.url(QStringLiteral("/limited")));
    c.maxConcurrent = 1;
    auto limited = make(c);
    QVERIFY(limited);
    auto probe = make(config(QStringLiteral("google"), server.url(QStringLiteral("/probe"))));
    QVERIFY(probe);

    auto first = ask(*limited, ucla(10, 1), this);
    auto second = ask(*limited, ucla(10, 2), this);
    QTRY_COMPARE(server.count(QStringLiteral("/limited")), 1);
    // A request started after ours got all the way to the server: had the second one been
    // sent, it would be there too.
    auto probed = ask(*probe, ucla(), this);
    QTRY_COMPARE(server.count(QStringLiteral("/probe")), 1);
    QCOMPARE(server.count(QStringLiteral("/limited")), 1);

    const qsizetype firstIndex = server.indexOf(QStringLiteral("/limited"), 0);
    QCOMPARE(server.request(firstIndex).json()[QStringLiteral("maxResultCount")].toInt(), 1);   // FIFO
    server.respond(firstIndex, 200, newApiPlaces(1));
    QTRY_COMPARE(first->calls, 1);
    QCOMPARE(second->calls, 0);

    QTRY_COMPARE(server.count(QStringLiteral("/limited")), 2);
    const qsizetype secondIndex = server.indexOf(QStringLiteral("/limited"), 1);
    QCOMPARE(server.request(secondIndex).json()[QStringLiteral("maxResultCount")].toInt(), 2);
    server.respond(secondIndex, 200, newApiPlaces(2));
    QTRY_COMPARE(second->calls, 1);
    QCOMPARE(second->results().size(), 2);
    QCOMPARE(first->calls, 1);   // exactly once

    server.respond(server.indexOf(QStringLiteral("/probe"), 0), 200, "{}");
    QTRY_COMPARE(probed->calls, 1);
}

void tst_Places::maxConcurrentAllowsParallel()
{
    FakeHttpServer server;
    QVERIFY(server.listen());
    server.holdReplies();
    PlacesConfig c = config(QStringLiteral("google"), server.url(QStringLiteral("/nearby")));
    c.maxConcurrent = 2;
    auto places = make(c);
    QVERIFY(places);

    auto a = ask(*places, ucla(10, 1), this);
    auto b = ask(*places, ucla(10, 2), this);
    auto queued = ask(*places, ucla(10, 3), this);
    QTRY_COMPARE(server.count(), 2);   // both at once, without answering either
    // Two connections: which one the server read first is up to the kernel.
    auto indexOfBound = [&server](int bound) {
        for (int i = 0; i < server.count(); ++i) {
            if (server.request(i).json()[QStringLiteral("maxResultCount")].toInt() == bound)
                return i;
        }
        return -1;
    };
    QCOMPARE(indexOfBound(3), -1);
    server.respond(indexOfBound(2), 200, newApiPlaces(2));
    QTRY_COMPARE(b->calls, 1);
    QTRY_COMPARE(server.count(), 3);
    QCOMPARE(indexOfBound(3), 2);
    server.respond(indexOfBound(1), 200, newApiPlaces(1));
    server.respond(indexOfBound(3), 200, newApiPlaces(3));
    QTRY_COMPARE(a->calls, 1);
    QTRY_COMPARE(queued->calls, 1);
    QCOMPARE(queued->results().size(), 3);
}

QTEST_GUILESS_MAIN(tst_Places)
#include "tst_places.moc"
