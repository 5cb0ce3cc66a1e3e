#include "mainwindow.h"
#include "clienttablemodel.h"
#include "consolewidget.h"
#include "herdhost.h"
#include "herdsource.h"
#include "linktablemodel.h"
#include "mapview.h"
#include "nodetablemodel.h"
#include "propagation.h"
#include "remoteherd.h"
#include "topologyview.h"
#include "trafficinspector.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDateTime>
#include <QDockWidget>
#include <QFileDialog>
#include <QHeaderView>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QPalette>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QStyleFactory>
#include <QTableView>
#include <QToolBar>
#include <QVBoxLayout>

namespace herd {

namespace {

QTableView *makeTable(QAbstractItemModel *model, QWidget *parent)
{
    auto *view = new QTableView(parent);
    view->setModel(model);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setSelectionMode(QAbstractItemView::SingleSelection);
    view->horizontalHeader()->setStretchLastSection(true);
    view->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    view->verticalHeader()->hide();
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 6);
    view->setAlternatingRowColors(true);
    view->setWordWrap(false);
    return view;
}

QString formatDuration(qint64 ms)
{
    const qint64 s = ms / 1000;
    if (s < 60)
        return QMainWindow::tr("%1 s").arg(s);
    if (s < 3600)
        return QMainWindow::tr("%1 min %2 s").arg(s / 60).arg(s % 60);
    return QMainWindow::tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

} // namespace

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent)
{
    setWindowTitle(tr("herd monitor"));
    setObjectName(QStringLiteral("herdMainWindow"));
    setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowTabbedDocks | QMainWindow::AllowNestedDocks);

    m_topology = new TopologyView(this);
    setCentralWidget(m_topology);
    m_nodeModel = new NodeTableModel(this);
    m_linkModel = new LinkTableModel(this);
    m_clientModel = new ClientTableModel(this);

    buildDocks();
    buildActions();

    m_statusSource = new QLabel(this);
    m_statusNodes = new QLabel(this);
    m_statusLinks = new QLabel(this);
    m_statusClients = new QLabel(this);
    m_statusRate = new QLabel(this);
    m_statusNodes->setToolTip(tr("Hosted nodes running"));
    m_statusLinks->setToolTip(tr("Peer links up, as seen from the hosted nodes (each link counted once per end)"));
    m_statusClients->setToolTip(tr("Clients known to the herd"));
    m_statusRate->setToolTip(tr("Protocol lines in and out per second, all hosted nodes"));
    m_statusSource->setToolTip(tr("Where the herd shown runs"));
    for (QLabel *l : {m_statusSource, m_statusNodes, m_statusLinks, m_statusClients, m_statusRate})
        statusBar()->addPermanentWidget(l);

    connect(m_topology, &TopologyView::nodeSelected, this, &MainWindow::showNodeDetails);
    connect(m_topology, &TopologyView::startStopRequested, this, &MainWindow::toggleNode);
    connect(m_topology, &TopologyView::linkCutRequested, this, [this](const QString &a, const QString &b, bool cut) {
        if (m_source)
            m_source->setLinkCut(a, b, cut);
    });
    connect(m_propagation, &PropagationView::updateChosen, this, [this](const QByteArray &client) {
        const QModelIndex index = m_clientModel->indexOfClient(client);
        if (index.isValid()) {
            clientSelection()->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
            m_clientTable->scrollTo(index);
        }
    });
    connect(clientSelection(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex &current) {
        if (!current.isValid())
            return;
        // Show the newest update of the selected client in the propagation view.
        const QByteArray client = current.data(ClientTableModel::ClientIdRole).toByteArray();
        const auto time = protocol::parseTime(current.data(ClientTableModel::ClientTimeRole).toString().toLatin1());
        if (time)
            m_propagation->showUpdate(client, *time);
    });
    restoreSettings();
}

MainWindow::~MainWindow()
{
    if (m_source)
        m_source->shutdown();
}

HerdHost *MainWindow::host() const
{
    const auto *local = qobject_cast<const LocalHerdSource *>(m_source.get());
    return local ? local->host() : nullptr;
}

bool MainWindow::isRemote() const
{
    return qobject_cast<const RemoteHerdSource *>(m_source.get()) != nullptr;
}

QString MainWindow::attachedTo() const
{
    return m_source ? m_source->description() : QString();
}

