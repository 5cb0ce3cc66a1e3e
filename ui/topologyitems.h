#pragma once
// The graphics items of the topology view: nodes, links, link labels and flood pulses. Every item
// has a Type so callers can use qgraphicsitem_cast; the scene owns them all.
#include <QColor>
#include <QGraphicsItem>
#include <QList>
#include <QLineF>
#include <QString>

namespace herd {

class EdgeItem;
class EdgeLabelItem;

// How the herd sees a node: its own running flag, then its neighbours' verdicts on it.
enum class NodeState {
    Unknown,    // not hosted here and no hosted neighbour to ask
    Alive,      // running; every neighbour that can see it gets its acks
    Suspect,    // running; some neighbour misses acks or cannot reach it
    Dead,       // no neighbour reaches it (or, not hosted here, every neighbour sees it down)
    Stopped,    // hosted here and stopped
};

enum class EdgeState {
    Unknown,    // neither end hosted here
    Up,         // both ends up and acking
    Suspect,    // up but missing acks, or the ends disagree (one still thinks it is up)
    Down,
    Cut,        // held down on purpose (fault injection)
};

QString nodeStateName(NodeState state);
QString edgeStateName(EdgeState state);
QColor nodeStateColor(NodeState state);
QColor edgeStateColor(EdgeState state);
QColor pulseColor();

// A node: a circle with its name inside and a caption (port, clients) underneath. Movable; the
// edges attached to it follow.
class NodeItem final : public QGraphicsItem {
public:
    enum { Type = UserType + 1 };
    static constexpr qreal kRadius = 34;

    explicit NodeItem(const QString &name);
    int type() const override { return Type; }

    const QString &name() const { return m_name; }
    NodeState state() const { return m_state; }
    void setState(NodeState state);            // repaints only on a change
    const QString &caption() const { return m_caption; }
    void setCaption(const QString &caption);   // repaints only on a change
    // One size for every name in the herd (the view picks the largest that fits the longest):
    // names in mixed sizes look like a mistake. <= 0: fit this name alone.
    void setNamePointSize(qreal size);
    static qreal fittingPointSize(const QString &name, const QFont &base);
    void addEdge(EdgeItem *edge) { m_edges.append(edge); }
    const QList<EdgeItem *> &edges() const { return m_edges; }

    // The circle and the caption, in scene coordinates: what labels must not cover.
    QRectF footprint() const;

    QRectF boundingRect() const override;
    QPainterPath shape() const override;
    void paint(QPainter *painter, const QStyleOptionGraphicsItem *option, QWidget *widget) override;

protected:
    QVariant itemChange(GraphicsItemChange change, const QVariant &value) override;
    void hoverEnterEvent(QGraphicsSceneHoverEvent *event) override;
    void hoverLeaveEvent(QGraphicsSceneHoverEvent *event) override;

private:
    QRectF captionRect() const;

    QString m_name;
    QString m_caption;
    qreal m_namePointSize = 0;
    NodeState m_state = NodeState::Unknown;
    QList<EdgeItem *> m_edges;   // owned by the scene
    bool m_hovered = false;
};

// A link between two nodes: a line from circle edge to circle edge, coloured by state, dashed
// when cut. Its text lives in a separate EdgeLabelItem stacked above every line.
class EdgeItem final : public QGraphicsItem {
public:
    enum { Type = UserType + 2 };

    EdgeItem(NodeItem *a, NodeItem *b, EdgeLabelItem *label);
    int type() const override { return Type; }

    NodeItem *nodeA() const { return m_a; }
    NodeItem *nodeB() const { return m_b; }
    EdgeLabelItem *labelItem() const { return m_label; }
    EdgeState state() const { return m_state; }
    void setState(EdgeState state);            // repaints only on a change
    QString label() const;
    bool setLabel(const QString &text);        // true if the label's size changed (re-place labels)

    // Where along the line (0 = at A, 1 = at B) and how far to the side the label sits.
    void setLabelPlacement(qreal t, qreal sideOffset);
    QPointF labelPosition(qreal t, qreal sideOffset) const;

    // Follows the nodes: called when either moves.
    void adjust();
    // Circle edge to circle edge, in scene coordinates, oriented from `from` (A or B).
    QLineF line() const { return m_line; }
    QLineF lineFrom(const NodeItem *from) const;

    QRectF boundingRect() const override;
    QPainterPath shape() const override;
    void paint(QPainter *painter, const QStyleOptionGraphicsItem *option, QWidget *widget) override;

protected:
    void hoverEnterEvent(QGraphicsSceneHoverEvent *event) override;
    void hoverLeaveEvent(QGraphicsSceneHoverEvent *event) override;

private:
    NodeItem *m_a;
    NodeItem *m_b;
    EdgeLabelItem *m_label;    // owned by the scene, like this item
    QLineF m_line;
    EdgeState m_state = EdgeState::Unknown;
    qreal m_labelT = 0.5;
    qreal m_labelSide = 0;
    bool m_hovered = false;
};

// The text of a link ("hb 12 / ack 12 · 0.31 ms") on a rounded plate, centred on its position.
class EdgeLabelItem final : public QGraphicsItem {
public:
    enum { Type = UserType + 4 };

    EdgeLabelItem();
    int type() const override { return Type; }

    EdgeItem *edge() const { return m_edge; }
    void setEdge(EdgeItem *edge) { m_edge = edge; }
    const QString &text() const { return m_text; }
    bool setText(const QString &text);         // true if the size changed
    void setAccent(const QColor &color);

    QRectF boundingRect() const override;
    void paint(QPainter *painter, const QStyleOptionGraphicsItem *option, QWidget *widget) override;

private:
    EdgeItem *m_edge = nullptr;
    QString m_text;
    QColor m_accent;
    QRectF m_rect;
};

// One flood hop in flight: a dot with a short tail travelling along a link, or (from a client)
// a ring rippling out of the node that received the IAMAT. Positioned by the view's timer.
class PulseItem final : public QGraphicsItem {
public:
    enum { Type = UserType + 3 };
    enum class Kind { Travel, Ripple };

    explicit PulseItem(Kind kind);
    int type() const override { return Type; }

    Kind kind() const { return m_kind; }
    qreal progress() const { return m_progress; }
    void setProgress(qreal progress, qreal angleDegrees = 0);   // 0..1

    QRectF boundingRect() const override;
    void paint(QPainter *painter, const QStyleOptionGraphicsItem *option, QWidget *widget) override;

private:
    Kind m_kind;
    qreal m_progress = 0;
    qreal m_angle = 0;         // direction of travel, degrees, QLineF convention
};

} // namespace herd
