// The traffic inspector: its bounded model and filter under QAbstractItemModelTester, escaping,
// colour rules, pause/resume, follow tail, export, and real rows from a running node.
#include "herd.h"
#include "monitor.h"
#include "testclient.h"
#include "trafficinspector.h"
#include "trafficmodel.h"

#include <QAbstractButton>
#include <QAbstractItemModelTester>
#include <QBrush>
#include <QComboBox>
#include <QElapsedTimer>
#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QFont>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QScopeGuard>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QMenu>
#include <QPlainTextEdit>
#include <QTest>

using herd::Direction;
using herd::LineKind;
using herd::TrafficFilterProxy;
using herd::TrafficInspector;
using herd::TrafficModel;
using herd::TrafficRow;

namespace {

constexpr qint64 kBaseUs = 1'700'000'000'000'000;

TrafficRow makeRow(int seq, const QString &node = QStringLiteral("Hill"), LineKind kind = LineKind::Iamat,
                   Direction dir = Direction::In, const QByteArray &who = "client#1 127.0.0.1:4000",
                   const QByteArray &text = {})
{
    return TrafficRow{kBaseUs + seq, node, dir, kind, who,
                      text.isEmpty() ? "IAMAT c" + QByteArray::number(seq) + " +1+2 " + QByteArray::number(seq) : text};
}

QList<TrafficRow> batch(int first, int count)
{
    QList<TrafficRow> rows;
    for (int i = first; i < first + count; ++i)
        rows.append(makeRow(i));
    return rows;
}

// The sequence numbers the model holds, oldest first.
QList<qint64> sequences(const QAbstractItemModel &model)
{
    QList<qint64> out;
    for (int r = 0; r < model.rowCount(); ++r)
        out.append(model.index(r, 0).data(TrafficModel::TimeUsRole).toLongLong() - kBaseUs);
    return out;
}

QList<qint64> range(qint64 first, qint64 last)
{
    QList<qint64> out;
    for (qint64 i = first; i <= last; ++i)
        out.append(i);
    return out;
}

// A strict RFC 4180 reader: quoted fields may hold commas, doubled quotes and line breaks.
// Returns false on anything malformed (a stray quote, an unterminated field).
bool parseCsv(const QByteArray &data, QList<QStringList> *records)
{
    QStringList record;
    QByteArray field;
    qsizetype i = 0;
    bool fieldStarted = false;
    while (i < data.size()) {
        const char c = data[i];
        if (c == '"' && !fieldStarted && field.isEmpty()) {
            ++i;
            for (;;) {
                if (i >= data.size())
                    return false;
                if (data[i] == '"') {
                    if (i + 1 < data.size() && data[i + 1] == '"') {
                        field.append('"');
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                field.append(data[i++]);
            }
            fieldStarted = true;
            if (i < data.size() && data[i] != ',' && data[i] != '\r')
                return false;
            continue;
        }
        if (c == '"')
            return false;
        if (c == ',') {
            record.append(QString::fromUtf8(field));
            field.clear();
            fieldStarted = false;
            ++i;
            continue;
        }
        if (c == '\r') {
            if (i + 1 >= data.size() || data[i + 1] != '\n')
                return false;
            record.append(QString::fromUtf8(field));
            records->append(record);
            record.clear();
            field.clear();
            fieldStarted = false;
            i += 2;
            continue;
        }
        if (c == '\n')
            return false;   // a bare LF outside quotes: records end with CRLF
        field.append(c);
        fieldStarted = true;
        ++i;
    }
    return record.isEmpty() && field.isEmpty();   // the last record ended with CRLF
}

} // namespace

class tst_Traffic : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void expressionKindsDetailsAndFilterOnThis();
    void ringEvictsInRanges();
    void batchOverCapacityResets();
    void proxyUnderTesterWithFilter();
    void setCapacityEvicts();
    void droppedCountsUpstreamAndEvicted();
    void escaping_data();
    void escaping();
    void displayTextIsCapped();
    void clientId_data();
    void clientId();
    void cellsAndRoles();
    void colourRules();
    void filters();
    void filterBarWidgets();
    void followConnection();
    void pauseHoldsRowsAndResumeCatchesUp();
    void pauseHoldIsBounded();
    void followTail();
    void exportCsv();
    void exportJsonLines();
    void realNodeTraffic();
    void bulkLoad();
};

void tst_Traffic::ringEvictsInRanges()
{
    TrafficModel model;
    model.setCapacity(10);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsAboutToBeRemoved);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsAboutToBeInserted);
    QSignalSpy reset(&model, &QAbstractItemModel::modelAboutToBeReset);

    model.appendBatch(batch(0, 4), 0);
    model.appendBatch(batch(4, 4), 0);
    QCOMPARE(model.rowCount(), 8);
    QCOMPARE(removed.count(), 0);
    QCOMPARE(inserted.count(), 2);
    QCOMPARE(inserted.at(1).at(1).toInt(), 4);
    QCOMPARE(inserted.at(1).at(2).toInt(), 7);

    inserted.clear();
    model.appendBatch(batch(8, 5), 0);   // 13 > 10: the 3 oldest go first, in one range
    QCOMPARE(removed.count(), 1);
    QCOMPARE(removed.at(0).at(1).toInt(), 0);
    QCOMPARE(removed.at(0).at(2).toInt(), 2);
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(inserted.at(0).at(1).toInt(), 5);
    QCOMPARE(inserted.at(0).at(2).toInt(), 9);
    QCOMPARE(sequences(model), range(3, 12));
    QCOMPARE(model.droppedTotal(), quint64(3));

    // Round and round the ring, in batch sizes that do not divide the capacity.
    qint64 next = 13;
    for (int round = 0; round < 25; ++round) {
        const int n = 1 + round % 7;
        model.appendBatch(batch(int(next), n), 0);
        next += n;
        QCOMPARE(sequences(model), range(next - 10, next - 1));
    }
    QCOMPARE(reset.count(), 0);
    QCOMPARE(model.droppedTotal(), quint64(next - 10));
}

