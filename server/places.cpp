#include "places.h"

#include <QCryptographicHash>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QLoggingCategory>
#include <QMetaEnum>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QPointer>
#include <QTimer>
#include <QUrl>

#include <algorithm>
#include <cmath>
#include <deque>
#include <memory>
#include <numbers>
#include <optional>
#include <vector>

namespace herd {

namespace {

Q_LOGGING_CATEGORY(lcPlaces, "herd.places")

const QString kGoogleEndpoint = QStringLiteral("https://places.googleapis.com/v1/places:searchNearby");
const QString kLegacyEndpoint =
    QStringLiteral("https://maps.googleapis.com/maps/api/place/nearbysearch/json");
const QString kBundledDataset = QStringLiteral(":/herd/places/places.geojson");

// What the legacy shape needs and nothing more: every field we map, so Google bills the
// "Pro"/"Enterprise" SKUs only for data we actually return.
const QByteArray kFieldMask = QByteArrayLiteral(
    "places.id,places.displayName,places.formattedAddress,places.shortFormattedAddress,"
    "places.location,places.types,places.rating,places.userRatingCount,places.businessStatus,"
    "places.priceLevel,places.iconMaskBaseUri,places.iconBackgroundColor,places.photos,"
    "places.currentOpeningHours.openNow,places.plusCode");

constexpr double kEarthRadiusKm = 6371.0088;     // IUGG mean radius
constexpr int kDefaultTimeoutMs = 10000;         // used when the config says <= 0
constexpr qint64 kMaxAnswerBytes = 4 * 1024 * 1024;   // 20 results are ~30 KB; more is a broken server

const QString kOk = QStringLiteral("OK");
const QString kZeroResults = QStringLiteral("ZERO_RESULTS");
const QString kRequestDenied = QStringLiteral("REQUEST_DENIED");
const QString kOverQueryLimit = QStringLiteral("OVER_QUERY_LIMIT");
const QString kInvalidRequest = QStringLiteral("INVALID_REQUEST");
const QString kUnknownError = QStringLiteral("UNKNOWN_ERROR");

QJsonObject legacyAnswer(const QJsonArray &results)
{
    return QJsonObject{
        {QStringLiteral("html_attributions"), QJsonArray()},
        {QStringLiteral("results"), results},
        {QStringLiteral("status"), results.isEmpty() ? kZeroResults : kOk},
    };
}

QJsonObject errorAnswer(const QString &status, const QString &message)
{
    return QJsonObject{
        {QStringLiteral("html_attributions"), QJsonArray()},
        {QStringLiteral("results"), QJsonArray()},
        {QStringLiteral("status"), status},
        {QStringLiteral("error_message"), message},
    };
}

// Fixed-point without trailing zeros: "34.06893", "10000", "0.5". Never an exponent, which
// neither API documents for location or radius.
QString plainDecimal(double value, int decimals)
{
    QString s = QString::number(value, 'f', decimals);
    if (s.contains(u'.')) {
        while (s.endsWith(u'0'))
            s.chop(1);
        if (s.endsWith(u'.'))
            s.chop(1);
    }
    if (s == u"-0")
        s = QStringLiteral("0");
    return s;
}

QJsonArray truncated(const QJsonArray &array, int bound)
{
    if (array.size() <= bound)
        return array;
    QJsonArray out;
    for (qsizetype i = 0; i < bound; ++i)
        out.append(array.at(i));
    return out;
}

double haversineKm(double lat1, double lng1, double lat2, double lng2)
{
    constexpr double kRad = std::numbers::pi / 180.0;
    const double dLat = (lat2 - lat1) * kRad;
    const double dLng = (lng2 - lng1) * kRad;
    const double s1 = std::sin(dLat / 2);
    const double s2 = std::sin(dLng / 2);
    double a = s1 * s1 + std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * s2 * s2;
    a = std::clamp(a, 0.0, 1.0);   // rounding can push antipodal points just past 1
    return 2 * kEarthRadiusKm * std::atan2(std::sqrt(a), std::sqrt(1 - a));
}

// A search waiting for its answer. `guarded` tells "no context given" (always answer) from
// "context given and since destroyed" (never answer).
struct Job {
    PlacesQuery query;
    QPointer<QObject> context;
    bool guarded = false;
    PlacesProvider::Callback callback;