QItemSelectionModel *MainWindow::clientSelection() const
{
    return m_clientTable->selectionModel();
}

void MainWindow::buildDocks()
{
    auto dock = [this](const QString &title, const QString &name, QWidget *widget, Qt::DockWidgetArea area) {
        auto *d = new QDockWidget(title, this);
        d->setObjectName(name);   // saveState() needs names
        d->setWidget(widget);
        addDockWidget(area, d);
        return d;
    };

    // Clients: the table and the map, sharing one selection.
    m_clientTable = makeTable(m_clientModel, this);
    m_clientTable->setObjectName(QStringLiteral("clientTable"));
    // The model sorts and filters itself (a million rows): a click on a header sorts, a third
    // click goes back to the order clients appeared in.
    m_clientTable->horizontalHeader()->setSortIndicatorClearable(true);
    m_clientTable->horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder);
    m_clientTable->setSortingEnabled(true);
    m_clientTable->setToolTip(tr("Double-click a client to zoom the map to it"));
    auto *clientFilter = new QLineEdit(this);
    clientFilter->setObjectName(QStringLiteral("clientTableFilter"));
    clientFilter->setPlaceholderText(tr("Filter clients: id, location or origin node\u2026"));
    clientFilter->setClearButtonEnabled(true);
    connect(clientFilter, &QLineEdit::textChanged, m_clientModel, &ClientTableModel::setFilterText);
    auto *clientPane = new QWidget(this);
    auto *clientLayout = new QVBoxLayout(clientPane);
    clientLayout->setContentsMargins(0, 0, 0, 0);
    clientLayout->setSpacing(2);
    clientLayout->addWidget(clientFilter);
    clientLayout->addWidget(m_clientTable, 1);
    m_map = new MapView(this);
    m_map->setModel(m_clientModel, ClientTableModel::LatitudeRole, ClientTableModel::LongitudeRole,
                    ClientTableModel::ClientIdRole);
    m_map->setSelectionModel(m_clientTable->selectionModel());
    connect(m_clientTable, &QAbstractItemView::doubleClicked, m_map, [this](const QModelIndex &index) {
        m_map->zoomTo(index.data(ClientTableModel::LatitudeRole).toDouble(), index.data(ClientTableModel::LongitudeRole).toDouble());
    });
    auto *clientSplit = new QSplitter(Qt::Horizontal, this);
    clientSplit->setObjectName(QStringLiteral("clientSplit"));
    clientSplit->addWidget(clientPane);
    clientSplit->addWidget(m_map);
    clientSplit->setStretchFactor(0, 2);
    clientSplit->setStretchFactor(1, 3);
    auto *clientsDock = dock(tr("Clients"), QStringLiteral("clientsDock"), clientSplit, Qt::BottomDockWidgetArea);

    m_traffic = new TrafficInspector(this);
    auto *trafficDock = dock(tr("Traffic"), QStringLiteral("trafficDock"), m_traffic, Qt::BottomDockWidgetArea);
    tabifyDockWidget(clientsDock, trafficDock);
    clientsDock->raise();

    m_linkTable = makeTable(m_linkModel, this);
    auto *linksDock = dock(tr("Links"), QStringLiteral("linksDock"), m_linkTable, Qt::BottomDockWidgetArea);
    tabifyDockWidget(trafficDock, linksDock);

    auto *nodesPane = new QWidget(this);
    auto *nodesLayout = new QVBoxLayout(nodesPane);
    nodesLayout->setContentsMargins(0, 0, 0, 0);
    m_nodeTable = makeTable(m_nodeModel, nodesPane);
    m_nodeDetails = new QLabel(tr("Select a node in the topology to see its details."), nodesPane);
    m_nodeDetails->setWordWrap(true);
    m_nodeDetails->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_nodeDetails->setMargin(6);
    nodesLayout->addWidget(m_nodeDetails);
    nodesLayout->addWidget(m_nodeTable, 1);
    auto *nodesDock = dock(tr("Nodes"), QStringLiteral("nodesDock"), nodesPane, Qt::RightDockWidgetArea);
    connect(m_nodeTable->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex &current) {
        if (current.isValid())
            showNodeDetails(m_nodeModel->index(current.row(), NodeTableModel::Name).data().toString());
    });

    m_propagation = new PropagationView(this);
    auto *propagationDock = dock(tr("Propagation"), QStringLiteral("propagationDock"), m_propagation, Qt::RightDockWidgetArea);
    tabifyDockWidget(nodesDock, propagationDock);
    nodesDock->raise();

    m_console = new ConsoleWidget(this);
    dock(tr("Console"), QStringLiteral("consoleDock"), m_console, Qt::RightDockWidgetArea);

    clientsDock->raise();   // the map first: the most telling view of a running herd
    resizeDocks({clientsDock}, {320}, Qt::Vertical);
    resizeDocks({nodesDock}, {420}, Qt::Horizontal);
}

