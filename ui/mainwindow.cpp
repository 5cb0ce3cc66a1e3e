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
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPalette>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QStyleFactory>
#include <QTableView>
#include <QTextDocument>
#include <QPushButton>
#include <QScopedValueRollback>
#include <QToolBar>
#include <QVBoxLayout>

namespace herd {

namespace {

// msg/s is the slope over this window: a node reports its counters in steps (a remote one
// about once a second when idle), and a shorter window would read 0 between two steps.
constexpr qint64 kRateWindowUs = 5'000'000;
constexpr qint64 kRateMinSpanUs = 1'000'000;

QTableView *makeTable(QAbstractItemModel *model, QWidget *parent)
{
    auto *view = new QTableView(parent);
    view->setModel(model);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setSelectionMode(QAbstractItemView::SingleSelection);
    view->horizontalHeader()->setStretchLastSection(true);
    view->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    view->horizontalHeader()->setResizeContentsPrecision(50);   // fitting columns reads 50 rows, not all
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

// A table with a search line above it: rows containing the text in any column, any case;
// click a header to sort (the proxy keeps sorting as the numbers change).
QWidget *searchableTable(QTableView *view, QAbstractItemModel *model, QSortFilterProxyModel **proxyOut,
                         QLineEdit **searchOut, const QString &placeholder, QWidget *parent)
{
    auto *proxy = new QSortFilterProxyModel(view);
    proxy->setSourceModel(model);
    proxy->setFilterKeyColumn(-1);
    proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    proxy->setSortCaseSensitivity(Qt::CaseInsensitive);
    view->setModel(proxy);
    view->setSortingEnabled(true);
    view->sortByColumn(-1, Qt::AscendingOrder);   // model order until a header is clicked
    auto *search = new QLineEdit(parent);
    search->setPlaceholderText(placeholder);
    search->setClearButtonEnabled(true);
    QObject::connect(search, &QLineEdit::textChanged, proxy, &QSortFilterProxyModel::setFilterFixedString);
    auto *pane = new QWidget(parent);
    auto *layout = new QVBoxLayout(pane);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addWidget(search);
    layout->addWidget(view, 1);
    *proxyOut = proxy;
    *searchOut = search;
    return pane;
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
    m_statusSource->setObjectName(QStringLiteral("statusSource"));
    m_statusNodes->setObjectName(QStringLiteral("statusNodes"));
    m_statusLinks->setObjectName(QStringLiteral("statusLinks"));
    m_statusClients->setObjectName(QStringLiteral("statusClients"));
    m_statusRate->setObjectName(QStringLiteral("statusRate"));
    m_statusNodes->setToolTip(tr("Hosted nodes running"));
    m_statusLinks->setToolTip(tr("Peer links up, as seen from the hosted nodes (each link counted once per end)"));
    m_statusClients->setToolTip(tr("Clients known to the herd"));
    m_statusRate->setToolTip(tr("Protocol lines in and out per second, all hosted nodes (over the last %1 s)")
                                 .arg(kRateWindowUs / 1'000'000));
    m_statusSource->setToolTip(tr("Where the herd shown runs"));
    for (QLabel *l : {m_statusSource, m_statusNodes, m_statusLinks, m_statusClients, m_statusRate})
        statusBar()->addPermanentWidget(l);

    connect(m_topology, &TopologyView::nodeSelected, this, &MainWindow::selectNode);
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
    connect(m_traffic, &TrafficInspector::propagationRequested, this, [this](const QByteArray &client) {
        if (m_propagation->showClient(client)) {
            if (auto *dock = findChild<QDockWidget *>(QStringLiteral("propagationDock"))) {
                dock->show();
                dock->raise();
            }
        } else {
            statusBar()->showMessage(tr("No flood of %1 recorded").arg(QString::fromUtf8(client)), 5000);
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
    m_defaultLayout = saveState();
    restoreSettings();
}

void MainWindow::resetLayout()
{
    restoreState(m_defaultLayout);
    for (QDockWidget *d : findChildren<QDockWidget *>())
        d->show();
    if (auto *clients = findChild<QDockWidget *>(QStringLiteral("clientsDock")))
        clients->raise();
}

void MainWindow::showShortcuts()
{
    QStringList rows;
    for (QAction *a : findChildren<QAction *>()) {
        if (a->shortcut().isEmpty() || a->text().isEmpty())
            continue;
        QString text = a->text();
        text.remove(QLatin1Char('&'));
        rows << QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>")
                    .arg(a->shortcut().toString(QKeySequence::NativeText).toHtmlEscaped(), text.toHtmlEscaped());
    }
    rows.sort();
    rows.removeDuplicates();
    auto *box = new QMessageBox(QMessageBox::Information, tr("herd: shortcuts and help"),
                                tr("<p>Send an IAMAT from the <b>Console</b> (or run <code>herd --demo</code>) and watch it "
                                   "flood: topology, map, traffic and propagation all follow. Right-click a node to "
                                   "start or stop it, a link to cut it.</p><table>%1</table>"
                                   "<p>Documentation: README.md and the docs/ folder (MONITOR.md: the views, the traffic "
                                   "filter language) next to the sources.</p>")
                                    .arg(rows.join(QString())),
                                QMessageBox::Close, this);
    box->setObjectName(QStringLiteral("shortcutsDialog"));
    box->setTextFormat(Qt::RichText);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

MainWindow::~MainWindow()
{
    if (m_pending)
        m_pending->shutdown();
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
    m_linkTable->setObjectName(QStringLiteral("linkTable"));
    QWidget *linksPane = searchableTable(m_linkTable, m_linkModel, &m_linkProxy, &m_linkSearch,
                                         tr("Search links (node, peer, state…)"), this);
    m_linkSearch->setObjectName(QStringLiteral("linkSearch"));
    auto *linksDock = dock(tr("Links"), QStringLiteral("linksDock"), linksPane, Qt::BottomDockWidgetArea);
    tabifyDockWidget(trafficDock, linksDock);

    auto *nodesPane = new QWidget(this);
    auto *nodesLayout = new QVBoxLayout(nodesPane);
    nodesLayout->setContentsMargins(0, 0, 0, 0);
    m_nodeTable = makeTable(m_nodeModel, nodesPane);
    m_nodeTable->setObjectName(QStringLiteral("nodeTable"));
    QWidget *nodeTablePane = searchableTable(m_nodeTable, m_nodeModel, &m_nodeProxy, &m_nodeSearch,
                                             tr("Search nodes (name, state, port…)"), nodesPane);
    m_nodeSearch->setObjectName(QStringLiteral("nodeSearch"));
    m_nodeDetails = new QLabel(tr("Select a node in the topology to see its details."), nodesPane);
    m_nodeDetails->setObjectName(QStringLiteral("nodeDetails"));
    m_nodeDetails->setWordWrap(true);
    m_nodeDetails->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_nodeDetails->setMargin(6);
    nodesLayout->addWidget(m_nodeDetails);
    nodesLayout->addWidget(nodeTablePane, 1);
    auto *nodesDock = dock(tr("Nodes"), QStringLiteral("nodesDock"), nodesPane, Qt::RightDockWidgetArea);
    connect(m_nodeTable->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex &current) {
        if (current.isValid())
            selectNode(current.siblingAtColumn(NodeTableModel::Name).data().toString());
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

    m_viewMenu->addSeparator();
    m_viewMenu->addAction(tr("&Reset layout"), this, &MainWindow::resetLayout);

    auto *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Keyboard shortcuts and help"), this, &MainWindow::showShortcuts)->setShortcut(QKeySequence::HelpContents);
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

void MainWindow::loadHerd(const HerdConfig &config, const QStringList &hosted, const QString &fileName)
{
    HerdConfig resolved = config;
    if (!m_filesDir.isEmpty()) {
        for (QString *dir : {&resolved.logDir, &resolved.stateDir}) {
            if (!dir->isEmpty() && QDir::isRelativePath(*dir))
                *dir = QDir::cleanPath(QDir(m_filesDir).filePath(*dir));
        }
    }
    if (host()) {
        startBeside(resolved, hosted, fileName);   // the running herd stays until this one listens
        return;
    }
    attach(std::make_unique<LocalHerdSource>(resolved, hosted), false, fileName);
}

void MainWindow::selectNode(const QString &node)
{
    if (m_selecting)
        return;   // our own changes below coming back
    const QScopedValueRollback guard(m_selecting, true);
    m_topology->selectNode(node);   // "" clears the ring
    QItemSelectionModel *rows = m_nodeTable->selectionModel();
    QModelIndex row;
    for (int r = 0; r < m_nodeProxy->rowCount() && !row.isValid(); ++r) {
        if (m_nodeProxy->index(r, NodeTableModel::Name).data().toString() == node)
            row = m_nodeProxy->index(r, NodeTableModel::Name);
    }
    if (row.isValid()) {
        rows->setCurrentIndex(row, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        m_nodeTable->scrollTo(row);
    } else {
        rows->clear();
    }
    if (!node.isEmpty())
        m_console->selectNode(node);
    showNodeDetails(node);
}

void MainWindow::attachSource(std::unique_ptr<HerdSource> source)
{
    attach(std::move(source));
}

void MainWindow::startBeside(const HerdConfig &config, const QStringList &hosted, const QString &fileName)
{
    if (m_pending) {   // a second Open while the first is still binding: the newer one wins
        m_pending->disconnect(this);
        m_pending->shutdown();
        m_pending.release()->deleteLater();
    }
    m_pendingBatches.clear();
    m_pendingConfig = config;
    m_pendingHosted = hosted;
    m_pendingShown = hosted.isEmpty() ? config.nodeNames() : hosted;
    m_pendingFile = fileName;
    auto source = std::make_unique<LocalHerdSource>(config, hosted);
    HerdSource *p = source.get();
    connect(p, &HerdSource::herdKnown, this, [this](const HerdConfig &known, const QStringList &shown) {
        m_pendingConfig = known;
        m_pendingShown = shown;
    });
    // Until batchApplied() the herd merges instead of sending more: at most one waits here.
    connect(p, &HerdSource::batchReady, this, [this](const MonitorBatchPtr &batch) { m_pendingBatches.append(batch); });
    connect(p, &HerdSource::running, this, [this, p] {
        if (m_pending.get() == p)
            adoptPending();
    });
    connect(p, &HerdSource::failed, this, [this, p](const QString &error) {
        if (m_pending.get() == p)
            pendingFailed(error);
    });
    m_pending = std::move(source);
    statusBar()->showMessage(tr("Starting the new herd beside the running one…"));
    p->start();
}

void MainWindow::adoptPending()
{
    std::unique_ptr<HerdSource> source = std::move(m_pending);
    source->disconnect(this);
    const QList<MonitorBatchPtr> batches = std::exchange(m_pendingBatches, {});
    const HerdConfig config = m_pendingConfig;
    const QStringList shown = m_pendingShown;
    statusBar()->clearMessage();
    attach(std::move(source), true, m_pendingFile);
    showHerd(config, shown);
    for (const MonitorBatchPtr &batch : batches)
        applyBatch(batch);
    Q_EMIT herdLoaded(true, {});
}

void MainWindow::pendingFailed(const QString &error)
{
    std::unique_ptr<HerdSource> source = std::move(m_pending);
    source->disconnect(this);
    source->shutdown();
    source.release()->deleteLater();   // it is emitting the signal we are in
    m_pendingBatches.clear();
    statusBar()->clearMessage();
    const HerdConfig config = m_pendingConfig;
    const QStringList hosted = m_pendingHosted;
    const QString file = m_pendingFile;
    const QString name = file.isEmpty() ? tr("The new herd") : tr("The herd in %1").arg(QFileInfo(file).fileName());
    showError(tr("Cannot start the herd"),
              tr("%1 could not start:\n%2\n\nThe herd running here keeps running. If it holds the ports the new "
                 "one needs, stop it and try again.").arg(name, error),
              tr("Stop the running herd and try again"),
              [this, config, hosted, file] { attach(std::make_unique<LocalHerdSource>(config, hosted), false, file); });
    Q_EMIT herdLoaded(false, error);
}

void MainWindow::showError(const QString &title, const QString &text, const QString &retryText, std::function<void()> retry)
{
    // Not modal: the window keeps showing the herd behind it, and nothing waits on the user.
    auto *box = new QMessageBox(QMessageBox::Warning, title, text, QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("herdErrorDialog"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    if (retry) {
        QPushButton *button = box->addButton(retryText, QMessageBox::AcceptRole);
        connect(button, &QPushButton::clicked, this, std::move(retry));
    }
    box->open();
    m_lastError = text;
    Q_EMIT errorShown(text);
}

void MainWindow::herdStartFailed(const QString &error)
{
    // A node's error starts with its name ("Hill: cannot listen on ..."): its details say why.
    m_herdError = error;
    for (const NodeConfig &n : m_config.nodes) {
        if (error.startsWith(n.name + QLatin1Char(':')))
            m_nodeErrors.insert(n.name, error);
    }
    showError(tr("Cannot start the herd"), tr("The herd could not start:\n%1").arg(error));
    if (!m_selectedNode.isEmpty())
        showNodeDetails(m_selectedNode);
    Q_EMIT herdLoaded(false, error);
}

void MainWindow::forgetNodeHoldings(const QString &node)
{
    // The clients table counts holders per node; drop this node's, keep everyone else's.
    if (!m_remoteHoldings.remove(node))
        return;
    m_clientModel->clear();
    QList<StoredUpdate> kept;
    for (const auto &held : std::as_const(m_remoteHoldings)) {
        for (const StoredUpdate &u : held)
            kept.append(u);
    }
    std::sort(kept.begin(), kept.end(), [](const StoredUpdate &a, const StoredUpdate &b) { return a.timeUs < b.timeUs; });
    if (!kept.isEmpty())
        m_clientModel->applyStored(kept);
}

void MainWindow::resetViews()
{
    // Nothing of the herd shown before may linger: tables, map, traffic, propagation, status.
    m_lastStats.clear();
    m_columnsFitted = false;
    m_rateSamples.clear();
    m_linesPerSecond = 0;
    m_nodeErrors.clear();
    m_herdError.clear();
    m_remoteHoldings.clear();
    m_clientModel->clear();
    m_propagation->clear();
    m_traffic->clear();
    showHerd(HerdConfig(), {});   // until the source says what it shows
    m_nodeModel->applyStats({});
    m_linkModel->applyStats({});
    m_topology->applyStats({});
    showNodeDetails({});
    m_statusNodes->setText(tr("Nodes –"));
    m_statusLinks->setText(tr("Links –"));
    m_statusClients->setText(tr("Clients –"));
    m_statusRate->setText(tr("– msg/s"));
}

void MainWindow::updateTitle()
{
    QString title;
    if (!m_source) {
        title = tr("herd monitor");
    } else if (isRemote()) {
        const QString what = m_source->description();
        if (m_attached)
            title = tr("herd monitor — attached to %1").arg(what);
        else if (!m_remoteError.isEmpty())
            title = tr("herd monitor — not attached: %1 unreachable").arg(what);
        else
            title = tr("herd monitor — connecting to %1…").arg(what);
        m_statusSource->setText(m_attached ? tr("Remote: %1").arg(what) : tr("Remote: %1 (not attached)").arg(what));
    } else {
        title = m_configFile.isEmpty() ? tr("herd monitor — in-process herd")
                                       : tr("herd monitor — %1").arg(QFileInfo(m_configFile).fileName());
        m_statusSource->setText(tr("In-process"));
    }
    setWindowTitle(title);
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
    if (m_pending) {   // a herd still binding beside the shown one is no longer wanted
        m_pending->disconnect(this);
        m_pending->shutdown();
        m_pending.reset();
    }
    attach(std::move(source));
}

void MainWindow::attach(std::unique_ptr<HerdSource> source, bool started, const QString &fileName)
{
    if (m_source)
        m_source->shutdown();
    m_source = std::move(source);
    m_configFile = fileName;
    m_attached = false;
    m_remoteError.clear();
    setWindowFilePath(fileName);
    resetViews();
    connect(m_source.get(), &HerdSource::herdKnown, this, [this](const HerdConfig &config, const QStringList &shown) {
        m_attached = true;
        m_remoteError.clear();
        showHerd(config, shown);
        updateTitle();
    });
    connect(m_source.get(), &HerdSource::batchReady, this, &MainWindow::applyBatch);
    connect(m_source.get(), &HerdSource::failed, this, &MainWindow::herdStartFailed);
    connect(m_source.get(), &HerdSource::running, this, [this] { Q_EMIT herdLoaded(true, {}); });
    connect(m_source.get(), &HerdSource::nodeStartFailed, this, [this](const QString &node, const QString &error) {
        m_nodeErrors.insert(node, error);
        showError(tr("Cannot start %1").arg(node), tr("%1 could not start:\n%2").arg(node, error));
        if (m_selectedNode == node)
            showNodeDetails(node);
    });
    connect(m_source.get(), &HerdSource::streamRestarted, this, &MainWindow::forgetNodeHoldings);
    connect(m_source.get(), &HerdSource::problem, this, [this](const QString &message) {
        statusBar()->showMessage(message, 10000);
        if (isRemote() && !m_attached) {
            m_remoteError = message;
            updateTitle();
        }
        Q_EMIT sourceProblem(message);
    });

    // Start/stop and cut/restore only where the nodes are ours; otherwise say why not.
    const QString unavailable = m_source->controlUnavailableReason();
    for (QAction *a : std::as_const(m_controlActions)) {
        a->setEnabled(unavailable.isEmpty());
        a->setToolTip(unavailable.isEmpty() ? a->data().toString() : unavailable);
    }
    m_topology->setControlsUnavailable(unavailable);
    m_attached = started;
    updateTitle();
    if (!started)
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
    loadHerd(*config, {}, fileName);
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
    if (!batch->stored.isEmpty()) {
        m_clientModel->applyStored(batch->stored);
        if (isRemote()) {
            for (const StoredUpdate &u : batch->stored)
                m_remoteHoldings[u.node].insert(u.client, u);
        }
    }
    for (const NodeStats &s : batch->stats) {
        if (s.running)
            m_nodeErrors.remove(s.name);
    }
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
    if (!m_columnsFitted && !batch->stats.isEmpty()) {
        // Columns as wide as what they show (the last one takes the rest), once per herd: later
        // the user's widths stay.
        m_columnsFitted = true;
        m_nodeTable->resizeColumnsToContents();
        m_linkTable->resizeColumnsToContents();
    }
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
    // Messages per second: the slope over the last few seconds, so counters that move in
    // steps (once a second for an idle remote node) read steady instead of 0 and double.
    // Counted between the moments the total changed, so steps read as their average rate.
    if (!m_rateSamples.empty() && (lines < m_rateSamples.back().second || batch.timeUs < m_rateSamples.back().first))
        m_rateSamples.clear();   // a node restarted (its counters began again): start over
    if (m_rateSamples.empty() || lines != m_rateSamples.back().second)
        m_rateSamples.emplace_back(batch.timeUs, lines);
    while (!m_rateSamples.empty() && batch.timeUs - m_rateSamples.front().first > kRateWindowUs)
        m_rateSamples.pop_front();
    if (m_rateSamples.size() < 2) {
        m_linesPerSecond = 0;   // at most one change in the whole window: idle
    } else {
        const qint64 span = m_rateSamples.back().first - m_rateSamples.front().first;
        if (span >= kRateMinSpanUs)
            m_linesPerSecond = double(m_rateSamples.back().second - m_rateSamples.front().second) * 1e6 / double(span);
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
    // Why it is not running, when a start failed: its own error, or the herd's.
    QString why;
    if (m_nodeErrors.contains(node))
        why = tr("<br><b>Could not start:</b> %1").arg(m_nodeErrors.value(node).toHtmlEscaped());
    else if (!m_herdError.isEmpty())
        why = tr("<br><b>Not started:</b> the herd did not start (%1)").arg(m_herdError.toHtmlEscaped());
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
                .arg(s.name, s.running ? tr("running") : s.reported ? tr("stopped") : tr("no stream"))
                .arg(s.port).arg(s.running ? formatDuration(uptime) : tr("–"))
                .arg(s.clientsKnown).arg(s.clientConnections)
                .arg(s.linesIn).arg(s.linesOut).arg(s.invalid)
                .arg(up).arg(s.links.size()).arg(s.floodsSent).arg(s.floodsReceived).arg(s.duplicatesDropped)
            + (s.running ? QString() : why));
        return;
    }
    m_nodeDetails->setText(tr("<b>%1</b> is not hosted in this process.").arg(node) + why);
}

QString MainWindow::nodeDetailsText() const
{
    QTextDocument doc;
    doc.setHtml(m_nodeDetails->text());
    return doc.toPlainText();
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
    if (!running && m_confirm && m_clientModel->rowCount() > 0
        && QMessageBox::question(this, tr("Stop all nodes"),
                                 tr("The herd holds %n client(s). Stop every node?", nullptr, m_clientModel->rowCount()))
               != QMessageBox::Yes)
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
    p.setColor(QPalette::PlaceholderText, QColor(0x9a, 0x9e, 0xa6));   // readable on `base`, dimmer than text
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
    if (m_confirm && host() && m_clientModel->rowCount() > 0
        && QMessageBox::question(this, tr("Quit herd"),
                                 tr("The herd hosted here holds %n client(s); quitting stops its nodes. Quit?", nullptr,
                                    m_clientModel->rowCount()))
               != QMessageBox::Yes) {
        event->ignore();
        return;
    }
    saveSettings();
    event->accept();
}

} // namespace herd