    bool wanted() const { return !guarded || !context.isNull(); }
};

// Shared by all providers: the "never synchronously, exactly once, not after context died" rule.
class ProviderBase : public PlacesProvider {
public:
    using PlacesProvider::PlacesProvider;

protected:
    static Job makeJob(const PlacesQuery &query, QObject *context, Callback callback)
    {
        return Job{query, QPointer<QObject>(context), context != nullptr, std::move(callback)};
    }

    static void deliver(const Job &job, const QJsonObject &answer)
    {
        if (job.wanted() && job.callback)
            job.callback(answer);
    }

    // Queued on this object: a provider destroyed first drops the answer with itself.
    void deliverLater(Job job, QJsonObject answer)
    {
        QMetaObject::invokeMethod(
            this, [job = std::move(job), answer = std::move(answer)] { deliver(job, answer); },
            Qt::QueuedConnection);
    }
};

// ---------------------------------------------------------------------------------------------
// HTTP providers: the queue, the in-flight limit, the timeout and the key hygiene. Subclasses
// only build the request and read the answer.

class HttpProvider : public ProviderBase {
public:
    HttpProvider(const PlacesConfig &config, QUrl endpoint, QString key, QObject *parent)
        : ProviderBase(parent)
        , m_nam(new QNetworkAccessManager(this))
        , m_endpoint(std::move(endpoint))
        , m_key(std::move(key))
        , m_keyEnv(config.apiKeyEnv)
        , m_timeoutMs(config.timeoutMs > 0 ? config.timeoutMs : kDefaultTimeoutMs)
        , m_maxConcurrent(config.maxConcurrent)
    {
        if (!m_key.isEmpty()) {
            m_keyForms.append(m_key);
            const QString encoded = QString::fromLatin1(QUrl::toPercentEncoding(m_key));
            if (encoded != m_key)
                m_keyForms.append(encoded);
        }
    }

    ~HttpProvider() override
    {
        // No answer for what is still pending: the node is going away with us. Cut the replies
        // loose first so an abort cannot call back into a half-destroyed object.
        m_queue.clear();
        const auto replies = m_nam->findChildren<QNetworkReply *>();
        for (QNetworkReply *reply : replies) {
            QObject::disconnect(reply, nullptr, this, nullptr);
            reply->abort();
        }
    }

    void search(const PlacesQuery &query, QObject *context, Callback callback) override
    {
        Job job = makeJob(query, context, std::move(callback));
        if (m_key.isEmpty()) {
            const QString message = m_keyEnv.isEmpty()
                ? QStringLiteral("No Places API key variable is configured")
                : QStringLiteral("%1 is not set").arg(m_keyEnv);
            deliverLater(std::move(job), errorAnswer(kRequestDenied, message));
            return;
        }
        m_queue.push_back(std::move(job));
        schedulePump();
    }

protected:
    virtual QNetworkReply *send(const PlacesQuery &query) = 0;
    // The answer for a complete HTTP response (any status code).
    virtual QJsonObject interpret(int httpStatus, const QByteArray &body,
                                  const PlacesQuery &query) const = 0;

    QNetworkRequest baseRequest(const QUrl &url) const
    {
        QNetworkRequest request(url);
        // The key goes to the configured endpoint and nowhere else: a redirect is an error.
        request.setAttribute(QNetworkRequest::RedirectPolicyAttribute, QNetworkRequest::ManualRedirectPolicy);
#ifdef HERD_VERSION
        request.setHeader(QNetworkRequest::UserAgentHeader, QByteArrayLiteral("herd/" HERD_VERSION));
#endif
        return request;
    }

    QString httpFailure(int httpStatus) const
    {
        return QStringLiteral("Places API answered HTTP %1").arg(httpStatus);
    }

    QNetworkAccessManager *m_nam;   // child of this: follows us into our thread
    const QUrl m_endpoint;
    const QString m_key;

private:
    // Started from the event loop, never inside search(): a reply that fails at once must not
    // call back before search() returns.
    void schedulePump()
    {
        if (m_pumpScheduled)
            return;
        m_pumpScheduled = true;
        QMetaObject::invokeMethod(this, [this] { pump(); }, Qt::QueuedConnection);
    }

    void pump()
    {
        m_pumpScheduled = false;
        while (!m_queue.empty() && (m_maxConcurrent <= 0 || m_inFlight < m_maxConcurrent)) {
            Job job = std::move(m_queue.front());
            m_queue.pop_front();
            if (job.wanted())   // its asker is gone: spare the quota
                start(std::move(job));
        }
    }

