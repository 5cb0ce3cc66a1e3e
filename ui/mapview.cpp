#include "mapview.h"
#include "mappoints.h"

#include <QAbstractItemModel>
#include <QAbstractProxyModel>
#include <QElapsedTimer>
#include <QApplication>
#include <QFile>
#include <QHelpEvent>
#include <QItemSelectionModel>
#include <QLoggingCategory>
#include <QMouseEvent>
#include <QPolygonF>
#include <QTimer>
#include <QToolTip>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>
#include <limits>

namespace herd {

namespace {

Q_LOGGING_CATEGORY(lcHerdMap, "herd.map")

constexpr int kSyncIntervalMs = 33;          // ~30 Hz: model changes are applied at most this often
constexpr double kMaxScale = 100000;         // pixels per degree: 0.01° across 1,000 px
constexpr double kMinClientSpan = 0.05;      // degrees: fitClients never zooms closer than this
constexpr double kFitMarginPx = 24;          // room for a dot and the start of its label
constexpr qreal kDotDiameter = 8;            // logical pixels, outline included
constexpr qreal kSelectedRadius = 6;
constexpr qreal kPickRadius = 8;             // a click this close to a dot selects it
constexpr qreal kSimplifyPx = 0.75;          // drop coastline vertices closer than this on screen
constexpr int kPathCacheSize = 4;            // zoom levels kept (zooming back and forth is free)
constexpr int kMaxLabels = 20;               // labels for the first selected dots only
constexpr int kMaxGraticuleLines = 400;      // per direction; a guard, never reached in practice
constexpr double kKmPerDegree = 111.32;      // along the equator (WGS84)
constexpr double kClientZoomSpan = 1.0;      // degrees across the view after zoomTo()
constexpr char kMagic[] = "HERDCST1";

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// The bundled coastline, read once per process and shared by every MapView.
struct Coastline {
    QList<QPolygonF> rings;                  // closed implicitly; x = lng, y = lat
    QList<QRectF> bounds;                    // per ring, degrees
    bool loaded = false;
};

bool readVarint(const uchar *&p, const uchar *end, quint64 &value)
{
    value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p == end)
            return false;
        const uchar b = *p++;
        value |= quint64(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

qint64 unzigzag(quint64 z)
{
    return qint64(z >> 1) ^ -qint64(z & 1);
}

// Format: resources/map/README.md. Any inconsistency rejects the whole file rather than
// drawing a half-read world.
Coastline loadCoastline()
{
    Coastline c;
    QFile file(QStringLiteral(":/herd/map/coastline.bin"));
    if (!file.open(QIODevice::ReadOnly)) {
        qCWarning(lcHerdMap) << "no coastline:" << file.errorString();
        return c;
    }
    const QByteArray data = file.readAll();
    const qsizetype magicLen = qsizetype(sizeof(kMagic) - 1);
    if (data.size() < magicLen || !data.startsWith(QByteArrayView(kMagic, magicLen))) {
        qCWarning(lcHerdMap) << "coastline: bad magic";
        return c;
    }
    const uchar *p = reinterpret_cast<const uchar *>(data.constData()) + magicLen;
    const uchar *end = reinterpret_cast<const uchar *>(data.constData()) + data.size();
    quint64 unit = 0;
    quint64 ringCount = 0;
    if (!readVarint(p, end, unit) || unit == 0 || unit > 10000000 || !readVarint(p, end, ringCount)
        || ringCount > quint64(end - p)) {
        qCWarning(lcHerdMap) << "coastline: bad header";
        return c;
    }
    const double perUnit = 1.0 / double(unit);
    const qint64 maxLng = qint64(180 * unit);
    const qint64 maxLat = qint64(90 * unit);
    c.rings.reserve(qsizetype(ringCount));
    c.bounds.reserve(qsizetype(ringCount));
    for (quint64 r = 0; r < ringCount; ++r) {
        quint64 n = 0;
        if (!readVarint(p, end, n) || n < 3 || n > quint64(end - p) / 2) {
            qCWarning(lcHerdMap) << "coastline: bad ring" << r;
            return {};
        }
        QPolygonF ring;
        ring.reserve(qsizetype(n));
        qint64 x = 0;
        qint64 y = 0;
        for (quint64 i = 0; i < n; ++i) {
            quint64 dx = 0;
            quint64 dy = 0;
            if (!readVarint(p, end, dx) || !readVarint(p, end, dy)) {
                qCWarning(lcHerdMap) << "coastline: truncated ring" << r;
                return {};
            }
            x += unzigzag(dx);
            y += unzigzag(dy);
            if (x < -maxLng || x > maxLng || y < -maxLat || y > maxLat) {
                qCWarning(lcHerdMap) << "coastline: vertex out of range in ring" << r;
                return {};
            }
            ring.append(QPointF(double(x) * perUnit, double(y) * perUnit));
        }
        c.bounds.append(ring.boundingRect());
        c.rings.append(std::move(ring));
    }
    if (p != end) {
        qCWarning(lcHerdMap) << "coastline: trailing bytes";
        return {};
    }
    c.loaded = true;
    return c;
}

const Coastline &coastline()
{
    static const Coastline c = loadCoastline();
    return c;
}

// A "nice" graticule step (degrees) giving lines at least ~60 px apart; 30° at most.
double graticuleStep(double pixelsPerDegree)
{
    static constexpr double kSteps[] = {30, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01};
    double step = kSteps[0];
    for (double s : kSteps) {
        if (s * pixelsPerDegree < 60)
            break;
        step = s;
    }
    return step;
}

int decimalsFor(double step)
{
    return step >= 1 ? 0 : step >= 0.1 ? 1 : 2;
}

QString latText(double lat, int decimals)
{
    const QChar hemi = lat > 0 ? QLatin1Char('N') : lat < 0 ? QLatin1Char('S') : QChar();
    QString s = QString::number(std::abs(lat), 'f', decimals) + QChar(0x00B0);
    return hemi.isNull() ? s : s + hemi;
}

QString lngText(double lng, int decimals)
{
    const QChar hemi = lng > 0 && lng < 180 ? QLatin1Char('E')
                     : lng < 0 && lng > -180 ? QLatin1Char('W') : QChar();
    QString s = QString::number(std::abs(lng), 'f', decimals) + QChar(0x00B0);
    return hemi.isNull() ? s : s + hemi;
}

} // namespace

MapView::Colors MapView::lightColors()
{
    return {
        .outside = QColor(0xd9, 0xdd, 0xe2),
        .ocean = QColor(0xb5, 0xd0, 0xe6),
        .land = QColor(0xf0, 0xea, 0xd8),
        .coast = QColor(0x86, 0x82, 0x72),
        .graticule = QColor(255, 255, 255, 150),
        .dot = QColor(0xd7, 0x30, 0x1f),
        .selectedDot = QColor(0xff, 0xc8, 0x00),
        .selectedOutline = QColor(0x20, 0x20, 0x20),
        .text = QColor(0x26, 0x32, 0x3d),
        .textHalo = QColor(255, 255, 255, 210),
    };
}

MapView::Colors MapView::darkColors()
{
    return {
        .outside = QColor(0x14, 0x17, 0x1b),
        .ocean = QColor(0x1c, 0x2b, 0x3a),
        .land = QColor(0x3a, 0x3e, 0x44),
        .coast = QColor(0x6e, 0x74, 0x7d),
        .graticule = QColor(255, 255, 255, 40),
        .dot = QColor(0xff, 0x6a, 0x4d),
        .selectedDot = QColor(0xff, 0xd8, 0x4d),
        .selectedOutline = QColor(0xf0, 0xf0, 0xf0),
        .text = QColor(0xdd, 0xe3, 0xea),
        .textHalo = QColor(20, 24, 28, 210),
    };
}

MapView::MapView(QWidget *parent)
    : QWidget(parent)
    , m_syncTimer(new QTimer(this))
{
    setAttribute(Qt::WA_OpaquePaintEvent);   // the background pixmap covers every pixel
    setFocusPolicy(Qt::WheelFocus);
    setCursor(Qt::OpenHandCursor);
    m_syncTimer->setSingleShot(true);
    m_syncTimer->setInterval(kSyncIntervalMs);
    m_syncTimer->setTimerType(Qt::CoarseTimer);
    connect(m_syncTimer, &QTimer::timeout, this, &MapView::syncNow);
    m_colors = palette().color(QPalette::Window).lightness() < 128 ? darkColors() : lightColors();
    rebuildSprite();
    (void)coastline();   // read now, not in the middle of the first paint
}

MapView::~MapView() = default;

// ---- model and selection -------------------------------------------------------------------

void MapView::setModel(QAbstractItemModel *model, int latRole, int lngRole, int labelRole)
{
    if (m_model)
        disconnect(m_model, nullptr, this, nullptr);
    m_model = model;
    m_points = dynamic_cast<const MapPoints *>(model);
    m_latRole = latRole;
    m_lngRole = lngRole;
    m_labelRole = labelRole;
    if (model && m_points) {
        // Positions are read from the model's arrays at paint time: any change only asks for
        // one repaint per tick (and a fresh look at the selected rows).
        connect(model, &QAbstractItemModel::rowsInserted, this, [this] { scheduleSync(true); });
        connect(model, &QAbstractItemModel::rowsRemoved, this, [this] { scheduleSync(true); });
        connect(model, &QAbstractItemModel::rowsMoved, this, [this] { scheduleSync(true); });
        connect(model, &QAbstractItemModel::modelReset, this, [this] { scheduleSync(true); });
        connect(model, &QAbstractItemModel::layoutChanged, this, [this] { scheduleSync(true); });
        connect(model, &QAbstractItemModel::dataChanged, this, [this] { scheduleSync(true); });
        connect(model, &QObject::destroyed, this, [this] {
            m_points = nullptr;
            scheduleSync(true);
        });
    } else if (model) {
        // Inserted and removed rows shift the dot array now (no data() calls) and are read on
        // the next tick; appending a few clients to 20,000 does not re-read the 20,000.
        connect(model, &QAbstractItemModel::rowsInserted, this, [this](const QModelIndex &parent, int first, int last) {
            if (!parent.isValid())
                onRowsInserted(first, last);
        });
        connect(model, &QAbstractItemModel::rowsRemoved, this, [this](const QModelIndex &parent, int first, int last) {
            if (!parent.isValid())
                onRowsRemoved(first, last);
        });
        connect(model, &QAbstractItemModel::rowsMoved, this, [this] { scheduleSync(true); });
        connect(model, &QAbstractItemModel::modelReset, this, [this] { scheduleSync(true); });
        connect(model, &QAbstractItemModel::layoutChanged, this, [this] { scheduleSync(true); });
        connect(model, &QAbstractItemModel::dataChanged, this,
                [this](const QModelIndex &topLeft, const QModelIndex &bottomRight, const QList<int> &roles) {
                    if (topLeft.parent().isValid())
                        return;
                    if (roles.isEmpty() || roles.contains(m_latRole) || roles.contains(m_lngRole))
                        scheduleSync(false, topLeft.row(), bottomRight.row());
                    else if (roles.contains(m_labelRole))
                        update();   // only selected dots show labels; update() coalesces
                });
        connect(model, &QObject::destroyed, this, [this] { scheduleSync(true); });
    }
    // Like QAbstractItemView: a view always has a selection model; an explicit one replaces it.
    if (!m_selection || m_selection == m_ownSelection) {
        QItemSelectionModel *old = m_ownSelection;
        m_ownSelection = model ? new QItemSelectionModel(model, this) : nullptr;
        setSelectionModel(m_ownSelection);
        if (old)
            old->deleteLater();
    }
    m_fullSyncPending = true;
    syncNow();   // the first load is immediate: a view set up and grabbed at once shows its dots
}

void MapView::setSelectionModel(QItemSelectionModel *selection)
{
    if (m_selection)
        disconnect(m_selection, nullptr, this, nullptr);
    m_selection = selection;
    if (selection) {
        connect(selection, &QItemSelectionModel::selectionChanged, this, [this] {
            recomputeSelectedRows();
            update();
        });
        connect(selection, &QItemSelectionModel::currentChanged, this, &MapView::onCurrentChanged);
        connect(selection, &QItemSelectionModel::modelChanged, this, [this] {
            recomputeSelectedRows();
            update();
        });
    }
    if (m_ownSelection && selection != m_ownSelection) {
        m_ownSelection->deleteLater();
        m_ownSelection = nullptr;
    }
    recomputeSelectedRows();
    update();
}

QItemSelectionModel *MapView::selectionModel() const
{
    return m_selection;
}

void MapView::scheduleSync(bool full, int first, int last)
{
    if (full) {
        m_fullSyncPending = true;
    } else if (!m_fullSyncPending) {
        if (last < first)
            return;
        m_dirtyFirst = m_dirtyFirst < 0 ? first : std::min(m_dirtyFirst, first);
        m_dirtyLast = std::max(m_dirtyLast, last);
    }
    if (!m_syncTimer->isActive())   // one sync per tick, however many signals arrive
        m_syncTimer->start();
}

void MapView::onRowsInserted(int first, int last)
{
    if (m_fullSyncPending || first < 0 || first > m_dots.size() || last < first) {
        scheduleSync(true);
        return;
    }
    const int count = last - first + 1;
    m_dots.insert(first, count, QPointF(kNaN, kNaN));   // no position until read
    if (m_dirtyFirst >= first)
        m_dirtyFirst += count;
    if (m_dirtyLast >= first)
        m_dirtyLast += count;
    m_rowsShifted = true;
    scheduleSync(false, first, last);
}

void MapView::onRowsRemoved(int first, int last)
{
    if (m_fullSyncPending || first < 0 || last >= m_dots.size() || last < first) {
        scheduleSync(true);
        return;
    }
    const int count = last - first + 1;
    for (int row = first; row <= last; ++row)
        m_validDots -= std::isnan(m_dots[row].x()) ? 0 : 1;
    m_dots.remove(first, count);
    // Keep the dirty range covering what it covered (a superset is fine).
    if (m_dirtyFirst >= 0) {
        m_dirtyFirst = m_dirtyFirst > last ? m_dirtyFirst - count : std::min(m_dirtyFirst, first);
        m_dirtyLast = m_dirtyLast > last ? m_dirtyLast - count : std::max(m_dirtyFirst, std::min(m_dirtyLast, first));
    }
    m_rowsShifted = true;
    if (!m_syncTimer->isActive())
        m_syncTimer->start();
    update();
}

void MapView::syncNow()
{
    m_syncTimer->stop();
    if (!m_model)
        m_points = nullptr;
    if (m_points) {
        m_dots.clear();
        m_validDots = m_model->rowCount();
        recomputeSelectedRows();
        m_fullSyncPending = false;
        m_rowsShifted = false;
        m_dirtyFirst = m_dirtyLast = -1;
        update();
        return;
    }
    auto read = [this](int row) -> QPointF {
        const QModelIndex index = m_model->index(row, 0);
        bool latOk = false;
        bool lngOk = false;
        const double lat = index.data(m_latRole).toDouble(&latOk);
        const double lng = index.data(m_lngRole).toDouble(&lngOk);
        if (!latOk || !lngOk || !(std::abs(lat) <= 90) || !(std::abs(lng) <= 180))
            return {kNaN, kNaN};   // no position (yet): not drawn
        return {lng, lat};
    };
    const bool full = m_fullSyncPending;
    if (!m_model) {
        m_dots.clear();
    } else if (full) {
        const int rows = m_model->rowCount();
        m_dots.resize(rows);
        for (int row = 0; row < rows; ++row)
            m_dots[row] = read(row);
    } else if (m_dirtyFirst >= 0) {
        const int last = std::min(m_dirtyLast, int(m_dots.size()) - 1);
        for (int row = m_dirtyFirst; row <= last; ++row) {
            const bool was = !std::isnan(m_dots[row].x());
            m_dots[row] = read(row);
            m_validDots += (std::isnan(m_dots[row].x()) ? 0 : 1) - (was ? 1 : 0);
        }
    } else if (!m_rowsShifted) {
        return;   // nothing pending
    }
    if (full)
        m_validDots = int(std::count_if(m_dots.cbegin(), m_dots.cend(), [](QPointF p) { return !std::isnan(p.x()); }));
    if (full || m_rowsShifted)
        recomputeSelectedRows();   // selected row numbers may have shifted
    m_fullSyncPending = false;
    m_rowsShifted = false;
    m_dirtyFirst = m_dirtyLast = -1;
    update();
}

// The selection model may sit on a proxy chain above our model: walk it down.
QList<const QAbstractProxyModel *> MapView::proxyChain(bool *ok) const
{
    QList<const QAbstractProxyModel *> chain;
    *ok = false;
    if (!m_selection || !m_model)
        return chain;
    const QAbstractItemModel *m = m_selection->model();
    while (m && m != m_model) {
        const auto *proxy = qobject_cast<const QAbstractProxyModel *>(m);
        if (!proxy)
            return {};
        chain.append(proxy);
        m = proxy->sourceModel();
    }
    *ok = m == m_model;
    return chain;
}

void MapView::recomputeSelectedRows()
{
    m_selectedRows.clear();
    bool ok = false;
    const QList<const QAbstractProxyModel *> chain = proxyChain(&ok);
    if (!ok)
        return;
    QItemSelection selection = m_selection->selection();
    for (const QAbstractProxyModel *proxy : chain)
        selection = proxy->mapSelectionToSource(selection);
    for (const QItemSelectionRange &range : std::as_const(selection)) {
        if (range.parent().isValid() || !range.isValid())
            continue;
        for (int row = range.top(); row <= range.bottom(); ++row)
            m_selectedRows.append(row);
    }
    std::sort(m_selectedRows.begin(), m_selectedRows.end());
    m_selectedRows.erase(std::unique(m_selectedRows.begin(), m_selectedRows.end()), m_selectedRows.end());
}

QModelIndex MapView::selectionIndexForRow(int row) const
{
    bool ok = false;
    const QList<const QAbstractProxyModel *> chain = proxyChain(&ok);
    if (!ok || row < 0 || row >= m_model->rowCount())
        return {};
    QModelIndex index = m_model->index(row, 0);
    for (auto it = chain.crbegin(); it != chain.crend(); ++it)
        index = (*it)->mapFromSource(index);
    return index;
}

int MapView::rowForSelectionIndex(const QModelIndex &selectionIndex) const
{
    bool ok = false;
    const QList<const QAbstractProxyModel *> chain = proxyChain(&ok);
    if (!ok || !selectionIndex.isValid())
        return -1;
    QModelIndex index = selectionIndex;
    for (const QAbstractProxyModel *proxy : chain)
        index = proxy->mapToSource(index);
    return index.isValid() && !index.parent().isValid() ? index.row() : -1;
}

void MapView::onCurrentChanged(const QModelIndex &current)
{
    // Selected from the table: bring the dot into view if it is off screen (keeping the zoom).
    syncNow();
    const int row = rowForSelectionIndex(current);
    QPointF dot;
    if (!positionOfRow(row, &dot))
        return;
    const QRectF inner = QRectF(rect()).adjusted(kFitMarginPx, kFitMarginPx, -kFitMarginPx, -kFitMarginPx);
    if (!inner.contains(project(dot.y(), dot.x())))
        centerOn(dot.y(), dot.x());
}

void MapView::selectRow(int row, bool toggle)
{
    const QModelIndex index = selectionIndexForRow(row);
    if (!index.isValid())
        return;
    m_selection->setCurrentIndex(index, (toggle ? QItemSelectionModel::Toggle : QItemSelectionModel::ClearAndSelect)
                                            | QItemSelectionModel::Rows);
}

// ---- view ------------------------------------------------------------------------------------

bool MapView::coastlineLoaded() const
{
    return coastline().loaded;
}

double MapView::fitWorldScale() const
{
    if (width() <= 0 || height() <= 0)
        return 1;
    return std::min(width() / 360.0, height() / 180.0);
}

// In automatic world fit the view follows the widget size, computed on demand so that a
// resize() not yet delivered (hidden widget) is already honoured by project().
double MapView::scale() const
{
    return m_autoFit ? fitWorldScale() : m_scale;
}

QPointF MapView::center() const
{
    return m_autoFit ? QPointF(0, 0) : clampCenter(m_center, m_scale);
}

// The middle of the view stays on the world, so the map can never be lost off screen. Not
// tighter: zooming keeps the place under the cursor exactly where it is, also while the world is
// narrower (or shorter) than the widget, which a rule keeping the world centred or its edges out
// of view cannot do. All the way out the view is the whole world, centred (automatic fit).
QPointF MapView::clampCenter(QPointF c, double s) const
{
    Q_UNUSED(s)
    return {std::clamp(c.x(), -180.0, 180.0), std::clamp(c.y(), -90.0, 90.0)};
}

double MapView::pixelsPerDegree() const
{
    return scale();
}

double MapView::zoomFactor() const
{
    return scale() / fitWorldScale();
}

int MapView::dotCount() const
{
    return m_validDots;
}

QPointF MapView::project(double lat, double lng) const
{
    const double s = scale();
    const QPointF c = center();
    return {width() / 2.0 + (lng - c.x()) * s, height() / 2.0 - (lat - c.y()) * s};
}

QPointF MapView::geoAt(QPointF widgetPos) const
{
    const double s = scale();
    const QPointF c = center();
    return {c.x() + (widgetPos.x() - width() / 2.0) / s, c.y() - (widgetPos.y() - height() / 2.0) / s};
}

void MapView::setView(QPointF newCenter, double newScale)
{
    const double minScale = fitWorldScale();
    newScale = std::clamp(newScale, minScale, std::max(minScale, kMaxScale));
    const bool autoFit = newScale <= minScale * (1 + 1e-9);   // all the way out: the whole world
    const QPointF c = clampCenter(newCenter, newScale);
    if (autoFit == m_autoFit && (autoFit || (c == center() && newScale == m_scale)))
        return;
    m_autoFit = autoFit;
    m_center = autoFit ? QPointF(0, 0) : c;
    m_scale = newScale;
    update();
    Q_EMIT viewChanged();
}

void MapView::zoomAround(QPointF widgetPos, double factor)
{
    const QPointF geo = geoAt(widgetPos);
    const double minScale = fitWorldScale();
    const double s = std::clamp(scale() * factor, minScale, std::max(minScale, kMaxScale));
    // Keep the point under the cursor where it is.
    setView(QPointF(geo.x() - (widgetPos.x() - width() / 2.0) / s, geo.y() + (widgetPos.y() - height() / 2.0) / s), s);
}

void MapView::zoomIn()
{
    zoomAround(QRectF(rect()).center(), 2);
}

void MapView::zoomOut()
{
    zoomAround(QRectF(rect()).center(), 0.5);
}

void MapView::fitWorld()
{
    setView({}, 0);
}

void MapView::fitClients()
{
    syncNow();
    double minLat = 90, maxLat = -90, minLng = 180, maxLng = -180;
    forEachPoint([&](int, double lng, double lat) {
        minLng = std::min(minLng, lng);
        maxLng = std::max(maxLng, lng);
        minLat = std::min(minLat, lat);
        maxLat = std::max(maxLat, lat);
    });
    if (m_validDots == 0) {
        fitWorld();
        return;
    }
    // 10% around the box, and never closer than kMinClientSpan (one client, or all in one city).
    const double spanLng = std::max(maxLng - minLng, kMinClientSpan) * 1.1;
    const double spanLat = std::max(maxLat - minLat, kMinClientSpan) * 1.1;
    const double w = std::max(1.0, width() - 2 * kFitMarginPx);
    const double h = std::max(1.0, height() - 2 * kFitMarginPx);
    setView(QPointF((minLng + maxLng) / 2, (minLat + maxLat) / 2), std::min(w / spanLng, h / spanLat));
}

void MapView::centerOn(double lat, double lng)
{
    setView(QPointF(lng, lat), scale());
}

void MapView::zoomTo(double lat, double lng)
{
    const double street = std::max(1, std::min(width(), height())) / kClientZoomSpan;
    setView(QPointF(lng, lat), std::max(scale(), street));
}

bool MapView::positionOfRow(int row, QPointF *lngLat) const
{
    if (row < 0 || !m_model)
        return false;
    if (m_points) {
        const int point = m_points->pointOfRow(row);
        const MapPointArrays a = m_points->mapPoints();
        if (point < 0 || point >= a.count)
            return false;
        *lngLat = QPointF(a.lng[point], a.lat[point]);
        return true;
    }
    if (row >= m_dots.size() || std::isnan(m_dots[row].x()))
        return false;
    *lngLat = m_dots[row];
    return true;
}

template<typename F>
void MapView::forEachPoint(F &&f) const
{
    if (m_points && m_model) {
        const MapPointArrays a = m_points->mapPoints();
        const int rows = m_model->rowCount();
        for (int i = 0; i < a.count; ++i) {
            const int row = a.rowOf ? a.rowOf[i] : i;
            if (row < 0 || row >= rows)
                continue;   // filtered out of the table, or not announced yet
            f(row, double(a.lng[i]), double(a.lat[i]));
        }
        return;
    }
    for (int row = 0; row < m_dots.size(); ++row) {
        const QPointF d = m_dots[row];
        if (!std::isnan(d.x()))
            f(row, d.x(), d.y());
    }
}

int MapView::rowAt(QPointF widgetPos) const
{
    const double s = scale();
    const QPointF c = center();
    const double cx = width() / 2.0;
    const double cy = height() / 2.0;
    int best = -1;
    double bestDist = kPickRadius * kPickRadius;
    forEachPoint([&](int row, double lng, double lat) {
        const double dx = cx + (lng - c.x()) * s - widgetPos.x();
        const double dy = cy - (lat - c.y()) * s - widgetPos.y();
        const double dist = dx * dx + dy * dy;
        // Ties go to a selected row (a click on a highlighted dot keeps it), then the first row.
        if (dist < bestDist
            || (dist == bestDist && best >= 0 && row != best
                && (std::binary_search(m_selectedRows.cbegin(), m_selectedRows.cend(), row)
                    ? true : !std::binary_search(m_selectedRows.cbegin(), m_selectedRows.cend(), best) && row < best))) {
            best = row;
            bestDist = dist;
        }
    });
    return best;
}

QString MapView::toolTipForRow(int row) const
{
    QPointF at;
    if (!m_model || row >= m_model->rowCount() || !positionOfRow(row, &at))
        return {};
    const QString label = m_model->index(row, 0).data(m_labelRole).toString();
    return label + QLatin1Char('\n') + QString::asprintf("%+.6f %+.6f", at.y(), at.x());
}

void MapView::setColors(const Colors &colors)
{
    m_colors = colors;
    m_customColors = true;
    m_backgroundKey = {};
    rebuildSprite();
    update();
}

// ---- painting --------------------------------------------------------------------------------

void MapView::rebuildSprite()
{
    const qreal dpr = devicePixelRatioF();
    const int px = int(std::ceil(kDotDiameter * dpr));
    QPixmap sprite(px, px);
    sprite.fill(Qt::transparent);
    QPainter p(&sprite);
    p.setRenderHint(QPainter::Antialiasing);
    p.scale(dpr, dpr);
    QColor outline = m_colors.selectedOutline;
    outline.setAlpha(140);   // a thin rim keeps dots readable where they overlap land or each other
    p.setPen(QPen(outline, 1));
    p.setBrush(m_colors.dot);
    p.drawEllipse(QRectF(0.5, 0.5, kDotDiameter - 1, kDotDiameter - 1));
    p.end();
    sprite.setDevicePixelRatio(dpr);
    m_sprite = sprite;
}

// The coastline in world pixels at `scale`, with vertices closer than kSimplifyPx merged and
// sub-pixel islands dropped; built once per zoom level and reused for every pan and repaint.
MapView::ZoomLevel &MapView::zoomLevel(double s)
{
    for (ZoomLevel &level : m_zoomLevels) {
        if (level.scale == s)
            return level;
    }
    if (m_zoomLevels.size() >= kPathCacheSize)
        m_zoomLevels.removeFirst();
    ZoomLevel level;
    level.scale = s;
    const Coastline &c = coastline();
    for (qsizetype i = 0; i < c.rings.size(); ++i) {
        const QRectF &b = c.bounds[i];
        if (b.width() * s < 1 && b.height() * s < 1)
            continue;
        const QPolygonF &ring = c.rings[i];
        QPolygonF out;
        out.reserve(ring.size());
        out.append(QPointF((ring[0].x() + 180) * s, (90 - ring[0].y()) * s));
        for (qsizetype j = 1; j < ring.size(); ++j) {
            const QPointF q((ring[j].x() + 180) * s, (90 - ring[j].y()) * s);
            if ((q - out.constLast()).manhattanLength() >= kSimplifyPx)
                out.append(q);
        }
        if (out.size() < 3)
            continue;
        level.bounds.append(out.boundingRect());
        level.rings.append(std::move(out));
    }
    m_zoomLevels.append(std::move(level));
    return m_zoomLevels.last();
}

namespace {

// Sutherland-Hodgman against one edge of an axis-aligned rectangle.
template<typename Inside, typename Cross>
QPolygonF clipEdge(const QPolygonF &in, Inside inside, Cross cross)
{
    QPolygonF out;
    if (in.isEmpty())
        return out;
    out.reserve(in.size() + 4);
    QPointF prev = in.constLast();
    bool prevIn = inside(prev);
    for (const QPointF &p : in) {
        const bool pIn = inside(p);
        if (pIn != prevIn)
            out.append(cross(prev, p));
        if (pIn)
            out.append(p);
        prev = p;
        prevIn = pIn;
    }
    return out;
}

// A ring clipped to `r`. Concave rings leave zero-width edges along the rectangle's sides;
// `r` extends beyond the view, so they fill nothing visible and their stroke is off screen.
QPolygonF clipToRect(const QPolygonF &ring, const QRectF &r)
{
    auto atX = [](double x) {
        return [x](QPointF a, QPointF b) { return QPointF(x, a.y() + (b.y() - a.y()) * (x - a.x()) / (b.x() - a.x())); };
    };
    auto atY = [](double y) {
        return [y](QPointF a, QPointF b) { return QPointF(a.x() + (b.x() - a.x()) * (y - a.y()) / (b.y() - a.y()), y); };
    };
    QPolygonF p = clipEdge(ring, [&](QPointF q) { return q.x() >= r.left(); }, atX(r.left()));
    p = clipEdge(p, [&](QPointF q) { return q.x() <= r.right(); }, atX(r.right()));
    p = clipEdge(p, [&](QPointF q) { return q.y() >= r.top(); }, atY(r.top()));
    return clipEdge(p, [&](QPointF q) { return q.y() <= r.bottom(); }, atY(r.bottom()));
}

} // namespace

// Zoomed out: the whole simplified coastline, one cached path per zoom level. Zoomed in (the
// world many times the view), filling the whole path costs tens of milliseconds per frame in
// clipping alone, so the rings are clipped once to a region three views wide and tall around
// the view, and that path is reused until a pan leaves the region.
const QPainterPath &MapView::coastPath(double s, const QRectF &viewInWorld)
{
    ZoomLevel &level = zoomLevel(s);
    const bool zoomedOut = 360 * s * 180 * s <= 16 * viewInWorld.width() * viewInWorld.height();
    if (zoomedOut) {
        if (level.whole.isEmpty()) {
            level.whole.setFillRule(Qt::OddEvenFill);   // lakes inside land (the Caspian) stay water
            for (const QPolygonF &ring : std::as_const(level.rings)) {
                level.whole.addPolygon(ring);
                level.whole.closeSubpath();
            }
        }
        return level.whole;
    }
    if (!level.region.contains(viewInWorld)) {
        level.region = viewInWorld.adjusted(-viewInWorld.width(), -viewInWorld.height(), viewInWorld.width(), viewInWorld.height());
        level.clipped = QPainterPath();
        level.clipped.setFillRule(Qt::OddEvenFill);
        for (qsizetype i = 0; i < level.rings.size(); ++i) {
            const QRectF &b = level.bounds[i];
            if (!b.intersects(level.region))
                continue;   // cannot contain any point of the region: dropping it keeps the fill
            const QPolygonF ring = level.region.contains(b) ? level.rings[i] : clipToRect(level.rings[i], level.region);
            if (ring.size() < 3)
                continue;
            level.clipped.addPolygon(ring);
            level.clipped.closeSubpath();
        }
    }
    return level.clipped;
}

// Ocean, land and graticule change only with the view, not with the dots: cache them.
void MapView::renderBackground()
{
    const qreal dpr = devicePixelRatioF();
    const BackgroundKey key{size(), dpr, scale(), center()};
    if (key == m_backgroundKey && !m_background.isNull())
        return;
    m_backgroundKey = key;
    if (width() <= 0 || height() <= 0) {
        m_background = {};
        return;
    }
    m_background = QPixmap((QSizeF(size()) * dpr).toSize());
    m_background.setDevicePixelRatio(dpr);
    m_background.fill(m_colors.outside);
    QPainter p(&m_background);
    const QRectF world(project(90, -180), project(-90, 180));
    p.fillRect(world, m_colors.ocean);
    p.setRenderHint(QPainter::Antialiasing);
    if (coastlineLoaded()) {
        p.save();
        p.translate(world.topLeft());
        p.setPen(QPen(m_colors.coast, 0));   // cosmetic: one pixel at every zoom
        p.setBrush(m_colors.land);
        p.drawPath(coastPath(scale(), QRectF(-world.topLeft(), QSizeF(size()))));
        p.restore();
    }
    paintGraticule(p);
    p.setPen(QPen(m_colors.coast, 0));
    p.setBrush(Qt::NoBrush);
    p.drawRect(world);
}

void MapView::paintGraticule(QPainter &p) const
{
    const double s = scale();
    const double step = graticuleStep(s);
    const int decimals = decimalsFor(step);
    const QPointF topLeft = geoAt(QPointF(0, 0));
    const QPointF bottomRight = geoAt(QPointF(width(), height()));
    const double lngLo = std::max(-180.0, topLeft.x());
    const double lngHi = std::min(180.0, bottomRight.x());
    const double latLo = std::max(-90.0, bottomRight.y());
    const double latHi = std::min(90.0, topLeft.y());
    if (lngLo > lngHi || latLo > latHi)
        return;
    const double yTop = project(latHi, 0).y();
    const double yBottom = project(latLo, 0).y();
    const double xLeft = project(0, lngLo).x();
    const double xRight = project(0, lngHi).x();

    QFont font = p.font();
    font.setPointSizeF(std::max(6.0, font.pointSizeF() * 0.8));
    p.setFont(font);
    const QFontMetricsF fm(font);
    QColor labelColor = m_colors.text;
    labelColor.setAlpha(150);

    // Integer multiples of the step, so lines do not drift with floating-point accumulation.
    const auto firstK = qint64(std::ceil(lngLo / step - 1e-9));
    for (qint64 k = firstK, n = 0; k * step <= lngHi + 1e-9 && n < kMaxGraticuleLines; ++k, ++n) {
        const double lng = double(k) * step;
        const double x = project(0, lng).x();
        p.setPen(QPen(m_colors.graticule, 0));
        p.drawLine(QPointF(x, yTop), QPointF(x, yBottom));
        p.setPen(labelColor);
        p.drawText(QPointF(x + 3, std::max(yTop, 0.0) + fm.ascent() + 2), lngText(lng, decimals));
    }
    const auto firstLat = qint64(std::ceil(latLo / step - 1e-9));
    for (qint64 k = firstLat, n = 0; k * step <= latHi + 1e-9 && n < kMaxGraticuleLines; ++k, ++n) {
        const double lat = double(k) * step;
        const double y = project(lat, 0).y();
        p.setPen(QPen(m_colors.graticule, 0));
        p.drawLine(QPointF(xLeft, y), QPointF(xRight, y));
        if (std::abs(lat) < 90) {
            p.setPen(labelColor);
            p.drawText(QPointF(std::max(xLeft, 0.0) + 3, y - 3), latText(lat, decimals));
        }
    }
}

void MapView::paintLabel(QPainter &p, QPointF at, const QString &text) const
{
    const QFontMetricsF fm(p.font());
    QRectF box(at, QSizeF(fm.horizontalAdvance(text) + 8, fm.height() + 4));
    if (box.right() > width())   // keep labels near the right edge on screen
        box.moveRight(at.x() - 2 * kSelectedRadius - 4);
    p.setPen(Qt::NoPen);
    p.setBrush(m_colors.textHalo);
    p.drawRoundedRect(box, 3, 3);
    p.setPen(m_colors.text);
    p.drawText(box, Qt::AlignCenter, text);
}

// Scale bar (at the centre latitude), zoom factor, graticule step and client count.
void MapView::paintOverlay(QPainter &p) const
{
    const double s = scale();
    const double lat = std::clamp(center().y(), -89.0, 89.0);
    const double kmPerPx = kKmPerDegree * std::max(0.01, std::cos(lat * M_PI / 180.0)) / s;
    const double target = 100 * kmPerPx;   // a bar of roughly 100 px
    const double magnitude = std::pow(10.0, std::floor(std::log10(target)));
    double km = magnitude;
    for (double m : {2.0, 5.0, 10.0}) {
        if (m * magnitude <= target)
            km = m * magnitude;
    }
    const double barPx = km / kmPerPx;
    const QString kmText = km >= 1 ? tr("%1 km").arg(km, 0, 'f', 0) : tr("%1 m").arg(km * 1000, 0, 'f', 0);
    const QString clients = m_validDots == 1 ? tr("1 client") : tr("%L1 clients").arg(m_validDots);
    const QString hint = tr("\u00d7%1 \u00b7 grid %2\u00b0 \u00b7 %3")
                             .arg(zoomFactor(), 0, 'f', zoomFactor() < 10 ? 1 : 0)
                             .arg(graticuleStep(s), 0, 'g', 3)
                             .arg(clients);

    const QFontMetricsF fm(p.font());
    const double pad = 6;
    const double boxW = std::max(barPx + 6 + fm.horizontalAdvance(kmText), fm.horizontalAdvance(hint)) + pad * 2;
    const double boxH = fm.height() * 2 + pad * 3;
    const QRectF box(8, height() - 8 - boxH, boxW, boxH);
    p.setPen(Qt::NoPen);
    p.setBrush(m_colors.textHalo);
    p.drawRoundedRect(box, 4, 4);
    p.setPen(QPen(m_colors.text, 2));
    const double y = box.top() + pad + fm.height() / 2;
    const double x0 = box.left() + pad;
    p.drawLine(QPointF(x0, y), QPointF(x0 + barPx, y));
    p.drawLine(QPointF(x0, y - 4), QPointF(x0, y + 4));
    p.drawLine(QPointF(x0 + barPx, y - 4), QPointF(x0 + barPx, y + 4));
    p.setPen(m_colors.text);
    p.drawText(QPointF(x0 + barPx + 6, y + fm.ascent() / 2 - 1), kmText);
    p.drawText(QPointF(x0, box.bottom() - pad - fm.descent()), hint);
}

void MapView::paintEvent(QPaintEvent *)
{
    renderBackground();
    QPainter p(this);
    p.drawPixmap(0, 0, m_background);

    paintClients(p);

    // Selected dots: bigger, outlined, and (the first few) labelled.
    p.setRenderHint(QPainter::Antialiasing);
    int labels = 0;
    const QRectF visible = QRectF(rect()).adjusted(-kDotDiameter, -kDotDiameter, kDotDiameter, kDotDiameter);
    for (int row : std::as_const(m_selectedRows)) {
        QPointF dot;
        if (!positionOfRow(row, &dot))
            continue;
        const QPointF at = project(dot.y(), dot.x());
        if (!visible.contains(at))
            continue;
        p.setPen(QPen(m_colors.selectedOutline, 1.5));
        p.setBrush(m_colors.selectedDot);
        p.drawEllipse(at, kSelectedRadius, kSelectedRadius);
        if (labels < kMaxLabels && m_model && row < m_model->rowCount()) {
            ++labels;
            paintLabel(p, at + QPointF(kSelectedRadius + 3, -kSelectedRadius - 3 - p.fontMetrics().height()),
                       m_model->index(row, 0).data(m_labelRole).toString());
        }
    }
    paintOverlay(p);
}

// The clients: first binned into cells of kCellPx (one pass over the positions, no data()
// calls); up to kMaxDots in view, each is drawn as a dot (one pre-rendered sprite per position
// in one call, positions rounded so the sprite is copied, not resampled); more, the cells are
// drawn as one small image, each cell's opacity growing with the log of its count.
void MapView::paintClients(QPainter &p)
{
    QElapsedTimer timer;
    timer.start();
    PaintStats stats;
    const double s = scale();
    const QPointF c = center();
    const double cx = width() / 2.0;
    const double cy = height() / 2.0;
    const double w = width();
    const double h = height();
    const int gw = (width() + kCellPx - 1) / kCellPx;
    const int gh = (height() + kCellPx - 1) / kCellPx;
    m_cells.assign(size_t(std::max(0, gw * gh)), 0);
    forEachPoint([&](int, double lng, double lat) {
        const double x = cx + (lng - c.x()) * s;
        const double y = cy - (lat - c.y()) * s;
        if (!(x >= 0 && y >= 0 && x < w && y < h))
            return;
        ++stats.inView;
        ++m_cells[size_t(int(y) / kCellPx) * size_t(gw) + size_t(int(x) / kCellPx)];
    });

    if (stats.inView <= kMaxDots) {
        const QRectF visible = QRectF(rect()).adjusted(-kDotDiameter, -kDotDiameter, kDotDiameter, kDotDiameter);
        const qreal dpr = m_sprite.devicePixelRatio();
        const QRectF source(0, 0, m_sprite.width(), m_sprite.height());
        m_fragments.clear();
        forEachPoint([&](int, double lng, double lat) {
            const QPointF at(cx + (lng - c.x()) * s, cy - (lat - c.y()) * s);
            if (visible.contains(at))
                m_fragments.append(QPainter::PixmapFragment::create(QPointF(std::round(at.x()), std::round(at.y())), source, 1 / dpr, 1 / dpr));
        });
        if (!m_fragments.isEmpty())
            p.drawPixmapFragments(m_fragments.constData(), int(m_fragments.size()), m_sprite);
        stats.dots = int(m_fragments.size());
    } else {
        stats.aggregated = true;
        quint32 most = 1;
        for (quint32 n : m_cells)
            most = std::max(most, n);
        if (m_cellImage.size() != QSize(gw, gh))
            m_cellImage = QImage(gw, gh, QImage::Format_ARGB32_Premultiplied);
        m_cellImage.fill(Qt::transparent);
        const double logMost = std::log1p(double(most));
        const QColor dot = m_colors.dot;
        for (int y = 0; y < gh; ++y) {
            auto *line = reinterpret_cast<QRgb *>(m_cellImage.scanLine(y));
            const quint32 *counts = m_cells.data() + size_t(y) * size_t(gw);
            for (int x = 0; x < gw; ++x) {
                if (counts[x] == 0)
                    continue;
                ++stats.cells;
                // A lone client still shows; the densest cells are opaque.
                const int alpha = 90 + int(165 * std::log1p(double(counts[x])) / logMost);
                line[x] = qPremultiply(qRgba(dot.red(), dot.green(), dot.blue(), std::min(255, alpha)));
            }
        }
        p.save();
        p.setRenderHint(QPainter::SmoothPixmapTransform, false);
        p.drawImage(QRectF(0, 0, gw * kCellPx, gh * kCellPx), m_cellImage);
        p.restore();
    }
    stats.pointNs = timer.nsecsElapsed();
    m_lastPaint = stats;
}

// ---- events ----------------------------------------------------------------------------------

bool MapView::event(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        auto *help = static_cast<QHelpEvent *>(event);
        syncNow();
        const int row = rowAt(help->pos());
        if (row >= 0) {
            QToolTip::showText(help->globalPos(), toolTipForRow(row), this);
        } else {
            QToolTip::hideText();
            event->ignore();
        }
        return true;
    }
    return QWidget::event(event);
}

void MapView::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::PaletteChange && !m_customColors) {
        m_colors = palette().color(QPalette::Window).lightness() < 128 ? darkColors() : lightColors();
        m_backgroundKey = {};
        rebuildSprite();
        update();
    }
    QWidget::changeEvent(event);
}

