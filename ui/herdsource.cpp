#include "herdsource.h"
#include "herdhost.h"
#include "remoteherd.h"

#include <QThread>

namespace herd {

LocalHerdSource::LocalHerdSource(const HerdConfig &config, const QStringList &hosted, QObject *parent)
    : HerdSource(parent), m_config(config), m_hosted(hosted), m_host(new HerdHost(config, hosted, this))
{
    m_host->setMonitoring(true);
    m_host->setStatsInterval(0);   // the monitor batches carry the stats
    connect(m_host, &HerdHost::batchReady, this, &HerdSource::batchReady);
    connect(m_host, &HerdHost::started, this, [this](bool ok, const QString &error) {
        if (ok)
            Q_EMIT running();
        else
            Q_EMIT failed(error);
    });
    connect(m_host, &HerdHost::nodeStartFailed, this, &HerdSource::nodeStartFailed);
}

LocalHerdSource::~LocalHerdSource()
{
    shutdown();
}

void LocalHerdSource::start()
{
    Q_EMIT herdKnown(m_config, m_hosted.isEmpty() ? m_config.nodeNames() : m_hosted);
    m_host->start();
}

void LocalHerdSource::shutdown()
{
    m_host->shutdown();
}

void LocalHerdSource::batchApplied()
{
    m_host->batchApplied();
}

QString LocalHerdSource::description() const
{
    return tr("in-process herd");
}

void LocalHerdSource::startNode(const QString &name)
{
    m_host->startNode(name);
}

void LocalHerdSource::stopNode(const QString &name)
{
    m_host->stopNode(name);
}

void LocalHerdSource::setLinkCut(const QString &a, const QString &b, bool cut)
{
    m_host->setLinkCut(a, b, cut);
}

RemoteHerdSource::RemoteHerdSource(const QUrl &statusUrl, QObject *parent)
    : HerdSource(parent), m_url(RemoteHerd::endpointUrl(statusUrl.toString()))
{
}

RemoteHerdSource::~RemoteHerdSource()
{
    shutdown();
}

void RemoteHerdSource::start()
{
    if (m_thread)
        return;
    m_thread = new QThread(this);
    m_thread->setObjectName(QStringLiteral("herd-remote"));
    m_remote = new RemoteHerd(m_url);
    m_remote->moveToThread(m_thread);
    connect(m_thread, &QThread::finished, m_remote, &QObject::deleteLater);
    connect(m_remote, &RemoteHerd::attached, this, [this](const HerdConfig &config) {
        Q_EMIT herdKnown(config, config.nodeNames());
    });
    connect(m_remote, &RemoteHerd::batchReady, this, &HerdSource::batchReady);
    connect(m_remote, &RemoteHerd::errorOccurred, this, &HerdSource::problem);
    connect(m_remote, &RemoteHerd::streamChanged, this, [this](const QString &node, bool live) {
        if (live)
            Q_EMIT streamRestarted(node);
    });
    m_thread->start();
    // Its network access manager and timers are created in the thread that runs them.
    QMetaObject::invokeMethod(m_remote, &RemoteHerd::start, Qt::QueuedConnection);
}

void RemoteHerdSource::shutdown()
{
    if (!m_thread)
        return;
    QMetaObject::invokeMethod(m_remote, &RemoteHerd::stop, Qt::BlockingQueuedConnection);
    m_thread->quit();
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
    m_remote = nullptr;
}

void RemoteHerdSource::batchApplied()
{
    if (m_remote)
        m_remote->batchApplied();   // atomic: safe across threads
}

QString RemoteHerdSource::description() const
{
    return m_url.toString();
}

QString RemoteHerdSource::controlUnavailableReason() const
{
    return tr("Attached to a remote herd (%1): its nodes run in other processes, so they are "
              "started, stopped and cut there, not from this monitor")
        .arg(m_url.toString());
}

} // namespace herd
