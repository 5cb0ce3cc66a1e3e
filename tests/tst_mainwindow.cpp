// The whole monitor, offscreen, on a real in-process herd (its own network thread): the views
// agree with the nodes, the console reaches them over TCP, pause holds only the view.
#include "testherds.h"
#include "clienttablemodel.h"
#include "consolewidget.h"
#include "herdhost.h"
#include "linktablemodel.h"
#include "mainwindow.h"
#include "mapview.h"
#include "topologyitems.h"
#include "topologyview.h"
#include "trafficinspector.h"
#include "trafficmodel.h"
#include "herdsource.h"
#include "nodetablemodel.h"
#include "propagation.h"

#include <QApplication>
#include <QDockWidget>
#include <QFile>
#include <QLineEdit>
#include <QTableView>
#include <QJsonDocument>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QTcpServer>

#include <QDir>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QLineEdit>
#include <QTableView>
#include <QTest>

using herd::HerdConfig;
using herd::NodeConfig;

using herdtest::classicHerd;

namespace {

QString linkState(const herd::LinkTableModel *model, const QString &node, const QString &peer)
{
    return model->indexOf(node, peer, herd::LinkTableModel::State).data().toString();
}

QString labelText(const QWidget *window, const char *name)
{
    const auto *label = window->findChild<QLabel *>(QString::fromLatin1(name));
    return label ? label->text() : QStringLiteral("(no label %1)").arg(QString::fromLatin1(name));
}

int nodeRow(const herd::NodeTableModel *model, const QString &node)
{
    for (int r = 0; r < model->rowCount(); ++r)
        if (model->index(r, herd::NodeTableModel::Name).data().toString() == node)
            return r;
    return -1;
}

// A source the test feeds by hand: batches with whatever stats and times the test makes up.
class HandSource final : public herd::HerdSource {
public:
    explicit HandSource(herd::HerdConfig config) : m_config(std::move(config)) {}
    void start() override { Q_EMIT herdKnown(m_config, m_config.nodeNames()); }
    void shutdown() override {}
    void batchApplied() override { ++applied; }
    QString description() const override { return QStringLiteral("hand-fed herd"); }
    void send(const herd::MonitorBatch &batch) { Q_EMIT batchReady(std::make_shared<const herd::MonitorBatch>(batch)); }
    int applied = 0;

private:
    herd::HerdConfig m_config;
};

} // namespace

class tst_MainWindow : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void stoppedNodeShowsDownEverywhere();
    void consoleReachesTheNodeAndTheClientAppears();
    void pauseHoldsOnlyTheView();
    void screenshotsOfTheMainViews();
    void openingAHerdWhosePortIsTakenKeepsTheRunningOne();
    void aNodeThatCannotStartSaysWhy();
    void switchingHerdsResetsEveryView();
    void failedConnectDoesNotClaimAttached();
    void messageRateIsSteadyWhenCountersMoveInSteps();
    void selectionIsSharedByTopologyTableAndConsole();
    void nodeAndLinkTablesSortAndSearch();
    void darkPalettePlaceholderIsReadable();
    void helpAndResetLayout();

private:
    bool waitAllLinksUp()
    {
        return QTest::qWaitFor([this] {
            const auto *m = m_window->linkModel();
            if (m->rowCount() != 12)
                return false;
            for (int r = 0; r < m->rowCount(); ++r)
                if (!m->index(r, 0).data(herd::LinkTableModel::UpRole).toBool())
                    return false;
            return true;
        }, 10000);
    }

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<herd::MainWindow> m_window;
};

void tst_MainWindow::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);   // settings go to a test location, not the user's
}

void tst_MainWindow::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    m_window = std::make_unique<herd::MainWindow>();
    m_window->resize(1400, 900);
    m_window->show();
    m_window->loadHerd(classicHerd(m_dir->filePath(QStringLiteral("logs"))));
    QVERIFY2(waitAllLinksUp(), "the links table should show 12 links up");
}

void tst_MainWindow::cleanup()
{
    m_window.reset();
    m_dir.reset();
}

