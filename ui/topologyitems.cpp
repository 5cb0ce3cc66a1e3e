#include "topologyitems.h"

#include <QFontMetricsF>
#include <QGraphicsScene>
#include <QGuiApplication>
#include <QLinearGradient>
#include <QPaintEngine>
#include <QPainter>
#include <QPainterPathStroker>
#include <QRadialGradient>
#include <QStyleOptionGraphicsItem>
#include <QtMath>

namespace herd {

namespace {

// Stacking: lines at the bottom, their labels above any line, pulses above labels (a flood is
// the thing to watch), nodes on top so a pulse disappears into the node it reaches.
constexpr qreal kEdgeZ = 0;
constexpr qreal kLabelZ = 1;
constexpr qreal kPulseZ = 2;
constexpr qreal kNodeZ = 3;

constexpr qreal kCaptionGap = 5;     // between the circle and the caption plate
constexpr qreal kEdgeHitWidth = 12;  // a thin line is hard to right-click: widen its shape
constexpr qreal kTailLength = 26;
constexpr qreal kRippleGrowth = 28;

QPalette paletteOf(const QGraphicsItem *item)
{
    return item->scene() ? item->scene()->palette() : QGuiApplication::palette();
}

QFont baseFont(const QGraphicsItem *item)
{
    return item->scene() ? item->scene()->font() : QGuiApplication::font();
}

QFont smallFont(const QFont &base)
{
    QFont f = base;
    f.setPointSizeF(std::max(7.0, base.pointSizeF() * 0.85));
    return f;
}

// Dark text on light fills (amber), white on saturated ones: the name must read on every state.
QColor textOn(const QColor &fill)
{
    const qreal luma = 0.2126 * fill.redF() + 0.7152 * fill.greenF() + 0.0722 * fill.blueF();
    return luma > 0.6 ? QColor(0x1d, 0x1f, 0x24) : QColor(Qt::white);
}

} // namespace

QString nodeStateName(NodeState state)
{
    switch (state) {
    case NodeState::Unknown: return QGraphicsScene::tr("unknown (not hosted here)");
    case NodeState::Alive: return QGraphicsScene::tr("alive");
    case NodeState::Suspect: return QGraphicsScene::tr("suspect");
    case NodeState::Dead: return QGraphicsScene::tr("unreachable");
    case NodeState::Stopped: return QGraphicsScene::tr("stopped");
    }
    return {};
}

QString edgeStateName(EdgeState state)
{
    switch (state) {
    case EdgeState::Unknown: return QGraphicsScene::tr("unknown (neither end hosted here)");
    case EdgeState::Up: return QGraphicsScene::tr("up");
    case EdgeState::Suspect: return QGraphicsScene::tr("suspect");
    case EdgeState::Down: return QGraphicsScene::tr("down");
    case EdgeState::Cut: return QGraphicsScene::tr("cut");
    }
    return {};
}

// One set of colours for items, legend and saved pictures; readable on light and dark palettes.
QColor nodeStateColor(NodeState state)
{
    switch (state) {
    case NodeState::Unknown: return QColor(0xa7, 0xae, 0xb8);
    case NodeState::Alive: return QColor(0x2e, 0x9d, 0x57);
    case NodeState::Suspect: return QColor(0xe8, 0xa8, 0x1c);
    case NodeState::Dead: return QColor(0xd6, 0x45, 0x41);
    case NodeState::Stopped: return QColor(0x7d, 0x83, 0x8c);
    }
    return {};
}

QColor edgeStateColor(EdgeState state)
{
    switch (state) {
    case EdgeState::Unknown: return QColor(0xa7, 0xae, 0xb8);
    case EdgeState::Up: return QColor(0x2e, 0x9d, 0x57);
    case EdgeState::Suspect: return QColor(0xe8, 0xa8, 0x1c);
    case EdgeState::Down: return QColor(0xd6, 0x45, 0x41);
    case EdgeState::Cut: return QColor(0xd6, 0x45, 0x41);   // red like down, but dashed
    }
    return {};
}

// Violet: apart from every state colour and from the selection highlight (usually blue).
QColor pulseColor()
{
    return QColor(0x8e, 0x44, 0xef);
}

// ---- NodeItem ----

NodeItem::NodeItem(const QString &name) : m_name(name)
{
    setFlags(ItemIsMovable | ItemIsSelectable | ItemSendsGeometryChanges);
    setAcceptHoverEvents(true);
    setZValue(kNodeZ);
}

void NodeItem::setState(NodeState state)
{
    if (state == m_state)
        return;
    m_state = state;
    update();
}

void NodeItem::setCaption(const QString &caption)
{
    if (caption == m_caption)
        return;
    prepareGeometryChange();
    m_caption = caption;
    update();
}

void NodeItem::setNamePointSize(qreal size)
{
    if (qFuzzyCompare(size, m_namePointSize))
        return;
    m_namePointSize = size;
    update();
}

// The largest size, up to a little over the base font, at which the bold name fits inside the
// circle; names that do not fit even at the floor are elided when painted.
qreal NodeItem::fittingPointSize(const QString &name, const QFont &base)
{
    QFont font = base;
    font.setBold(true);
    const qreal room = 2 * kRadius - 10;
    qreal size = base.pointSizeF() > 0 ? base.pointSizeF() * 1.05 : 10;
    font.setPointSizeF(size);
    while (size > 6.5 && QFontMetricsF(font).horizontalAdvance(name) > room) {
        size -= 0.25;
        font.setPointSizeF(size);
    }
    return size;
}

QRectF NodeItem::captionRect() const
{
    if (m_caption.isEmpty())
        return {};
    const QFontMetricsF fm(smallFont(baseFont(this)));
    const qreal w = fm.horizontalAdvance(m_caption) + 12;
    const qreal h = fm.height() + 4;
    return QRectF(-w / 2, kRadius + kCaptionGap, w, h);
}

QRectF NodeItem::footprint() const
{
    const QRectF circle(-kRadius, -kRadius, 2 * kRadius, 2 * kRadius);
    return mapRectToScene(circle.united(captionRect()));
}

QRectF NodeItem::boundingRect() const
{
    const qreal halo = kRadius + 6;   // the selection ring
    return QRectF(-halo, -halo, 2 * halo, 2 * halo).united(captionRect()).adjusted(-1, -1, 1, 1);
}

QPainterPath NodeItem::shape() const
{
    QPainterPath path;
    path.addEllipse(QPointF(0, 0), kRadius, kRadius);
    return path;
}

void NodeItem::paint(QPainter *painter, const QStyleOptionGraphicsItem *option, QWidget *widget)
{
    Q_UNUSED(option)
    Q_UNUSED(widget)
    const QPalette pal = paletteOf(this);
    const QColor fill = nodeStateColor(m_state);
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setRenderHint(QPainter::TextAntialiasing);

    if (isSelected() || m_hovered) {
        QColor ring = pal.color(QPalette::Highlight);
        if (!isSelected())
            ring.setAlpha(110);
        painter->setPen(QPen(ring, 3));
        painter->setBrush(Qt::NoBrush);
        painter->drawEllipse(QPointF(0, 0), kRadius + 4, kRadius + 4);
    }

    // Lit from the top left, like a button: reads as a thing you can grab and drag.
    QRadialGradient gradient(QPointF(-kRadius * 0.35, -kRadius * 0.4), kRadius * 1.5);
    gradient.setColorAt(0, fill.lighter(130));
    gradient.setColorAt(1, fill.darker(108));
    QPen border(fill.darker(150), 2);
    if (m_state == NodeState::Unknown)
        border.setStyle(Qt::DashLine);
    painter->setPen(border);
    painter->setBrush(gradient);
    painter->drawEllipse(QPointF(0, 0), kRadius, kRadius);

    QFont font = baseFont(this);
    font.setBold(true);
    font.setPointSizeF(m_namePointSize > 0 ? m_namePointSize : fittingPointSize(m_name, font));
    const QFontMetricsF fm(font);
    const qreal room = 2 * kRadius - 10;
    painter->setFont(font);
    painter->setPen(textOn(fill));
    const QRectF circle(-kRadius, -kRadius, 2 * kRadius, 2 * kRadius);
    painter->drawText(circle, Qt::AlignCenter, fm.elidedText(m_name, Qt::ElideRight, room));

    if (!m_caption.isEmpty()) {
        const QRectF plate = captionRect();
        QColor back = pal.color(QPalette::Base);
        back.setAlpha(225);
        painter->setPen(QPen(pal.color(QPalette::Mid), 0.8));
        painter->setBrush(back);
        painter->drawRoundedRect(plate, plate.height() / 2, plate.height() / 2);
        painter->setFont(smallFont(baseFont(this)));
        painter->setPen(pal.color(QPalette::Text));
        painter->drawText(plate, Qt::AlignCenter, m_caption);
    }
}

QVariant NodeItem::itemChange(GraphicsItemChange change, const QVariant &value)
{
    if (change == ItemPositionHasChanged) {
        for (EdgeItem *edge : std::as_const(m_edges))
            edge->adjust();
    }
    return QGraphicsItem::itemChange(change, value);
}

void NodeItem::hoverEnterEvent(QGraphicsSceneHoverEvent *event)
{
    m_hovered = true;
    update();
    QGraphicsItem::hoverEnterEvent(event);
}

void NodeItem::hoverLeaveEvent(QGraphicsSceneHoverEvent *event)
{
    m_hovered = false;
    update();
    QGraphicsItem::hoverLeaveEvent(event);
}

// ---- EdgeItem ----

EdgeItem::EdgeItem(NodeItem *a, NodeItem *b, EdgeLabelItem *label) : m_a(a), m_b(b), m_label(label)
{
    setAcceptHoverEvents(true);
    setZValue(kEdgeZ);
    a->addEdge(this);
    b->addEdge(this);
    label->setEdge(this);
    adjust();
}

void EdgeItem::setState(EdgeState state)
{
    if (state == m_state)
        return;
    m_state = state;
    m_label->setAccent(edgeStateColor(state));
    update();
}

QString EdgeItem::label() const
{
    return m_label->text();
}

bool EdgeItem::setLabel(const QString &text)
{
    return m_label->setText(text);
}

void EdgeItem::setLabelPlacement(qreal t, qreal sideOffset)
{
    m_labelT = t;
    m_labelSide = sideOffset;
    m_label->setPos(labelPosition(t, sideOffset));
}

QPointF EdgeItem::labelPosition(qreal t, qreal sideOffset) const
{
    const QLineF centres(m_a->pos(), m_b->pos());
    if (centres.length() < 1)
        return centres.p1();
    const QLineF normal = centres.normalVector().unitVector();
    return centres.pointAt(t) + (normal.p2() - normal.p1()) * sideOffset;
}

void EdgeItem::adjust()
{
    const QLineF centres(m_a->pos(), m_b->pos());
    prepareGeometryChange();
    const qreal trim = NodeItem::kRadius + 2;
    if (centres.length() <= 2 * trim) {
        m_line = QLineF(centres.p1(), centres.p1());   // overlapping nodes: nothing to draw
    } else {
        const QPointF step = (centres.p2() - centres.p1()) * (trim / centres.length());
        m_line = QLineF(centres.p1() + step, centres.p2() - step);
    }
    m_label->setPos(labelPosition(m_labelT, m_labelSide));
}

QLineF EdgeItem::lineFrom(const NodeItem *from) const
{
    return from == m_a ? m_line : QLineF(m_line.p2(), m_line.p1());
}

QRectF EdgeItem::boundingRect() const
{
    const qreal extra = kEdgeHitWidth / 2 + 2;
    return QRectF(m_line.p1(), m_line.p2()).normalized().adjusted(-extra, -extra, extra, extra);
}

QPainterPath EdgeItem::shape() const
{
    QPainterPath path(m_line.p1());
    path.lineTo(m_line.p2());
    QPainterPathStroker stroker;
    stroker.setWidth(kEdgeHitWidth);
    stroker.setCapStyle(Qt::RoundCap);
    return stroker.createStroke(path);
}

void EdgeItem::paint(QPainter *painter, const QStyleOptionGraphicsItem *option, QWidget *widget)
{
    Q_UNUSED(option)
    Q_UNUSED(widget)
    if (m_line.length() < 1)
        return;
    painter->setRenderHint(QPainter::Antialiasing);
    qreal width = m_state == EdgeState::Up || m_state == EdgeState::Suspect ? 3.0 : 2.2;
    if (m_hovered)
        width += 1.5;
    QPen pen(edgeStateColor(m_state), width, Qt::SolidLine, Qt::RoundCap);
    if (m_state == EdgeState::Cut)
        pen.setDashPattern({3.0, 2.5});   // in pen widths: clearly dashed at any zoom
    else if (m_state == EdgeState::Unknown)
        pen.setStyle(Qt::DotLine);
    painter->setPen(pen);
    painter->drawLine(m_line);
}

void EdgeItem::hoverEnterEvent(QGraphicsSceneHoverEvent *event)
{
    m_hovered = true;
    update();
    QGraphicsItem::hoverEnterEvent(event);
}

void EdgeItem::hoverLeaveEvent(QGraphicsSceneHoverEvent *event)
{
    m_hovered = false;
    update();
    QGraphicsItem::hoverLeaveEvent(event);
}

// ---- EdgeLabelItem ----

EdgeLabelItem::EdgeLabelItem() : m_accent(edgeStateColor(EdgeState::Unknown))
{
    setZValue(kLabelZ);
}

bool EdgeLabelItem::setText(const QString &text)
{
    if (text == m_text)
        return false;
    m_text = text;
    const QFontMetricsF fm(smallFont(baseFont(this)));
    const qreal w = m_text.isEmpty() ? 0 : fm.horizontalAdvance(m_text) + 14;
    const qreal h = m_text.isEmpty() ? 0 : fm.height() + 5;
    const QRectF rect(-w / 2, -h / 2, w, h);
    const bool resized = rect.size() != m_rect.size();
    if (resized)
        prepareGeometryChange();
    m_rect = rect;
    update();
    return resized;
}

void EdgeLabelItem::setAccent(const QColor &color)
{
    if (color == m_accent)
        return;
    m_accent = color;
    update();
}

QRectF EdgeLabelItem::boundingRect() const
{
    return m_rect.adjusted(-1, -1, 1, 1);
}

void EdgeLabelItem::paint(QPainter *painter, const QStyleOptionGraphicsItem *option, QWidget *widget)
{
    Q_UNUSED(option)
    Q_UNUSED(widget)
    if (m_text.isEmpty())
        return;
    const QPalette pal = paletteOf(this);
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setRenderHint(QPainter::TextAntialiasing);
    // An opaque plate over the line: the text reads even where the line runs behind it.
    QColor border = m_accent;
    border.setAlpha(190);
    painter->setPen(QPen(border, 1.2));
    painter->setBrush(pal.color(QPalette::Base));
    painter->drawRoundedRect(m_rect, m_rect.height() / 2, m_rect.height() / 2);
    painter->setFont(smallFont(baseFont(this)));
    painter->setPen(pal.color(QPalette::Text));
    painter->drawText(m_rect, Qt::AlignCenter, m_text);
}

// ---- PulseItem ----

PulseItem::PulseItem(Kind kind) : m_kind(kind)
{
    setZValue(kPulseZ);
    setAcceptedMouseButtons(Qt::NoButton);   // decoration: never steals a click from a node
}

void PulseItem::setProgress(qreal progress, qreal angleDegrees)
{
    if (qFuzzyCompare(progress, m_progress) && qFuzzyCompare(angleDegrees + 1, m_angle + 1))
        return;
    m_progress = progress;
    m_angle = angleDegrees;
    update();
}

QRectF PulseItem::boundingRect() const
{
    const qreal r = m_kind == Kind::Travel ? kTailLength + 12 : NodeItem::kRadius + kRippleGrowth + 8;
    return QRectF(-r, -r, 2 * r, 2 * r);
}

void PulseItem::paint(QPainter *painter, const QStyleOptionGraphicsItem *option, QWidget *widget)
{
    Q_UNUSED(option)
    Q_UNUSED(widget)
    painter->setRenderHint(QPainter::Antialiasing);
    QColor color = pulseColor();
    if (m_kind == Kind::Ripple) {
        // A ring leaving the node that heard from the client, fading as it grows.
        const qreal r = NodeItem::kRadius + 4 + kRippleGrowth * m_progress;
        color.setAlphaF(float(0.85 * (1 - m_progress)));
        painter->setPen(QPen(color, 1.5 + 3 * (1 - m_progress)));
        painter->setBrush(Qt::NoBrush);
        painter->drawEllipse(QPointF(0, 0), r, r);
        return;
    }
    // Fade in over the first 10 % and out over the last 15 %: no pop at either node.
    const qreal fade = std::clamp(std::min(m_progress / 0.1, (1 - m_progress) / 0.15), 0.0, 1.0);
    const QLineF tail = QLineF::fromPolar(kTailLength, m_angle + 180);
    if (painter->paintEngine() && painter->paintEngine()->type() == QPaintEngine::SVG) {
        // The SVG writer turns a gradient pen into a black stroke (and drops the glow's fade):
        // the same pulse in flat translucent colours.
        QColor tailColor = color;
        tailColor.setAlphaF(float(0.35 * fade));
        painter->setPen(QPen(tailColor, 4, Qt::SolidLine, Qt::RoundCap));
        painter->drawLine(tail);
        QColor glowColor = color;
        glowColor.setAlphaF(float(0.25 * fade));
        painter->setPen(Qt::NoPen);
        painter->setBrush(glowColor);
        painter->drawEllipse(QPointF(0, 0), 9, 9);
        QColor core = color;
        core.setAlphaF(float(fade));
        painter->setBrush(core);
        painter->setPen(QPen(QColor(255, 255, 255, int(220 * fade)), 1.2));
        painter->drawEllipse(QPointF(0, 0), 4.5, 4.5);
        return;
    }
    QLinearGradient tailGradient(tail.p1(), tail.p2());
    QColor head = color;
    head.setAlphaF(float(0.7 * fade));
    QColor end = color;
    end.setAlpha(0);
    tailGradient.setColorAt(0, head);
    tailGradient.setColorAt(1, end);
    painter->setPen(QPen(QBrush(tailGradient), 4, Qt::SolidLine, Qt::RoundCap));
    painter->drawLine(tail);

    QRadialGradient glow(QPointF(0, 0), 11);
    QColor inner = color;
    inner.setAlphaF(float(0.55 * fade));
    glow.setColorAt(0, inner);
    glow.setColorAt(1, end);
    painter->setPen(Qt::NoPen);
    painter->setBrush(glow);
    painter->drawEllipse(QPointF(0, 0), 11, 11);
    QColor core = color;
    core.setAlphaF(float(fade));
    painter->setBrush(core);
    painter->setPen(QPen(QColor(255, 255, 255, int(220 * fade)), 1.2));
    painter->drawEllipse(QPointF(0, 0), 4.5, 4.5);
}

} // namespace herd