    void start(Job job)
    {
        QNetworkReply *reply = send(job.query);
        ++m_inFlight;

        struct State {
            bool timedOut = false;
            bool tooLarge = false;
        };
        auto state = std::make_shared<State>();

        // A whole-request deadline, not QNetworkRequest::setTransferTimeout(): that one only
        // measures silence, so a server trickling bytes would hold the client forever.
        auto *timer = new QTimer(reply);
        timer->setSingleShot(true);
        connect(timer, &QTimer::timeout, reply, [reply, state] {
            state->timedOut = true;
            reply->abort();
        });
        timer->start(m_timeoutMs);

        connect(reply, &QNetworkReply::readyRead, reply, [reply, state] {
            if (reply->bytesAvailable() > kMaxAnswerBytes) {
                state->tooLarge = true;
                reply->abort();
            }
        });

        // Nobody to answer: free the slot now rather than at the timeout.
        if (job.guarded)
            connect(job.context.data(), &QObject::destroyed, reply, &QNetworkReply::abort);

        connect(reply, &QNetworkReply::finished, this, [this, reply, state, job = std::move(job)] {
            --m_inFlight;
            reply->deleteLater();
            schedulePump();
            if (!job.wanted())
                return;
            QJsonObject answer;
            if (state->timedOut) {
                answer = errorAnswer(kUnknownError,
                                     QStringLiteral("Places request timed out after %1 ms")
                                         .arg(m_timeoutMs));
            } else if (state->tooLarge) {
                answer = errorAnswer(kUnknownError,
                                     QStringLiteral("Places answer larger than %1 bytes")
                                         .arg(kMaxAnswerBytes));
            } else {
                const QVariant status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute);
                if (status.isValid())
                    answer = interpret(status.toInt(), reply->readAll(), job.query);
                else
                    answer = errorAnswer(kUnknownError, networkFailure(reply->error()));
            }
            const QString status = answer.value(QStringLiteral("status")).toString();
            if (status != kOk && status != kZeroResults)
                qCDebug(lcPlaces) << "Places search failed:" << status;
            deliver(job, scrubbed(answer));
        });
    }

    // Our own words: QNetworkReply::errorString() may quote the URL, and the legacy URL holds
    // the key.
    QString networkFailure(QNetworkReply::NetworkError error) const
    {
        QString what;
        switch (error) {
        case QNetworkReply::ConnectionRefusedError: what = QStringLiteral("connection refused"); break;
        case QNetworkReply::RemoteHostClosedError: what = QStringLiteral("connection closed by the server"); break;
        case QNetworkReply::HostNotFoundError: what = QStringLiteral("host not found"); break;
        case QNetworkReply::TimeoutError: what = QStringLiteral("connection timed out"); break;
        case QNetworkReply::SslHandshakeFailedError: what = QStringLiteral("TLS handshake failed"); break;
        case QNetworkReply::NetworkSessionFailedError:
        case QNetworkReply::TemporaryNetworkFailureError: what = QStringLiteral("network unavailable"); break;
        case QNetworkReply::ProxyConnectionRefusedError:
        case QNetworkReply::ProxyConnectionClosedError:
        case QNetworkReply::ProxyNotFoundError:
        case QNetworkReply::ProxyTimeoutError:
        case QNetworkReply::ProxyAuthenticationRequiredError: what = QStringLiteral("proxy failure"); break;
        case QNetworkReply::ProtocolFailure:
        case QNetworkReply::ProtocolUnknownError:
        case QNetworkReply::ProtocolInvalidOperationError: what = QStringLiteral("protocol error"); break;
        default: {
            const char *name = QMetaEnum::fromType<QNetworkReply::NetworkError>().valueToKey(error);
            what = name ? QString::fromLatin1(name) : QStringLiteral("network error %1").arg(int(error));
            break;
        }
        }
        return QStringLiteral("Places request to %1 failed: %2").arg(m_endpoint.host(), what);
    }