void tst_MainWindow::stoppedNodeShowsDownEverywhere()
{
    herd::TopologyView *topo = m_window->topology();
    QTRY_COMPARE(topo->edgeItem(QStringLiteral("Hill"), QStringLiteral("Smith"))->state(), herd::EdgeState::Up);
    m_window->host()->stopNode(QStringLiteral("Smith"));
    for (const char *peer : {"Hill", "Campbell", "Singleton"}) {
        QTRY_COMPARE(topo->edgeItem(QStringLiteral("Smith"), QString::fromLatin1(peer))->state(), herd::EdgeState::Down);
        QTRY_COMPARE(linkState(m_window->linkModel(), QString::fromLatin1(peer), QStringLiteral("Smith")),
                     QStringLiteral("down"));
    }
    QTRY_COMPARE(topo->nodeItem(QStringLiteral("Smith"))->state(), herd::NodeState::Stopped);
    QCOMPARE(topo->edgeItem(QStringLiteral("Hill"), QStringLiteral("Jaquez"))->state(), herd::EdgeState::Up);
    // Started again, its links come back.
    m_window->host()->startNode(QStringLiteral("Smith"));
    QTRY_COMPARE_WITH_TIMEOUT(topo->edgeItem(QStringLiteral("Smith"), QStringLiteral("Hill"))->state(),
                              herd::EdgeState::Up, 10000);
    QTRY_COMPARE(linkState(m_window->linkModel(), QStringLiteral("Hill"), QStringLiteral("Smith")), QStringLiteral("up"));
}

void tst_MainWindow::consoleReachesTheNodeAndTheClientAppears()
{
    herd::ConsoleWidget *console = m_window->console();
    QSignalSpy replies(console, &herd::ConsoleWidget::replyReceived);
    // Ports were 0 in the config: the console learned the bound ones from the batches.
    console->selectNode(QStringLiteral("Campbell"));
    console->sendCommand(QStringLiteral("IAMAT ui-phone -33.8688+151.2093 1621464827.5"));
    QVERIFY(replies.count() > 0 || replies.wait(10000));
    const QByteArray reply = replies.at(0).at(1).toByteArray();
    QVERIFY2(reply.startsWith("AT Campbell "), reply.constData());
    QTRY_VERIFY(console->transcript().contains(QStringLiteral("AT Campbell")));
    // The update floods to all five nodes: the table says so, and the map shows a dot.
    const herd::ClientTableModel *clients = m_window->clientModel();
    QTRY_VERIFY(clients->indexOfClient("ui-phone").isValid());
    QTRY_COMPARE(clients->indexOfClient("ui-phone", herd::ClientTableModel::Holders).data().toString(),
                 QStringLiteral("5/5"));
    QCOMPARE(clients->indexOfClient("ui-phone", herd::ClientTableModel::Origin).data().toString(),
             QStringLiteral("Campbell"));
    QTRY_VERIFY(m_window->map()->dotCount() >= 1);
    // Double-clicking the client's row zooms the map to it.
    auto *table = m_window->findChild<QTableView *>(QStringLiteral("clientTable"));
    QVERIFY(table);
    const QModelIndex row = clients->indexOfClient("ui-phone", herd::ClientTableModel::Location);
    QVERIFY(table->visualRect(row).isValid());
    QSignalSpy doubleClicked(table, &QAbstractItemView::doubleClicked);
    // As a user's double-click arrives: a click, then the double-click.
    QTest::mouseClick(table->viewport(), Qt::LeftButton, {}, table->visualRect(row).center());
    QTest::mouseDClick(table->viewport(), Qt::LeftButton, {}, table->visualRect(row).center());
    QCOMPARE(doubleClicked.count(), 1);
    const herd::MapView *map = m_window->map();
    QVERIFY2(map->height() / map->pixelsPerDegree() <= 1.0 + 1e-9, qPrintable(QString::number(map->zoomFactor())));
    const QPointF phone = map->project(-33.8688, 151.2093);
    QVERIFY2(qAbs(phone.x() - map->width() / 2.0) < 1 && qAbs(phone.y() - map->height() / 2.0) < 1,
             qPrintable(QStringLiteral("%1,%2").arg(phone.x()).arg(phone.y())));
    // The filter box narrows the table (and the map) to matching clients.
    auto *filter = m_window->findChild<QLineEdit *>(QStringLiteral("clientTableFilter"));
    QVERIFY(filter);
    filter->setText(QStringLiteral("no such client"));
    QCOMPARE(clients->rowCount(), 0);
    QTRY_COMPARE(m_window->map()->dotCount(), 0);
    filter->setText(QStringLiteral("CAMPBELL"));   // the origin node
    QCOMPARE(clients->rowCount(), 1);
    filter->clear();
    // WHATSAT from another node: pretty JSON in the console, same first line.
    replies.clear();
    console->selectNode(QStringLiteral("Hill"));
    console->sendCommand(QStringLiteral("WHATSAT ui-phone 5 2"));
    QVERIFY(replies.count() > 0 || replies.wait(10000));
    QVERIFY(replies.at(0).at(1).toByteArray().startsWith(reply.trimmed() + "\n{"));
}

