#pragma once
#include "config.h"
#include "monitor.h"

#include <QMainWindow>
#include <QStringList>
#include <memory>

class QAction;
class QLabel;
class QTableView;
class QItemSelectionModel;

namespace herd {

class ClientTableModel;
class ConsoleWidget;
class HerdHost;
class LinkTableModel;
class MapView;
class NodeTableModel;
class PropagationView;
class TopologyView;
class TrafficInspector;

// The monitor: composes the herd (in its network thread), the models and the views, and
// applies each monitor batch to all of them at once.
class MainWindow final : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    // Starts hosting `config` (the nodes named in `hosted`, or all), replacing any herd shown.
    void loadHerd(const HerdConfig &config, const QStringList &hosted = {});
    bool openConfigFile(const QString &fileName);   // false: the error was shown

    // For tests and the screenshot tool.
    HerdHost *host() const { return m_host.get(); }
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

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void buildActions();
    void buildDocks();
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

    std::unique_ptr<HerdHost> m_host;
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
    QLabel *m_statusNodes = nullptr;
    QLabel *m_statusLinks = nullptr;
    QLabel *m_statusClients = nullptr;
    QLabel *m_statusRate = nullptr;
    QAction *m_darkAction = nullptr;
    QAction *m_pauseAction = nullptr;
    QMenu *m_viewMenu = nullptr;
    QString m_selectedNode;
};

} // namespace herd
