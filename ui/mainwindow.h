#pragma once
#include "config.h"
#include "monitor.h"

#include <QHash>
#include <QMainWindow>
#include <QStringList>
#include <QUrl>
#include <deque>
#include <functional>
#include <memory>

class QAction;
class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTableView;
class QItemSelectionModel;

namespace herd {

class ClientTableModel;
class ConsoleWidget;
class HerdHost;
class HerdSource;
class LinkTableModel;
class MapView;
class NodeTableModel;
class PropagationView;
class TopologyView;
class TrafficInspector;

// The monitor: composes the herd source (an in-process herd in its network thread, or a
// remote one through its status endpoints), the models and the views, and applies each monitor
// batch to all of them at once.
class MainWindow final : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    // Starts hosting `config` (the nodes named in `hosted`, or all), replacing any herd shown.
    // While a herd is hosted here the new one binds its ports first, beside it: only once every
    // new node listens is the old herd stopped (herdLoaded(true)). If the new one cannot start
    // (a port taken...), the old one keeps running, the error is shown with the choice to stop
    // the old herd and try again, and herdLoaded(false). `fileName` names it in the title.
    void loadHerd(const HerdConfig &config, const QStringList &hosted = {}, const QString &fileName = {});
    // Relative log_dir and state_dir of every herd loaded from now on are taken from `dir` (the
    // monitor's state directory) instead of the working directory.
    void setFilesDir(const QString &dir) { m_filesDir = dir; }
    bool openConfigFile(const QString &fileName);   // false: the error was shown
    // For tests: shows the batches of any source, replacing the herd shown (as loadHerd and
    // connectRemote do with theirs).
    void attachSource(std::unique_ptr<HerdSource> source);
    // Watches a herd running elsewhere through the status endpoint at `statusUrl` (any node's;
    // host:port is enough), replacing any herd shown. Start/stop and cut/restore are disabled.
    void connectRemote(const QUrl &statusUrl);
    bool isRemote() const;
    QString attachedTo() const;   // "in-process herd" or the status URL

    // For tests and the screenshot tool.
    HerdHost *host() const;   // nullptr when watching a remote herd
    TopologyView *topology() const { return m_topology; }
    TrafficInspector *traffic() const { return m_traffic; }
    ConsoleWidget *console() const { return m_console; }
    MapView *map() const { return m_map; }
    NodeTableModel *nodeModel() const { return m_nodeModel; }
    LinkTableModel *linkModel() const { return m_linkModel; }
    ClientTableModel *clientModel() const { return m_clientModel; }
    QItemSelectionModel *clientSelection() const;
    QTableView *nodeTable() const { return m_nodeTable; }   // through a sort/search proxy
    QTableView *linkTable() const { return m_linkTable; }
    QLineEdit *nodeSearch() const { return m_nodeSearch; }
    QLineEdit *linkSearch() const { return m_linkSearch; }
    // One node selected everywhere: topology ring, node table row, details, console target.
    void selectNode(const QString &node);
    PropagationView *propagation() const { return m_propagation; }
    QString nodeDetailsText() const;     // the node details panel, as plain text
    QString lastErrorShown() const { return m_lastError; }
    // Ask before Stop all / Quit while clients are held (tests turn it off).
    void setConfirmationsEnabled(bool on) { m_confirm = on; }
    void resetLayout();        // docks and toolbar as on first start
    void showShortcuts();      // Help > Keyboard shortcuts (F1), non-modal
    static void applyDarkPalette(bool dark);

Q_SIGNALS:
    void batchShown(const herd::MonitorBatchPtr &batch);   // after every view has applied it
    void sourceProblem(const QString &message);             // also shown in the status bar
    void herdLoaded(bool ok, const QString &error);          // after loadHerd(): see there
    // An error dialog was opened (non-modal: the window keeps updating behind it).
    void errorShown(const QString &text);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void buildActions();
    void buildDocks();
    void attach(std::unique_ptr<HerdSource> source, bool started = false, const QString &fileName = {});
    void startBeside(const HerdConfig &config, const QStringList &hosted, const QString &fileName);
    void adoptPending();
    void pendingFailed(const QString &error);
    void resetViews();
    void updateTitle();
    void showError(const QString &title, const QString &text, const QString &retryText = {},
                   std::function<void()> retry = {});
    void herdStartFailed(const QString &error);
    void forgetNodeHoldings(const QString &node);
    void showHerd(const HerdConfig &config, const QStringList &shown);
    void connectDialog();
    void applyBatch(const MonitorBatchPtr &batch);
    void updateStatus(const MonitorBatch &batch);
    void updateConsoleTargets(const QList<NodeStats> &stats);
    void showNodeDetails(const QString &node);
    void toggleNode(const QString &node);
    void setAllNodesRunning(bool running);
    void openConfigDialog();
    void saveTopologyPicture();
    void exportTraffic(bool json);
    void restoreSettings();
    void saveSettings() const;