    // Last line of defence for "never the key": a server may quote it back in a message.
    QJsonValue scrubbed(const QJsonValue &value) const
    {
        switch (value.type()) {
        case QJsonValue::String: {
            QString s = value.toString();
            for (const QString &form : m_keyForms)
                s.replace(form, QStringLiteral("<redacted>"));
            return s;
        }
        case QJsonValue::Array: {
            QJsonArray out;
            for (const QJsonValue &v : value.toArray())
                out.append(scrubbed(v));
            return out;
        }
        case QJsonValue::Object:
            return scrubbed(value.toObject());
        default:
            return value;
        }
    }

    QJsonObject scrubbed(const QJsonObject &object) const
    {
        if (m_keyForms.isEmpty())
            return object;
        QJsonObject out;
        for (auto it = object.begin(); it != object.end(); ++it)
            out.insert(scrubbed(QJsonValue(it.key())).toString(), scrubbed(it.value()));
        return out;
    }

    const QString m_keyEnv;          // the variable's name: safe to show, unlike its value
    QStringList m_keyForms;          // the key as is and percent-encoded (as in the legacy URL)
    const int m_timeoutMs;
    const int m_maxConcurrent;       // <= 0: no limit
    std::deque<Job> m_queue;         // FIFO of searches waiting for a slot
    int m_inFlight = 0;
    bool m_pumpScheduled = false;
};

// Google's error statuses (google.rpc.Code names) and HTTP codes, in legacy words.
QString legacyStatusFor(const QString &rpcStatus, int httpStatus)
{
    if (rpcStatus == u"PERMISSION_DENIED" || rpcStatus == u"UNAUTHENTICATED")
        return kRequestDenied;
    if (rpcStatus == u"RESOURCE_EXHAUSTED")
        return kOverQueryLimit;
    if (rpcStatus == u"INVALID_ARGUMENT")
        return kInvalidRequest;
    if (!rpcStatus.isEmpty())
        return kUnknownError;
    switch (httpStatus) {
    case 401:
    case 403: return kRequestDenied;
    case 429: return kOverQueryLimit;
    case 400: return kInvalidRequest;
    default: return kUnknownError;
    }
}

// Places API (New), searchNearby: https://developers.google.com/maps/documentation/places/web-service/nearby-search
class GoogleProvider final : public HttpProvider {
public:
    using HttpProvider::HttpProvider;

    QString kind() const override { return QStringLiteral("google"); }

protected:
    QNetworkReply *send(const PlacesQuery &query) override
    {
        QNetworkRequest request = baseRequest(m_endpoint);
        request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
        request.setRawHeader(QByteArrayLiteral("X-Goog-Api-Key"), m_key.toUtf8());
        request.setRawHeader(QByteArrayLiteral("X-Goog-FieldMask"), kFieldMask);
        const QJsonObject circle{
            {QStringLiteral("center"), QJsonObject{{QStringLiteral("latitude"), query.lat},
                                                   {QStringLiteral("longitude"), query.lng}}},
            {QStringLiteral("radius"), query.radiusKm * 1000.0},   // metres, at most 50000
        };
        const QJsonObject body{
            {QStringLiteral("locationRestriction"), QJsonObject{{QStringLiteral("circle"), circle}}},
            {QStringLiteral("maxResultCount"), query.bound},      // the API accepts 1..20
        };
        return m_nam->post(request, QJsonDocument(body).toJson(QJsonDocument::Compact));
    }

