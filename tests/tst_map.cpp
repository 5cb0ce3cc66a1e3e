// The client map: bundled coastline, dots from a model, shared selection, zoom and pan.
#include "clienttablemodel.h"
#include "mapview.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QImage>
#include <QItemSelectionModel>
#include <QSortFilterProxyModel>
#include <QStandardItemModel>
#include <QTest>
#include <QWheelEvent>

using herd::ClientTableModel;
using herd::MapView;

namespace {

enum Role { LatRole = Qt::UserRole + 1, LngRole, LabelRole };

struct Client {
    const char *id;
    double lat;
    double lng;
};
constexpr Client kUcla{"kiwi.cs.ucla.edu", 34.068930, -118.445127};
constexpr Client kSydney{"sydney.example", -33.8688, 151.2093};
constexpr Client kLondon{"london.example", 51.5, -0.12};

QList<QStandardItem *> clientRow(const Client &c)
{
    auto *item = new QStandardItem(QString::fromLatin1(c.id));
    item->setData(c.lat, LatRole);
    item->setData(c.lng, LngRole);
    item->setData(QByteArray(c.id), LabelRole);   // as ClientTableModel: the exact bytes
    return {item, new QStandardItem(QStringLiteral("%1 %2").arg(c.lat).arg(c.lng))};
}

// Channel distance: antialiased edges and blending never touch the pixels we sample, but
// allow a little for the platform's pixel format.
bool sameColor(QColor a, QColor b, int tolerance = 6)
{
    return std::abs(a.red() - b.red()) <= tolerance && std::abs(a.green() - b.green()) <= tolerance
        && std::abs(a.blue() - b.blue()) <= tolerance;
}

QColor pixelAt(const QImage &image, QPointF pos)
{
    return image.pixelColor(pos.toPoint());
}

QByteArray describe(QColor got, QColor want, QPointF at)
{
    return QStringLiteral("pixel at (%1,%2) is %3, expected %4")
        .arg(at.x()).arg(at.y()).arg(got.name(), want.name()).toUtf8();
}

#define VERIFY_PIXEL(view, lat, lng, want)                                                              \
    do {                                                                                                \
        const QPointF at_ = (view).project((lat), (lng));                                              \
        const QColor got_ = pixelAt((view).grab().toImage(), at_);                                     \
        QVERIFY2(sameColor(got_, (want)), describe(got_, (want), at_).constData());                    \
    } while (false)

// For the benchmark: 20,000 clients without QStandardItemModel's per-item overhead.
class ManyClients final : public QAbstractListModel {
public:
    explicit ManyClients(int n, QObject *parent = nullptr) : QAbstractListModel(parent), m_n(n) {}
    int rowCount(const QModelIndex &parent = {}) const override { return parent.isValid() ? 0 : m_n; }
    QVariant data(const QModelIndex &index, int role) const override
    {
        if (!checkIndex(index, CheckIndexOption::IndexIsValid))
            return {};
        // A deterministic scatter over the inhabited latitudes.
        const int r = index.row();
        switch (role) {
        case LatRole: return -55.0 + double((r * 7919) % 12000) / 100.0;
        case LngRole: return -180.0 + double((r * 104729) % 36000) / 100.0;
        case LabelRole:
        case Qt::DisplayRole: return QStringLiteral("client-%1").arg(r);
        default: return {};
        }
    }

private:
    int m_n;
};

// `n` clients as the client table gets them from a herd: a deterministic scatter, plus any extra.
QList<herd::StoredUpdate> clientUpdates(int n, int first = 0)
{
    QList<herd::StoredUpdate> out;
    out.reserve(n);
    for (int i = first; i < first + n; ++i) {
        herd::StoredUpdate u;
        u.node = QStringLiteral("Hill");
        u.client = "c" + QByteArray::number(i);
        u.time = {1700000000 + i, 0};
        u.lat = -55.0 + double((qint64(i) * 7919) % 12000) / 100.0;
        u.lng = -180.0 + double((qint64(i) * 104729) % 36000) / 100.0;
        u.atLine = "AT Hill +0.000000001 " + u.client + ' '
                 + QString::asprintf("%+.2f%+.2f", u.lat, u.lng).toLatin1() + ' ' + QByteArray::number(u.time.sec);
        out.append(u);
    }
    return out;
}

herd::StoredUpdate clientAt(const Client &c, qint64 sec)
{
    herd::StoredUpdate u;
    u.node = QStringLiteral("Hill");
    u.client = c.id;
    u.time = {sec, 0};
    u.lat = c.lat;
    u.lng = c.lng;
    u.atLine = "AT Hill +0.000000001 " + u.client + ' ' + QString::asprintf("%+.6f%+.6f", c.lat, c.lng).toLatin1()
             + ' ' + QByteArray::number(sec);
    return u;
}

} // namespace