void MapView::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    if (!m_autoFit && m_scale < fitWorldScale())   // grown past the zoom: back to the whole world
        fitWorld();
    if (devicePixelRatioF() != m_sprite.devicePixelRatio())
        rebuildSprite();
    Q_EMIT viewChanged();
}

void MapView::mousePressEvent(QMouseEvent *event)
{
    if (event->button() != Qt::LeftButton) {
        QWidget::mousePressEvent(event);
        return;
    }
    m_pressed = true;
    m_dragging = false;
    m_pressPos = event->position().toPoint();
    m_pressCenter = center();
}

void MapView::mouseMoveEvent(QMouseEvent *event)
{
    if (!m_pressed || !(event->buttons() & Qt::LeftButton)) {
        QWidget::mouseMoveEvent(event);
        return;
    }
    const QPoint delta = event->position().toPoint() - m_pressPos;
    if (!m_dragging && delta.manhattanLength() >= QApplication::startDragDistance()) {
        m_dragging = true;
        setCursor(Qt::ClosedHandCursor);
    }
    if (m_dragging) {
        const double s = scale();
        setView(m_pressCenter + QPointF(-delta.x() / s, delta.y() / s), s);
    }
}

void MapView::mouseReleaseEvent(QMouseEvent *event)
{
    if (event->button() != Qt::LeftButton || !m_pressed) {
        QWidget::mouseReleaseEvent(event);
        return;
    }
    m_pressed = false;
    if (m_dragging) {
        m_dragging = false;
        setCursor(Qt::OpenHandCursor);
        return;
    }
    syncNow();   // pick against the rows as they are now
    const int row = rowAt(event->position());
    if (row >= 0)
        selectRow(row, event->modifiers() & Qt::ControlModifier);
}

