// The client table at scale: 100,000 clients fed as monitor batches, under
// QAbstractItemModelTester, sorted and filtered while batches keep arriving, checked row by row
// against a brute-force answer.
#include "clienttablemodel.h"

#include <QAbstractItemModelTester>
#include <QPersistentModelIndex>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTest>

#include <algorithm>
#include <map>
#include <optional>

using herd::ClientTableModel;
using herd::StoredUpdate;

namespace {

const QStringList kNodes = {QStringLiteral("Bailey"), QStringLiteral("Bona"), QStringLiteral("Campbell"),
                            QStringLiteral("Clark"), QStringLiteral("Jaquez")};

// An update as a node records it: the AT line with the origin node's skew and the client's texts.
StoredUpdate update(const QString &node, const QByteArray &client, qint64 sec, int nsec, double lat, double lng,
                    const QString &origin)
{
    StoredUpdate u;
    u.node = node;
    u.client = client;
    u.time = {sec, nsec};
    u.lat = lat;
    u.lng = lng;
    const QByteArray location = QString::asprintf("%+.6f%+.6f", lat, lng).toLatin1();
    const QByteArray time = QByteArray::number(sec) + '.' + QByteArray::number(nsec).rightJustified(9, '0');
    u.atLine = "AT " + origin.toUtf8() + " +0.000" + QByteArray::number(100000 + nsec % 900000) + ' ' + client + ' '
             + location + ' ' + time;
    return u;
}

// The model's truth, kept the simple way.
struct Expected {
    QByteArray client;
    qint64 sec = 0;
    int nsec = 0;
    double lat = 0;
    double lng = 0;
    QString origin;
    QSet<QString> holders;
    int firstSeen = 0;
};

class Feeder {
public:
    // `count` updates: new clients, or newer times of known ones, stored at one or more nodes.
    QList<StoredUpdate> batch(int newClients, int moves, int spreads)
    {
        QList<StoredUpdate> out;
        for (int i = 0; i < newClients; ++i) {
            const int n = int(m_byId.size());
            const QByteArray id = "client-" + QByteArray::number((n * 7919) % 1000003) + (n % 3 == 0 ? "-Phone" : "-car");
            const double lat = -60.0 + double((n * 37) % 12000) / 100.0;
            const double lng = -180.0 + double((n * 101) % 36000) / 100.0;
            const QString origin = kNodes[n % kNodes.size()];
            out.append(update(origin, id, 1700000000 + n % 1000, n % 1000000000, lat, lng, origin));
            apply(out.back());
            m_order.append(id);
        }
        for (int i = 0; i < moves && !m_order.isEmpty(); ++i) {
            const QByteArray &id = m_order[qsizetype(m_rng.bounded(int(m_order.size())))];
            const Expected &e = m_byId.at(id);
            const QString origin = kNodes[m_rng.bounded(int(kNodes.size()))];
            out.append(update(origin, id, e.sec + 1 + m_rng.bounded(5), m_rng.bounded(1000000000),
                              std::clamp(e.lat + 0.5, -89.0, 89.0), e.lng, origin));
            apply(out.back());
        }
        for (int i = 0; i < spreads && !m_order.isEmpty(); ++i) {
            const QByteArray &id = m_order[qsizetype(m_rng.bounded(int(m_order.size())))];
            const Expected &e = m_byId.at(id);
            out.append(update(kNodes[m_rng.bounded(int(kNodes.size()))], id, e.sec, e.nsec, e.lat, e.lng, e.origin));
            apply(out.back());
        }
        return out;
    }
    void apply(const StoredUpdate &u)
    {
        auto it = m_byId.find(u.client);
        if (it == m_byId.end()) {
            Expected e;
            e.client = u.client;
            e.firstSeen = int(m_byId.size());
            it = m_byId.emplace(u.client, e).first;
            it->second.sec = -1;
        }
        Expected &e = it->second;
        const herd::protocol::Timestamp had{e.sec, e.nsec};
        if (e.sec < 0 || u.time > had) {
            e.sec = u.time.sec;
            e.nsec = u.time.nsec;
            e.lat = u.lat;
            e.lng = u.lng;
            e.origin = QString::fromUtf8(u.atLine.split(' ').at(1));
            e.holders = {u.node};
        } else if (u.time == had) {
            e.holders.insert(u.node);
        } else {
            e.holders.remove(u.node);
        }
    }
    const std::map<QByteArray, Expected> &all() const { return m_byId; }

private:
    std::map<QByteArray, Expected> m_byId;
    QList<QByteArray> m_order;
    QRandomGenerator m_rng{42};
};

bool contains(const QString &haystack, const QString &needle)
{
    return haystack.contains(needle, Qt::CaseInsensitive);
}

} // namespace

class tst_ClientModel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void holdersFollowTheNewestUpdate();
    void hundredThousandClients_data();
    void hundredThousandClients();
    void persistentIndexFollowsItsClient();
};