class tst_Map : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void coastlineLoaded();
    void landAndOcean_data();
    void landAndOcean();
    void landShareIsPlausible();
    void dotsAtProjectedPositions();
    void fitClients();
    void selectionBothWays();
    void selectionThroughProxy();
    void followsModelChanges();
    void zoomAndPan();
    void toolTip();
    void followsPalette();
    void twentyThousandDots();
    void panAtDeepZoom();
    void denseClientsAggregate();
    void clientTableSortedAndFiltered();
    void wheelZoomKeepsCursorPoint_data();
    void wheelZoomKeepsCursorPoint();
    void zoomToClient();
    void millionClientsRepaint();
};

void tst_Map::coastlineLoaded()
{
    MapView view;
    QVERIFY2(view.coastlineLoaded(), "resources/map/coastline.bin missing or unreadable (see the warning above)");
}

void tst_Map::landAndOcean_data()
{
    QTest::addColumn<double>("lat");
    QTest::addColumn<double>("lng");
    QTest::addColumn<bool>("land");
    // Away from the 30° graticule (the equator and 150°W are grid lines).
    QTest::newRow("central Australia") << -25.0 << 134.0 << true;
    QTest::newRow("central Africa") << 5.0 << 20.0 << true;
    QTest::newRow("Siberia") << 62.0 << 100.0 << true;
    QTest::newRow("Brazil") << -10.0 << -50.0 << true;
    QTest::newRow("mid-Pacific") << 10.0 << -140.0 << false;
    QTest::newRow("mid-Atlantic") << 25.0 << -45.0 << false;
    QTest::newRow("Indian Ocean") << -20.0 << 75.0 << false;
    QTest::newRow("Caspian Sea (a hole in Eurasia)") << 42.0 << 50.5 << false;
}

void tst_Map::landAndOcean()
{
    QFETCH(double, lat);
    QFETCH(double, lng);
    QFETCH(bool, land);
    MapView view;
    view.resize(1080, 540);   // whole world at 3 px per degree
    QVERIFY(view.coastlineLoaded());
    VERIFY_PIXEL(view, lat, lng, land ? view.colors().land : view.colors().ocean);
}

// A fill with the wrong rule or a ring left open would flood the ocean or empty a continent.
void tst_Map::landShareIsPlausible()
{
    MapView view;
    view.resize(720, 360);
    const QImage image = view.grab().toImage();
    const QPointF topLeft = view.project(90, -180);
    const QPointF bottomRight = view.project(-90, 180);
    qint64 land = 0;
    qint64 total = 0;
    for (int y = int(topLeft.y()) + 2; y < int(bottomRight.y()) - 2; y += 2) {
        for (int x = int(topLeft.x()) + 2; x < int(bottomRight.x()) - 2; x += 2) {
            ++total;
            land += sameColor(image.pixelColor(x, y), view.colors().land) ? 1 : 0;
        }
    }
    // Land is 29% of the sphere; equirectangular stretches the poles (Antarctica) so the share
    // on the map is a little higher.
    const double share = double(land) / double(total);
    QVERIFY2(share > 0.25 && share < 0.40, qPrintable(QStringLiteral("land share %1").arg(share)));
}