    QJsonObject interpret(int httpStatus, const QByteArray &body, const PlacesQuery &query) const override
    {
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(body, &parseError);
        const bool isObject = parseError.error == QJsonParseError::NoError && doc.isObject();
        const QJsonObject root = doc.object();

        if (isObject && root.value(QStringLiteral("error")).isObject()) {
            const QJsonObject error = root.value(QStringLiteral("error")).toObject();
            const int code = error.value(QStringLiteral("code")).toInt(httpStatus);
            QString message = error.value(QStringLiteral("message")).toString();
            if (message.isEmpty())
                message = httpFailure(httpStatus);
            return errorAnswer(legacyStatusFor(error.value(QStringLiteral("status")).toString(), code),
                               message);
        }
        if (httpStatus < 200 || httpStatus > 299)
            return errorAnswer(legacyStatusFor(QString(), httpStatus), httpFailure(httpStatus));
        if (!isObject)
            return errorAnswer(kUnknownError, QStringLiteral("Places API answered with malformed JSON"));

        // No "places" key at all is how the API says "nothing here".
        const QJsonValue places = root.value(QStringLiteral("places"));
        if (!places.isUndefined() && !places.isArray())
            return errorAnswer(kUnknownError, QStringLiteral("Places API answer has no places list"));

        QJsonArray results;
        for (const QJsonValue &place : places.toArray()) {
            if (results.size() >= query.bound)
                break;
            if (place.isObject())
                results.append(toLegacy(place.toObject()));
        }
        return legacyAnswer(results);
    }

private:
    static QJsonObject toLegacy(const QJsonObject &place)
    {
        QJsonObject r;
        auto copy = [&](const QString &from, const QString &to) {
            const QJsonValue v = place.value(from);
            if (!v.isUndefined() && !v.isNull())
                r.insert(to, v);
        };

        const QJsonValue name = place.value(QStringLiteral("displayName")).toObject().value(QStringLiteral("text"));
        if (name.isString())
            r.insert(QStringLiteral("name"), name);
        copy(QStringLiteral("id"), QStringLiteral("place_id"));

        const QJsonObject location = place.value(QStringLiteral("location")).toObject();
        if (location.contains(QStringLiteral("latitude")) && location.contains(QStringLiteral("longitude"))) {
            r.insert(QStringLiteral("geometry"),
                     QJsonObject{{QStringLiteral("location"),
                                  QJsonObject{{QStringLiteral("lat"), location.value(QStringLiteral("latitude"))},
                                              {QStringLiteral("lng"), location.value(QStringLiteral("longitude"))}}}});
        }
        copy(QStringLiteral("types"), QStringLiteral("types"));

        const QJsonValue shortAddress = place.value(QStringLiteral("shortFormattedAddress"));
        const QJsonValue address = place.value(QStringLiteral("formattedAddress"));
        if (shortAddress.isString())
            r.insert(QStringLiteral("vicinity"), shortAddress);
        else if (address.isString())
            r.insert(QStringLiteral("vicinity"), address);

        copy(QStringLiteral("rating"), QStringLiteral("rating"));
        copy(QStringLiteral("userRatingCount"), QStringLiteral("user_ratings_total"));
        copy(QStringLiteral("businessStatus"), QStringLiteral("business_status"));
        copy(QStringLiteral("iconMaskBaseUri"), QStringLiteral("icon_mask_base_uri"));
        copy(QStringLiteral("iconBackgroundColor"), QStringLiteral("icon_background_color"));

        if (const int level = priceLevel(place.value(QStringLiteral("priceLevel")).toString()); level >= 0)
            r.insert(QStringLiteral("price_level"), level);

        const QJsonValue openNow =
            place.value(QStringLiteral("currentOpeningHours")).toObject().value(QStringLiteral("openNow"));
        if (openNow.isBool())
            r.insert(QStringLiteral("opening_hours"), QJsonObject{{QStringLiteral("open_now"), openNow}});

        const QJsonObject plusCode = place.value(QStringLiteral("plusCode")).toObject();
        if (!plusCode.isEmpty()) {
            QJsonObject legacy;
            if (plusCode.value(QStringLiteral("globalCode")).isString())
                legacy.insert(QStringLiteral("global_code"), plusCode.value(QStringLiteral("globalCode")));
            if (plusCode.value(QStringLiteral("compoundCode")).isString())
                legacy.insert(QStringLiteral("compound_code"), plusCode.value(QStringLiteral("compoundCode")));
            if (!legacy.isEmpty())
                r.insert(QStringLiteral("plus_code"), legacy);
        }

        // The new photo "name" (places/X/photos/Y) is what the new Photo API takes where the
        // legacy one took photo_reference.
        const QJsonArray photos = place.value(QStringLiteral("photos")).toArray();
        if (!photos.isEmpty()) {
            QJsonArray legacyPhotos;
            for (const QJsonValue &p : photos) {
                const QJsonObject photo = p.toObject();
                QJsonObject lp;
                if (photo.value(QStringLiteral("name")).isString())
                    lp.insert(QStringLiteral("photo_reference"), photo.value(QStringLiteral("name")));
                if (photo.contains(QStringLiteral("widthPx")))
                    lp.insert(QStringLiteral("width"), photo.value(QStringLiteral("widthPx")));
                if (photo.contains(QStringLiteral("heightPx")))
                    lp.insert(QStringLiteral("height"), photo.value(QStringLiteral("heightPx")));
                QJsonArray attributions;
                for (const QJsonValue &a : photo.value(QStringLiteral("authorAttributions")).toArray()) {
                    const QJsonObject author = a.toObject();
                    const QString who = author.value(QStringLiteral("displayName")).toString().toHtmlEscaped();
                    const QString uri = author.value(QStringLiteral("uri")).toString().toHtmlEscaped();
                    attributions.append(uri.isEmpty() ? who
                                                      : QStringLiteral("<a href=\"%1\">%2</a>").arg(uri, who));
                }
                lp.insert(QStringLiteral("html_attributions"), attributions);
                legacyPhotos.append(lp);
            }
            r.insert(QStringLiteral("photos"), legacyPhotos);
        }
        return r;
    }