// The holders mask: the nodes holding the newest update, an older one (a node restarted empty)
// takes the node out.
void ClientTableModel_holders(ClientTableModel &model, const QByteArray &id, int want)
{
    QCOMPARE(model.indexOfClient(id).data(ClientTableModel::HoldersRole).toInt(), want);
}

void tst_ClientModel::holdersFollowTheNewestUpdate()
{
    ClientTableModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setNodeCount(5);
    model.applyStored({update(kNodes[0], "kiwi", 10, 5, 34.5, -118.25, kNodes[0]),
                       update(kNodes[1], "kiwi", 10, 5, 34.5, -118.25, kNodes[0])});
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.indexOfClient("kiwi", ClientTableModel::Holders).data().toString(), QStringLiteral("2/5"));
    model.applyStored({update(kNodes[2], "kiwi", 11, 0, -33.5, 151.25, kNodes[2])});
    QCOMPARE(model.indexOfClient("kiwi", ClientTableModel::Holders).data().toString(), QStringLiteral("1/5"));
    QCOMPARE(model.indexOfClient("kiwi", ClientTableModel::Origin).data().toString(), kNodes[2]);
    QCOMPARE(model.indexOfClient("kiwi", ClientTableModel::Location).data().toString(), QStringLiteral("-33.500000+151.250000"));
    QCOMPARE(model.indexOfClient("kiwi").data(ClientTableModel::LatitudeRole).toDouble(), -33.5);
    model.applyStored({update(kNodes[0], "kiwi", 11, 0, -33.5, 151.25, kNodes[2]),
                       update(kNodes[1], "kiwi", 11, 0, -33.5, 151.25, kNodes[2])});
    ClientTableModel_holders(model, "kiwi", 3);
    model.applyStored({update(kNodes[1], "kiwi", 9, 0, 1, 1, kNodes[1])});   // Bona restarted, got an old one
    ClientTableModel_holders(model, "kiwi", 2);
    QCOMPARE(model.indexOfClient("kiwi", ClientTableModel::ClientTime).data().toString(), QStringLiteral("11.000000000"));
    const QByteArray at = model.indexOfClient("kiwi").data(ClientTableModel::AtLineRole).toByteArray();
    QVERIFY2(at.startsWith("AT Campbell +0.000") && at.endsWith(" kiwi -33.500000+151.250000 11.000000000"), at.constData());
}

// The tester walks every row after every signal: at 100,000 rows it watches the loading, the
// first sort and the first batch into the sorted table (seconds of CPU); the 5,000-row run has it
// watching every step.
void tst_ClientModel::hundredThousandClients_data()
{
    QTest::addColumn<int>("clients");
    QTest::addColumn<bool>("testerThroughout");
    QTest::newRow("100k") << 100000 << false;
    QTest::newRow("5k") << 5000 << true;
}