void MainWindow::buildActions()
{
    auto *file = menuBar()->addMenu(tr("&File"));
    auto *open = file->addAction(tr("&Open herd config…"), this, &MainWindow::openConfigDialog);
    open->setShortcut(QKeySequence::Open);
    open->setToolTip(tr("Load a herd config (JSON) and host its nodes here"));
    auto *connectAction = file->addAction(tr("&Connect to herd…"), this, &MainWindow::connectDialog);
    connectAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    connectAction->setToolTip(tr("Watch headless nodes in other processes or hosts through their status endpoint"));
    file->addAction(tr("Save topology &picture…"), this, &MainWindow::saveTopologyPicture)
        ->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S));
    file->addSeparator();
    file->addAction(tr("Export traffic as &CSV…"), this, [this] { exportTraffic(false); });
    file->addAction(tr("Export traffic as &JSON Lines…"), this, [this] { exportTraffic(true); })
        ->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    file->addSeparator();
    file->addAction(tr("&Quit"), this, &QWidget::close)->setShortcut(QKeySequence::Quit);

    auto *herdMenu = menuBar()->addMenu(tr("&Herd"));
    herdMenu->setToolTipsVisible(true);   // a disabled action says why (a remote herd)
    auto *startAll = herdMenu->addAction(tr("&Start all nodes"), this, [this] { setAllNodesRunning(true); });
    startAll->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
    auto *stopAll = herdMenu->addAction(tr("S&top all nodes"), this, [this] { setAllNodesRunning(false); });
    stopAll->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T));
    auto *toggle = herdMenu->addAction(tr("Start/stop &selected node"), this, [this] {
        if (!m_selectedNode.isEmpty())
            toggleNode(m_selectedNode);
    });
    toggle->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_T));
    toggle->setToolTip(tr("Start or stop the node selected in the topology (Ctrl+T). Right-click a link to cut or restore it."));
    m_controlActions = {startAll, stopAll, toggle};
    for (QAction *a : std::as_const(m_controlActions))
        a->setData(a->toolTip());   // the tooltip to restore when back in-process

    m_viewMenu = menuBar()->addMenu(tr("&View"));
    m_viewMenu->addAction(tr("Zoom &in"), m_topology, &TopologyView::zoomIn)->setShortcut(QKeySequence::ZoomIn);
    m_viewMenu->addAction(tr("Zoom &out"), m_topology, &TopologyView::zoomOut)->setShortcut(QKeySequence::ZoomOut);
    m_viewMenu->addAction(tr("&Fit topology"), m_topology, &TopologyView::fitAll)->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_0));
    m_viewMenu->addAction(tr("Fit map to &clients"), m_map, &MapView::fitClients)->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    m_viewMenu->addAction(tr("Whole &world on the map"), m_map, &MapView::fitWorld);
    m_viewMenu->addSeparator();
    m_pauseAction = m_viewMenu->addAction(tr("&Pause traffic view"));
    m_pauseAction->setCheckable(true);
    m_pauseAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
    m_pauseAction->setToolTip(tr("Freeze the traffic view; nodes keep running and new rows are counted"));
    connect(m_pauseAction, &QAction::toggled, m_traffic, &TrafficInspector::setPaused);
    connect(m_traffic, &TrafficInspector::pausedChanged, m_pauseAction, &QAction::setChecked);
    m_darkAction = m_viewMenu->addAction(tr("&Dark palette"));
    m_darkAction->setCheckable(true);
    m_darkAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D));
    connect(m_darkAction, &QAction::toggled, this, [](bool dark) { applyDarkPalette(dark); });
    m_viewMenu->addSeparator();
    for (QDockWidget *d : findChildren<QDockWidget *>())
        m_viewMenu->addAction(d->toggleViewAction());

    auto *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About herd"), this, [this] {
        QMessageBox::about(this, tr("About herd"),
                           tr("<b>herd</b> %1<br>A proxy herd server and its live monitor.<br><br>"
                              "Nodes take client locations (IAMAT), answer nearby searches (WHATSAT) and "
                              "flood every update over heartbeat-checked peer links.<br>"
                              "Map: Natural Earth coastline (public domain).")
                               .arg(QCoreApplication::applicationVersion()));
    });

    auto *bar = addToolBar(tr("Main"));
    bar->setObjectName(QStringLiteral("mainToolBar"));
    bar->addAction(open);
    bar->addSeparator();
    bar->addAction(startAll);
    bar->addAction(stopAll);
    bar->addAction(toggle);
    bar->addSeparator();
    bar->addAction(m_pauseAction);
}