void tst_Map::dotsAtProjectedPositions()
{
    QStandardItemModel model;
    QAbstractItemModelTester tester(&model);
    for (const Client &c : {kUcla, kSydney, kLondon})
        model.appendRow(clientRow(c));
    MapView view;
    view.resize(800, 400);
    view.setModel(&model, LatRole, LngRole, LabelRole);
    QCOMPARE(view.dotCount(), 3);
    for (const Client &c : {kUcla, kSydney, kLondon})
        VERIFY_PIXEL(view, c.lat, c.lng, view.colors().dot);
    // And nowhere near them: the Pacific stays ocean.
    VERIFY_PIXEL(view, 10, -140, view.colors().ocean);
}

void tst_Map::fitClients()
{
    QStandardItemModel model;
    for (const Client &c : {kUcla, kSydney, kLondon})
        model.appendRow(clientRow(c));
    MapView view;
    view.resize(800, 400);
    view.setModel(&model, LatRole, LngRole, LabelRole);
    const QPointF before = view.project(kUcla.lat, kUcla.lng);
    view.fitClients();
    QVERIFY2(view.project(kUcla.lat, kUcla.lng) != before, "fitClients did not change the view");
    QVERIFY(view.zoomFactor() > 1);
    const QRect inside = view.rect().adjusted(8, 8, -8, -8);
    for (const Client &c : {kUcla, kSydney, kLondon}) {
        const QPointF at = view.project(c.lat, c.lng);
        QVERIFY2(inside.contains(at.toPoint()), c.id);
        VERIFY_PIXEL(view, c.lat, c.lng, view.colors().dot);
    }

    // One client: zoomed in, but never beyond a 0.05° span.
    QStandardItemModel one;
    one.appendRow(clientRow(kUcla));
    view.setModel(&one, LatRole, LngRole, LabelRole);
    view.fitClients();
    const QPointF ucla = view.project(kUcla.lat, kUcla.lng);
    QVERIFY(qAbs(ucla.x() - view.width() / 2.0) < 1 && qAbs(ucla.y() - view.height() / 2.0) < 1);
    const double spanShown = view.height() / view.pixelsPerDegree();
    QVERIFY2(spanShown >= 0.05 && spanShown < 0.2, qPrintable(QString::number(spanShown)));

    view.fitWorld();
    QCOMPARE(view.zoomFactor(), 1.0);
    QCOMPARE(view.project(0, 0), QPointF(400, 200));
}

