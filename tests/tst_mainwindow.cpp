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

QTEST_MAIN(tst_MainWindow)
#include "tst_mainwindow.moc"