void tst_MainWindow::pauseHoldsOnlyTheView()
{
    herd::TrafficInspector *traffic = m_window->traffic();
    QTRY_VERIFY(traffic->model()->rowCount() > 0);   // heartbeats and handshakes at least
    traffic->setPaused(true);
    const int frozen = traffic->model()->rowCount();
    m_window->console()->sendCommand(QStringLiteral("IAMAT paused-client +1+2 1"));
    QTRY_VERIFY(traffic->newWhilePaused() > 0);
    QTRY_VERIFY(m_window->clientModel()->indexOfClient("paused-client").isValid());   // nodes kept going
    QCOMPARE(traffic->model()->rowCount(), frozen);
    traffic->setPaused(false);
    QTRY_VERIFY(traffic->model()->rowCount() > frozen);
    bool found = false;
    for (int r = 0; r < traffic->model()->rowCount() && !found; ++r)
        found = traffic->model()->index(r, herd::TrafficModel::Text).data().toString().contains(QStringLiteral("paused-client"));
    QVERIFY2(found, "the rows that arrived while paused are shown after resume");
}

void tst_MainWindow::screenshotsOfTheMainViews()
{
    // Renders each main view; HERD_SCREENSHOT_DIR keeps them (the README picture comes from
    // `herd --demo --screenshot FILE`).
    m_window->console()->sendCommand(QStringLiteral("IAMAT shot +34.068930-118.445127 1621464827.959498503"));
    QTRY_VERIFY(m_window->clientModel()->indexOfClient("shot").isValid());
    const QString dir = qEnvironmentVariableIsSet("HERD_SCREENSHOT_DIR")
        ? qEnvironmentVariable("HERD_SCREENSHOT_DIR") : m_dir->path();
    const QList<QPair<QString, QWidget *>> views = {
        {QStringLiteral("window"), m_window.get()},
        {QStringLiteral("topology"), m_window->topology()},
        {QStringLiteral("map"), m_window->map()},
        {QStringLiteral("traffic"), m_window->traffic()},
        {QStringLiteral("console"), m_window->console()},
    };
    for (const auto &[name, widget] : views) {
        const QPixmap picture = widget->grab();
        QVERIFY2(!picture.isNull() && picture.width() > 50, qPrintable(name));
        QVERIFY(picture.save(QDir(dir).filePath(QStringLiteral("herd-%1.png").arg(name))));
    }
}

