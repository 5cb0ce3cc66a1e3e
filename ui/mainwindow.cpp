#include "mainwindow.h"
#include "herdhost.h"
#include "nodetablemodel.h"

#include <QAction>
#include <QHeaderView>
#include <QMessageBox>
#include <QStatusBar>
#include <QTableView>
#include <QToolBar>

namespace herd {

MainWindow::MainWindow(HerdHost *host, QWidget *parent)
    : QMainWindow(parent), m_host(host), m_model(new NodeTableModel(this)), m_view(new QTableView(this))
{
    setWindowTitle(tr("herd monitor"));
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->verticalHeader()->hide();
    setCentralWidget(m_view);

    auto *toolbar = addToolBar(tr("Nodes"));
    auto *toggle = toolbar->addAction(tr("Start/stop node"), this, &MainWindow::toggleSelectedNode);
    toggle->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_T));
    toggle->setToolTip(tr("Start or stop the selected node (Ctrl+T)"));

    connect(host, &HerdHost::statsReady, m_model, &NodeTableModel::applyStats);
    connect(host, &HerdHost::statsReady, this, [this](const QList<NodeStats> &stats) {
        int running = 0;
        qint64 clients = 0;
        for (const NodeStats &s : stats) {
            running += s.running ? 1 : 0;
            clients = std::max(clients, s.clientsKnown);
        }
        statusBar()->showMessage(tr("%1 of %2 nodes running, %3 clients known").arg(running).arg(stats.size()).arg(clients));
    });
    connect(host, &HerdHost::started, this, [this](bool ok, const QString &error) {
        if (!ok)
            QMessageBox::critical(this, tr("herd"), tr("The herd could not start:\n%1").arg(error));
    });
    resize(1180, 320);
}

void MainWindow::toggleSelectedNode()
{
    const QModelIndex current = m_view->currentIndex();
    if (!current.isValid())
        return;
    const QString name = m_model->index(current.row(), NodeTableModel::Name).data().toString();
    const bool running = m_model->index(current.row(), NodeTableModel::State).data().toString() == tr("running");
    if (running)
        m_host->stopNode(name);
    else
        m_host->startNode(name);
}

} // namespace herd