    // -1: unknown or PRICE_LEVEL_UNSPECIFIED, which the legacy shape shows by leaving it out.
    static int priceLevel(const QString &level)
    {
        if (level == u"PRICE_LEVEL_FREE")
            return 0;
        if (level == u"PRICE_LEVEL_INEXPENSIVE")
            return 1;
        if (level == u"PRICE_LEVEL_MODERATE")
            return 2;
        if (level == u"PRICE_LEVEL_EXPENSIVE")
            return 3;
        if (level == u"PRICE_LEVEL_VERY_EXPENSIVE")
            return 4;
        return -1;
    }
};

// Legacy Nearby Search: https://developers.google.com/maps/documentation/places/web-service/search-nearby
class GoogleLegacyProvider final : public HttpProvider {
public:
    using HttpProvider::HttpProvider;

    QString kind() const override { return QStringLiteral("google-legacy"); }

protected:
    QNetworkReply *send(const PlacesQuery &query) override
    {
        // Encoded by hand: QUrlQuery leaves '+' alone, which servers read as a space.
        QString q = m_endpoint.query(QUrl::FullyEncoded);
        if (!q.isEmpty())
            q += u'&';
        q += QStringLiteral("location=%1,%2&radius=%3&key=%4")
                 .arg(plainDecimal(query.lat, 7), plainDecimal(query.lng, 7),
                      plainDecimal(query.radiusKm * 1000.0, 3),
                      QString::fromLatin1(QUrl::toPercentEncoding(m_key)));
        QUrl url = m_endpoint;
        url.setQuery(q, QUrl::StrictMode);
        return m_nam->get(baseRequest(url));
    }

    QJsonObject interpret(int httpStatus, const QByteArray &body, const PlacesQuery &query) const override
    {
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(body, &parseError);
        const bool isObject = parseError.error == QJsonParseError::NoError && doc.isObject();
        QJsonObject root = doc.object();

        if (httpStatus < 200 || httpStatus > 299) {
            QString message = root.value(QStringLiteral("error_message")).toString();
            if (message.isEmpty())
                message = root.value(QStringLiteral("error")).toObject().value(QStringLiteral("message")).toString();
            if (message.isEmpty())
                message = httpFailure(httpStatus);
            return errorAnswer(legacyStatusFor(QString(), httpStatus), message);
        }
        if (!isObject)
            return errorAnswer(kUnknownError, QStringLiteral("Places API answered with malformed JSON"));
        if (!root.value(QStringLiteral("status")).isString())
            return errorAnswer(kUnknownError, QStringLiteral("Places API answer has no status"));

        // Passed through as is, bar the bound; the two lists are made sure of so the answer
        // always has the documented shape.
        const QJsonValue results = root.value(QStringLiteral("results"));
        root.insert(QStringLiteral("results"), truncated(results.toArray(), query.bound));
        if (!root.value(QStringLiteral("html_attributions")).isArray())
            root.insert(QStringLiteral("html_attributions"), QJsonArray());
        return root;
    }
};

// ---------------------------------------------------------------------------------------------
// Offline: a GeoJSON FeatureCollection of Point features, searched in memory.

struct OfflinePlace {
    double lat = 0;
    double lng = 0;
    QJsonObject result;   // already in the legacy shape
};

class OfflineProvider final : public ProviderBase {
public:
    OfflineProvider(std::vector<OfflinePlace> places, QObject *parent)
        : ProviderBase(parent), m_places(std::move(places))
    {
    }

    QString kind() const override { return QStringLiteral("offline"); }