void tst_MainWindow::openingAHerdWhosePortIsTakenKeepsTheRunningOne()
{
    // Another program holds a port the new config wants.
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress(QStringLiteral("127.0.0.1")), 0));
    HerdConfig other = herdtest::lineOfThree(QString());
    other.nodes[1].port = squatter.serverPort();   // Jaquez cannot listen
    const QString file = m_dir->filePath(QStringLiteral("busy.json"));
    {
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QJsonDocument(other.toJson()).toJson());
    }
    QSignalSpy loaded(m_window.get(), &herd::MainWindow::herdLoaded);
    QSignalSpy errors(m_window.get(), &herd::MainWindow::errorShown);
    QVERIFY(m_window->openConfigFile(file));
    QVERIFY(loaded.count() > 0 || loaded.wait(10000));
    QCOMPARE(loaded.at(0).at(0).toBool(), false);
    QCOMPARE(errors.count(), 1);
    const QString error = errors.at(0).at(0).toString();
    QVERIFY2(error.contains(QStringLiteral("Jaquez")) && error.contains(QString::number(squatter.serverPort())), qPrintable(error));
    // The five nodes still run and are still shown, links up.
    QCOMPARE(m_window->nodeModel()->rowCount(), 5);
    QVERIFY(waitAllLinksUp());
    QTRY_COMPARE(labelText(m_window.get(), "statusNodes"), QStringLiteral("Nodes 5/5"));

    // The user chooses to stop the running herd and try again: it fails again, and says why,
    // also in the details of the node that could not listen.
    auto *box = m_window->findChild<QMessageBox *>(QStringLiteral("herdErrorDialog"));
    QVERIFY(box);
    QPushButton *retry = nullptr;
    for (QAbstractButton *b : box->buttons())
        if (b->text().contains(QStringLiteral("try again")))
            retry = qobject_cast<QPushButton *>(b);
    QVERIFY(retry);
    loaded.clear();
    retry->click();
    QVERIFY(loaded.count() > 0 || loaded.wait(10000));
    QCOMPARE(loaded.at(0).at(0).toBool(), false);
    QTRY_COMPARE(m_window->nodeModel()->rowCount(), 3);
    m_window->topology()->selectNode(QStringLiteral("Jaquez"));
    QTRY_VERIFY2(m_window->nodeDetailsText().contains(QStringLiteral("Could not start")), qPrintable(m_window->nodeDetailsText()));
    QVERIFY(m_window->nodeDetailsText().contains(QString::number(squatter.serverPort())));
    m_window->topology()->selectNode(QStringLiteral("Hill"));
    QTRY_VERIFY2(m_window->nodeDetailsText().contains(QStringLiteral("the herd did not start")), qPrintable(m_window->nodeDetailsText()));
}

void tst_MainWindow::aNodeThatCannotStartSaysWhy()
{
    const herd::NodeTableModel *nodes = m_window->nodeModel();
    const int row = nodeRow(nodes, QStringLiteral("Smith"));
    QVERIFY(row >= 0);
    const quint16 port = quint16(nodes->index(row, herd::NodeTableModel::Port).data().toUInt());
    QVERIFY(port != 0);
    m_window->host()->stopNode(QStringLiteral("Smith"));
    QTRY_COMPARE(nodes->index(row, herd::NodeTableModel::State).data().toString(), QStringLiteral("stopped"));
    QTcpServer squatter;   // takes Smith's port while it is down
    QVERIFY(squatter.listen(QHostAddress(QStringLiteral("127.0.0.1")), port));
    QSignalSpy errors(m_window.get(), &herd::MainWindow::errorShown);
    m_window->host()->startNode(QStringLiteral("Smith"));
    QVERIFY(errors.count() > 0 || errors.wait(10000));
    QVERIFY2(errors.at(0).at(0).toString().contains(QStringLiteral("Smith")), qPrintable(errors.at(0).at(0).toString()));
    m_window->topology()->selectNode(QStringLiteral("Smith"));
    QTRY_VERIFY2(m_window->nodeDetailsText().contains(QStringLiteral("Could not start")), qPrintable(m_window->nodeDetailsText()));
    // Once the port is free, a start works and the error is gone.
    squatter.close();
    m_window->host()->startNode(QStringLiteral("Smith"));
    QTRY_COMPARE_WITH_TIMEOUT(nodes->index(row, herd::NodeTableModel::State).data().toString(), QStringLiteral("running"), 10000);
    QTRY_VERIFY(!m_window->nodeDetailsText().contains(QStringLiteral("Could not start")));
}

