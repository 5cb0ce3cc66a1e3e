// The monitor's table models fed by a real three-node herd (Hill–Jaquez–Smith) through the event
// stream, each watched by QAbstractItemModelTester: nodes, clients and links follow the herd.
#include "testherds.h"
#include "clienttablemodel.h"
#include "herd.h"
#include "linktablemodel.h"
#include "monitor.h"
#include "nodetablemodel.h"
#include "testclient.h"

#include <QAbstractItemModelTester>
#include <QBrush>
#include <QDateTime>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <utility>

using herd::ClientTableModel;
using herd::HerdConfig;
using herd::LinkTableModel;
using herd::NodeConfig;
using herd::NodeTableModel;
using herdtest::TestClient;

using herdtest::lineOfThree;

namespace {

const QString kHill = QStringLiteral("Hill");
const QString kJaquez = QStringLiteral("Jaquez");
const QString kSmith = QStringLiteral("Smith");
const QColor kGreen(0x2e, 0x7d, 0x32);
const QColor kRed(0xc6, 0x28, 0x28);
const QColor kGrey(0x75, 0x75, 0x75);

QString text(const QModelIndex &index)
{
    return index.data(Qt::DisplayRole).toString();
}

QColor foreground(const QModelIndex &index)
{
    return index.data(Qt::ForegroundRole).value<QBrush>().color();
}

herd::LinkInfo link(const QString &peer, bool up, qint64 rttUs = -1, qint64 lastChangeMs = 0)
{
    herd::LinkInfo l;
    l.peer = peer;
    l.up = up;
    l.liveness = up ? herd::Liveness::Alive : herd::Liveness::Down;
    l.stats.rttUs = rttUs;
    l.stats.lastChangeMs = lastChangeMs;
    return l;
}

herd::NodeStats node(const QString &name, QList<herd::LinkInfo> links)
{
    herd::NodeStats s;
    s.name = name;
    s.running = true;
    s.links = std::move(links);
    return s;
}

} // namespace

class tst_Models : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();
    void nodeAndLinkTablesFollowTheHerd();
    void clientTableCountsHolders();
    void linkTableUpdatesInPlace();

private:
    // Applies every batch that has arrived, acknowledging each like the GUI does, until `done`.
    template<typename Pred>
    bool applyUntil(Pred done, int timeoutMs = 10000)
    {
        return QTest::qWaitFor([&] {
            while (!m_batchSpy->isEmpty()) {
                const auto batch = m_batchSpy->takeFirst().at(0).value<herd::MonitorBatchPtr>();
                m_nodes->applyStats(batch->stats);
                m_links->applyStats(batch->stats);
                m_clients->applyStored(batch->stored);
                m_events->batchApplied();
                ++m_applied;
            }
            return done();
        }, timeoutMs);
    }

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<herd::Herd> m_herd;
    std::unique_ptr<herd::EventStream> m_events;
    std::unique_ptr<QSignalSpy> m_batchSpy;
    std::unique_ptr<NodeTableModel> m_nodes;
    std::unique_ptr<ClientTableModel> m_clients;
    std::unique_ptr<LinkTableModel> m_links;
    std::vector<std::unique_ptr<QAbstractItemModelTester>> m_testers;
    int m_applied = 0;
};

void tst_Models::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_nodes = std::make_unique<NodeTableModel>();
    m_clients = std::make_unique<ClientTableModel>();
    m_links = std::make_unique<LinkTableModel>();
    m_clients->setNodeCount(3);
    // Watching from the first (empty) state on: every reset, insert and change is checked.
    for (QAbstractItemModel *model : {static_cast<QAbstractItemModel *>(m_nodes.get()),
                                      static_cast<QAbstractItemModel *>(m_clients.get()),
                                      static_cast<QAbstractItemModel *>(m_links.get())}) {
        m_testers.push_back(std::make_unique<QAbstractItemModelTester>(
            model, QAbstractItemModelTester::FailureReportingMode::QtTest));
    }

    m_herd = std::make_unique<herd::Herd>(lineOfThree(m_dir->filePath(QStringLiteral("logs"))));
    herd::Herd *h = m_herd.get();
    m_events = std::make_unique<herd::EventStream>([h] { return h->stats(); });
    m_batchSpy = std::make_unique<QSignalSpy>(m_events.get(), &herd::EventStream::batchReady);
    m_herd->setEventStream(m_events.get());
    QVERIFY2(m_herd->start(), qPrintable(m_herd->lastError()));
    m_applied = 0;
    QVERIFY2(applyUntil([this] { return herdtest::allLinkRowsUp(*m_links, 4); }), "the four (node, peer) rows never all showed up");
}

