#include "herdhost.h"
#include "herd.h"
#include "statusserver.h"

#include <QThread>
#include <QTimer>

namespace herd {

HerdHost::HerdHost(HerdConfig config, QStringList hosted, QObject *parent)
    : QObject(parent), m_config(std::move(config)), m_hosted(std::move(hosted))
{
    qRegisterMetaType<herd::NodeStats>();
    qRegisterMetaType<QList<herd::NodeStats>>();
}

HerdHost::~HerdHost()
{
    shutdown();
}

void HerdHost::start()
{
    if (m_thread)
        return;
    m_thread = new QThread(this);
    m_thread->setObjectName(QStringLiteral("herd-network"));
    m_herd = new Herd(m_config, m_hosted);
    m_herd->moveToThread(m_thread);
    connect(m_thread, &QThread::finished, m_herd, &QObject::deleteLater);
    m_thread->start();
    // Sockets and timers are created by the thread that owns them: start with a queued call.
    const int interval = m_statsIntervalMs;
    const bool monitoring = m_monitoring;
    QMetaObject::invokeMethod(m_herd, [this, herd = m_herd, interval, monitoring] {
        if (monitoring) {
            auto *events = new EventStream([herd] { return herd->stats(); }, herd);
            connect(events, &EventStream::batchReady, this, &HerdHost::batchReady);
            herd->setEventStream(events);
            m_events.store(events);
        }
        const bool ok = herd->start();
        const QString error = herd->lastError();
        if (ok && interval > 0) {
            auto *timer = new QTimer(herd);
            connect(timer, &QTimer::timeout, herd, [this, herd] { Q_EMIT statsReady(herd->stats()); });
            timer->start(interval);
        }
        if (ok) {
            for (const StatusServer *server : herd->statusServers())
                Q_EMIT statusListening(server->objectName(), server->url());
        }
        Q_EMIT started(ok, error);
    }, Qt::QueuedConnection);
}

void HerdHost::shutdown()
{
    if (!m_thread)
        return;
    // The only place this thread waits for the network one: at exit.
    QMetaObject::invokeMethod(m_herd, [this] {
        m_herd->setEventStream(nullptr);
        m_herd->stop();
        delete m_events.exchange(nullptr);
    }, Qt::BlockingQueuedConnection);
    m_thread->quit();
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
    m_herd = nullptr;
}

void HerdHost::batchApplied()
{
    if (EventStream *events = m_events.load())
        events->batchApplied();
}

void HerdHost::setLinkCut(const QString &a, const QString &b, bool cut)
{
    if (m_herd)
        QMetaObject::invokeMethod(m_herd, [herd = m_herd, a, b, cut] { herd->setLinkCut(a, b, cut); }, Qt::QueuedConnection);
}

void HerdHost::probe()
{
    if (m_herd)
        QMetaObject::invokeMethod(m_herd, [this] { Q_EMIT probed(); }, Qt::QueuedConnection);
}

void HerdHost::startNode(const QString &name)
{
    if (m_herd)
        QMetaObject::invokeMethod(m_herd, [this, herd = m_herd, name] {
            if (!herd->startNode(name))
                Q_EMIT nodeStartFailed(name, herd->lastError());
        }, Qt::QueuedConnection);
}

void HerdHost::stopNode(const QString &name)
{
    if (m_herd)
        QMetaObject::invokeMethod(m_herd, [herd = m_herd, name] { herd->stopNode(name); }, Qt::QueuedConnection);
}

} // namespace herd
