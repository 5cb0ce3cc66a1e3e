#pragma once
#include <QColor>
#include <QImage>
#include <QList>
#include <QPainter>
#include <QPainterPath>
#include <QPixmap>
#include <QPointer>
#include <QPolygonF>
#include <QWidget>
#include <vector>

class QAbstractItemModel;
class QAbstractProxyModel;
class QItemSelectionModel;
class QModelIndex;
class QTimer;

namespace herd {

class MapPoints;

// A world map (equirectangular: x is longitude, y latitude) with one dot per row of a client
// model. The coastline is Natural Earth's 1:50m, bundled as :/herd/map/coastline.bin (see
// resources/map/README.md). Wheel zooms around the cursor, drag pans, double-click zooms in,
// a click selects the nearest dot's row in the shared selection model. Where more than
// kMaxDots clients are in view, they are drawn as a density grid (cells of kCellPx, the darker
// the more clients) instead of dots; zoomed in, as exact dots again.
class MapView final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MapView)
public:
    struct Colors {
        QColor outside;       // beyond the edges of the world
        QColor ocean;
        QColor land;
        QColor coast;
        QColor graticule;
        QColor dot;
        QColor selectedDot;
        QColor selectedOutline;
        QColor text;          // overlay and graticule labels
        QColor textHalo;
    };
    static Colors lightColors();
    static Colors darkColors();

    static constexpr int kMaxDots = 5000;       // clients in view drawn as dots; more: density cells
    static constexpr int kCellPx = 4;           // density cell, logical pixels

    // What the last paint drew (for tests and the benchmark).
    struct PaintStats {
        bool aggregated = false;
        int inView = 0;                         // clients inside the view
        int dots = 0;                           // drawn as dots
        int cells = 0;                          // non-empty density cells drawn
        qint64 pointNs = 0;                     // time spent on the clients (not the background)
    };

    explicit MapView(QWidget *parent = nullptr);
    ~MapView() override;

    // One dot per row (column 0) of `model`; lat/lng are doubles in degrees, the label any
    // string-like value. Changes are followed through the model's signals and applied at most
    // ~30 times a second. A model that is also a MapPoints (the client table) is drawn from its
    // coordinate arrays directly, without a data() call per row.
    void setModel(QAbstractItemModel *model, int latRole, int lngRole, int labelRole);
    // Selecting a dot selects its row, and selected rows are highlighted. The selection model
    // may belong to `model` or to a proxy (chain) on top of it.
    void setSelectionModel(QItemSelectionModel *selection);
    QItemSelectionModel *selectionModel() const;       // a default one follows setModel()

    bool coastlineLoaded() const;                       // the bundled coastline was read
    QPointF project(double lat, double lng) const;      // widget coordinates at the current view
    QPointF geoAt(QPointF widgetPos) const;             // the inverse: x = longitude, y = latitude
    double pixelsPerDegree() const;
    double zoomFactor() const;                          // 1 when the whole world just fits
    int dotCount() const;                               // rows shown with a valid position
    const PaintStats &lastPaint() const { return m_lastPaint; }
    int rowAt(QPointF widgetPos) const;                 // nearest dot within a few pixels, or -1
    QString toolTipForRow(int row) const;               // "client\n+lat +lng"

    // Colours follow the widget palette (light or dark) until set explicitly.
    void setColors(const Colors &colors);
    const Colors &colors() const { return m_colors; }

    QSize sizeHint() const override { return {640, 360}; }
    QSize minimumSizeHint() const override { return {160, 90}; }

public Q_SLOTS:
    void zoomIn();
    void zoomOut();
    void fitWorld();
    void fitClients();                                  // all dots, with a margin; min span 0.05°
    void centerOn(double lat, double lng);              // same zoom; the view stays on the world
    void zoomTo(double lat, double lng);                // centred, zoomed in to street level (or closer)

Q_SIGNALS:
    void viewChanged();                                 // zoom or pan changed