void tst_Models::cleanup()
{
    m_herd.reset();     // first: nodes record into the stream while stopping
    m_batchSpy.reset();
    m_events.reset();
    m_testers.clear();
    m_links.reset();
    m_clients.reset();
    m_nodes.reset();
    m_dir.reset();
}

void tst_Models::nodeAndLinkTablesFollowTheHerd()
{
    // One row per hosted node, in config order, all running with their links up.
    QCOMPARE(m_nodes->rowCount(), 3);
    QCOMPARE(text(m_nodes->index(0, NodeTableModel::Name)), kHill);
    QCOMPARE(text(m_nodes->index(2, NodeTableModel::Name)), kSmith);
    QVERIFY(applyUntil([this] { return text(m_nodes->index(1, NodeTableModel::Links)) == QStringLiteral("2/2 up"); }));
    for (int row = 0; row < 3; ++row)
        QCOMPARE(text(m_nodes->index(row, NodeTableModel::State)), QStringLiteral("running"));
    QCOMPARE(m_nodes->index(2, NodeTableModel::Port).data().toInt(), int(m_herd->node(kSmith)->port()));

    // Each end of each link is its own row, named both ways.
    const QList<std::pair<QString, QString>> pairs = {{kHill, kJaquez}, {kJaquez, kHill}, {kJaquez, kSmith}, {kSmith, kJaquez}};
    for (const auto &[from, to] : pairs) {
        const QModelIndex state = m_links->indexOf(from, to, LinkTableModel::State);
        QVERIFY2(state.isValid(), qPrintable(from + QStringLiteral(" -> ") + to));
        QCOMPARE(text(state), QStringLiteral("up"));
        QCOMPARE(foreground(state), kGreen);
        QCOMPARE(state.data(LinkTableModel::NodeNameRole).toString(), from);
        QCOMPARE(state.data(LinkTableModel::PeerNameRole).toString(), to);
        QCOMPARE(text(state.siblingAtColumn(LinkTableModel::Node)), from);
        QCOMPARE(text(state.siblingAtColumn(LinkTableModel::Peer)), to);
        QCOMPARE(text(state.siblingAtColumn(LinkTableModel::TimesUp)), QStringLiteral("1"));
        QVERIFY(QRegularExpression(QStringLiteral("^\\d\\d:\\d\\d:\\d\\d$"))
                    .match(text(state.siblingAtColumn(LinkTableModel::LastChange))).hasMatch());
        const QString tip = state.siblingAtColumn(LinkTableModel::LastChange).data(Qt::ToolTipRole).toString();
        QVERIFY2(tip.startsWith(QDate::currentDate().toString(Qt::ISODate)) || tip.startsWith(QDate::currentDate().addDays(-1).toString(Qt::ISODate)),
                 qPrintable(tip));
    }
    QVERIFY(!m_links->indexOf(kHill, kSmith).isValid());   // not neighbours

    // Heartbeats flow: counts grow and an RTT appears, in ms with two decimals.
    const QModelIndex hillJaquez = m_links->indexOf(kHill, kJaquez);
    QVERIFY(applyUntil([&] {
        return hillJaquez.siblingAtColumn(LinkTableModel::AcksReceived).data().toULongLong() >= 2
            && text(hillJaquez.siblingAtColumn(LinkTableModel::Rtt)) != QStringLiteral("\u2013");
    }));
    QVERIFY2(QRegularExpression(QStringLiteral("^\\d+\\.\\d\\d$")).match(text(hillJaquez.siblingAtColumn(LinkTableModel::Rtt))).hasMatch(),
             qPrintable(text(hillJaquez.siblingAtColumn(LinkTableModel::Rtt))));
    QCOMPARE(text(hillJaquez.siblingAtColumn(LinkTableModel::Liveness)), QStringLiteral("alive"));

    // From here the rows stay: updates in place, at most one dataChanged per batch.
    QSignalSpy resets(m_links.get(), &QAbstractItemModel::modelReset);
    QSignalSpy inserts(m_links.get(), &QAbstractItemModel::rowsInserted);
    QSignalSpy changes(m_links.get(), &QAbstractItemModel::dataChanged);
    const int appliedBefore = m_applied;

    m_herd->stopNode(kSmith);
    const QModelIndex jaquezSmith = m_links->indexOf(kJaquez, kSmith, LinkTableModel::State);
    QVERIFY2(applyUntil([&] { return text(jaquezSmith) == QStringLiteral("down"); }), "Jaquez -> Smith never went down");
    QCOMPARE(foreground(jaquezSmith), kRed);
    QCOMPARE(jaquezSmith.data(LinkTableModel::UpRole).toBool(), false);
    QVERIFY(jaquezSmith.siblingAtColumn(LinkTableModel::TimesDown).data().toULongLong() >= 1);
    QVERIFY(applyUntil([this] { return text(m_links->indexOf(kSmith, kJaquez, LinkTableModel::State)) == QStringLiteral("down"); }));
    QCOMPARE(text(m_links->indexOf(kHill, kJaquez, LinkTableModel::State)), QStringLiteral("up"));
    QCOMPARE(m_links->rowCount(), 4);
    QCOMPARE(resets.count(), 0);
    QCOMPARE(inserts.count(), 0);
    QVERIFY2(changes.count() <= m_applied - appliedBefore,
             qPrintable(QStringLiteral("%1 dataChanged for %2 batches").arg(changes.count()).arg(m_applied - appliedBefore)));

    // The node table agrees.
    QVERIFY(applyUntil([this] { return text(m_nodes->index(2, NodeTableModel::State)) == QStringLiteral("stopped"); }));
    QCOMPARE(foreground(m_nodes->index(2, NodeTableModel::State)), kRed);
    QVERIFY(applyUntil([this] { return text(m_nodes->index(1, NodeTableModel::Links)) == QStringLiteral("1/2 up"); }));

    // Fault injection: a cut link shows as cut, in grey, on both ends.
    m_herd->setLinkCut(kHill, kJaquez, true);
    QVERIFY(applyUntil([this] {
        return text(m_links->indexOf(kHill, kJaquez, LinkTableModel::State)) == QStringLiteral("cut")
            && text(m_links->indexOf(kJaquez, kHill, LinkTableModel::State)) == QStringLiteral("cut");
    }));
    QCOMPARE(foreground(m_links->indexOf(kHill, kJaquez, LinkTableModel::State)), kGrey);
    QVERIFY(m_links->indexOf(kHill, kJaquez).data(LinkTableModel::CutRole).toBool());
    QCOMPARE(resets.count(), 0);
}