    std::unique_ptr<HerdSource> m_source;
    HerdConfig m_config;
    QString m_configFile;              // the config shown, for the title ("" = none named)
    bool m_attached = false;           // remote: its config arrived
    QString m_remoteError;             // remote: why it is not attached (yet)
    // A herd starting beside the running one (loadHerd): adopted once it listens.
    std::unique_ptr<HerdSource> m_pending;
    HerdConfig m_pendingConfig;
    QStringList m_pendingHosted;
    QStringList m_pendingShown;
    QString m_pendingFile;
    QList<MonitorBatchPtr> m_pendingBatches;
    QList<NodeStats> m_lastStats;
    // Lines in+out of all nodes over the last few seconds: the msg/s shown is their slope.
    std::deque<std::pair<qint64, quint64>> m_rateSamples;
    double m_linesPerSecond = 0;
    QHash<QString, QString> m_nodeErrors;   // why a node could not start, until it runs
    QString m_herdError;                    // why the herd as a whole did not start
    QString m_lastError;
    // Remote: what each node holds, so a node whose stream restarts (the node may have
    // restarted empty) can be dropped from the clients table and the others kept.
    QHash<QString, QHash<QByteArray, StoredUpdate>> m_remoteHoldings;

    TopologyView *m_topology = nullptr;
    TrafficInspector *m_traffic = nullptr;
    ConsoleWidget *m_console = nullptr;
    MapView *m_map = nullptr;
    PropagationView *m_propagation = nullptr;
    NodeTableModel *m_nodeModel = nullptr;
    LinkTableModel *m_linkModel = nullptr;
    ClientTableModel *m_clientModel = nullptr;
    QTableView *m_clientTable = nullptr;
    QTableView *m_nodeTable = nullptr;
    QTableView *m_linkTable = nullptr;
    QSortFilterProxyModel *m_nodeProxy = nullptr;
    QSortFilterProxyModel *m_linkProxy = nullptr;
    QLineEdit *m_nodeSearch = nullptr;
    QLineEdit *m_linkSearch = nullptr;
    bool m_selecting = false;
    bool m_confirm = true;
    QByteArray m_defaultLayout;        // saveState() before the user's settings are restored          // selectNode() is spreading a selection
    bool m_columnsFitted = false;      // once per herd, when its first stats arrive
    QLabel *m_nodeDetails = nullptr;
    QLabel *m_statusSource = nullptr;
    QLabel *m_statusNodes = nullptr;
    QLabel *m_statusLinks = nullptr;
    QLabel *m_statusClients = nullptr;
    QLabel *m_statusRate = nullptr;
    QList<QAction *> m_controlActions;   // only for a herd hosted here
    QAction *m_darkAction = nullptr;
    QAction *m_pauseAction = nullptr;
    QMenu *m_viewMenu = nullptr;
    QString m_selectedNode;
    QString m_filesDir;
};

} // namespace herd