void MainWindow::loadHerd(const HerdConfig &config, const QStringList &hosted)
{
    attach(std::make_unique<LocalHerdSource>(config, hosted));
}

void MainWindow::connectRemote(const QUrl &statusUrl)
{
    auto source = std::make_unique<RemoteHerdSource>(statusUrl);
    const QString url = source->url().toString();
    if (!url.isEmpty()) {
        QSettings settings;
        QStringList recent = settings.value(QStringLiteral("remote/recent")).toStringList();
        recent.removeAll(url);
        recent.prepend(url);
        settings.setValue(QStringLiteral("remote/recent"), recent.mid(0, 10));
    }
    setWindowFilePath(QString());
    attach(std::move(source));
}

void MainWindow::attach(std::unique_ptr<HerdSource> source)
{
    if (m_source)
        m_source->shutdown();
    m_source = std::move(source);
    m_lastStats.clear();
    m_lastRateUs = 0;
    m_clientModel->clear();
    showHerd(HerdConfig(), {});   // until the source says what it shows
    m_nodeModel->applyStats({});
    m_linkModel->applyStats({});
    connect(m_source.get(), &HerdSource::herdKnown, this, &MainWindow::showHerd);
    connect(m_source.get(), &HerdSource::batchReady, this, &MainWindow::applyBatch);
    connect(m_source.get(), &HerdSource::failed, this, [this](const QString &error) {
        QMessageBox::critical(this, tr("herd"), tr("The herd could not start:\n%1").arg(error));
    });
    connect(m_source.get(), &HerdSource::problem, this, [this](const QString &message) {
        statusBar()->showMessage(message, 10000);
        Q_EMIT sourceProblem(message);
    });

    // Start/stop and cut/restore only where the nodes are ours; otherwise say why not.
    const QString unavailable = m_source->controlUnavailableReason();
    for (QAction *a : std::as_const(m_controlActions)) {
        a->setEnabled(unavailable.isEmpty());
        a->setToolTip(unavailable.isEmpty() ? a->data().toString() : unavailable);
    }
    m_topology->setControlsUnavailable(unavailable);
    const QString what = m_source->description();
    setWindowTitle(isRemote() ? tr("herd monitor — attached to %1").arg(what) : tr("herd monitor"));
    m_statusSource->setText(isRemote() ? tr("Remote: %1").arg(what) : tr("In-process"));
    m_source->start();
}

void MainWindow::showHerd(const HerdConfig &config, const QStringList &shown)
{
    m_config = config;
    m_topology->setHerd(config);
    m_traffic->setNodes(shown);
    m_clientModel->setNodeCount(int(shown.size()));
    m_propagation->setNodes(shown);
    updateConsoleTargets({});
}

void MainWindow::connectDialog()
{
    QStringList recent = QSettings().value(QStringLiteral("remote/recent")).toStringList();
    if (recent.isEmpty())
        recent.append(QStringLiteral("127.0.0.1:9100"));
    bool ok = false;
    const QString text = QInputDialog::getItem(
        this, tr("Connect to herd"),
        tr("Status endpoint of any node of the herd (host:port or http://host:port/):"),
        recent, 0, true, &ok);
    if (!ok || text.trimmed().isEmpty())
        return;
    const QUrl url = RemoteHerd::endpointUrl(text);
    if (!url.isValid()) {
        QMessageBox::warning(this, tr("Connect to herd"),
                             tr("%1 is not a status endpoint address (expected host:port or http://host:port/)").arg(text));
        return;
    }
    connectRemote(url);
}