void tst_Models::clientTableCountsHolders()
{
    TestClient hill(m_herd->node(kHill)->port());
    QVERIFY(hill.isConnected());
    hill.send("IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503\n");
    const QByteArray at = hill.readLine();
    QVERIFY2(at.startsWith("AT Hill "), at.constData());

    // Stored at Hill, flooded to Jaquez, then Smith: 3/3.
    QVERIFY2(applyUntil([this] {
        return text(m_clients->indexOfClient("kiwi.cs.ucla.edu", ClientTableModel::Holders)) == QStringLiteral("3/3");
    }), qPrintable(text(m_clients->indexOfClient("kiwi.cs.ucla.edu", ClientTableModel::Holders))));
    const QModelIndex kiwi = m_clients->indexOfClient("kiwi.cs.ucla.edu");
    QCOMPARE(m_clients->rowCount(), 1);
    QCOMPARE(kiwi.data(ClientTableModel::HoldersRole).toInt(), 3);
    QCOMPARE(kiwi.data(ClientTableModel::AtLineRole).toByteArray(), at);
    QCOMPARE(text(kiwi.siblingAtColumn(ClientTableModel::Origin)), kHill);
    QCOMPARE(text(kiwi.siblingAtColumn(ClientTableModel::Location)), QStringLiteral("+34.068930-118.445127"));
    QCOMPARE(text(kiwi.siblingAtColumn(ClientTableModel::ClientTime)), QStringLiteral("1621464827.959498503"));
    QCOMPARE(kiwi.data(ClientTableModel::LatitudeRole).toDouble(), 34.068930);

    // A newer update at the other end replaces it everywhere; a second client gets its own row.
    TestClient smith(m_herd->node(kSmith)->port());
    smith.send("IAMAT kiwi.cs.ucla.edu -33.8688+151.2093 1621464900\n");
    QVERIFY(smith.readLine().startsWith("AT Smith "));
    smith.send("IAMAT phone +1+2 1.5\n");
    QVERIFY(smith.readLine().startsWith("AT Smith "));
    QVERIFY(applyUntil([this] {
        const QModelIndex phone = m_clients->indexOfClient("phone", ClientTableModel::Holders);
        return phone.isValid() && text(phone) == QStringLiteral("3/3")
            && text(m_clients->indexOfClient("kiwi.cs.ucla.edu", ClientTableModel::Origin)) == kSmith
            && text(m_clients->indexOfClient("kiwi.cs.ucla.edu", ClientTableModel::Holders)) == QStringLiteral("3/3");
    }));
    QCOMPARE(m_clients->rowCount(), 2);
    QCOMPARE(text(m_clients->indexOfClient("kiwi.cs.ucla.edu", ClientTableModel::Location)), QStringLiteral("-33.8688+151.2093"));
}