    void search(const PlacesQuery &query, QObject *context, Callback callback) override
    {
        // A linear scan: thousands of places cost well under a millisecond.
        struct Hit {
            double km;
            size_t index;
        };
        std::vector<Hit> hits;
        for (size_t i = 0; i < m_places.size(); ++i) {
            const double km = haversineKm(query.lat, query.lng, m_places[i].lat, m_places[i].lng);
            if (km <= query.radiusKm)
                hits.push_back({km, i});
        }
        // Ties keep dataset order, so equal queries give equal answers.
        std::sort(hits.begin(), hits.end(), [](const Hit &a, const Hit &b) {
            return a.km < b.km || (a.km == b.km && a.index < b.index);
        });
        QJsonArray results;
        for (const Hit &hit : hits) {
            if (results.size() >= query.bound)
                break;
            results.append(m_places[hit.index].result);
        }
        deliverLater(makeJob(query, context, std::move(callback)), legacyAnswer(results));
    }

    static std::optional<std::vector<OfflinePlace>> load(const QString &path, QString *error)
    {
        const QString shown = path == kBundledDataset ? QStringLiteral("bundled places dataset")
                                                      : QStringLiteral("places dataset %1").arg(path);
        auto fail = [&](const QString &what) {
            if (error)
                *error = QStringLiteral("%1: %2").arg(shown, what);
            return std::nullopt;
        };

        QFile file(path);
        if (!file.open(QIODevice::ReadOnly))
            return fail(file.errorString());
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &parseError);
        if (parseError.error != QJsonParseError::NoError)
            return fail(QStringLiteral("invalid JSON at offset %1: %2")
                            .arg(parseError.offset)
                            .arg(parseError.errorString()));
        const QJsonObject root = doc.object();
        if (!doc.isObject() || root.value(QStringLiteral("type")).toString() != u"FeatureCollection")
            return fail(QStringLiteral("not a GeoJSON FeatureCollection"));
        const QJsonValue features = root.value(QStringLiteral("features"));
        if (!features.isArray())
            return fail(QStringLiteral("features: must be an array"));

        std::vector<OfflinePlace> places;
        const QJsonArray array = features.toArray();
        places.reserve(size_t(array.size()));
        for (qsizetype i = 0; i < array.size(); ++i) {
            const QString at = QStringLiteral("features[%1]").arg(i);
            const QJsonObject feature = array.at(i).toObject();
            if (feature.value(QStringLiteral("type")).toString() != u"Feature")
                return fail(at + QStringLiteral(": not a GeoJSON Feature"));

            const QJsonObject geometry = feature.value(QStringLiteral("geometry")).toObject();
            if (geometry.value(QStringLiteral("type")).toString() != u"Point")
                return fail(at + QStringLiteral(".geometry: must be a Point"));
            const QJsonArray coords = geometry.value(QStringLiteral("coordinates")).toArray();
            // GeoJSON order is longitude, latitude (RFC 7946, section 3.1.1); a third value is altitude.
            if (coords.size() < 2 || !coords.at(0).isDouble() || !coords.at(1).isDouble())
                return fail(at + QStringLiteral(".geometry.coordinates: must be [longitude, latitude]"));
            const double lng = coords.at(0).toDouble();
            const double lat = coords.at(1).toDouble();
            if (!(lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180))
                return fail(at + QStringLiteral(".geometry.coordinates: out of range"));

            const QJsonValue propertiesValue = feature.value(QStringLiteral("properties"));
            if (!propertiesValue.isObject())
                return fail(at + QStringLiteral(".properties: must be an object"));
            const QJsonObject properties = propertiesValue.toObject();
            const QString prop = at + QStringLiteral(".properties.");

            const QString name = properties.value(QStringLiteral("name")).toString();
            if (name.trimmed().isEmpty())
                return fail(prop + QStringLiteral("name: must be a non-empty string"));

            QJsonObject result{
                {QStringLiteral("name"), name},
                {QStringLiteral("geometry"),
                 QJsonObject{{QStringLiteral("location"),
                              QJsonObject{{QStringLiteral("lat"), lat}, {QStringLiteral("lng"), lng}}}}},
            };

            const QJsonValue placeId = properties.value(QStringLiteral("place_id"));
            if (placeId.isUndefined() || placeId.isNull()) {
                result.insert(QStringLiteral("place_id"), derivedPlaceId(name, lat, lng));
            } else if (placeId.isString() && !placeId.toString().isEmpty()) {
                result.insert(QStringLiteral("place_id"), placeId);
            } else {
                return fail(prop + QStringLiteral("place_id: must be a non-empty string"));
            }

            const QJsonValue types = properties.value(QStringLiteral("types"));
            if (types.isUndefined() || types.isNull()) {
                result.insert(QStringLiteral("types"),
                              QJsonArray{QStringLiteral("point_of_interest"), QStringLiteral("establishment")});
            } else {
                const QJsonArray list = types.toArray();
                const bool allStrings = std::all_of(list.begin(), list.end(),
                                                    [](const QJsonValue &v) { return v.isString(); });
                if (!types.isArray() || !allStrings)
                    return fail(prop + QStringLiteral("types: must be an array of strings"));
                result.insert(QStringLiteral("types"), list);
            }

            const QJsonValue vicinity = properties.value(QStringLiteral("vicinity"));
            if (vicinity.isString())
                result.insert(QStringLiteral("vicinity"), vicinity);
            else if (!vicinity.isUndefined() && !vicinity.isNull())
                return fail(prop + QStringLiteral("vicinity: must be a string"));

            const QJsonValue rating = properties.value(QStringLiteral("rating"));
            if (rating.isDouble() && rating.toDouble() >= 0 && rating.toDouble() <= 5)
                result.insert(QStringLiteral("rating"), rating);
            else if (!rating.isUndefined() && !rating.isNull())
                return fail(prop + QStringLiteral("rating: must be a number from 0 to 5"));

            places.push_back({lat, lng, result});
        }
        return places;
    }

private:
    // Stable across runs and machines for the same name and position, and visibly not a
    // Google place ID.
    static QString derivedPlaceId(const QString &name, double lat, double lng)
    {
        const QByteArray seed = name.toUtf8() + '|' + plainDecimal(lat, 7).toLatin1() + '|'
            + plainDecimal(lng, 7).toLatin1();
        const QByteArray hash = QCryptographicHash::hash(seed, QCryptographicHash::Sha1).toHex().left(20);
        return QStringLiteral("herd-") + QString::fromLatin1(hash);
    }