protected:
    bool event(QEvent *event) override;                 // tooltips
    void changeEvent(QEvent *event) override;           // palette: light or dark colours
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void mouseDoubleClickEvent(QMouseEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;

private:
    // The coastline at one zoom level, in "world pixels" ((0,0) is 90°N 180°W), simplified to
    // that zoom. Zoomed out, `whole` is drawn as is; zoomed in, the rings are clipped to a
    // region around the view (`region`/`clipped`), rebuilt only when the view leaves it.
    struct ZoomLevel {
        double scale = 0;
        QList<QPolygonF> rings;
        QList<QRectF> bounds;
        QPainterPath whole;                             // built on first use
        QRectF region;
        QPainterPath clipped;
    };

    double scale() const;                               // pixels per degree now
    QPointF center() const;                             // x = lng, y = lat
    QPointF clampCenter(QPointF center, double scale) const;
    double fitWorldScale() const;
    void setView(QPointF center, double scale);         // clamps; ends automatic world fit
    void zoomAround(QPointF widgetPos, double factor);

    ZoomLevel &zoomLevel(double scale);
    const QPainterPath &coastPath(double scale, const QRectF &viewInWorld);
    void renderBackground();
    void paintGraticule(QPainter &p) const;
    void paintOverlay(QPainter &p) const;
    void paintLabel(QPainter &p, QPointF at, const QString &text) const;
    void paintClients(QPainter &p);
    bool positionOfRow(int row, QPointF *lngLat) const;    // x = lng, y = lat
    // Calls f(row, lng, lat) for every row with a position (in the model's storage order for
    // the arrays of a MapPoints model).
    template<typename F> void forEachPoint(F &&f) const;
    void rebuildSprite();

    void scheduleSync(bool full, int first = 0, int last = -1);
    void onRowsInserted(int first, int last);
    void onRowsRemoved(int first, int last);
    void syncNow();                                     // apply pending model changes
    void recomputeSelectedRows();
    QList<const QAbstractProxyModel *> proxyChain(bool *ok) const;   // selection model -> m_model
    QModelIndex selectionIndexForRow(int row) const;    // in the selection model's model
    int rowForSelectionIndex(const QModelIndex &index) const;
    void onCurrentChanged(const QModelIndex &current);
    void selectRow(int row, bool toggle);

    QPointer<QAbstractItemModel> m_model;
    const MapPoints *m_points = nullptr;                // m_model's arrays, if it has them
    QPointer<QItemSelectionModel> m_selection;
    QItemSelectionModel *m_ownSelection = nullptr;      // child of this; the default one
    int m_latRole = 0;
    int m_lngRole = 0;
    int m_labelRole = 0;

    QList<QPointF> m_dots;                              // per row: x = lng, y = lat; NaN if none
    int m_validDots = 0;
    QList<int> m_selectedRows;                          // sorted
    QTimer *m_syncTimer = nullptr;                      // child of this
    bool m_fullSyncPending = false;
    bool m_rowsShifted = false;                         // rows inserted/removed since the last sync
    int m_dirtyFirst = -1;                              // inclusive row range awaiting re-read
    int m_dirtyLast = -1;

    bool m_autoFit = true;                              // whole world, refitted on resize
    QPointF m_center;                                   // x = lng, y = lat
    double m_scale = 1;

    Colors m_colors;
    bool m_customColors = false;
    QPixmap m_sprite;                                   // one dot, drawn 20,000 times per frame
    QList<ZoomLevel> m_zoomLevels;                      // a few recent zoom levels
    QPixmap m_background;                               // ocean, land, graticule for this view
    struct BackgroundKey {
        QSize size;
        qreal dpr = 0;
        double scale = 0;
        QPointF center;
        bool operator==(const BackgroundKey &) const = default;
    } m_backgroundKey;
    QList<QPainter::PixmapFragment> m_fragments;        // reused every frame
    std::vector<quint32> m_cells;                       // density counts, reused every frame
    QImage m_cellImage;
    PaintStats m_lastPaint;

    QPoint m_pressPos;
    QPointF m_pressCenter;
    bool m_pressed = false;
    bool m_dragging = false;
};

} // namespace herd