void tst_Map::selectionBothWays()
{
    QStandardItemModel model;
    for (const Client &c : {kUcla, kSydney, kLondon})
        model.appendRow(clientRow(c));
    QItemSelectionModel selection(&model);
    MapView view;
    view.resize(800, 400);
    view.setModel(&model, LatRole, LngRole, LabelRole);
    view.setSelectionModel(&selection);
    QCOMPARE(view.selectionModel(), &selection);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));

    // Table -> map: the selected row's dot is highlighted, the others are not.
    selection.select(model.index(1, 0), QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    VERIFY_PIXEL(view, kSydney.lat, kSydney.lng, view.colors().selectedDot);
    VERIFY_PIXEL(view, kUcla.lat, kUcla.lng, view.colors().dot);
    VERIFY_PIXEL(view, kLondon.lat, kLondon.lng, view.colors().dot);

    // Map -> table: a click on (or within a few pixels of) a dot selects its row.
    QTest::mouseClick(&view, Qt::LeftButton, {}, (view.project(kLondon.lat, kLondon.lng) + QPointF(2, -2)).toPoint());
    QCOMPARE(selection.currentIndex().row(), 2);
    QVERIFY(selection.isRowSelected(2, {}));
    QVERIFY2(!selection.isRowSelected(1, {}), "a plain click replaces the selection");
    VERIFY_PIXEL(view, kLondon.lat, kLondon.lng, view.colors().selectedDot);
    VERIFY_PIXEL(view, kSydney.lat, kSydney.lng, view.colors().dot);

    // Ctrl-click adds; a click on empty ocean leaves the selection alone.
    QTest::mouseClick(&view, Qt::LeftButton, Qt::ControlModifier, view.project(kUcla.lat, kUcla.lng).toPoint());
    QVERIFY(selection.isRowSelected(0, {}) && selection.isRowSelected(2, {}));
    QTest::mouseClick(&view, Qt::LeftButton, {}, view.project(10, -140).toPoint());
    QVERIFY(selection.isRowSelected(0, {}) && selection.isRowSelected(2, {}));

    // Selecting an off-screen client from the table brings it into view.
    view.fitClients();
    for (int i = 0; i < 4; ++i)
        view.zoomIn();
    QVERIFY(!view.rect().contains(view.project(kSydney.lat, kSydney.lng).toPoint()));
    selection.setCurrentIndex(model.index(1, 0), QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    QVERIFY(view.rect().contains(view.project(kSydney.lat, kSydney.lng).toPoint()));
    VERIFY_PIXEL(view, kSydney.lat, kSydney.lng, view.colors().selectedDot);
}

// The client table may sort through a proxy: the map maps rows both ways.
void tst_Map::selectionThroughProxy()
{
    QStandardItemModel model;
    for (const Client &c : {kUcla, kSydney, kLondon})
        model.appendRow(clientRow(c));
    QSortFilterProxyModel proxy;
    proxy.setSourceModel(&model);
    proxy.sort(0, Qt::DescendingOrder);   // sydney, london, kiwi
    QItemSelectionModel selection(&proxy);
    MapView view;
    view.resize(800, 400);
    view.setModel(&model, LatRole, LngRole, LabelRole);
    view.setSelectionModel(&selection);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));

    QTest::mouseClick(&view, Qt::LeftButton, {}, view.project(kUcla.lat, kUcla.lng).toPoint());
    QCOMPARE(selection.currentIndex().data().toString(), QString::fromLatin1(kUcla.id));
    selection.select(proxy.index(0, 0), QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    VERIFY_PIXEL(view, kSydney.lat, kSydney.lng, view.colors().selectedDot);
    VERIFY_PIXEL(view, kUcla.lat, kUcla.lng, view.colors().dot);
}

void tst_Map::followsModelChanges()
{
    QStandardItemModel model;
    QAbstractItemModelTester tester(&model);
    model.appendRow(clientRow(kUcla));
    MapView view;
    view.resize(800, 400);
    view.setModel(&model, LatRole, LngRole, LabelRole);
    QCOMPARE(view.dotCount(), 1);

    // Inserted rows: their dots appear (changes are applied on a ~30 Hz tick).
    model.appendRow(clientRow(kSydney));
    model.insertRow(0, clientRow(kLondon));
    QCOMPARE(view.dotCount(), 1);   // not per signal: on the next tick
    QTRY_COMPARE(view.dotCount(), 3);
    for (const Client &c : {kUcla, kSydney, kLondon})
        VERIFY_PIXEL(view, c.lat, c.lng, view.colors().dot);

    // Moved: the dot follows.
    model.item(2)->setData(-33.92, LatRole);   // Sydney -> Cape Town
    model.item(2)->setData(18.42, LngRole);
    QTRY_VERIFY(sameColor(pixelAt(view.grab().toImage(), view.project(-33.92, 18.42)), view.colors().dot));
    QVERIFY(!sameColor(pixelAt(view.grab().toImage(), view.project(kSydney.lat, kSydney.lng)), view.colors().dot));

    // A change still pending when rows are inserted above it and removed below it: the
    // pending re-read follows the row.
    model.item(2)->setData(35.68, LatRole);   // Cape Town -> Tokyo
    model.item(2)->setData(139.69, LngRole);
    model.insertRow(0, clientRow({"early", -45.0, 170.0}));
    model.removeRow(0);
    model.insertRow(1, clientRow({"middle", 64.1, -21.9}));
    QTRY_VERIFY(sameColor(pixelAt(view.grab().toImage(), view.project(35.68, 139.69)), view.colors().dot));
    VERIFY_PIXEL(view, 64.1, -21.9, view.colors().dot);
    QCOMPARE(view.dotCount(), 4);
    QVERIFY(!sameColor(pixelAt(view.grab().toImage(), view.project(-45.0, 170.0)), view.colors().dot));
    model.removeRow(1);
    QTRY_COMPARE(view.dotCount(), 3);

    // A row without a position yet is not drawn; removed rows disappear.
    auto *nowhere = new QStandardItem(QStringLiteral("nowhere"));
    model.appendRow(nowhere);
    model.removeRow(0);   // London
    QTRY_COMPARE(view.dotCount(), 2);
    QVERIFY(!sameColor(pixelAt(view.grab().toImage(), view.project(kLondon.lat, kLondon.lng)), view.colors().dot));
    VERIFY_PIXEL(view, kUcla.lat, kUcla.lng, view.colors().dot);

    // Many changes in one go are applied together.
    for (int i = 0; i < 500; ++i)
        model.appendRow(clientRow({"bulk", -60.0 + i * 0.2, -170.0 + i * 0.5}));
    QTRY_COMPARE(view.dotCount(), 502);

    model.clear();
    QTRY_COMPARE(view.dotCount(), 0);
}

