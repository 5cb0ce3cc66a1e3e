#pragma once
#include "config.h"
#include "monitor.h"

#include <QMainWindow>
#include <QStringList>
#include <QUrl>
#include <memory>

class QAction;
class QLabel;
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
    void loadHerd(const HerdConfig &config, const QStringList &hosted = {});
    // Relative log_dir and state_dir of every herd loaded from now on are taken from `dir` (the
    // monitor's state directory) instead of the working directory.
    void setFilesDir(const QString &dir) { m_filesDir = dir; }
    bool openConfigFile(const QString &fileName);   // false: the error was shown
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
    PropagationView *propagation() const { return m_propagation; }
    static void applyDarkPalette(bool dark);

Q_SIGNALS:
    void batchShown(const herd::MonitorBatchPtr &batch);   // after every view has applied it
    void sourceProblem(const QString &message);             // also shown in the status bar

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void buildActions();
    void buildDocks();
    void attach(std::unique_ptr<HerdSource> source);
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
    QList<NodeStats> m_lastStats;
    qint64 m_lastRateUs = 0;
    quint64 m_lastRateLines = 0;
    double m_linesPerSecond = 0;

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