void MapView::mouseDoubleClickEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton)
        zoomAround(event->position(), 2);
}

void MapView::wheelEvent(QWheelEvent *event)
{
    const int delta = event->angleDelta().y();
    if (delta == 0) {
        event->ignore();
        return;
    }
    // 120 units per notch; touchpads send smaller steps, which zoom proportionally less.
    zoomAround(event->position(), std::pow(2.0, delta / 240.0));
    event->accept();
}

void MapView::keyPressEvent(QKeyEvent *event)
{
    const double panPx = std::min(width(), height()) / 4.0;
    const double s = scale();
    switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal:
        zoomIn();
        break;
    case Qt::Key_Minus:
        zoomOut();
        break;
    case Qt::Key_0:
    case Qt::Key_Home:
        fitWorld();
        break;
    case Qt::Key_Left:
        setView(center() - QPointF(panPx / s, 0), s);
        break;
    case Qt::Key_Right:
        setView(center() + QPointF(panPx / s, 0), s);
        break;
    case Qt::Key_Up:
        setView(center() + QPointF(0, panPx / s), s);
        break;
    case Qt::Key_Down:
        setView(center() - QPointF(0, panPx / s), s);
        break;
    default:
        QWidget::keyPressEvent(event);
    }
}

} // namespace herd
