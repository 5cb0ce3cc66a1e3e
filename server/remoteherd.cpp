#include "remoteherd.h"
#include "monitorjson.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTimer>
#include <algorithm>

Q_LOGGING_CATEGORY(lcHerdRemote, "herd.remote")

namespace herd {

namespace {

QString replyError(const QNetworkReply *reply)
{
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (reply->error() == QNetworkReply::NoError && status != 0 && status != 200)
        return QStringLiteral("HTTP %1 %2").arg(status).arg(
            reply->attribute(QNetworkRequest::HttpReasonPhraseAttribute).toString());
    return reply->errorString();
}

bool isOk(const QNetworkReply *reply)
{
    return reply->error() == QNetworkReply::NoError
        && reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() == 200;
}

QNetworkRequest request(const QUrl &url, int timeoutMs)
{
    QNetworkRequest r(url);
    r.setTransferTimeout(timeoutMs);   // reset by every byte received: a silent peer is dead
    r.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    r.setAttribute(QNetworkRequest::CacheLoadControlAttribute, QNetworkRequest::AlwaysNetwork);
    r.setRawHeader("Accept", "application/json, application/x-ndjson");
    return r;
}

// A process bound to every interface ("0.0.0.0", "::") says so in its config and endpoints;
// from here the best address for it is the one we reached its status endpoint at.
bool isWildcard(const QString &host)
{
    return host.isEmpty() || host == QLatin1StringView("0.0.0.0") || host == QLatin1StringView("::")
        || host == QLatin1StringView("[::]");
}

} // namespace

RemoteHerd::RemoteHerd(const QUrl &statusUrl, QObject *parent)
    : QObject(parent), m_base(endpointUrl(statusUrl.toString()))
{
    qRegisterMetaType<herd::MonitorBatchPtr>();
    qRegisterMetaType<herd::HerdConfig>();
}

RemoteHerd::~RemoteHerd()
{
    stop();
}

QUrl RemoteHerd::endpointUrl(const QString &text)
{
    const QString trimmed = text.trimmed();
    if (trimmed.isEmpty())
        return {};
    QUrl url = trimmed.contains(QLatin1StringView("://"))
        ? QUrl(trimmed, QUrl::StrictMode)
        : QUrl(QStringLiteral("http://") + trimmed, QUrl::StrictMode);
    if (!url.isValid() || url.scheme() != QLatin1StringView("http") || url.host().isEmpty())
        return {};
    url.setPath(QStringLiteral("/"));
    url.setQuery(QString());
    url.setFragment(QString());
    return url;
}

QHash<QString, QUrl> RemoteHerd::endpoints() const
{
    QHash<QString, QUrl> out;
    for (const auto &s : m_streams)
        out.insert(s->node, s->base);
    return out;
}

RemoteHerd::Stream *RemoteHerd::streamOf(const QString &node)
{
    for (const auto &s : m_streams)
        if (s->node == node)
            return s.get();
    return nullptr;
}

void RemoteHerd::start()
{
    if (m_running)
        return;
    m_running = true;
    // Created here, in the thread that runs this object.
    m_nam = new QNetworkAccessManager(this);
    m_nam->setRedirectPolicy(QNetworkRequest::NoLessSafeRedirectPolicy);
    m_statusRetry = new QTimer(this);
    m_statusRetry->setSingleShot(true);
    m_statusRetry->setInterval(kRetryMs);
    connect(m_statusRetry, &QTimer::timeout, this, &RemoteHerd::requestStatus);
    m_timer = new QTimer(this);
    connect(m_timer, &QTimer::timeout, this, &RemoteHerd::flush);
    if (!m_base.isValid()) {
        Q_EMIT errorOccurred(tr("Not a status endpoint address (expected host:port or http://host:port/)"));
        return;
    }
    requestStatus();
}

void RemoteHerd::stop()
{
    if (!m_running)
        return;
    m_running = false;
    // Abort while still connected: the finished handlers see !m_running and do nothing.
    if (m_statusReply)
        m_statusReply->abort();
    for (const auto &s : m_streams) {
        if (s->reply)
            s->reply->abort();
        s->retry->stop();
    }
    m_statusRetry->stop();
    m_timer->stop();
    delete m_nam;   // and every reply with it
    m_nam = nullptr;
    m_statusReply = nullptr;
    for (const auto &s : m_streams)
        s->reply = nullptr;
}

void RemoteHerd::requestStatus()
{
    if (!m_running || m_statusReply)
        return;
    m_statusReply = m_nam->get(request(m_base.resolved(QUrl(QStringLiteral("status"))), kStatusTimeoutMs));
    QNetworkReply *reply = m_statusReply;
    connect(reply, &QNetworkReply::finished, this, [this, reply] { onStatusFinished(reply); });
}

void RemoteHerd::onStatusFinished(QNetworkReply *reply)
{
    reply->deleteLater();
    if (!m_running || reply != m_statusReply)
        return;
    m_statusReply = nullptr;
    const QUrl url = reply->url();
    auto fail = [&](const QString &why) {
        const QString message = tr("%1: %2").arg(url.toString(), why);
        if (message != m_lastStatusError) {   // once per kind of failure, not every second
            m_lastStatusError = message;
            qCWarning(lcHerdRemote).noquote() << message;
            Q_EMIT errorOccurred(message);
        }
        m_statusRetry->start();
    };
    if (!isOk(reply))
        return fail(replyError(reply));
    const QByteArray body = reply->readAll();
    QJsonParseError parseError{};
    const QJsonDocument doc = QJsonDocument::fromJson(body, &parseError);
    if (!doc.isObject())
        return fail(tr("not a status object (%1)").arg(parseError.errorString()));
    const QJsonObject status = doc.object();
    const QJsonObject herdJson = status.value(QLatin1StringView("herd")).toObject();
    QString configError;
    auto config = HerdConfig::fromJson(QJsonDocument(herdJson).toJson(QJsonDocument::Compact), &configError);
    if (!config) {
        // A herd newer than this monitor may have keys it does not know: what the views need
        // is the nodes (name, host, port) and the links.
        QJsonArray nodes;
        for (const QJsonValue &v : herdJson.value(QLatin1StringView("nodes")).toArray()) {
            const QJsonObject n = v.toObject();
            QJsonObject essential;
            for (const char *key : {"name", "host", "port"})
                if (n.contains(QLatin1StringView(key)))
                    essential.insert(QLatin1StringView(key), n.value(QLatin1StringView(key)));
            nodes.append(essential);
        }
        const QJsonObject reduced{{QStringLiteral("nodes"), nodes},
                                  {QStringLiteral("links"), herdJson.value(QLatin1StringView("links"))}};
        if ((config = HerdConfig::fromJson(QJsonDocument(reduced).toJson(QJsonDocument::Compact), nullptr)))
            qCInfo(lcHerdRemote).noquote() << m_base.toString() << "herd config read in part:" << configError;
    }
    if (!config)
        return fail(tr("bad herd config: %1").arg(configError));
    m_lastStatusError.clear();

    // Where each node's events are: the process's own list wins, then the config's
    // host:status_port, and this very endpoint for the node it belongs to.
    QHash<QString, QUrl> bases;
    const QJsonArray nodesJson = herdJson.value(QLatin1StringView("nodes")).toArray();
    for (const QJsonValue &v : nodesJson) {
        const QJsonObject n = v.toObject();
        const int statusPort = n.value(QLatin1StringView("status_port")).toInt(0);
        if (statusPort > 0 && statusPort <= 65535) {
            QUrl u;
            u.setScheme(QStringLiteral("http"));
            const QString host = n.value(QLatin1StringView("host")).toString();
            u.setHost(isWildcard(host) ? m_base.host() : host);
            u.setPort(statusPort);
            u.setPath(QStringLiteral("/"));
            bases.insert(n.value(QLatin1StringView("name")).toString(), u);
        }
    }
    const QString self = status.value(QLatin1StringView("node")).toString();
    if (!self.isEmpty())
        bases.insert(self, m_base);
    const QJsonObject endpoints = status.value(QLatin1StringView("endpoints")).toObject();
    for (auto it = endpoints.begin(); it != endpoints.end(); ++it) {
        QUrl u = endpointUrl(it.value().toString());
        if (u.isValid() && isWildcard(u.host()))
            u.setHost(m_base.host());
        if (u.isValid())
            bases.insert(it.key(), u);
    }

    m_config = *config;
    for (NodeConfig &n : m_config.nodes) {   // where the console dials them
        if (isWildcard(n.host))
            n.host = m_base.host();
    }
    m_attached = true;
    for (const NodeConfig &n : m_config.nodes) {
        const auto it = bases.constFind(n.name);
        if (it == bases.cend())
            continue;   // no endpoint known: shown as not running
        auto stream = std::make_unique<Stream>();
        stream->node = n.name;
        stream->base = *it;
        stream->stats.name = n.name;
        stream->stats.port = n.port;
        stream->retry = new QTimer(this);
        stream->retry->setSingleShot(true);
        stream->retry->setInterval(kRetryMs);
        Stream *s = stream.get();
        connect(stream->retry, &QTimer::timeout, this, [this, s] { subscribe(*s); });
        m_streams.push_back(std::move(stream));
    }
    qCInfo(lcHerdRemote).noquote() << "attached to" << m_base.toString() << "nodes" << m_config.nodeNames().join(u' ');
    Q_EMIT attached(m_config);
    for (const auto &s : m_streams)
        subscribe(*s);
    m_timer->start(kIntervalMs);
}

void RemoteHerd::subscribe(Stream &stream)
{
    if (!m_running || stream.reply)
        return;
    stream.buffer.clear();
    stream.reply = m_nam->get(request(stream.base.resolved(QUrl(QStringLiteral("events"))), kSilenceTimeoutMs));
    Stream *s = &stream;
    connect(stream.reply, &QNetworkReply::readyRead, this, [this, s] { onEventsData(*s); });
    connect(stream.reply, &QNetworkReply::finished, this, [this, s] { onEventsFinished(*s); });
}

void RemoteHerd::onEventsData(Stream &stream)
{
    QNetworkReply *reply = stream.reply;
    if (!reply)
        return;
    if (!isOk(reply)) {
        streamFailed(stream, replyError(reply));
        return;
    }
    stream.buffer.append(reply->readAll());
    qsizetype start = 0;
    for (qsizetype end; (end = stream.buffer.indexOf('\n', start)) >= 0; start = end + 1) {
        const QByteArrayView line = QByteArrayView(stream.buffer).sliced(start, end - start);
        if (line.trimmed().isEmpty())
            continue;
        const QJsonDocument doc = QJsonDocument::fromJson(line.toByteArray());
        auto batch = doc.isObject() ? json::toBatch(doc.object()) : std::nullopt;
        if (!batch) {
            streamFailed(stream, tr("not a monitor batch: %1").arg(QString::fromLatin1(line.first(std::min<qsizetype>(line.size(), 64)))));
            return;
        }
        if (!stream.live) {
            stream.live = true;
            stream.failed = false;
            Q_EMIT streamChanged(stream.node, true);
        }
        merge(stream.node, std::move(*batch));
    }
    stream.buffer.remove(0, start);
    if (stream.buffer.size() > kMaxLineBytes)   // a "line" with no end
        streamFailed(stream, tr("a line longer than %1 bytes").arg(kMaxLineBytes));
}

void RemoteHerd::onEventsFinished(Stream &stream)
{
    QNetworkReply *reply = stream.reply;
    if (!reply || !m_running)
        return;
    if (!isOk(reply))
        streamFailed(stream, replyError(reply));
    else
        streamFailed(stream, tr("the event stream ended"));
}

void RemoteHerd::streamFailed(Stream &stream, const QString &why)
{
    QNetworkReply *reply = std::exchange(stream.reply, nullptr);
    if (reply) {
        reply->disconnect(this);
        reply->abort();
        reply->deleteLater();
    }
    stream.buffer.clear();
    const bool wasLive = std::exchange(stream.live, false);
    // What is known of a node without a stream: its name and port, and that it is not running.
    NodeStats down;
    down.name = stream.node;
    down.port = stream.stats.port;
    down.reported = false;
    stream.stats = down;
    if (!stream.failed) {
        stream.failed = true;
        const QString message = tr("%1 (%2): %3")
            .arg(stream.base.resolved(QUrl(QStringLiteral("events"))).toString(), stream.node, why);
        qCWarning(lcHerdRemote).noquote() << message;
        Q_EMIT errorOccurred(message);
    }
    if (wasLive)
        Q_EMIT streamChanged(stream.node, false);
    if (m_running)
        stream.retry->start();
}

void RemoteHerd::merge(const QString &node, MonitorBatch &&batch)
{
    if (Stream *s = streamOf(node)) {
        for (NodeStats &st : batch.stats) {
            if (st.name == node) {
                s->stats = std::move(st);
                break;
            }
        }
    }
    batch.stats.clear();   // kept per stream above; the batch lists every node in flush()
    m_pending.merge(std::move(batch));
}

void RemoteHerd::flush()
{
    if (m_inFlight.load(std::memory_order_acquire))
        return;   // the receiver is still applying the last batch: keep merging
    auto batch = std::make_shared<MonitorBatch>(m_pending.take(protocol::nowUs()));
    batch->stats.clear();
    // Every node of the config, in config order.
    batch->stats.reserve(m_config.nodes.size());
    for (const NodeConfig &n : m_config.nodes) {
        if (const Stream *s = streamOf(n.name); s && s->live) {
            batch->stats.append(s->stats);
        } else {
            NodeStats unknown;   // not necessarily stopped: we just cannot see it
            unknown.name = n.name;
            unknown.port = s ? s->stats.port : n.port;
            unknown.reported = false;
            batch->stats.append(unknown);
        }
    }
    m_inFlight.store(true, std::memory_order_release);
    Q_EMIT batchReady(batch);
}

} // namespace herd