void MainWindow::updateConsoleTargets(const QList<NodeStats> &stats)
{
    // The config's address of every node, with the port it actually bound where known
    // (port 0 in the config means "any free port").
    QList<QPair<QString, QPair<QString, quint16>>> targets;
    for (const NodeConfig &n : m_config.nodes) {
        quint16 port = n.port;
        for (const NodeStats &s : stats) {
            if (s.name == n.name && s.port)
                port = s.port;
        }
        targets.append({n.name, {n.host, port}});
    }
    m_console->setNodes(targets);
}

bool MainWindow::openConfigFile(const QString &fileName)
{
    QString error;
    const auto config = HerdConfig::load(fileName, &error);
    if (!config) {
        QMessageBox::warning(this, tr("Cannot open herd config"), error);
        return false;
    }
    loadHerd(*config);
    setWindowFilePath(fileName);
    QSettings().setValue(QStringLiteral("files/lastConfig"), fileName);
    return true;
}

void MainWindow::openConfigDialog()
{
    const QString last = QSettings().value(QStringLiteral("files/lastConfig")).toString();
    const QString file = QFileDialog::getOpenFileName(this, tr("Open herd config"), last,
                                                      tr("Herd configs (*.json);;All files (*)"));
    if (!file.isEmpty())
        openConfigFile(file);
}

void MainWindow::applyBatch(const MonitorBatchPtr &batch)
{
    // Everything a batch changes, applied in one pass; then the network side may send the next.
    m_nodeModel->applyStats(batch->stats);
    m_linkModel->applyStats(batch->stats);
    m_topology->applyStats(batch->stats);
    if (!batch->stored.isEmpty())
        m_clientModel->applyStored(batch->stored);
    if (!batch->hops.isEmpty())
        m_topology->addHops(batch->hops);
    if (!batch->hops.isEmpty() || batch->hopsDropped > 0)
        m_propagation->addHops(batch->hops, batch->hopsDropped, batch->timeUs);
    if (!batch->traffic.isEmpty() || batch->trafficDropped)
        m_traffic->appendBatch(batch->traffic, batch->trafficDropped);

    // Ports bound to 0 in the config become known once nodes listen: tell the console.
    bool portsChanged = m_lastStats.size() != batch->stats.size();
    for (qsizetype i = 0; !portsChanged && i < batch->stats.size(); ++i)
        portsChanged = batch->stats[i].port != m_lastStats[i].port;
    if (portsChanged)
        updateConsoleTargets(batch->stats);
    m_lastStats = batch->stats;
    updateStatus(*batch);
    if (!m_selectedNode.isEmpty())
        showNodeDetails(m_selectedNode);
    if (m_source)
        m_source->batchApplied();
    Q_EMIT batchShown(batch);
}

void MainWindow::updateStatus(const MonitorBatch &batch)
{
    int running = 0;
    int linksUp = 0;
    int links = 0;
    quint64 lines = 0;
    for (const NodeStats &s : batch.stats) {
        running += s.running ? 1 : 0;
        lines += s.linesIn + s.linesOut;
        for (const LinkInfo &l : s.links) {
            ++links;
            linksUp += l.up ? 1 : 0;
        }
    }
    // Messages per second over at least half a second, so the number is readable.
    if (m_lastRateUs == 0) {
        m_lastRateUs = batch.timeUs;
        m_lastRateLines = lines;
    } else if (batch.timeUs - m_lastRateUs >= 500'000) {
        const double seconds = double(batch.timeUs - m_lastRateUs) / 1e6;
        m_linesPerSecond = lines >= m_lastRateLines ? double(lines - m_lastRateLines) / seconds : 0;
        m_lastRateUs = batch.timeUs;
        m_lastRateLines = lines;
    }
    m_statusNodes->setText(tr("Nodes %1/%2").arg(running).arg(batch.stats.size()));
    m_statusLinks->setText(tr("Links %1/%2 up").arg(linksUp).arg(links));
    m_statusClients->setText(tr("Clients %1").arg(m_clientModel->clientCount()));
    m_statusRate->setText(tr("%1 msg/s").arg(qRound64(m_linesPerSecond)));
}

