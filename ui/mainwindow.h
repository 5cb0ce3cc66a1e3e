#pragma once
#include <QMainWindow>

class QTableView;

namespace herd {

class HerdHost;
class NodeTableModel;

// For now: the hosted nodes and their state, live. (The full monitor is issue #3.)
class MainWindow final : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(HerdHost *host, QWidget *parent = nullptr);

    NodeTableModel *nodeModel() const { return m_model; }

private:
    void toggleSelectedNode();

    HerdHost *m_host;
    NodeTableModel *m_model;
    QTableView *m_view;
};

} // namespace herd