void tst_MainWindow::switchingHerdsResetsEveryView()
{
    m_window->console()->selectNode(QStringLiteral("Hill"));
    m_window->console()->sendCommand(QStringLiteral("IAMAT before-switch +10+20 1621464827.5"));
    QTRY_VERIFY(m_window->clientModel()->indexOfClient("before-switch").isValid());
    QTRY_VERIFY(m_window->propagation()->store().size() > 0);
    QTRY_COMPARE(labelText(m_window.get(), "statusClients"), QStringLiteral("Clients 1"));
    QVERIFY(m_window->traffic()->model()->rowCount() > 0);

    QSignalSpy loaded(m_window.get(), &herd::MainWindow::herdLoaded);
    m_window->loadHerd(herdtest::singleNode(QString()), {}, m_dir->filePath(QStringLiteral("single.json")));
    QVERIFY(loaded.count() > 0 || loaded.wait(10000));
    QCOMPARE(loaded.at(0).at(0).toBool(), true);
    QCOMPARE(m_window->propagation()->store().size(), 0);
    QVERIFY(!m_window->clientModel()->indexOfClient("before-switch").isValid());
    for (int r = 0; r < m_window->traffic()->model()->rowCount(); ++r)
        QCOMPARE(m_window->traffic()->model()->row(r).node, QStringLiteral("Hill"));   // none of the old herd's rows
    QTRY_COMPARE(labelText(m_window.get(), "statusNodes"), QStringLiteral("Nodes 1/1"));
    QCOMPARE(labelText(m_window.get(), "statusClients"), QStringLiteral("Clients 0"));
    QCOMPARE(m_window->nodeModel()->rowCount(), 1);
    QVERIFY2(m_window->windowTitle().contains(QStringLiteral("single.json")), qPrintable(m_window->windowTitle()));
}

void tst_MainWindow::failedConnectDoesNotClaimAttached()
{
    QTcpServer closed;
    QVERIFY(closed.listen(QHostAddress(QStringLiteral("127.0.0.1")), 0));
    const quint16 port = closed.serverPort();
    closed.close();   // nobody answers there
    QSignalSpy problems(m_window.get(), &herd::MainWindow::sourceProblem);
    m_window->connectRemote(QUrl(QStringLiteral("http://127.0.0.1:%1/").arg(port)));
    QVERIFY(!m_window->windowTitle().contains(QStringLiteral("attached to")));
    QCOMPARE(labelText(m_window.get(), "statusNodes"), QStringLiteral("Nodes –"));   // not the old herd's 5/5
    QCOMPARE(labelText(m_window.get(), "statusClients"), QStringLiteral("Clients –"));
    QCOMPARE(m_window->linkModel()->rowCount(), 0);
    QVERIFY(problems.count() > 0 || problems.wait(10000));
    QVERIFY2(m_window->windowTitle().contains(QStringLiteral("not attached")), qPrintable(m_window->windowTitle()));
    QVERIFY(!m_window->windowTitle().contains(QStringLiteral("attached to")));
}

void tst_MainWindow::messageRateIsSteadyWhenCountersMoveInSteps()
{
    // A remote node reports its counters about once a second when idle: 94 heartbeat lines
    // arrive as one step per second, while batches come 30 times a second.
    auto source = std::make_unique<HandSource>(herdtest::singleNode(QString()));
    HandSource *hand = source.get();
    m_window->attachSource(std::move(source));
    const qint64 t0 = 1'700'000'000'000'000;
    QStringList shown;
    for (int i = 0; i < 300; ++i) {   // ten seconds of batches
        herd::MonitorBatch batch;
        batch.timeUs = t0 + qint64(i) * 33'333;
        herd::NodeStats s;
        s.name = QStringLiteral("Hill");
        s.running = true;
        s.linesIn = quint64(94 * (i / 30));
        batch.stats = {s};
        hand->send(batch);
        if (i >= 90)   // after three seconds
            shown << labelText(m_window.get(), "statusRate");
    }
    QCOMPARE(hand->applied, 300);
    for (const QString &text : std::as_const(shown)) {
        const int rate = text.section(QLatin1Char(' '), 0, 0).toInt();
        QVERIFY2(rate >= 85 && rate <= 105, qPrintable(shown.join(QStringLiteral(", "))));
    }
}

