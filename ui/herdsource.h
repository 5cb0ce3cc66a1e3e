#pragma once
// Where the monitor's batches come from: a herd hosted in this process (HerdHost) or one
// watched through its status endpoints (RemoteHerd). The window talks to this interface only.
#include "config.h"
#include "monitor.h"

#include <QObject>
#include <QStringList>
#include <QUrl>

class QThread;

namespace herd {

class HerdHost;
class RemoteHerd;

class HerdSource : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(HerdSource)
public:
    using QObject::QObject;

    // Starts delivering: herdKnown() once the config is known, then batchReady() ~30 times a
    // second. Call batchApplied() after applying each batch.
    virtual void start() = 0;
    // Stops and joins whatever thread the source runs in.
    virtual void shutdown() = 0;
    virtual void batchApplied() = 0;
    // What the window is showing, for its title and status bar ("in-process herd", a URL).
    virtual QString description() const = 0;

    // Start/stop nodes and cut/restore links: empty when possible, else why not (a tooltip).
    virtual QString controlUnavailableReason() const { return {}; }
    virtual void startNode(const QString &) {}
    virtual void stopNode(const QString &) {}
    virtual void setLinkCut(const QString &, const QString &, bool) {}

Q_SIGNALS:
    // The herd's config and the nodes whose stats the batches carry.
    void herdKnown(const herd::HerdConfig &config, const QStringList &shown);
    void batchReady(const herd::MonitorBatchPtr &batch);
    // The herd could not start at all (a dialog): in-process only.
    void failed(const QString &error);
    // Every hosted node listens (in-process only).
    void running();
    // A node asked to start could not (in-process only).
    void nodeStartFailed(const QString &node, const QString &error);
    // A remote node's event stream came back (or came first): what the monitor knew of what it
    // holds is replaced by the snapshot its stream starts with.
    void streamRestarted(const QString &node);
    // Something went wrong that the source retries by itself (one line, for the status bar).
    void problem(const QString &message);
};

// The herd (or the `hosted` nodes of it) in a network thread of this process.
class LocalHerdSource final : public HerdSource {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(LocalHerdSource)
public:
    LocalHerdSource(const HerdConfig &config, const QStringList &hosted, QObject *parent = nullptr);
    ~LocalHerdSource() override;

    void start() override;
    void shutdown() override;
    void batchApplied() override;
    QString description() const override;
    void startNode(const QString &name) override;
    void stopNode(const QString &name) override;
    void setLinkCut(const QString &a, const QString &b, bool cut) override;

    HerdHost *host() const { return m_host; }

private:
    HerdConfig m_config;
    QStringList m_hosted;
    HerdHost *m_host;   // child of this
};

// Headless nodes in other processes or hosts, through their status endpoints. The RemoteHerd
// (its HTTP and JSON) runs in its own thread, so a busy herd never stalls the window.
class RemoteHerdSource final : public HerdSource {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RemoteHerdSource)
public:
    explicit RemoteHerdSource(const QUrl &statusUrl, QObject *parent = nullptr);
    ~RemoteHerdSource() override;

    void start() override;
    void shutdown() override;
    void batchApplied() override;
    QString description() const override;
    QString controlUnavailableReason() const override;

    QUrl url() const { return m_url; }

private:
    QUrl m_url;
    QThread *m_thread = nullptr;
    RemoteHerd *m_remote = nullptr;   // lives in m_thread
};

} // namespace herd
