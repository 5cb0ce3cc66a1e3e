#pragma once
// The herd as a graph: nodes coloured by state, links by up/down/cut with live heartbeat counts,
// and every flood hop animated along the link it took.
#include "config.h"
#include "monitor.h"
#include "topologyitems.h"

#include <QElapsedTimer>
#include <QGraphicsView>
#include <QHash>
#include <QList>
#include <vector>

class QMenu;
class QTimer;

namespace herd {

class TopologyView final : public QGraphicsView {
    Q_OBJECT
public:
    static constexpr int kFrameMs = 33;          // ~30 fps: smooth enough, cheap enough
    static constexpr int kMaxPulses = 300;       // live pulses (waiting + moving); extras are sampled out
    static constexpr int kHopMs = 550;           // one hop along a link, whatever its length
    static constexpr int kRippleMs = 500;        // the ring on the node that heard from the client
    static constexpr int kMaxLagMs = 2500;       // a hop that would start later than this is dropped

    explicit TopologyView(QWidget *parent = nullptr);
    ~TopologyView() override;

    // Lays out the nodes (circle with the fewest crossings for small herds, force-directed for
    // big ones) and links; forgets stats and pulses.
    void setHerd(const HerdConfig &config);
    // Node colours, link colours and labels, captions and tooltips. Cheap to call at 30 Hz:
    // items repaint only what changed.
    void applyStats(const QList<NodeStats> &stats);
    // One pulse per hop, chained so a hop leaves a node when the previous one reaches it.
    // Never blocks: beyond kMaxPulses whole updates are sampled out (see droppedPulses()).
    void addHops(const QList<FloodHop> &hops);

    QString selectedNode() const;
    void selectNode(const QString &name);   // "" clears the selection
    bool savePicture(const QString &fileName);   // .svg, or any raster format Qt writes (.png)

    NodeItem *nodeItem(const QString &name) const;
    EdgeItem *edgeItem(const QString &a, const QString &b) const;   // either order
    QList<NodeItem *> nodeItems() const { return m_nodeList; }
    QList<EdgeItem *> edgeItems() const { return m_edgeList; }
    int livePulseCount() const { return int(m_pulses.size()); }
    bool isAnimating() const;
    quint64 droppedPulses() const { return m_droppedPulses; }
    // The menu a right-click at `scenePos` opens (node: start/stop; link: cut/restore), or
    // nullptr over empty space. The caller owns it. Public so tests can trigger its actions.
    QMenu *createContextMenu(const QPointF &scenePos, QWidget *parent = nullptr);
    // Non-empty: start/stop and cut/restore are shown disabled with `reason` as their tooltip
    // (a herd watched remotely is not ours to control).
    void setControlsUnavailable(const QString &reason) { m_controlsUnavailable = reason; }
    // The text shown when hovering a node or link (HTML), empty for none.
    QString toolTipFor(const QGraphicsItem *item) const;

public Q_SLOTS:
    void zoomIn();
    void zoomOut();
    void fitAll();
    void resetLayout();   // back to the computed layout after nodes were dragged around

Q_SIGNALS:
    void nodeSelected(const QString &node);   // empty when the selection is cleared
    void startStopRequested(const QString &node);
    void linkCutRequested(const QString &a, const QString &b, bool cut);

protected:
    void wheelEvent(QWheelEvent *event) override;
    void contextMenuEvent(QContextMenuEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void showEvent(QShowEvent *event) override;
    void changeEvent(QEvent *event) override;
    void scrollContentsBy(int dx, int dy) override;
    bool viewportEvent(QEvent *event) override;
    void drawBackground(QPainter *painter, const QRectF &rect) override;
    void drawForeground(QPainter *painter, const QRectF &rect) override;

private:
    struct Pulse {
        PulseItem *item;     // owned by the scene
        EdgeItem *edge;      // nullptr for a ripple
        NodeItem *from;      // nullptr for a ripple
        NodeItem *to;
        qint64 startMs;
        int durationMs;
    };

    void layoutNodes();
    void placeLabels();
    void clearPulses();
    void animate();
    void scaleBy(qreal factor);
    QRectF contentRect() const;
    void paintPicture(QPainter *painter, const QRectF &source, const QRectF &target);
    NodeItem *nodeAt(const QPointF &scenePos) const;
    EdgeItem *edgeAt(const QPointF &scenePos) const;
    NodeState nodeState(const QString &name) const;
    void updateEdge(EdgeItem *edge, bool *resized);
    static QString edgeKey(const QString &a, const QString &b);

    QGraphicsScene *m_scene;
    HerdConfig m_config;
    QHash<QString, NodeItem *> m_nodes;
    QHash<QString, EdgeItem *> m_edges;          // by edgeKey()
    QList<NodeItem *> m_nodeList;                // config order
    QList<EdgeItem *> m_edgeList;                // config order
    QHash<QString, NodeStats> m_stats;           // the last applyStats(), by node

    QTimer *m_animation;
    QElapsedTimer m_clock;
    std::vector<Pulse> m_pulses;
    QHash<QByteArray, qint64> m_arrivals;        // (update, node) -> when its pulse lands (m_clock ms)
    quint64 m_droppedPulses = 0;

    QString m_lastSelected;
    bool m_autoFit = true;        // until the user zooms or pans, resizing keeps everything in view
    bool m_draggingNode = false;
    QString m_controlsUnavailable;
};

} // namespace herd