void tst_Models::linkTableUpdatesInPlace()
{
    // Synthetic snapshots for what a live herd cannot pin down: the formats before any
    // heartbeat, and the exact range of each change.
    LinkTableModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);

    QList<herd::NodeStats> stats = {node(kHill, {link(kJaquez, false)}),
                                    node(kJaquez, {link(kHill, false), link(kSmith, false)})};
    model.applyStats(stats);
    QCOMPARE(resets.count(), 1);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.indexOf(kJaquez, kSmith).row(), 2);
    QCOMPARE(text(model.indexOf(kHill, kJaquez, LinkTableModel::Rtt)), QStringLiteral("\u2013"));
    QCOMPARE(text(model.indexOf(kHill, kJaquez, LinkTableModel::LastChange)), QStringLiteral("\u2013"));
    QCOMPARE(text(model.indexOf(kHill, kJaquez, LinkTableModel::State)), QStringLiteral("down"));
    QCOMPARE(text(model.indexOf(kHill, kJaquez, LinkTableModel::Liveness)), QStringLiteral("down"));

    // The same snapshot again: nothing to tell the views.
    model.applyStats(stats);
    QCOMPARE(changes.count(), 0);

    // One link changes: one dataChanged, that row only, every column.
    const QDateTime when(QDate(2024, 5, 17), QTime(13, 4, 5, 678));
    stats[1].links[0] = link(kHill, true, 1234, when.toMSecsSinceEpoch());
    model.applyStats(stats);
    QCOMPARE(changes.count(), 1);
    QCOMPARE(changes.at(0).at(0).toModelIndex(), model.index(1, 0));
    QCOMPARE(changes.at(0).at(1).toModelIndex(), model.index(1, LinkTableModel::ColumnCount - 1));
    QCOMPARE(text(model.indexOf(kJaquez, kHill, LinkTableModel::Rtt)), QStringLiteral("1.23"));
    QCOMPARE(text(model.indexOf(kJaquez, kHill, LinkTableModel::LastChange)), QStringLiteral("13:04:05"));
    QCOMPARE(model.indexOf(kJaquez, kHill, LinkTableModel::LastChange).data(Qt::ToolTipRole).toString().left(23),
             QStringLiteral("2024-05-17 13:04:05.678"));

    // Two rows apart: still one signal, spanning them.
    changes.clear();
    stats[0].links[0].stats.heartbeatsSent = 7;
    stats[1].links[1].stats.rttUs = 1'234'567;
    model.applyStats(stats);
    QCOMPARE(changes.count(), 1);
    QCOMPARE(changes.at(0).at(0).toModelIndex().row(), 0);
    QCOMPARE(changes.at(0).at(1).toModelIndex().row(), 2);
    QCOMPARE(text(model.index(0, LinkTableModel::HeartbeatsSent)), QStringLiteral("7"));
    QCOMPARE(text(model.index(2, LinkTableModel::Rtt)), QStringLiteral("1234.57"));   // rounded, not truncated
    QCOMPARE(resets.count(), 1);

    // The same rows from a snapshot in another order: still in place, rows keep their places.
    changes.clear();
    std::swap(stats[0], stats[1]);
    model.applyStats(stats);
    QCOMPARE(resets.count(), 1);
    QCOMPARE(changes.count(), 0);
    QCOMPARE(model.indexOf(kJaquez, kSmith).row(), 2);

    // A link more (another herd): the rows change, so a reset.
    stats.append(node(kSmith, {link(kJaquez, true)}));
    model.applyStats(stats);
    QCOMPARE(resets.count(), 2);
    QCOMPARE(model.rowCount(), 4);
    QVERIFY(model.indexOf(kSmith, kJaquez).data(LinkTableModel::UpRole).toBool());
    // Same count, different pair: a reset too.
    stats.last().links[0].peer = kHill;
    model.applyStats(stats);
    QCOMPARE(resets.count(), 3);
    QVERIFY(!model.indexOf(kSmith, kJaquez).isValid());
    QVERIFY(model.indexOf(kSmith, kHill).isValid());
    model.applyStats({});
    QCOMPARE(model.rowCount(), 0);
}

QTEST_MAIN(tst_Models)
#include "tst_models.moc"