void MainWindow::showNodeDetails(const QString &node)
{
    m_selectedNode = node;
    if (node.isEmpty()) {
        m_nodeDetails->setText(tr("Select a node in the topology to see its details."));
        return;
    }
    for (const NodeStats &s : std::as_const(m_lastStats)) {
        if (s.name != node)
            continue;
        int up = 0;
        for (const LinkInfo &l : s.links)
            up += l.up ? 1 : 0;
        const qint64 uptime = s.running && s.startedAtMs ? QDateTime::currentMSecsSinceEpoch() - s.startedAtMs : 0;
        m_nodeDetails->setText(
            tr("<b>%1</b> — %2<br>port %3 · uptime %4<br>clients known %5 · connections %6<br>"
               "lines in %7 · out %8 · invalid %9<br>links %10/%11 up · floods out %12 · in %13 · duplicates %14")
                .arg(s.name, s.running ? tr("running") : tr("stopped"))
                .arg(s.port).arg(s.running ? formatDuration(uptime) : tr("–"))
                .arg(s.clientsKnown).arg(s.clientConnections)
                .arg(s.linesIn).arg(s.linesOut).arg(s.invalid)
                .arg(up).arg(s.links.size()).arg(s.floodsSent).arg(s.floodsReceived).arg(s.duplicatesDropped));
        return;
    }
    m_nodeDetails->setText(tr("<b>%1</b> is not hosted in this process.").arg(node));
}

void MainWindow::toggleNode(const QString &node)
{
    if (!m_source || !m_source->controlUnavailableReason().isEmpty())
        return;
    for (const NodeStats &s : std::as_const(m_lastStats)) {
        if (s.name == node) {
            if (s.running)
                m_source->stopNode(node);
            else
                m_source->startNode(node);
            return;
        }
    }
}

void MainWindow::setAllNodesRunning(bool running)
{
    if (!m_source || !m_source->controlUnavailableReason().isEmpty())
        return;
    for (const NodeStats &s : std::as_const(m_lastStats)) {
        if (running && !s.running)
            m_source->startNode(s.name);
        else if (!running && s.running)
            m_source->stopNode(s.name);
    }
}

void MainWindow::saveTopologyPicture()
{
    const QString file = QFileDialog::getSaveFileName(this, tr("Save topology picture"), QStringLiteral("herd-topology.png"),
                                                      tr("PNG image (*.png);;SVG drawing (*.svg)"));
    if (!file.isEmpty() && !m_topology->savePicture(file))
        QMessageBox::warning(this, tr("herd"), tr("Cannot save %1").arg(file));
}

void MainWindow::exportTraffic(bool json)
{
    const QString file = QFileDialog::getSaveFileName(this, tr("Export traffic"),
                                                      json ? QStringLiteral("herd-traffic.jsonl") : QStringLiteral("herd-traffic.csv"),
                                                      json ? tr("JSON Lines (*.jsonl)") : tr("CSV (*.csv)"));
    if (file.isEmpty())
        return;
    const bool ok = json ? m_traffic->exportJsonLines(file) : m_traffic->exportCsv(file);
    if (!ok)
        QMessageBox::warning(this, tr("herd"), tr("Cannot write %1").arg(file));
}

void MainWindow::applyDarkPalette(bool dark)
{
    QSettings().setValue(QStringLiteral("view/dark"), dark);
    if (!dark) {
        qApp->setPalette(qApp->style()->standardPalette());
        return;
    }
    qApp->setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    QPalette p;
    const QColor window(0x2b, 0x2d, 0x30), base(0x1e, 0x1f, 0x22), text(0xdf, 0xe1, 0xe5);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, window);
    p.setColor(QPalette::ToolTipBase, base);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, window);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::red);
    p.setColor(QPalette::Highlight, QColor(0x3d, 0x6f, 0xb6));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Link, QColor(0x6c, 0xa8, 0xff));
    p.setColor(QPalette::Disabled, QPalette::Text, QColor(0x80, 0x80, 0x80));
    p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(0x80, 0x80, 0x80));
    qApp->setPalette(p);
}

void MainWindow::restoreSettings()
{
    QSettings settings;
    restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    if (!settings.contains(QStringLiteral("window/geometry")))
        resize(1400, 900);
    const bool dark = settings.value(QStringLiteral("view/dark"), false).toBool();
    m_darkAction->setChecked(dark);
}

void MainWindow::saveSettings() const
{
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    saveSettings();
    event->accept();
}

} // namespace herd