void tst_Map::zoomAndPan()
{
    MapView view;
    view.resize(800, 400);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    const double world = view.pixelsPerDegree();
    QCOMPARE(view.zoomFactor(), 1.0);

    view.zoomOut();   // the whole world is as far out as it goes
    QCOMPARE(view.pixelsPerDegree(), world);
    view.zoomIn();
    QCOMPARE(view.pixelsPerDegree(), world * 2);

    // The wheel zooms around the cursor: the place under it stays put.
    const QPointF cursor(600, 120);
    const QPointF geo = view.geoAt(cursor);
    QWheelEvent wheel(cursor, view.mapToGlobal(cursor), {}, QPoint(0, 120), Qt::NoButton, Qt::NoModifier,
                      Qt::NoScrollPhase, false);
    QApplication::sendEvent(&view, &wheel);
    QVERIFY(view.pixelsPerDegree() > world * 2);
    const QPointF after = view.project(geo.y(), geo.x());
    QVERIFY2(qAbs(after.x() - cursor.x()) < 0.01 && qAbs(after.y() - cursor.y()) < 0.01,
             qPrintable(QStringLiteral("%1,%2").arg(after.x()).arg(after.y())));

    // Drag pans by exactly the drag.
    const QPointF london = view.project(kLondon.lat, kLondon.lng);
    const QPoint from(400, 200);
    const QPoint to(330, 240);
    QTest::mousePress(&view, Qt::LeftButton, {}, from);
    QMouseEvent move(QEvent::MouseMove, QPointF(to), view.mapToGlobal(QPointF(to)), Qt::NoButton, Qt::LeftButton, {});
    QApplication::sendEvent(&view, &move);
    QTest::mouseRelease(&view, Qt::LeftButton, {}, to);
    const QPointF moved = view.project(kLondon.lat, kLondon.lng);
    QVERIFY(qAbs(moved.x() - (london.x() - 70)) < 0.01 && qAbs(moved.y() - (london.y() + 40)) < 0.01);

    // Double-click zooms in.
    const double before = view.pixelsPerDegree();
    QTest::mouseDClick(&view, Qt::LeftButton, {}, QPoint(400, 200));
    QCOMPARE(view.pixelsPerDegree(), before * 2);

    view.fitWorld();
    QCOMPARE(view.pixelsPerDegree(), world);
    // The land is still where it should be after all that.
    VERIFY_PIXEL(view, -25, 134, view.colors().land);
}

void tst_Map::toolTip()
{
    QStandardItemModel model;
    model.appendRow(clientRow(kUcla));
    MapView view;
    view.resize(800, 400);
    view.setModel(&model, LatRole, LngRole, LabelRole);
    QCOMPARE(view.rowAt(view.project(kUcla.lat, kUcla.lng) + QPointF(3, 3)), 0);
    QCOMPARE(view.rowAt(view.project(0, 0)), -1);
    QCOMPARE(view.toolTipForRow(0), QStringLiteral("kiwi.cs.ucla.edu\n+34.068930 -118.445127"));
}