void tst_MainWindow::selectionIsSharedByTopologyTableAndConsole()
{
    herd::TopologyView *topo = m_window->topology();
    QTableView *table = m_window->nodeTable();
    const auto currentName = [table] {
        return table->currentIndex().siblingAtColumn(herd::NodeTableModel::Name).data().toString();
    };
    topo->selectNode(QStringLiteral("Campbell"));
    QCOMPARE(currentName(), QStringLiteral("Campbell"));
    QCOMPARE(m_window->console()->selectedNode(), QStringLiteral("Campbell"));
    QVERIFY(m_window->nodeDetailsText().startsWith(QStringLiteral("Campbell")));
    // The other way: a row picked in the table moves the ring (the old one goes) and the console.
    QModelIndex hill;
    for (int r = 0; r < table->model()->rowCount(); ++r)
        if (table->model()->index(r, herd::NodeTableModel::Name).data().toString() == QStringLiteral("Hill"))
            hill = table->model()->index(r, herd::NodeTableModel::Name);
    QVERIFY(hill.isValid());
    table->selectionModel()->setCurrentIndex(hill, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    QCOMPARE(topo->selectedNode(), QStringLiteral("Hill"));
    QVERIFY(!topo->nodeItem(QStringLiteral("Campbell"))->isSelected());
    QCOMPARE(m_window->console()->selectedNode(), QStringLiteral("Hill"));
    QVERIFY(m_window->nodeDetailsText().startsWith(QStringLiteral("Hill")));
}

void tst_MainWindow::nodeAndLinkTablesSortAndSearch()
{
    QAbstractItemModel *nodes = m_window->nodeTable()->model();
    QCOMPARE(nodes->rowCount(), 5);
    m_window->nodeTable()->sortByColumn(herd::NodeTableModel::Name, Qt::AscendingOrder);
    QCOMPARE(nodes->index(0, herd::NodeTableModel::Name).data().toString(), QStringLiteral("Campbell"));
    QCOMPARE(nodes->index(4, herd::NodeTableModel::Name).data().toString(), QStringLiteral("Smith"));
    m_window->nodeSearch()->setText(QStringLiteral("smi"));
    QCOMPARE(nodes->rowCount(), 1);
    QCOMPARE(nodes->index(0, herd::NodeTableModel::Name).data().toString(), QStringLiteral("Smith"));
    m_window->nodeSearch()->clear();
    QCOMPARE(nodes->rowCount(), 5);

    QAbstractItemModel *links = m_window->linkTable()->model();
    QCOMPARE(links->rowCount(), 12);
    m_window->linkSearch()->setText(QStringLiteral("singleton"));   // either end, any case
    QCOMPARE(links->rowCount(), 6);
    m_window->linkTable()->sortByColumn(herd::LinkTableModel::Peer, Qt::DescendingOrder);
    QCOMPARE(links->index(0, herd::LinkTableModel::Peer).data().toString(), QStringLiteral("Smith"));
    // Still live: the rows keep updating through the proxy.
    QTRY_COMPARE(links->index(0, herd::LinkTableModel::State).data().toString(), QStringLiteral("up"));
}

void tst_MainWindow::darkPalettePlaceholderIsReadable()
{
    herd::MainWindow::applyDarkPalette(true);
    const QPalette p = QApplication::palette();
    const QColor base = p.color(QPalette::Base);
    QColor hint = p.color(QPalette::PlaceholderText);
    // As drawn: blended over the base by its alpha.
    const double a = hint.alphaF();
    const double lightness = a * hint.lightnessF() + (1 - a) * base.lightnessF();
    herd::MainWindow::applyDarkPalette(false);
    QVERIFY2(lightness - base.lightnessF() > 0.3, qPrintable(QStringLiteral("placeholder %1 on base %2")
                                                               .arg(hint.name(QColor::HexArgb), base.name())));
}

void tst_MainWindow::helpAndResetLayout()
{
    // F1: the shortcuts and where the docs are, without blocking the window.
    QAction *help = nullptr;
    for (QAction *a : m_window->findChildren<QAction *>())
        if (a->shortcut() == QKeySequence(QKeySequence::HelpContents))
            help = a;
    QVERIFY(help);
    help->trigger();
    auto *box = m_window->findChild<QMessageBox *>(QStringLiteral("shortcutsDialog"));
    QVERIFY(box);
    QVERIFY2(box->text().contains(QStringLiteral("Console")) && box->text().contains(QStringLiteral("Fit topology")),
             qPrintable(box->text()));
    box->close();
    // A dock closed by the user comes back with View > Reset layout.
    auto *console = m_window->findChild<QDockWidget *>(QStringLiteral("consoleDock"));
    QVERIFY(console);
    console->close();
    QVERIFY(!console->isVisible());
    m_window->resetLayout();
    QVERIFY(console->isVisible());
}

QTEST_MAIN(tst_MainWindow)
#include "tst_mainwindow.moc"