    const std::vector<OfflinePlace> m_places;
};

// Empty string: no key. Surrounding white space (a stray newline from `export K=$(cat f)`) is
// not part of a key.
QString readKey(const QString &envName)
{
    if (envName.isEmpty())
        return QString();
    return qEnvironmentVariable(envName.toLocal8Bit().constData()).trimmed();
}

} // namespace

std::unique_ptr<PlacesProvider> PlacesProvider::create(const PlacesConfig &config, QString *error,
                                                       QObject *parent)
{
    auto fail = [&](const QString &what) -> std::unique_ptr<PlacesProvider> {
        if (error)
            *error = what;
        return nullptr;
    };

    const QString key = readKey(config.apiKeyEnv);
    QString provider = config.provider;
    if (provider == u"auto")
        provider = key.isEmpty() ? QStringLiteral("offline") : QStringLiteral("google");

    if (provider == u"offline") {
        auto places = OfflineProvider::load(config.dataset.isEmpty() ? kBundledDataset : config.dataset, error);
        if (!places)
            return nullptr;
        return std::make_unique<OfflineProvider>(std::move(*places), parent);
    }

    const bool legacy = provider == u"google-legacy";
    if (provider != u"google" && !legacy)
        return fail(QStringLiteral("places.provider: unknown provider \"%1\" (expected google, "
                                   "google-legacy, offline or auto)")
                        .arg(config.provider));

    const QString endpointText = config.endpoint.isEmpty() ? (legacy ? kLegacyEndpoint : kGoogleEndpoint)
                                                           : config.endpoint;
    const QUrl endpoint(endpointText, QUrl::StrictMode);
    const QString scheme = endpoint.scheme();
    if (!endpoint.isValid() || endpoint.host().isEmpty() || (scheme != u"http" && scheme != u"https"))
        return fail(QStringLiteral("places.endpoint: \"%1\" is not an http(s) URL").arg(endpointText));
    // The key goes into a header line: a control character would split it.
    if (std::any_of(key.begin(), key.end(), [](QChar c) { return c.unicode() < 0x20 || c.unicode() == 0x7f; }))
        return fail(QStringLiteral("%1 contains control characters").arg(config.apiKeyEnv));

    if (legacy)
        return std::make_unique<GoogleLegacyProvider>(config, endpoint, key, parent);
    return std::make_unique<GoogleProvider>(config, endpoint, key, parent);
}

} // namespace herd