// MainWindow's dark palette switches the map's colours unless they were set explicitly.
void tst_Map::followsPalette()
{
    MapView view;
    view.resize(720, 360);
    QCOMPARE(view.colors().land, MapView::lightColors().land);
    QPalette dark;
    dark.setColor(QPalette::Window, QColor(0x20, 0x20, 0x20));
    view.setPalette(dark);
    QCOMPARE(view.colors().land, MapView::darkColors().land);
    VERIFY_PIXEL(view, -25, 134, MapView::darkColors().land);
    VERIFY_PIXEL(view, 10, -140, MapView::darkColors().ocean);

    MapView::Colors custom = MapView::lightColors();
    custom.land = QColor(0x11, 0x88, 0x11);
    view.setColors(custom);
    view.setPalette(QPalette());
    QCOMPARE(view.colors().land, custom.land);
    VERIFY_PIXEL(view, 5, 20, custom.land);
}

// 20,000 dots: one drawPixmapFragments call over a cached background. Benchmarks, not timed
// assertions (QBENCHMARK re-runs the function; the checks before it run every time).
void tst_Map::twentyThousandDots()
{
    ManyClients model(20000);
    QAbstractItemModelTester tester(&model);
    MapView view;
    view.resize(1280, 640);
    view.setModel(&model, LatRole, LngRole, LabelRole);
    QCOMPARE(view.dotCount(), 20000);
    QItemSelectionModel *selection = view.selectionModel();
    QVERIFY2(selection, "setModel() gives the view a default selection model");
    selection->select(model.index(123, 0), QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    QImage image(view.size(), QImage::Format_ARGB32_Premultiplied);
    view.render(&image);   // the first frame builds the coastline path and the background
    const double lat = model.index(123, 0).data(LatRole).toDouble();
    const double lng = model.index(123, 0).data(LngRole).toDouble();
    QVERIFY(sameColor(pixelAt(image, view.project(lat, lng)), view.colors().selectedDot));
    QBENCHMARK {
        view.render(&image);
    }
}

// Panning at street level redraws the background from the full-detail coastline path.
void tst_Map::panAtDeepZoom()
{
    MapView view;
    view.resize(1280, 640);
    view.centerOn(48.85, 2.35);
    for (int i = 0; i < 10; ++i)
        view.zoomIn();
    view.centerOn(48.85, 2.35);
    QVERIFY(view.zoomFactor() > 1000);
    QImage image(view.size(), QImage::Format_ARGB32_Premultiplied);
    view.render(&image);
    VERIFY_PIXEL(view, 48.85, 2.35, view.colors().land);   // Paris
    double lng = 2.35;
    QBENCHMARK {
        lng = lng > 2.4 ? 2.35 : lng + 0.01;   // a new view every frame: no cached background
        view.centerOn(48.85, lng);
        view.render(&image);
    }
}

// Many clients in view: one density cell image, not a dot each; zoomed in on a few: exact dots.
// Counted through lastPaint(), not timed.
void tst_Map::denseClientsAggregate()
{
    ClientTableModel model;
    model.applyStored(clientUpdates(200000));
    MapView view;
    view.resize(1280, 640);
    view.setModel(&model, ClientTableModel::LatitudeRole, ClientTableModel::LongitudeRole, ClientTableModel::ClientIdRole);
    QCOMPARE(view.dotCount(), 200000);
    QImage image(view.size(), QImage::Format_ARGB32_Premultiplied);
    view.render(&image);
    QVERIFY(view.lastPaint().aggregated);
    QCOMPARE(view.lastPaint().inView, 200000);
    QCOMPARE(view.lastPaint().dots, 0);
    QVERIFY2(view.lastPaint().cells > 1000 && view.lastPaint().cells <= (1280 / MapView::kCellPx) * (640 / MapView::kCellPx),
             qPrintable(QString::number(view.lastPaint().cells)));
    // Where a client is, the cell shows it (tinted towards the dot colour, not plain land or sea).
    const QModelIndex some = model.index(4321, 0);
    const QPointF at = view.project(some.data(ClientTableModel::LatitudeRole).toDouble(),
                                    some.data(ClientTableModel::LongitudeRole).toDouble());
    const QColor cell = pixelAt(image, at);
    QVERIFY2(!sameColor(cell, view.colors().ocean, 20) && !sameColor(cell, view.colors().land, 20), qPrintable(cell.name()));

    // Zoomed in on one client: the few around it are dots again.
    view.zoomTo(some.data(ClientTableModel::LatitudeRole).toDouble(), some.data(ClientTableModel::LongitudeRole).toDouble());
    view.render(&image);
    QVERIFY(!view.lastPaint().aggregated);
    QVERIFY(view.lastPaint().inView >= 1 && view.lastPaint().inView <= MapView::kMaxDots);
    QVERIFY(view.lastPaint().dots >= view.lastPaint().inView);
    QCOMPARE(view.lastPaint().cells, 0);
    QVERIFY(sameColor(pixelAt(image, view.project(some.data(ClientTableModel::LatitudeRole).toDouble(),
                                                  some.data(ClientTableModel::LongitudeRole).toDouble())),
                      view.colors().dot));

    // A filtered table shows only its clients on the map.
    model.setFilterText(QStringLiteral("c1234"));   // c1234, c12340..c12349, c123400..
    view.fitWorld();
    QTRY_COMPARE(view.dotCount(), model.rowCount());
    view.render(&image);
    QCOMPARE(view.lastPaint().inView, model.rowCount());
    QVERIFY(!view.lastPaint().aggregated);
}

// The map reads the client table's arrays (storage order) while the table shows sorted rows:
// picking and highlighting still go through the rows.
void tst_Map::clientTableSortedAndFiltered()
{
    ClientTableModel model;
    model.applyStored({clientAt(kUcla, 1), clientAt(kSydney, 2), clientAt(kLondon, 3)});
    QAbstractItemModelTester tester(&model);
    model.sort(ClientTableModel::Client, Qt::DescendingOrder);   // sydney, london, kiwi
    MapView view;
    view.resize(800, 400);
    view.setModel(&model, ClientTableModel::LatitudeRole, ClientTableModel::LongitudeRole, ClientTableModel::ClientIdRole);
    QItemSelectionModel *selection = view.selectionModel();
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QCOMPARE(view.rowAt(view.project(kUcla.lat, kUcla.lng)), 2);
    QCOMPARE(view.toolTipForRow(0), QStringLiteral("sydney.example\n-33.868801 +151.209305"));   // floats for drawing
    QTest::mouseClick(&view, Qt::LeftButton, {}, view.project(kLondon.lat, kLondon.lng).toPoint());
    QCOMPARE(selection->currentIndex().data(ClientTableModel::ClientIdRole).toByteArray(), QByteArray(kLondon.id));
    VERIFY_PIXEL(view, kLondon.lat, kLondon.lng, view.colors().selectedDot);
    VERIFY_PIXEL(view, kSydney.lat, kSydney.lng, view.colors().dot);

    // Moved and re-sorted: the highlight follows the client, not the row number.
    model.applyStored({clientAt({kLondon.id, 48.85, 2.35}, 10)});
    QTRY_VERIFY(sameColor(pixelAt(view.grab().toImage(), view.project(48.85, 2.35)), view.colors().selectedDot));
    model.setFilterText(QStringLiteral("sydney"));
    QTRY_COMPARE(view.dotCount(), 1);
    QVERIFY(!sameColor(pixelAt(view.grab().toImage(), view.project(kUcla.lat, kUcla.lng)), view.colors().dot));
    VERIFY_PIXEL(view, kSydney.lat, kSydney.lng, view.colors().dot);
}

void tst_Map::wheelZoomKeepsCursorPoint_data()
{
    QTest::addColumn<QSize>("size");
    QTest::addColumn<double>("lat");
    QTest::addColumn<double>("lng");
    // Panes wider (and taller) than the world at the first notches.
    QTest::newRow("wide pane, Los Angeles") << QSize(1600, 500) << 34.05 << -118.24;
    QTest::newRow("wide pane, Tokyo") << QSize(1600, 500) << 35.68 << 139.69;
    QTest::newRow("tall pane, Sydney") << QSize(500, 900) << -33.87 << 151.21;
}

void tst_Map::wheelZoomKeepsCursorPoint()
{
    QFETCH(QSize, size);
    QFETCH(double, lat);
    QFETCH(double, lng);
    MapView view;
    view.resize(size);
    const QPointF cursor = view.project(lat, lng);
    for (int notch = 1; notch <= 8; ++notch) {
        QWheelEvent wheel(cursor, view.mapToGlobal(cursor), {}, QPoint(0, 120), Qt::NoButton, Qt::NoModifier,
                          Qt::NoScrollPhase, false);
        QApplication::sendEvent(&view, &wheel);
        const QPointF now = view.project(lat, lng);
        QVERIFY2(qAbs(now.x() - cursor.x()) < 0.5 && qAbs(now.y() - cursor.y()) < 0.5,
                 qPrintable(QStringLiteral("notch %1: (%2,%3) drifted to (%4,%5)")
                                .arg(notch).arg(cursor.x()).arg(cursor.y()).arg(now.x()).arg(now.y())));
    }
    QVERIFY(view.zoomFactor() > 15);
    // And back out: the whole world again, centred.
    for (int notch = 0; notch < 8; ++notch) {
        QWheelEvent wheel(cursor, view.mapToGlobal(cursor), {}, QPoint(0, -120), Qt::NoButton, Qt::NoModifier,
                          Qt::NoScrollPhase, false);
        QApplication::sendEvent(&view, &wheel);
    }
    QCOMPARE(view.zoomFactor(), 1.0);
    QCOMPARE(view.project(0, 0), QPointF(size.width() / 2.0, size.height() / 2.0));
}

void tst_Map::zoomToClient()
{
    MapView view;
    view.resize(800, 400);
    view.zoomTo(kSydney.lat, kSydney.lng);
    const QPointF at = view.project(kSydney.lat, kSydney.lng);
    QVERIFY(qAbs(at.x() - 400) < 0.01 && qAbs(at.y() - 200) < 0.01);
    QVERIFY2(view.height() / view.pixelsPerDegree() <= 1.0 + 1e-9, qPrintable(QString::number(view.pixelsPerDegree())));
    // Closer already: the zoom stays, the client is centred.
    for (int i = 0; i < 3; ++i)
        view.zoomIn();
    const double closer = view.pixelsPerDegree();
    view.zoomTo(kUcla.lat, kUcla.lng);
    QCOMPARE(view.pixelsPerDegree(), closer);
    QVERIFY(qAbs(view.project(kUcla.lat, kUcla.lng).x() - 400) < 0.01);
}

// A million clients from the client table's arrays: the time of the client layer is printed
// (a benchmark figure, not asserted); what is drawn is checked.
void tst_Map::millionClientsRepaint()
{
    ClientTableModel model;
    for (int i = 0; i < 10; ++i)
        model.applyStored(clientUpdates(100000, i * 100000));
    MapView view;
    view.resize(1280, 640);
    view.setModel(&model, ClientTableModel::LatitudeRole, ClientTableModel::LongitudeRole, ClientTableModel::ClientIdRole);
    QImage image(view.size(), QImage::Format_ARGB32_Premultiplied);
    view.render(&image);
    QCOMPARE(view.lastPaint().inView, 1000000);
    QVERIFY(view.lastPaint().aggregated);
    QBENCHMARK {
        view.render(&image);
    }
    qInfo("clients layer: %.1f ms for %d clients", double(view.lastPaint().pointNs) / 1e6, view.lastPaint().inView);
}

QTEST_MAIN(tst_Map)
#include "tst_map.moc"