void tst_Traffic::batchOverCapacityResets()
{
    TrafficModel model;
    model.setCapacity(10);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.appendBatch(batch(0, 6), 0);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    model.appendBatch(batch(6, 25), 0);
    QCOMPARE(reset.count(), 1);
    QCOMPARE(removed.count(), 0);
    QCOMPARE(sequences(model), range(21, 30));
    QCOMPARE(model.droppedTotal(), quint64(6 + 15));
    // And appending keeps working after a reset.
    model.appendBatch(batch(31, 3), 0);
    QCOMPARE(sequences(model), range(24, 33));
    // Exactly the capacity is not "over": a range removal and insertion.
    model.appendBatch(batch(34, 10), 0);
    QCOMPARE(reset.count(), 1);
    QCOMPARE(sequences(model), range(34, 43));
}

void tst_Traffic::proxyUnderTesterWithFilter()
{
    TrafficModel model;
    model.setCapacity(20);
    TrafficFilterProxy proxy;
    proxy.setSourceModel(&model);
    QAbstractItemModelTester modelTester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester proxyTester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);

    // Alternate two nodes; show one of them.
    auto mixed = [](int first, int count) {
        QList<TrafficRow> rows;
        for (int i = first; i < first + count; ++i)
            rows.append(makeRow(i, i % 2 ? QStringLiteral("Jaquez") : QStringLiteral("Hill")));
        return rows;
    };
    proxy.setNodeFilter(QStringLiteral("Hill"));
    int next = 0;
    for (int n : {5, 7, 9, 11, 3, 19, 20}) {   // past the capacity: eviction through the proxy
        model.appendBatch(mixed(next, n), 0);
        next += n;
        QCOMPARE(model.rowCount(), std::min(next, 20));
        QList<qint64> expected;
        for (qint64 s : sequences(model))
            if (s % 2 == 0)
                expected.append(s);
        QCOMPARE(sequences(proxy), expected);
    }
    model.appendBatch(mixed(next, 45), 0);   // over the capacity: a reset through the proxy
    next += 45;
    QCOMPARE(sequences(model), range(next - 20, next - 1));
    QCOMPARE(proxy.rowCount(), 10);
    proxy.setNodeFilter({});
    QCOMPARE(proxy.rowCount(), 20);
    model.clear();
    QCOMPARE(proxy.rowCount(), 0);
    QCOMPARE(model.droppedTotal(), quint64(0));
}