void tst_ClientModel::hundredThousandClients()
{
    QFETCH(int, clients);
    QFETCH(bool, testerThroughout);
    ClientTableModel model;
    std::optional<QAbstractItemModelTester> tester;
    tester.emplace(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setNodeCount(int(kNodes.size()));
    Feeder feed;
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
    for (int i = 0; i < 10; ++i)
        model.applyStored(feed.batch(clients / 10, 500, 500));
    QCOMPARE(model.rowCount(), clients);
    QCOMPARE(model.clientCount(), clients);
    // Batches, not clients: one insert and at most one change range per batch.
    QCOMPARE(inserts.count(), 10);
    QVERIFY(changes.count() <= 10);

    // Compact: what the arrays and the arena hold per client (the old rows were ~2.9 KB).
    const double perClient = double(model.memoryBytes()) / model.clientCount();
    qInfo("client table: %.0f bytes per client", perClient);
    QVERIFY2(perClient < 200, qPrintable(QString::number(perClient)));

    auto checkAgainstTruth = [&](const QString &filter, int column, Qt::SortOrder order) {
        // Every shown row is a wanted client with the right fields, in order.
        QHash<QByteArray, const Expected *> byId;
        byId.reserve(qsizetype(feed.all().size()));
        for (const auto &[id, e] : feed.all()) {
            if (filter.isEmpty() || contains(QString::fromUtf8(id), filter) || contains(e.origin, filter)
                || contains(QString::asprintf("%+.6f%+.6f", e.lat, e.lng), filter))
                byId.insert(id, &e);
        }
        QCOMPARE(model.rowCount(), int(byId.size()));
        QVERIFY(!byId.isEmpty());
        // Plain checks per row, one QVERIFY at the end: 100,000 QCOMPAREs cost seconds.
        QString error;
        const Expected *prev = nullptr;
        for (int row = 0; row < model.rowCount() && error.isEmpty(); ++row) {
            const QModelIndex idx = model.index(row, 0);
            const QByteArray id = idx.data(ClientTableModel::ClientIdRole).toByteArray();
            const auto it = byId.constFind(id);
            if (it == byId.cend()) {
                error = QStringLiteral("row %1: %2 should not be shown").arg(row).arg(QString::fromUtf8(id));
                break;
            }
            const Expected &e = **it;
            if (idx.data(ClientTableModel::HoldersRole).toInt() != int(e.holders.size())
                || idx.siblingAtColumn(ClientTableModel::Origin).data().toString() != e.origin)
                error = QStringLiteral("row %1: %2 holders or origin wrong").arg(row).arg(QString::fromUtf8(id));
            if (prev) {
                bool ok = true;
                switch (column) {
                case ClientTableModel::Client:
                    ok = order == Qt::AscendingOrder ? prev->client < e.client : prev->client > e.client;
                    break;
                case ClientTableModel::ClientTime: {
                    const auto a = std::make_pair(prev->sec, prev->nsec);
                    const auto b = std::make_pair(e.sec, e.nsec);
                    ok = order == Qt::AscendingOrder ? a <= b : a >= b;
                    break;
                }
                case ClientTableModel::Holders:
                    ok = order == Qt::AscendingOrder ? prev->holders.size() <= e.holders.size()
                                                     : prev->holders.size() >= e.holders.size();
                    break;
                default:   // first seen
                    ok = prev->firstSeen < e.firstSeen;
                }
                if (!ok)
                    error = QStringLiteral("rows %1 and %2 out of order: %3, %4")
                                .arg(row - 1).arg(row).arg(QString::fromUtf8(prev->client), QString::fromUtf8(e.client));
            }
            prev = &e;
        }
        QVERIFY2(error.isEmpty(), qPrintable(error));
    };

    checkAgainstTruth({}, -1, Qt::AscendingOrder);
    if (QTest::currentTestFailed())
        return;

    model.sort(ClientTableModel::Client, Qt::AscendingOrder);
    checkAgainstTruth({}, ClientTableModel::Client, Qt::AscendingOrder);
    model.applyStored(feed.batch(3000, 2000, 2000));   // new clients land in place
    checkAgainstTruth({}, ClientTableModel::Client, Qt::AscendingOrder);
    if (QTest::currentTestFailed())
        return;
    if (!testerThroughout)
        tester.reset();

    // Filter over id, origin node and location text, sorted by time: moved clients move.
    model.setFilterText(QStringLiteral("phone"));
    model.sort(ClientTableModel::ClientTime, Qt::DescendingOrder);
    checkAgainstTruth(QStringLiteral("phone"), ClientTableModel::ClientTime, Qt::DescendingOrder);
    for (int i = 0; i < 3; ++i)
        model.applyStored(feed.batch(1000, 3000, 3000));
    checkAgainstTruth(QStringLiteral("phone"), ClientTableModel::ClientTime, Qt::DescendingOrder);
    if (QTest::currentTestFailed())
        return;

    model.setFilterText(QStringLiteral("jAQuez"));   // an origin node, any case
    model.sort(ClientTableModel::Holders, Qt::AscendingOrder);
    model.applyStored(feed.batch(1000, 1000, 5000));
    checkAgainstTruth(QStringLiteral("jaquez"), ClientTableModel::Holders, Qt::AscendingOrder);
    model.setFilterText(QStringLiteral("+12.5"));   // location text
    checkAgainstTruth(QStringLiteral("+12.5"), ClientTableModel::Holders, Qt::AscendingOrder);
    if (QTest::currentTestFailed())
        return;

    // Back to all, in the order first seen.
    model.setFilterText({});
    model.sort(-1);
    model.applyStored(feed.batch(500, 500, 500));
    checkAgainstTruth({}, -1, Qt::AscendingOrder);
    QCOMPARE(model.rowCount(), int(feed.all().size()));
}

// A selection (persistent index) keeps its client through sorting and filtering.
void tst_ClientModel::persistentIndexFollowsItsClient()
{
    ClientTableModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    Feeder feed;
    model.applyStored(feed.batch(2000, 0, 0));
    const QPersistentModelIndex chosen(model.index(1234, ClientTableModel::Location));
    const QByteArray id = chosen.data(ClientTableModel::ClientIdRole).toByteArray();
    model.sort(ClientTableModel::Client, Qt::DescendingOrder);
    QVERIFY(chosen.isValid());
    QCOMPARE(chosen.data(ClientTableModel::ClientIdRole).toByteArray(), id);
    QCOMPARE(chosen.column(), int(ClientTableModel::Location));
    QCOMPARE(model.indexOfClient(id).row(), chosen.row());
    model.setFilterText(QString::fromLatin1(id));
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(chosen.row(), 0);
    model.setFilterText(QStringLiteral("no such client"));
    QVERIFY(!chosen.isValid());
    QVERIFY(!model.indexOfClient(id).isValid());
    QCOMPARE(model.rowCount(), 0);
}

QTEST_MAIN(tst_ClientModel)
#include "tst_clientmodel.moc"