void tst_Traffic::setCapacityEvicts()
{
    TrafficModel model;
    QCOMPARE(model.capacity(), 50'000);
    model.setCapacity(8);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.appendBatch(batch(0, 5), 0);
    model.appendBatch(batch(5, 5), 0);   // wrapped: the ring does not start at slot 0
    QCOMPARE(sequences(model), range(2, 9));
    model.setCapacity(4);
    QCOMPARE(sequences(model), range(6, 9));
    model.setCapacity(6);
    model.appendBatch(batch(10, 3), 0);
    QCOMPARE(sequences(model), range(7, 12));
    QCOMPARE(model.droppedTotal(), quint64(7));
}

void tst_Traffic::droppedCountsUpstreamAndEvicted()
{
    TrafficModel model;
    model.setCapacity(5);
    QSignalSpy dropped(&model, &TrafficModel::droppedChanged);
    model.appendBatch(batch(0, 3), 100);
    QCOMPARE(model.droppedTotal(), quint64(100));
    model.appendBatch(batch(3, 4), 0);
    QCOMPARE(model.droppedTotal(), quint64(102));
    model.appendBatch({}, 8);   // an empty batch still reports what was dropped upstream
    QCOMPARE(model.droppedTotal(), quint64(110));
    QCOMPARE(dropped.count(), 3);
    QCOMPARE(dropped.last().at(0).toULongLong(), quint64(110));
}

void tst_Traffic::escaping_data()
{
    QTest::addColumn<QByteArray>("raw");
    QTest::addColumn<QString>("shown");
    QTest::newRow("plain") << QByteArray("IAMAT kiwi +1+2 3") << QStringLiteral("IAMAT kiwi +1+2 3");
    QTest::newRow("newline, cr, tab") << QByteArray("a\nb\rc\td") << QStringLiteral(R"(a\nb\rc\td)");
    QTest::newRow("nul and escape") << QByteArray("x\0y\x1bz", 5) << QStringLiteral(R"(x\x00y\x1bz)");
    QTest::newRow("del") << QByteArray("\x7f") << QStringLiteral(R"(\x7f)");
    QTest::newRow("backslash stays unambiguous") << QByteArray(R"(a\nb)") << QStringLiteral(R"(a\\nb)");
    QTest::newRow("utf-8 shown as is") << QByteArray("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x91")
                                       << QString::fromUtf8("café € 🐑");
    QTest::newRow("invalid byte") << QByteArray("a\xff" "b") << QStringLiteral(R"(a\xffb)");
    QTest::newRow("truncated sequence") << QByteArray("\xe2\x82") << QStringLiteral(R"(\xe2\x82)");
    QTest::newRow("overlong slash") << QByteArray("\xc0\xaf") << QStringLiteral(R"(\xc0\xaf)");
    QTest::newRow("surrogate") << QByteArray("\xed\xa0\x80") << QStringLiteral(R"(\xed\xa0\x80)");
    QTest::newRow("C1 control") << QByteArray("\xc2\x85") << QStringLiteral(R"(\xc2\x85)");
    QTest::newRow("form feed, vertical tab") << QByteArray("\f\v") << QStringLiteral(R"(\x0c\x0b)");
    QTest::newRow("empty") << QByteArray() << QString();
}

void tst_Traffic::escaping()
{
    QFETCH(QByteArray, raw);
    QFETCH(QString, shown);
    QCOMPARE(TrafficModel::escapeText(raw), shown);
    // And the Text cell shows exactly that; the raw role keeps the bytes.
    TrafficModel model;
    model.appendBatch({makeRow(1, QStringLiteral("Hill"), LineKind::Invalid, Direction::In, "c", raw)}, 0);
    const QModelIndex text = model.index(0, TrafficModel::Text);
    if (!raw.isEmpty())
        QCOMPARE(text.data().toString(), shown);
    QCOMPARE(text.data(TrafficModel::RawTextRole).toByteArray(), raw.isEmpty() ? makeRow(1).text : raw);
}

void tst_Traffic::displayTextIsCapped()
{
    const QByteArray longLine = QByteArray(5000, 'x');
    const QString shown = TrafficModel::escapeText(longLine, TrafficModel::kMaxDisplayChars);
    QCOMPARE(shown.size(), TrafficModel::kMaxDisplayChars + 1);
    QVERIFY(shown.endsWith(QChar(0x2026)));
    QCOMPARE(TrafficModel::escapeText(longLine).size(), 5000);
    // A cap that falls inside an escape keeps the escape whole.
    const QString escapes = TrafficModel::escapeText(QByteArray(100, '\n'), 9);
    QCOMPARE(escapes, QStringLiteral(R"(\n\n\n\n\n)") + QChar(0x2026));
}

void tst_Traffic::clientId_data()
{
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<QByteArray>("client");
    QTest::newRow("IAMAT") << QByteArray("IAMAT kiwi.cs.ucla.edu +34-118 1.5") << QByteArray("kiwi.cs.ucla.edu");
    QTest::newRow("WHATSAT") << QByteArray("WHATSAT kiwi 10 5") << QByteArray("kiwi");
    QTest::newRow("AT") << QByteArray("AT Hill +0.5 kiwi +34-118 1.5") << QByteArray("kiwi");
    QTest::newRow("WHATSAT reply") << QByteArray("AT Hill +0.5 kiwi +34-118 1.5\n{\n\"results\": []\n}\n\n")
                                   << QByteArray("kiwi");
    QTest::newRow("invalid echo") << QByteArray("? IAMAT kiwi nowhere 1") << QByteArray("kiwi");
    QTest::newRow("tabs and spaces") << QByteArray("  IAMAT\t\tkiwi  +1+2 3") << QByteArray("kiwi");
    QTest::newRow("heartbeat") << QByteArray("HERD-HB 12") << QByteArray();
    QTest::newRow("short AT") << QByteArray("AT Hill +0.5") << QByteArray();
    QTest::newRow("lower-case command") << QByteArray("iamat kiwi +1+2 3") << QByteArray();
    QTest::newRow("blank") << QByteArray("   ") << QByteArray();
}

void tst_Traffic::clientId()
{
    QFETCH(QByteArray, line);
    QFETCH(QByteArray, client);
    QCOMPARE(TrafficModel::clientId(line), client);
}

void tst_Traffic::cellsAndRoles()
{
    TrafficModel model;
    const qint64 us = QDateTime(QDate(2024, 5, 6), QTime(13, 14, 15, 678)).toMSecsSinceEpoch() * 1000 + 999;
    model.appendBatch({TrafficRow{us, QStringLiteral("Jaquez"), Direction::Out, LineKind::AtReply,
                                  "client#7 127.0.0.1:5000", "AT Jaquez +0.1 kiwi +1+2 3"}},
                      0);
    auto cell = [&](int column, int role = Qt::DisplayRole) { return model.index(0, column).data(role); };
    QCOMPARE(cell(TrafficModel::Time).toString(), QStringLiteral("13:14:15.678"));
    QCOMPARE(cell(TrafficModel::Node).toString(), QStringLiteral("Jaquez"));
    QCOMPARE(cell(TrafficModel::Direction).toString(), herd::directionName(Direction::Out));
    QCOMPARE(cell(TrafficModel::Peer).toString(), QStringLiteral("client#7 127.0.0.1:5000"));
    QCOMPARE(cell(TrafficModel::Kind).toString(), herd::lineKindName(LineKind::AtReply));
    QCOMPARE(cell(TrafficModel::Text).toString(), QStringLiteral("AT Jaquez +0.1 kiwi +1+2 3"));
    QCOMPARE(cell(TrafficModel::Text, TrafficModel::KindRole).toInt(), int(LineKind::AtReply));
    QCOMPARE(cell(TrafficModel::Text, TrafficModel::DirectionRole).toInt(), int(Direction::Out));
    QCOMPARE(cell(TrafficModel::Text, TrafficModel::NodeRole).toString(), QStringLiteral("Jaquez"));
    QCOMPARE(cell(TrafficModel::Text, TrafficModel::WhoRole).toByteArray(), QByteArray("client#7 127.0.0.1:5000"));
    QCOMPARE(cell(TrafficModel::Text, TrafficModel::TimeUsRole).toLongLong(), us);
    QCOMPARE(cell(TrafficModel::Text, TrafficModel::ClientRole).toByteArray(), QByteArray("kiwi"));
    QCOMPARE(model.headerData(TrafficModel::Text, Qt::Horizontal).toString(), QStringLiteral("Text"));
    QVERIFY(!model.index(1, 0).data().isValid());
}

void tst_Traffic::colourRules()
{
    TrafficModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QList<TrafficRow> rows;
    for (int k = int(LineKind::Iamat); k <= int(LineKind::Blank); ++k)
        rows.append(makeRow(k, QStringLiteral("Hill"), LineKind(k)));
    model.appendBatch(rows, 0);
    auto background = [&](LineKind k) -> QColor {
        const QVariant v = model.index(int(k), TrafficModel::Text).data(Qt::BackgroundRole);
        return v.isValid() ? v.value<QBrush>().color() : QColor();
    };
    auto foreground = [&](LineKind k) -> QColor {
        const QVariant v = model.index(int(k), TrafficModel::Kind).data(Qt::ForegroundRole);
        return v.isValid() ? v.value<QBrush>().color() : QColor();
    };
    const QColor invalid = background(LineKind::Invalid);
    QVERIFY2(invalid.isValid() && invalid.red() > invalid.blue() && invalid.red() > invalid.green(), "invalid: red tint");
    const QColor flood = background(LineKind::Flood);
    QVERIFY2(flood.isValid() && flood.blue() > flood.red() && flood.blue() > flood.green(), "flood: blue tint");
    const QColor link = background(LineKind::LinkEvent);
    QVERIFY2(link.isValid() && link.red() > link.blue() && link.green() > link.blue(), "link events: amber");
    QVERIFY2(background(LineKind::Connection).isValid(), "connection events: a subtle tint");
    QVERIFY2(background(LineKind::Connection).alpha() < invalid.alpha(), "connection tint subtler than invalid");
    const QColor error = foreground(LineKind::Error);
    QVERIFY2(error.isValid() && error.red() > 2 * error.green(), "errors: red text");
    const QColor duplicate = foreground(LineKind::Duplicate);
    QVERIFY2(duplicate.isValid() && duplicate.red() == duplicate.green() && duplicate.green() == duplicate.blue(),
             "duplicates: grey");
    QVERIFY2(model.index(int(LineKind::Duplicate), 0).data(Qt::FontRole).value<QFont>().italic(), "duplicates: italic");
    // The plain traffic has no colour of its own: the palette decides.
    for (LineKind k : {LineKind::Iamat, LineKind::AtReply, LineKind::Whatsat, LineKind::Heartbeat}) {
        QVERIFY(!background(k).isValid());
        QVERIFY(!foreground(k).isValid());
    }
    // The rule colours the whole row.
    for (int c = 0; c < TrafficModel::ColumnCount; ++c)
        QCOMPARE(model.index(int(LineKind::Flood), c).data(Qt::BackgroundRole).value<QBrush>().color(), flood);
}

void tst_Traffic::filters()
{
    TrafficModel model;
    TrafficFilterProxy proxy;
    proxy.setSourceModel(&model);
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    const QString hill = QStringLiteral("Hill"), jaquez = QStringLiteral("Jaquez");
    model.appendBatch({
        makeRow(0, hill, LineKind::Iamat, Direction::In, "client#1 a", "IAMAT Kiwi.cs +1+2 3"),
        makeRow(1, hill, LineKind::AtReply, Direction::Out, "client#1 a", "AT Hill +0.1 Kiwi.cs +1+2 3"),
        makeRow(2, jaquez, LineKind::Flood, Direction::In, "peer Hill", "AT Hill +0.1 Kiwi.cs +1+2 3"),
        makeRow(3, jaquez, LineKind::Whatsat, Direction::In, "client#2 b", "WHATSAT apple 10 2"),
        makeRow(4, jaquez, LineKind::Invalid, Direction::In, "client#2 b", "BOGUS\tline"),
        makeRow(5, hill, LineKind::Heartbeat, Direction::Out, "peer Jaquez", "HERD-HB 1"),
        makeRow(6, hill, LineKind::Connection, Direction::Event, "client#1 a", "connection closed: eof"),
    }, 0);
    QCOMPARE(proxy.rowCount(), 7);
    QVERIFY(!proxy.hasFilter());

    QSignalSpy removed(&proxy, &QAbstractItemModel::rowsRemoved);
    proxy.setNodeFilter(jaquez);
    QCOMPARE(sequences(proxy), (QList<qint64>{2, 3, 4}));
    QVERIFY(removed.count() > 0);
    removed.clear();
    proxy.setNodeFilter(jaquez);   // unchanged: no re-filtering
    proxy.setFollow(hill, {});     // not following before either
    QCOMPARE(removed.count(), 0);
    proxy.setNodeFilter({});

    proxy.setKindFilter(LineKind::Invalid);
    QCOMPARE(sequences(proxy), (QList<qint64>{4}));
    proxy.setKindFilter(std::nullopt);

    proxy.setClientFilter(QStringLiteral("kiwi"));   // case-insensitive, a part of the ID
    QCOMPARE(sequences(proxy), (QList<qint64>{0, 1, 2}));
    proxy.setClientFilter(QStringLiteral("hill"));   // a node name in an AT line is not a client
    QCOMPARE(sequences(proxy), QList<qint64>{});
    proxy.setClientFilter({});

    proxy.setTextFilter(QStringLiteral("herd-hb"));
    QCOMPARE(sequences(proxy), (QList<qint64>{5}));
    proxy.setTextFilter(QStringLiteral("CLIENT#2"));   // the peer column counts too
    QCOMPARE(sequences(proxy), (QList<qint64>{3, 4}));
    proxy.setTextFilter(QStringLiteral(R"(bogus\tl)"));   // an escape as the view shows it
    QCOMPARE(sequences(proxy), (QList<qint64>{4}));
    proxy.setTextFilter({});

    // Filters combine.
    proxy.setNodeFilter(hill);
    proxy.setTextFilter(QStringLiteral("kiwi"));
    QCOMPARE(sequences(proxy), (QList<qint64>{0, 1}));
    // New rows are filtered as they arrive.
    model.appendBatch({makeRow(7, hill, LineKind::Iamat, Direction::In, "client#3 c", "IAMAT kiwi +1+2 9"),
                       makeRow(8, jaquez, LineKind::Iamat, Direction::In, "client#4 d", "IAMAT kiwi +1+2 9")},
                      0);
    QCOMPARE(sequences(proxy), (QList<qint64>{0, 1, 7}));
    proxy.clearFilters();
    QCOMPARE(proxy.rowCount(), 9);
}

void tst_Traffic::filterBarWidgets()
{
    TrafficInspector inspector;
    inspector.setNodes({QStringLiteral("Hill"), QStringLiteral("Jaquez")});
    inspector.appendBatch({makeRow(0, QStringLiteral("Hill"), LineKind::Iamat),
                           makeRow(1, QStringLiteral("Jaquez"), LineKind::Iamat),
                           makeRow(2, QStringLiteral("Jaquez"), LineKind::Invalid, Direction::In, "c", "nope")},
                          0);
    auto *nodes = inspector.findChild<QComboBox *>(QStringLiteral("nodeFilter"));
    auto *kinds = inspector.findChild<QComboBox *>(QStringLiteral("kindFilter"));
    auto *client = inspector.findChild<QLineEdit *>(QStringLiteral("clientFilter"));
    auto *text = inspector.findChild<QLineEdit *>(QStringLiteral("textFilter"));
    auto *status = inspector.findChild<QLabel *>(QStringLiteral("statusLabel"));
    QVERIFY(nodes && kinds && client && text && status);
    QCOMPARE(nodes->count(), 3);
    QCOMPARE(kinds->count(), int(LineKind::Blank) + 2);
    QVERIFY2(status->text().contains(QStringLiteral("3 rows")), qPrintable(status->text()));

    nodes->setCurrentIndex(nodes->findText(QStringLiteral("Jaquez")));
    QCOMPARE(inspector.proxy()->rowCount(), 2);
    QVERIFY2(status->text().contains(QStringLiteral("2 of 3 rows")), qPrintable(status->text()));
    kinds->setCurrentIndex(kinds->findText(herd::lineKindName(LineKind::Invalid)));
    QCOMPARE(inspector.proxy()->rowCount(), 1);
    // A node list without the chosen node drops that filter.
    inspector.setNodes({QStringLiteral("Hill")});
    QCOMPARE(inspector.proxy()->nodeFilter(), QString());
    inspector.clearFilters();
    QCOMPARE(inspector.proxy()->rowCount(), 3);

    text->setText(QStringLiteral("c1 "));   // typing filters once the user pauses
    QTRY_COMPARE(inspector.proxy()->rowCount(), 1);
    client->setText(QStringLiteral("c0"));
    QTest::keyClick(client, Qt::Key_Return);   // Return applies at once
    QCOMPARE(inspector.proxy()->rowCount(), 0);
    inspector.clearFilters();
    QCOMPARE(text->text(), QString());
    QCOMPARE(inspector.proxy()->rowCount(), 3);
}

void tst_Traffic::followConnection()
{
    TrafficInspector inspector;
    QAbstractItemModelTester tester(inspector.proxy(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    const QString hill = QStringLiteral("Hill"), jaquez = QStringLiteral("Jaquez");
    inspector.appendBatch({makeRow(0, hill, LineKind::Connection, Direction::Event, "client#1 a", "connection opened"),
                           makeRow(1, hill, LineKind::Iamat, Direction::In, "client#1 a"),
                           makeRow(2, hill, LineKind::Iamat, Direction::In, "client#2 b"),
                           makeRow(3, jaquez, LineKind::Iamat, Direction::In, "client#1 a"),   // same label, other node
                           makeRow(4, hill, LineKind::AtReply, Direction::Out, "client#1 a")},
                          0);
    inspector.followConnection(hill, "client#1 a");
    QCOMPARE(sequences(*inspector.proxy()), (QList<qint64>{0, 1, 4}));
    auto *followLabel = inspector.findChild<QLabel *>(QStringLiteral("followLabel"));
    QVERIFY(followLabel && !followLabel->isHidden());
    QVERIFY(followLabel->text().contains(QStringLiteral("client#1 a")));
    inspector.appendBatch({makeRow(5, hill, LineKind::Iamat, Direction::In, "client#1 a"),
                           makeRow(6, hill, LineKind::Iamat, Direction::In, "client#9 z")},
                          0);
    QCOMPARE(sequences(*inspector.proxy()), (QList<qint64>{0, 1, 4, 5}));
    inspector.followConnection(hill, {});   // empty who: off
    QCOMPARE(inspector.proxy()->rowCount(), 7);
    QVERIFY(followLabel->isHidden());
}

void tst_Traffic::pauseHoldsRowsAndResumeCatchesUp()
{
    TrafficInspector inspector;
    QAbstractItemModelTester tester(inspector.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy paused(&inspector, &TrafficInspector::pausedChanged);
    auto *label = inspector.findChild<QLabel *>(QStringLiteral("pausedLabel"));
    QVERIFY(label);
    inspector.appendBatch(batch(0, 10), 0);
    QCOMPARE(inspector.model()->rowCount(), 10);
    QVERIFY(label->isHidden());

    inspector.setPaused(true);
    QVERIFY(inspector.isPaused());
    QCOMPARE(paused.count(), 1);
    QCOMPARE(paused.at(0).at(0).toBool(), true);
    QSignalSpy inserted(inspector.model(), &QAbstractItemModel::rowsInserted);
    int next = 10;
    for (int i = 0; i < 5; ++i) {   // batches keep arriving: counted, not shown
        inspector.appendBatch(batch(next, 300), 2);
        next += 300;
        QCOMPARE(inspector.model()->rowCount(), 10);
        QCOMPARE(inspector.newWhilePaused(), quint64(300 * (i + 1)));
    }
    QCOMPARE(inserted.count(), 0);
    QVERIFY(!label->isHidden());
    const QString expected = QLocale().toString(1500);
    QVERIFY2(label->text().contains(expected), qPrintable(label->text()));

    inspector.setPaused(false);
    QCOMPARE(paused.count(), 2);
    QCOMPARE(inserted.count(), 1);   // the held rows arrive as one batch
    QCOMPARE(inspector.model()->rowCount(), 1510);
    QCOMPARE(sequences(*inspector.model()), range(0, 1509));
    QCOMPARE(inspector.model()->droppedTotal(), quint64(10));
    QCOMPARE(inspector.newWhilePaused(), quint64(0));
    QVERIFY(label->isHidden());
    inspector.appendBatch(batch(next, 5), 0);
    QCOMPARE(inspector.model()->rowCount(), 1515);

    // The button drives the same slot.
    auto *button = inspector.findChild<QAbstractButton *>(QStringLiteral("pauseButton"));
    QVERIFY(button);
    button->click();
    QVERIFY(inspector.isPaused());
    button->click();
    QVERIFY(!inspector.isPaused());
}

void tst_Traffic::pauseHoldIsBounded()
{
    TrafficInspector inspector;
    inspector.model()->setCapacity(100);
    inspector.setPaused(true);
    for (int i = 0; i < 10; ++i)
        inspector.appendBatch(batch(i * 50, 50), 0);
    QCOMPARE(inspector.newWhilePaused(), quint64(500));
    QCOMPARE(inspector.model()->rowCount(), 0);
    inspector.setPaused(false);
    QCOMPARE(sequences(*inspector.model()), range(400, 499));
    QCOMPARE(inspector.model()->droppedTotal(), quint64(400));
}

void tst_Traffic::followTail()
{
    TrafficInspector inspector;
    inspector.resize(800, 400);
    inspector.show();
    QVERIFY(QTest::qWaitForWindowExposed(&inspector));
    inspector.model()->setCapacity(1000);
    QScrollBar *bar = inspector.view()->verticalScrollBar();
    inspector.appendBatch(batch(0, 300), 0);
    QVERIFY(bar->maximum() > 0);
    QCOMPARE(bar->value(), bar->maximum());
    QVERIFY(inspector.isFollowingTail());

    // The user scrolls up: new rows no longer drag the view down.
    bar->setValue(150);
    QVERIFY(!inspector.isFollowingTail());
    inspector.appendBatch(batch(300, 300), 0);
    QCOMPARE(bar->value(), 150);
    // Eviction above keeps the same lines in view.
    auto topRow = [&] { return inspector.view()->indexAt(QPoint(1, 1)).data(TrafficModel::TimeUsRole).toLongLong() - kBaseUs; };
    QCOMPARE(topRow(), 150);
    inspector.appendBatch(batch(600, 500), 0);   // 1,100 > 1,000: the 100 oldest go
    QCOMPARE(bar->value(), 50);
    QCOMPARE(topRow(), 150);
    QVERIFY(!inspector.isFollowingTail());

    // Back at the bottom: following again.
    bar->setValue(bar->maximum());
    QVERIFY(inspector.isFollowingTail());
    inspector.appendBatch(batch(1100, 50), 0);
    QCOMPARE(bar->value(), bar->maximum());
    QCOMPARE(inspector.view()->indexAt(QPoint(1, inspector.view()->viewport()->height() - 2))
                 .data(TrafficModel::TimeUsRole).toLongLong() - kBaseUs,
             1149);
}

void tst_Traffic::exportCsv()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    TrafficInspector inspector;
    const QByteArray tricky = "IAMAT a,b \"quoted\" +1+2 3\r\nsecond line\n";
    inspector.appendBatch({makeRow(0, QStringLiteral("Hill"), LineKind::Invalid, Direction::In, "client#1 x,y", tricky),
                           makeRow(1, QStringLiteral("Jaquez")),
                           makeRow(2, QStringLiteral("Hill"), LineKind::AtReply, Direction::Out, "client#1 x,y",
                                   QByteArray::fromStdString("caf\xc3\xa9"))},
                          0);
    inspector.proxy()->setNodeFilter(QStringLiteral("Hill"));   // only what the filter shows
    const QString path = dir.filePath(QStringLiteral("traffic.csv"));
    QVERIFY2(inspector.exportCsv(path), qPrintable(inspector.lastError()));
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QList<QStringList> records;
    QVERIFY2(parseCsv(file.readAll(), &records), "RFC 4180");
    QCOMPARE(records.size(), 3);
    QCOMPARE(records.at(0), (QStringList{QStringLiteral("time_us"), QStringLiteral("time"), QStringLiteral("node"),
                                         QStringLiteral("direction"), QStringLiteral("peer"), QStringLiteral("kind"),
                                         QStringLiteral("text")}));
    for (const QStringList &r : std::as_const(records))
        QCOMPARE(r.size(), 7);
    QCOMPARE(records.at(1).at(0), QString::number(kBaseUs));
    QVERIFY2(QDateTime::fromString(records.at(1).at(1), Qt::ISODateWithMs).isValid(), qPrintable(records.at(1).at(1)));
    QCOMPARE(records.at(1).at(2), QStringLiteral("Hill"));
    QCOMPARE(records.at(1).at(3), herd::directionName(Direction::In));
    QCOMPARE(records.at(1).at(4), QStringLiteral("client#1 x,y"));
    QCOMPARE(records.at(1).at(5), herd::lineKindName(LineKind::Invalid));
    QCOMPARE(records.at(1).at(6), QString::fromUtf8(tricky));   // commas, quotes, CR and LF intact
    QCOMPARE(records.at(2).at(6), QString::fromUtf8("café"));

    QVERIFY(!inspector.exportCsv(dir.filePath(QStringLiteral("no/such/dir/x.csv"))));
    QVERIFY(!inspector.lastError().isEmpty());
}

void tst_Traffic::exportJsonLines()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    TrafficInspector inspector;
    const QByteArray tricky = "WHATSAT \"x\" 10 2\n{\n \"a\": 1\n}\n\n\x01";
    inspector.appendBatch({makeRow(0, QStringLiteral("Hill"), LineKind::WhatsatReply, Direction::Out, "client#1 a", tricky),
                           makeRow(1, QStringLiteral("Hill"), LineKind::Heartbeat, Direction::Out, "peer Jaquez", "HERD-HB 1"),
                           makeRow(2, QStringLiteral("Jaquez"), LineKind::LinkEvent, Direction::Event, "peer Hill", "link up")},
                          0);
    inspector.proxy()->setKindFilter(LineKind::Heartbeat);
    inspector.proxy()->setKindFilter(std::nullopt);
    inspector.proxy()->setTextFilter(QStringLiteral("h"));   // all three contain an h
    const QString path = dir.filePath(QStringLiteral("traffic.jsonl"));
    QVERIFY2(inspector.exportJsonLines(path), qPrintable(inspector.lastError()));
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray all = file.readAll();
    QVERIFY(all.endsWith('\n'));
    const QList<QByteArray> lines = all.chopped(1).split('\n');
    QCOMPARE(lines.size(), 3);
    QList<QJsonObject> objects;
    for (const QByteArray &line : lines) {
        QJsonParseError error;
        const QJsonDocument doc = QJsonDocument::fromJson(line, &error);
        QVERIFY2(error.error == QJsonParseError::NoError && doc.isObject(), line.constData());
        objects.append(doc.object());
    }
    QCOMPARE(objects.at(0).value(QStringLiteral("time_us")).toInteger(), kBaseUs);
    QCOMPARE(objects.at(0).value(QStringLiteral("node")).toString(), QStringLiteral("Hill"));
    QCOMPARE(objects.at(0).value(QStringLiteral("direction")).toString(), herd::directionName(Direction::Out));
    QCOMPARE(objects.at(0).value(QStringLiteral("peer")).toString(), QStringLiteral("client#1 a"));
    QCOMPARE(objects.at(0).value(QStringLiteral("kind")).toString(), herd::lineKindName(LineKind::WhatsatReply));
    QCOMPARE(objects.at(0).value(QStringLiteral("text")).toString(), QString::fromUtf8(tricky));   // raw, losslessly
    QCOMPARE(objects.at(2).value(QStringLiteral("kind")).toString(), herd::lineKindName(LineKind::LinkEvent));
    QCOMPARE(objects.at(2).value(QStringLiteral("direction")).toString(), herd::directionName(Direction::Event));

    inspector.proxy()->setNodeFilter(QStringLiteral("Smith"));   // nothing: an empty file
    QVERIFY(inspector.exportJsonLines(path));
    QCOMPARE(QFileInfo(path).size(), 0);
}

void tst_Traffic::realNodeTraffic()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    herd::HerdConfig config;
    config.nodes = {herd::NodeConfig{QStringLiteral("Hill"), QStringLiteral("127.0.0.1"), 0}};
    config.logDir = dir.filePath(QStringLiteral("logs"));
    config.places.provider = QStringLiteral("offline");
    herd::Herd h(config);
    herd::EventStream events([&h] { return h.stats(); });
    h.setEventStream(&events);
    const auto detach = qScopeGuard([&h] { h.setEventStream(nullptr); });   // events dies first
    QVERIFY2(h.start(), qPrintable(h.lastError()));

    TrafficInspector inspector;
    QAbstractItemModelTester tester(inspector.proxy(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    inspector.setNodes({QStringLiteral("Hill")});
    QSignalSpy batches(&events, &herd::EventStream::batchReady);
    auto drain = [&] {
        while (!batches.isEmpty()) {
            const auto b = batches.takeFirst().at(0).value<herd::MonitorBatchPtr>();
            inspector.appendBatch(b->traffic, b->trafficDropped);
            events.batchApplied();
        }
    };
    auto rowOf = [&](LineKind kind, Direction direction, const QByteArray &prefix) {
        const TrafficModel &m = *inspector.model();
        for (int r = 0; r < m.rowCount(); ++r)
            if (m.row(r).kind == kind && m.row(r).dir == direction && m.row(r).text.startsWith(prefix))
                return r;
        return -1;
    };

    herdtest::TestClient client(h.node(QStringLiteral("Hill"))->port());
    QVERIFY(client.isConnected());
    const QByteArray iamat = "IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503";
    client.send(iamat + "\nWHO IS THERE\n");
    QVERIFY(client.readLine().startsWith("AT Hill "));
    QCOMPARE(client.readLine(), QByteArray("? WHO IS THERE"));

    // Batches until the echo of the invalid line is in: it is the last of the four lines.
    for (int tries = 0; rowOf(LineKind::Invalid, Direction::Out, "? WHO IS THERE") < 0; ++tries) {
        QVERIFY2(tries < 100 && (!batches.isEmpty() || batches.wait(5000)), "no monitor batch with the lines");
        drain();
    }
    drain();
    const int in = rowOf(LineKind::Iamat, Direction::In, iamat);
    const int reply = rowOf(LineKind::AtReply, Direction::Out, "AT Hill ");
    const int invalid = rowOf(LineKind::Invalid, Direction::In, "WHO IS THERE");
    QVERIFY2(in >= 0 && reply > in && invalid > reply,
             qPrintable(QStringLiteral("rows %1 %2 %3").arg(in).arg(reply).arg(invalid)));
    const TrafficModel &m = *inspector.model();
    QCOMPARE(m.row(in).text, iamat);
    QCOMPARE(m.row(in).node, QStringLiteral("Hill"));
    QCOMPARE(m.row(in).who, m.row(reply).who);   // one connection
    QCOMPARE(m.index(reply, TrafficModel::Text).data(TrafficModel::ClientRole).toByteArray(), QByteArray("kiwi.cs.ucla.edu"));
    QVERIFY(m.index(invalid, 0).data(Qt::BackgroundRole).isValid());

    // Following that connection shows its lines (and its connection events), nothing else.
    inspector.followConnection(QStringLiteral("Hill"), m.row(in).who);
    QVERIFY(inspector.proxy()->rowCount() >= 4);
    for (int r = 0; r < inspector.proxy()->rowCount(); ++r)
        QCOMPARE(inspector.proxy()->index(r, 0).data(TrafficModel::WhoRole).toByteArray(), m.row(in).who);
}

// Not a timed test: the numbers are printed for the record (50,000 rows, batches of 2,000).
void tst_Traffic::bulkLoad()
{
    TrafficInspector inspector;
    inspector.resize(1000, 600);
    inspector.show();
    QVERIFY(QTest::qWaitForWindowExposed(&inspector));
    QList<QList<TrafficRow>> batches;
    for (int b = 0; b < 60; ++b) {
        QList<TrafficRow> rows;
        for (int i = 0; i < 2000; ++i)
            rows.append(makeRow(b * 2000 + i, i % 3 ? QStringLiteral("Hill") : QStringLiteral("Jaquez"),
                                LineKind(i % 13), Direction(i % 3)));
        batches.append(rows);
    }
    inspector.proxy()->setKindFilter(LineKind::Iamat);
    inspector.proxy()->setKindFilter(std::nullopt);
    QElapsedTimer timer;
    timer.start();
    qint64 worst = 0;
    for (const auto &rows : std::as_const(batches)) {
        const qint64 before = timer.nsecsElapsed();
        inspector.appendBatch(rows, 0);
        QCoreApplication::processEvents();   // layout and paint, as the event loop would
        worst = std::max(worst, timer.nsecsElapsed() - before);
    }
    QCOMPARE(inspector.model()->rowCount(), 50'000);
    QCOMPARE(inspector.model()->droppedTotal(), quint64(70'000));
    qInfo("60 batches of 2,000 rows into 50,000: %.1f ms per batch on average, %.1f ms worst",
          double(timer.nsecsElapsed()) / 60 / 1e6, double(worst) / 1e6);
    timer.restart();
    inspector.proxy()->setTextFilter(QStringLiteral("c9999"));
    qInfo("free-text filter over 50,000 rows: %.1f ms, %d match", double(timer.nsecsElapsed()) / 1e6,
          inspector.proxy()->rowCount());
    QVERIFY(inspector.proxy()->rowCount() > 0);
}

void tst_Traffic::expressionKindsDetailsAndFilterOnThis()
{
    using herd::Direction;
    using herd::LineKind;
    herd::TrafficInspector inspector;
    const auto row = [](const char *node, Direction dir, LineKind kind, const QByteArray &text) {
        herd::TrafficRow r;
        r.timeUs = 1'700'000'000'000'000;
        r.node = QString::fromLatin1(node);
        r.dir = dir;
        r.kind = kind;
        r.who = "client#1 127.0.0.1:5000";
        r.text = text;
        return r;
    };
    inspector.appendBatch({
        row("Hill", Direction::In, LineKind::Iamat, "IAMAT kiwi +1+2 1"),
        row("Hill", Direction::Out, LineKind::AtReply, "AT Hill +0.1 kiwi +1+2 1"),
        row("Smith", Direction::In, LineKind::Heartbeat, "HERD-HB 7"),
        row("Smith", Direction::Out, LineKind::WhatsatReply, "AT Hill +0.1 kiwi +1+2 1\n{\"results\":[{\"name\":\"x\"}]}\n\n"),
        row("Jaquez", Direction::In, LineKind::Iamat, "IAMAT other +3+4 1"),
    }, 0);
    herd::TrafficFilterProxy *proxy = inspector.proxy();
    QCOMPARE(proxy->rowCount(), 5);
    QVERIFY(proxy->setExpression(QStringLiteral("node:hill,smith -kind:heartbeat")));
    QCOMPARE(proxy->rowCount(), 3);
    QVERIFY(proxy->setExpression(QStringLiteral("kind:iamat dir:in client:oth")));
    QCOMPARE(proxy->rowCount(), 1);
    QVERIFY(proxy->setExpression(QStringLiteral("kind:whatsatreply results")));
    QCOMPARE(proxy->rowCount(), 1);
    QString error;
    QVERIFY(!proxy->setExpression(QStringLiteral("kind:nonsense"), &error));
    QVERIFY2(error.contains(QStringLiteral("nonsense")), qPrintable(error));
    QCOMPARE(proxy->rowCount(), 1);   // the last good filter stays
    QVERIFY(!proxy->setExpression(QStringLiteral("colour:red"), &error));
    QVERIFY(proxy->setExpression(QString()));
    // Several kinds hidden at once.
    inspector.setHiddenKinds((1u << int(LineKind::Heartbeat)) | (1u << int(LineKind::AtReply)));
    QCOMPARE(proxy->rowCount(), 3);
    inspector.setHiddenKinds(0);
    QCOMPARE(proxy->rowCount(), 5);

    // Filter on this, from a row's menu: the term goes into the expression.
    const QModelIndex jaquez = proxy->index(4, 0);
    std::unique_ptr<QMenu> menu(inspector.createContextMenu(jaquez));
    QAction *onNode = nullptr;
    QAction *propagation = nullptr;
    for (QAction *a : menu->actions()) {
        if (a->text() == QStringLiteral("Filter on node Jaquez"))
            onNode = a;
        if (a->text().startsWith(QStringLiteral("Show propagation of other")))
            propagation = a;
    }
    QVERIFY(onNode && propagation);
    onNode->trigger();
    QCOMPARE(inspector.expressionEdit()->text(), QStringLiteral("node:Jaquez"));
    QCOMPARE(proxy->rowCount(), 1);
    QSignalSpy wanted(&inspector, &herd::TrafficInspector::propagationRequested);
    propagation->trigger();
    QCOMPARE(wanted.count(), 1);
    QCOMPARE(wanted.at(0).at(0).toByteArray(), QByteArray("other"));
    inspector.clearFilters();
    QCOMPARE(proxy->rowCount(), 5);

    // Details: a WHATSAT reply as its AT line and the JSON laid out.
    inspector.view()->setCurrentIndex(proxy->index(3, 0));
    const QString details = inspector.detailsPane()->toPlainText();
    QVERIFY2(details.contains(QStringLiteral("AT Hill +0.1 kiwi +1+2 1\n{\n")), qPrintable(details));
    QVERIFY2(details.contains(QStringLiteral("\"name\": \"x\"")), qPrintable(details));
}

QTEST_MAIN(tst_Traffic)
#include "tst_traffic.moc"
