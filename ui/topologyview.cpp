#include "topologyview.h"

#include <QContextMenuEvent>
#include <QDateTime>
#include <QFileInfo>
#include <QGraphicsScene>
#include <QHelpEvent>
#include <QImage>
#include <QImageWriter>
#include <QMenu>
#include <QPainter>
#include <QSvgGenerator>
#include <QTimer>
#include <QToolTip>
#include <QWheelEvent>
#include <QtMath>
#include <algorithm>
#include <cmath>
#include <numeric>

namespace herd {

namespace {

constexpr qreal kSceneExtent = 5000;     // room to pan in every direction
constexpr qreal kMinSpacing = 240;       // centre to centre of neighbours on the circle: a label fits
constexpr qreal kMinCircleRadius = 170;
constexpr int kMaxBruteForceNodes = 8;   // 7! orders to score: a few ms; beyond, force-directed
constexpr qreal kMinScale = 0.15;
constexpr qreal kMaxScale = 5;
constexpr qreal kMaxFitScale = 1.6;      // a two-node herd should not fill the screen with two blobs
constexpr qreal kContentMargin = 30;

QString edgeName(const QString &a, const QString &b)
{
    return a + QStringLiteral(" – ") + b;
}

QString formatRtt(qint64 rttUs)
{
    if (rttUs < 0)
        return QStringLiteral("– ms");
    const double ms = double(rttUs) / 1000.0;
    const int decimals = ms < 10 ? 2 : ms < 100 ? 1 : 0;
    return QString::number(ms, 'f', decimals) + QStringLiteral(" ms");
}

QString formatUptime(qint64 ms)
{
    const qint64 s = std::max<qint64>(0, ms / 1000);
    if (s < 60)
        return TopologyView::tr("%1 s").arg(s);
    if (s < 3600)
        return TopologyView::tr("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    if (s < 86400)
        return TopologyView::tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
    return TopologyView::tr("%1 d %2 h").arg(s / 86400).arg((s % 86400) / 3600);
}

QString livenessText(Liveness l)
{
    switch (l) {
    case Liveness::Alive: return TopologyView::tr("alive");
    case Liveness::Suspect: return TopologyView::tr("suspect");
    case Liveness::Dead: return TopologyView::tr("dead");
    case Liveness::Down: return TopologyView::tr("down");
    }
    return {};
}

const LinkInfo *linkOf(const QHash<QString, NodeStats> &stats, const QString &node, const QString &peer)
{
    const auto it = stats.constFind(node);
    if (it == stats.cend())
        return nullptr;
    for (const LinkInfo &l : it->links) {
        if (l.peer == peer)
            return &l;
    }
    return nullptr;
}

// ---- layout ----

// Chords (a,b) and (c,d) of a circle cross iff exactly one of c, d lies strictly between a and b.
int crossings(const std::vector<int> &pos, const QList<QPair<int, int>> &links, int n)
{
    int count = 0;
    for (qsizetype i = 0; i < links.size(); ++i) {
        const int a = pos[size_t(links[i].first)];
        const int b = pos[size_t(links[i].second)];
        const int span = (b - a + n) % n;
        for (qsizetype j = i + 1; j < links.size(); ++j) {
            const int c = pos[size_t(links[j].first)];
            const int d = pos[size_t(links[j].second)];
            if (c == a || c == b || d == a || d == b)
                continue;   // sharing a node is not a crossing
            const bool cIn = (c - a + n) % n < span;
            const bool dIn = (d - a + n) % n < span;
            count += cIn != dIn ? 1 : 0;
        }
    }
    return count;
}

// The circular order with the fewest crossing links, then the shortest links; the config order
// wins ties, so the picture is stable for a given file.
std::vector<int> bestCircularOrder(int n, const QList<QPair<int, int>> &links)
{
    std::vector<int> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    if (n <= 3 || n > kMaxBruteForceNodes)
        return order;
    std::vector<int> pos(static_cast<size_t>(n));
    auto score = [&] {
        for (int i = 0; i < n; ++i)
            pos[size_t(order[size_t(i)])] = i;
        int length = 0;
        for (const auto &l : links) {
            const int d = std::abs(pos[size_t(l.first)] - pos[size_t(l.second)]);
            length += std::min(d, n - d);
        }
        return crossings(pos, links, n) * 1000 + length;
    };
    std::vector<int> best = order;
    int bestScore = score();
    // Node 0 stays first: rotations of an order are the same picture.
    while (std::next_permutation(order.begin() + 1, order.end())) {
        if (order[1] > order[size_t(n) - 1])
            continue;   // a mirror image of an order already scored
        const int s = score();
        if (s < bestScore) {
            bestScore = s;
            best = order;
        }
    }
    return best;
}

// Fruchterman–Reingold from a circle, deterministic, then overlaps pushed apart.
void forceDirected(std::vector<QPointF> &p, const QList<QPair<int, int>> &links)
{
    const size_t n = p.size();
    const qreal k = kMinSpacing;
    constexpr int kIterations = 400;
    for (int iter = 0; iter < kIterations; ++iter) {
        std::vector<QPointF> disp(n);
        for (size_t i = 0; i < n; ++i) {
            for (size_t j = i + 1; j < n; ++j) {
                QPointF d = p[i] - p[j];
                const qreal dist = std::max<qreal>(std::hypot(d.x(), d.y()), 1);
                const QPointF f = d / dist * (k * k / dist);
                disp[i] += f;
                disp[j] -= f;
            }
        }
        for (const auto &l : links) {
            const QPointF d = p[size_t(l.first)] - p[size_t(l.second)];
            const qreal dist = std::max<qreal>(std::hypot(d.x(), d.y()), 1);
            const QPointF f = d / dist * (dist * dist / k);
            disp[size_t(l.first)] -= f;
            disp[size_t(l.second)] += f;
        }
        const qreal temperature = k * 0.5 * (1.0 - qreal(iter) / kIterations) + 1;
        for (size_t i = 0; i < n; ++i) {
            disp[i] -= p[i] * 0.05;   // gravity: keeps disconnected parts of a herd together
            const qreal len = std::hypot(disp[i].x(), disp[i].y());
            if (len > 0)
                p[i] += disp[i] / len * std::min(len, temperature);
        }
    }
    const qreal minDist = 2 * NodeItem::kRadius + 140;
    for (int pass = 0; pass < 100; ++pass) {
        bool moved = false;
        for (size_t i = 0; i < n; ++i) {
            for (size_t j = i + 1; j < n; ++j) {
                QPointF d = p[i] - p[j];
                qreal dist = std::hypot(d.x(), d.y());
                if (dist >= minDist)
                    continue;
                if (dist < 1e-3) {
                    d = QPointF(1, 0);
                    dist = 1;
                }
                const QPointF push = d / dist * ((minDist - dist) / 2 + 0.5);
                p[i] += push;
                p[j] -= push;
                moved = true;
            }
        }
        if (!moved)
            break;
    }
}

QHash<QString, QPointF> computeLayout(const HerdConfig &config)
{
    const QStringList names = config.nodeNames();
    const int n = int(names.size());
    QHash<QString, QPointF> out;
    if (n == 0)
        return out;
    QList<QPair<int, int>> links;
    for (const auto &l : config.links) {
        const int a = int(names.indexOf(l.first));
        const int b = int(names.indexOf(l.second));
        if (a >= 0 && b >= 0 && a != b)
            links.append({a, b});
    }
    const std::vector<int> order = bestCircularOrder(n, links);
    const qreal radius = n == 1 ? 0 : std::max(kMinCircleRadius, kMinSpacing / (2 * std::sin(M_PI / n)));
    std::vector<QPointF> p(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        const qreal angle = -M_PI / 2 + 2 * M_PI * i / n;   // the first node at the top, clockwise
        p[size_t(order[size_t(i)])] = QPointF(radius * std::cos(angle), radius * std::sin(angle));
    }
    if (n > kMaxBruteForceNodes)
        forceDirected(p, links);
    for (int i = 0; i < n; ++i)
        out.insert(names[i], p[size_t(i)]);
    return out;
}

// ---- legend ----

enum class Swatch { Dot, Unknown, Line, Dashed, Pulse };
struct LegendEntry {
    Swatch swatch;
    QColor color;
    QString text;
};

QFont legendFont(const QFont &base)
{
    QFont f = base;
    f.setPointSizeF(std::max(7.0, base.pointSizeF() * 0.85));
    return f;
}

// Paints the colour key with its top left at `topLeft`; with no painter only measures it. One
// row when it fits in `maxWidth` (a wide view keeps its height for the graph), else a row per group.
QSizeF paintLegend(QPainter *painter, QPointF topLeft, const QPalette &pal, const QFont &base, qreal maxWidth)
{
    const QList<QPair<QString, QList<LegendEntry>>> rows = {
        {TopologyView::tr("Nodes"),
         {{Swatch::Dot, nodeStateColor(NodeState::Alive), nodeStateName(NodeState::Alive)},
          {Swatch::Dot, nodeStateColor(NodeState::Suspect), nodeStateName(NodeState::Suspect)},
          {Swatch::Dot, nodeStateColor(NodeState::Dead), nodeStateName(NodeState::Dead)},
          {Swatch::Dot, nodeStateColor(NodeState::Stopped), nodeStateName(NodeState::Stopped)},
          {Swatch::Unknown, nodeStateColor(NodeState::Unknown), TopologyView::tr("unknown")}}},
        {TopologyView::tr("Links"),
         {{Swatch::Line, edgeStateColor(EdgeState::Up), edgeStateName(EdgeState::Up)},
          {Swatch::Line, edgeStateColor(EdgeState::Suspect), edgeStateName(EdgeState::Suspect)},
          {Swatch::Line, edgeStateColor(EdgeState::Down), edgeStateName(EdgeState::Down)},
          {Swatch::Dashed, edgeStateColor(EdgeState::Cut), edgeStateName(EdgeState::Cut)},
          {Swatch::Pulse, pulseColor(), TopologyView::tr("flood hop")}}},
    };
    const QFont font = legendFont(base);
    QFont headerFont = font;
    headerFont.setBold(true);
    const QFontMetricsF fm(font);
    const QFontMetricsF hfm(headerFont);
    constexpr qreal pad = 8;
    constexpr qreal swatchW = 18;
    constexpr qreal gap = 12;
    constexpr qreal groupGap = 22;
    const qreal rowH = fm.height() + 4;
    qreal headerW = 0;
    for (const auto &row : rows)
        headerW = std::max(headerW, hfm.horizontalAdvance(row.first));
    headerW += 10;
    QList<qreal> groupW;
    for (const auto &row : rows) {
        qreal w = headerW;
        for (const LegendEntry &e : row.second)
            w += swatchW + 4 + fm.horizontalAdvance(e.text) + gap;
        groupW.append(w - gap);
    }
    const qreal oneRowW = std::accumulate(groupW.begin(), groupW.end(), 0.0) + groupGap * qreal(rows.size() - 1);
    const bool oneRow = oneRowW + 2 * pad <= maxWidth;
    const qreal width = oneRow ? oneRowW : *std::max_element(groupW.begin(), groupW.end());
    const QSizeF size(width + 2 * pad, rowH * qreal(oneRow ? 1 : rows.size()) + 2 * pad);
    if (!painter)
        return size;

    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    QColor plate = pal.color(QPalette::Base);
    plate.setAlpha(235);
    painter->setPen(QPen(pal.color(QPalette::Mid), 0.8));
    painter->setBrush(plate);
    painter->drawRoundedRect(QRectF(topLeft, size), 6, 6);
    qreal y = topLeft.y() + pad;
    qreal x = topLeft.x() + pad;
    for (const auto &row : rows) {
        const qreal mid = y + rowH / 2;
        painter->setFont(headerFont);
        painter->setPen(pal.color(QPalette::Text));
        painter->drawText(QRectF(x, y, headerW, rowH), Qt::AlignVCenter | Qt::AlignLeft, row.first);
        x += headerW;
        painter->setFont(font);
        for (const LegendEntry &e : row.second) {
            switch (e.swatch) {
            case Swatch::Dot:
            case Swatch::Unknown:
                painter->setPen(QPen(e.color.darker(150), 1, e.swatch == Swatch::Unknown ? Qt::DotLine : Qt::SolidLine));
                painter->setBrush(e.color);
                painter->drawEllipse(QPointF(x + swatchW / 2, mid), 5.5, 5.5);
                break;
            case Swatch::Line:
            case Swatch::Dashed: {
                QPen pen(e.color, 3, Qt::SolidLine, Qt::RoundCap);
                if (e.swatch == Swatch::Dashed)
                    pen.setDashPattern({1.5, 1.5});
                painter->setPen(pen);
                painter->drawLine(QPointF(x + 1, mid), QPointF(x + swatchW - 1, mid));
                break;
            }
            case Swatch::Pulse:
                painter->setPen(Qt::NoPen);
                painter->setBrush(e.color);
                painter->drawEllipse(QPointF(x + swatchW - 5, mid), 4, 4);
                painter->setPen(QPen(QColor(e.color.red(), e.color.green(), e.color.blue(), 110), 3, Qt::SolidLine, Qt::RoundCap));
                painter->drawLine(QPointF(x + 1, mid), QPointF(x + swatchW - 9, mid));
                break;
            }
            x += swatchW + 4;
            const qreal tw = fm.horizontalAdvance(e.text);
            painter->setPen(pal.color(QPalette::Text));
            painter->drawText(QRectF(x, y, tw + 1, rowH), Qt::AlignVCenter | Qt::AlignLeft, e.text);
            x += tw + gap;
        }
        if (oneRow) {
            x += groupGap - gap;
        } else {
            x = topLeft.x() + pad;
            y += rowH;
        }
    }
    painter->restore();
    return size;
}

QByteArray arrivalKey(const FloodHop &hop, const QString &node)
{
    return hop.client + '\x1f' + QByteArray::number(hop.time.sec) + '.' + QByteArray::number(hop.time.nsec)
        + '\x1f' + node.toUtf8();
}

} // namespace

TopologyView::TopologyView(QWidget *parent)
    : QGraphicsView(parent), m_scene(new QGraphicsScene(this)), m_animation(new QTimer(this))
{
    // Pulses move every frame; a BSP index over a few dozen items would be rebuilt constantly.
    m_scene->setItemIndexMethod(QGraphicsScene::NoIndex);
    m_scene->setSceneRect(-kSceneExtent, -kSceneExtent, 2 * kSceneExtent, 2 * kSceneExtent);
    m_scene->setPalette(palette());
    setScene(m_scene);
    setRenderHints(QPainter::Antialiasing | QPainter::TextAntialiasing | QPainter::SmoothPixmapTransform);
    setDragMode(ScrollHandDrag);             // drag empty space to pan; nodes still take their own drags
    setTransformationAnchor(AnchorUnderMouse);   // wheel zoom keeps the point under the cursor still
    setResizeAnchor(AnchorViewCenter);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setFrameShape(QFrame::NoFrame);
    setMinimumSize(240, 180);

    m_animation->setInterval(kFrameMs);
    m_animation->setTimerType(Qt::PreciseTimer);
    connect(m_animation, &QTimer::timeout, this, &TopologyView::animate);
    connect(m_scene, &QGraphicsScene::selectionChanged, this, [this] {
        const QString node = selectedNode();
        if (node == m_lastSelected)
            return;
        m_lastSelected = node;
        Q_EMIT nodeSelected(node);
    });
    m_clock.start();
}

TopologyView::~TopologyView()
{
    // The scene (a child) dies after us and announces the selection change of every item it
    // deletes: nobody here may be listening, or looking at the items.
    disconnect(m_scene, nullptr, this, nullptr);
    m_pulses.clear();
    m_nodeList.clear();
    m_edgeList.clear();
    m_nodes.clear();
    m_edges.clear();
}

QString TopologyView::edgeKey(const QString &a, const QString &b)
{
    return a < b ? a + QLatin1Char('\n') + b : b + QLatin1Char('\n') + a;
}

void TopologyView::setHerd(const HerdConfig &config)
{
    clearPulses();
    m_stats.clear();
    m_nodes.clear();
    m_edges.clear();
    m_nodeList.clear();
    m_edgeList.clear();
    m_scene->clear();
    m_config = config;

    for (const NodeConfig &nc : config.nodes) {
        if (m_nodes.contains(nc.name))
            continue;
        auto *node = new NodeItem(nc.name);
        node->setCursor(Qt::PointingHandCursor);
        if (nc.port != 0)
            node->setCaption(QStringLiteral(":%1").arg(nc.port));
        m_scene->addItem(node);
        m_nodes.insert(nc.name, node);
        m_nodeList.append(node);
    }
    for (const auto &link : config.links) {
        NodeItem *a = m_nodes.value(link.first);
        NodeItem *b = m_nodes.value(link.second);
        const QString key = edgeKey(link.first, link.second);
        if (!a || !b || a == b || m_edges.contains(key))
            continue;
        auto *label = new EdgeLabelItem;
        auto *edge = new EdgeItem(a, b, label);
        m_scene->addItem(edge);
        m_scene->addItem(label);
        m_edges.insert(key, edge);
        m_edgeList.append(edge);
    }
    qreal nameSize = std::numeric_limits<qreal>::max();
    for (const NodeItem *node : std::as_const(m_nodeList))
        nameSize = std::min(nameSize, NodeItem::fittingPointSize(node->name(), m_scene->font()));
    for (NodeItem *node : std::as_const(m_nodeList))
        node->setNamePointSize(nameSize);
    layoutNodes();
    if (!m_lastSelected.isEmpty()) {   // the selected node went with the old scene
        m_lastSelected.clear();
        Q_EMIT nodeSelected(QString());
    }
    fitAll();
}

void TopologyView::layoutNodes()
{
    const QHash<QString, QPointF> positions = computeLayout(m_config);
    for (NodeItem *node : std::as_const(m_nodeList))
        node->setPos(positions.value(node->name()));
    placeLabels();
}

void TopologyView::resetLayout()
{
    layoutNodes();
    fitAll();
}

// Each label beside its link, near the middle, on the side facing away from the herd's centre:
// the line stays whole (a dash pattern reads, a pulse is never hidden or drawn over the text)
// and the label never covers a node, a caption, another link or another label. Spots along the
// line are tried in order; the least-covering one wins if none is clear.
void TopologyView::placeLabels()
{
    QList<QRectF> obstacles;
    QPointF centre;
    for (const NodeItem *node : std::as_const(m_nodeList)) {
        obstacles.append(node->footprint().adjusted(-4, -4, 4, 4));
        centre += node->pos() / qreal(m_nodeList.size());
    }
    auto crossesLine = [](const QRectF &r, const QLineF &line) {
        if (r.contains(line.p1()) || r.contains(line.p2()))
            return true;
        const QLineF sides[] = {{r.topLeft(), r.topRight()}, {r.topRight(), r.bottomRight()},
                                {r.bottomRight(), r.bottomLeft()}, {r.bottomLeft(), r.topLeft()}};
        for (const QLineF &side : sides) {
            if (line.intersects(side) == QLineF::BoundedIntersection)
                return true;
        }
        return false;
    };
    static constexpr qreal kAlong[] = {0.5, 0.42, 0.58, 0.34, 0.66, 0.27, 0.73};
    static constexpr qreal kGap = 5;            // between a label and its line
    static constexpr qreal kLinePenalty = 1e4;  // covering another link: worse than a sliver of a node
    for (EdgeItem *edge : std::as_const(m_edgeList)) {
        const QSizeF size = edge->labelItem()->boundingRect().size();
        if (size.isEmpty()) {
            edge->setLabelPlacement(0.5, 0);
            continue;
        }
        // How far along the normal the centre must sit for the box to clear the line.
        const QLineF centres(edge->nodeA()->pos(), edge->nodeB()->pos());
        const QLineF unitNormal = centres.normalVector().unitVector();
        const QPointF normal = unitNormal.p2() - unitNormal.p1();
        const qreal clear = (std::abs(normal.x()) * size.width() + std::abs(normal.y()) * size.height()) / 2 + kGap;
        const QPointF outward = centres.pointAt(0.5) - centre;
        const qreal away = QPointF::dotProduct(normal, outward) >= 0 ? 1 : -1;
        const qreal sides[] = {away * clear, -away * clear, 0};

        qreal bestT = 0.5;
        qreal bestSide = 0;
        qreal bestCost = std::numeric_limits<qreal>::max();
        QRectF bestRect;
        for (qreal side : sides) {
            for (qreal t : kAlong) {
                const QPointF c = edge->labelPosition(t, side);
                const QRectF rect(c - QPointF(size.width() / 2, size.height() / 2), size);
                qreal cost = 0;
                for (const QRectF &o : std::as_const(obstacles)) {
                    const QRectF i = rect.intersected(o);
                    cost += i.width() * i.height();
                }
                for (const EdgeItem *other : std::as_const(m_edgeList)) {
                    if (other != edge && crossesLine(rect, other->line()))
                        cost += kLinePenalty;
                }
                if (cost < bestCost) {
                    bestCost = cost;
                    bestT = t;
                    bestSide = side;
                    bestRect = rect;
                }
                if (cost == 0)
                    break;
            }
            if (bestCost == 0)
                break;
        }
        edge->setLabelPlacement(bestT, bestSide);
        obstacles.append(bestRect.adjusted(-3, -3, 3, 3));
    }
}

NodeItem *TopologyView::nodeItem(const QString &name) const
{
    return m_nodes.value(name);
}

EdgeItem *TopologyView::edgeItem(const QString &a, const QString &b) const
{
    return m_edges.value(edgeKey(a, b));
}

// ---- stats ----

NodeState TopologyView::nodeState(const QString &name) const
{
    const auto self = m_stats.constFind(name);
    // A remote node the monitor has no stream from is judged by its neighbours, like one
    // hosted elsewhere: "unreachable" when they see it down, "unknown" when nobody can say.
    const bool hosted = self != m_stats.cend() && self->reported;
    if (hosted && !self->running)
        return NodeState::Stopped;
    int alive = 0;
    int suspect = 0;
    int down = 0;
    auto count = [&](const LinkInfo &l) {
        if (l.cut)
            return;   // held down on purpose: says nothing about the node's health
        if (l.up && l.liveness == Liveness::Alive)
            ++alive;
        else if (l.up)
            ++suspect;
        else
            ++down;
    };
    for (const QString &peer : m_config.neighbours(name)) {
        const auto neighbour = m_stats.constFind(peer);
        if (neighbour != m_stats.cend()) {
            if (!neighbour->running)
                continue;   // a stopped neighbour sees nothing
            if (const LinkInfo *l = linkOf(m_stats, peer, name))
                count(*l);
        } else if (hosted) {
            // The neighbour runs elsewhere: our own end of the link is the best witness we have.
            if (const LinkInfo *l = linkOf(m_stats, name, peer))
                count(*l);
        }
    }
    if (alive + suspect + down == 0)
        return hosted ? NodeState::Alive : NodeState::Unknown;
    if (suspect == 0 && down == 0)
        return NodeState::Alive;
    if (alive == 0 && suspect == 0)
        return NodeState::Dead;
    return NodeState::Suspect;
}

void TopologyView::updateEdge(EdgeItem *edge, bool *resized)
{
    const QString a = edge->nodeA()->name();
    const QString b = edge->nodeB()->name();
    const LinkInfo *la = linkOf(m_stats, a, b);
    const LinkInfo *lb = linkOf(m_stats, b, a);
    EdgeState state = EdgeState::Unknown;
    if (la || lb) {
        const int ends = (la ? 1 : 0) + (lb ? 1 : 0);
        const int up = (la && la->up ? 1 : 0) + (lb && lb->up ? 1 : 0);
        const bool missing = (la && la->up && la->liveness == Liveness::Suspect)
            || (lb && lb->up && lb->liveness == Liveness::Suspect);
        if ((la && la->cut) || (lb && lb->cut))
            state = EdgeState::Cut;
        else if (up == 0)
            state = EdgeState::Down;
        else if (up < ends || missing)
            state = EdgeState::Suspect;   // one end still thinks it is up, or acks are late
        else
            state = EdgeState::Up;
    }
    edge->setState(state);

    // A's end speaks for the link (the config's first name); B's when A runs elsewhere.
    const LinkInfo *l = la ? la : lb;
    QString text;
    if (l) {
        const QString counts = tr("hb %1 / ack %2").arg(l->stats.heartbeatsSent).arg(l->stats.acksReceived);
        switch (state) {
        case EdgeState::Up:
        case EdgeState::Suspect:
            text = counts + QStringLiteral(" · ") + formatRtt(l->stats.rttUs);
            break;
        case EdgeState::Down:
            text = tr("down") + QStringLiteral(" · ") + counts;
            break;
        case EdgeState::Cut:
            text = tr("cut") + QStringLiteral(" · ") + counts;
            break;
        case EdgeState::Unknown:
            break;
        }
    }
    if (edge->setLabel(text))
        *resized = true;
}

void TopologyView::applyStats(const QList<NodeStats> &stats)
{
    m_stats.clear();
    for (const NodeStats &s : stats)
        m_stats.insert(s.name, s);
    for (NodeItem *node : std::as_const(m_nodeList)) {
        node->setState(nodeState(node->name()));
        const auto it = m_stats.constFind(node->name());
        const NodeConfig *nc = m_config.node(node->name());
        const quint16 port = it != m_stats.cend() && it->port ? it->port : nc ? nc->port : 0;
        const QString portText = port ? QStringLiteral(":%1").arg(port) : QString();
        QString detail;
        if (it == m_stats.cend())
            detail = tr("remote");
        else if (!it->reported)
            detail = tr("no stream");
        else if (!it->running)
            detail = tr("stopped");
        else
            detail = it->clientsKnown == 1 ? tr("1 client") : tr("%1 clients").arg(it->clientsKnown);
        node->setCaption(portText.isEmpty() ? detail : portText + QStringLiteral(" · ") + detail);
    }
    bool resized = false;
    for (EdgeItem *edge : std::as_const(m_edgeList))
        updateEdge(edge, &resized);
    if (resized)
        placeLabels();   // only when a label grew or shrank: counters tick every heartbeat
}

QString TopologyView::toolTipFor(const QGraphicsItem *item) const
{
    if (!item)
        return {};
    if (const auto *label = qgraphicsitem_cast<const EdgeLabelItem *>(item))
        item = label->edge();
    if (const auto *node = qgraphicsitem_cast<const NodeItem *>(item)) {
        const QString name = node->name();
        QString html = QStringLiteral("<b>%1</b> — %2").arg(name.toHtmlEscaped(), nodeStateName(node->state()));
        const auto it = m_stats.constFind(name);
        if (it == m_stats.cend()) {
            html += QStringLiteral("<br>") + tr("Not hosted in this process: its state is what its neighbours see.");
        } else if (!it->reported) {
            html += QStringLiteral("<br>") + tr("No event stream from its status endpoint (retried every second): "
                                                "its state is what its neighbours see.");
        } else {
            const NodeStats &s = *it;
            html += QStringLiteral("<br>") + tr("port %1").arg(s.port);
            if (s.running)
                html += QStringLiteral(" · ") + tr("up %1").arg(formatUptime(QDateTime::currentMSecsSinceEpoch() - s.startedAtMs));
            html += QStringLiteral("<br>") + tr("clients known %1 · client connections %2").arg(s.clientsKnown).arg(s.clientConnections);
            html += QStringLiteral("<br>") + tr("lines in %1 · out %2 (IAMAT %3, WHATSAT %4, invalid %5)")
                .arg(s.linesIn).arg(s.linesOut).arg(s.iamat).arg(s.whatsat).arg(s.invalid);
            html += QStringLiteral("<br>") + tr("floods sent %1 · received %2 · duplicates dropped %3")
                .arg(s.floodsSent).arg(s.floodsReceived).arg(s.duplicatesDropped);
        }
        QStringList views;
        for (const QString &peer : m_config.neighbours(name)) {
            const LinkInfo *l = linkOf(m_stats, peer, name);
            if (!l)
                continue;
            const auto p = m_stats.constFind(peer);
            const QString verdict = !p->running ? tr("stopped") : l->cut ? tr("cut") : livenessText(l->liveness);
            views.append(tr("%1: %2").arg(peer.toHtmlEscaped(), verdict));
        }
        if (!views.isEmpty())
            html += QStringLiteral("<br>") + tr("Seen by neighbours: %1").arg(views.join(QStringLiteral(", ")));
        html += QStringLiteral("<br><small>")
            + tr("Green: alive · amber: a neighbour misses its acks or cannot reach it · red: no neighbour "
                 "reaches it · grey: stopped. Right-click to start or stop; drag to move.")
            + QStringLiteral("</small>");
        return html;
    }
    if (const auto *edge = qgraphicsitem_cast<const EdgeItem *>(item)) {
        const QString a = edge->nodeA()->name();
        const QString b = edge->nodeB()->name();
        QString html = QStringLiteral("<b>%1</b> — %2").arg(edgeName(a, b).toHtmlEscaped(), edgeStateName(edge->state()));
        for (const auto &[from, to] : {std::pair{a, b}, std::pair{b, a}}) {
            const LinkInfo *l = linkOf(m_stats, from, to);
            if (!l)
                continue;
            const LinkStats &s = l->stats;
            html += QStringLiteral("<br><b>%1 → %2</b>: %3").arg(from.toHtmlEscaped(), to.toHtmlEscaped(),
                                                                 l->cut ? tr("cut") : livenessText(l->liveness));
            html += QStringLiteral("<br>&nbsp;&nbsp;") + tr("heartbeats %1 sent, %2 acked · rtt %3")
                .arg(s.heartbeatsSent).arg(s.acksReceived).arg(formatRtt(s.rttUs));
            html += QStringLiteral("<br>&nbsp;&nbsp;") + tr("up %1× · down %2× · floods %3 sent, %4 received, %5 duplicates")
                .arg(s.timesUp).arg(s.timesDown).arg(s.floodsSent).arg(s.floodsReceived).arg(s.duplicatesDropped);
            if (s.lastChangeMs > 0)
                html += QStringLiteral("<br>&nbsp;&nbsp;") + tr("last change %1")
                    .arg(QDateTime::fromMSecsSinceEpoch(s.lastChangeMs).toString(QStringLiteral("HH:mm:ss")));
        }
        html += QStringLiteral("<br><small>")
            + tr("Label: heartbeats sent / acks received · last round trip, from %1's end. Green: up · amber: "
                 "acks missing or the ends disagree · red: down · dashed: cut. Right-click to cut or restore.")
                  .arg(a.toHtmlEscaped())
            + QStringLiteral("</small>");
        return html;
    }
    return {};
}

// ---- pulses ----

void TopologyView::addHops(const QList<FloodHop> &hops)
{
    if (hops.isEmpty() || m_nodes.isEmpty())
        return;
    const qint64 now = m_clock.elapsed();
    if (m_arrivals.size() > 4 * kMaxPulses) {
        for (auto it = m_arrivals.begin(); it != m_arrivals.end();)
            it = *it < now ? m_arrivals.erase(it) : std::next(it);
    }
    // Sample by update, not by hop: a kept update animates its whole tree, a dropped one nothing,
    // so what is shown under load still reads as floods.
    const qsizetype room = kMaxPulses - qsizetype(m_pulses.size());
    const qsizetype keepPerMille = hops.size() <= room ? 1000
        : room <= 0                                  ? 0
                                                     : std::max<qsizetype>(1, room * 1000 / hops.size());
    for (const FloodHop &hop : hops) {
        if (keepPerMille < 1000 && qHashMulti(0, hop.client, hop.time.sec, hop.time.nsec) % 1000 >= size_t(keepPerMille)) {
            ++m_droppedPulses;
            continue;
        }
        if (qsizetype(m_pulses.size()) >= kMaxPulses) {
            ++m_droppedPulses;
            continue;
        }
        NodeItem *to = m_nodes.value(hop.to);
        if (!to)
            continue;
        NodeItem *from = nullptr;
        EdgeItem *edge = nullptr;
        if (!hop.from.isEmpty()) {
            from = m_nodes.value(hop.from);
            edge = m_edges.value(edgeKey(hop.from, hop.to));
            if (!from || !edge)
                continue;   // not a link of this config: nothing to draw it along
        }
        // A hop leaves `from` when the pulse bringing the update there lands: the animation
        // shows the order of the flood even though the whole flood takes a millisecond.
        qint64 start = now;
        if (from) {
            const auto it = m_arrivals.constFind(arrivalKey(hop, hop.from));
            if (it != m_arrivals.cend())
                start = std::max(now, *it);
        }
        if (start - now > kMaxLagMs) {
            ++m_droppedPulses;   // the animation has fallen behind: drop rather than queue forever
            continue;
        }
        const int duration = from ? kHopMs : kRippleMs;
        // The flood leaves the origin as its ripple starts to spread, not after it has faded.
        m_arrivals.insert(arrivalKey(hop, hop.to), start + (from ? duration : duration / 4));
        auto *item = new PulseItem(from ? PulseItem::Kind::Travel : PulseItem::Kind::Ripple);
        item->setVisible(false);   // shown by animate() when its start comes
        item->setPos(from ? edge->lineFrom(from).p1() : to->pos());
        m_scene->addItem(item);
        m_pulses.push_back(Pulse{item, edge, from, to, start, duration});
    }
    if (!m_pulses.empty() && !m_animation->isActive())
        m_animation->start();
}

void TopologyView::animate()
{
    const qint64 now = m_clock.elapsed();
    auto out = m_pulses.begin();
    for (auto it = m_pulses.begin(); it != m_pulses.end(); ++it) {
        Pulse &p = *it;
        if (now >= p.startMs) {
            const qreal t = qreal(now - p.startMs) / p.durationMs;
            if (t >= 1) {
                delete p.item;   // leaves the scene
                continue;
            }
            if (p.edge) {
                // Along the link as it is now: a node dragged mid-flight takes its pulses along.
                const QLineF line = p.edge->lineFrom(p.from);
                const qreal eased = t * t * (3 - 2 * t);   // smoothstep: leaves and lands gently
                p.item->setPos(line.pointAt(eased));
                p.item->setProgress(t, line.angle());
            } else {
                p.item->setPos(p.to->pos());
                p.item->setProgress(t);
            }
            p.item->setVisible(true);
        }
        *out++ = p;
    }
    m_pulses.erase(out, m_pulses.end());
    if (m_pulses.empty()) {
        m_animation->stop();   // idle herd, idle CPU
        m_arrivals.clear();
    }
}

void TopologyView::clearPulses()
{
    for (const Pulse &p : m_pulses)
        delete p.item;
    m_pulses.clear();
    m_arrivals.clear();
    m_animation->stop();
}

bool TopologyView::isAnimating() const
{
    return m_animation->isActive();
}

// ---- selection and menus ----

QString TopologyView::selectedNode() const
{
    for (const NodeItem *node : m_nodeList) {
        if (node->isSelected())
            return node->name();
    }
    return {};
}

void TopologyView::selectNode(const QString &name)
{
    NodeItem *node = m_nodes.value(name);
    if (node && node->isSelected() && m_scene->selectedItems().size() == 1)
        return;
    m_scene->clearSelection();
    if (node) {
        node->setSelected(true);
        ensureVisible(node);
    }
}

NodeItem *TopologyView::nodeAt(const QPointF &scenePos) const
{
    const auto items = m_scene->items(scenePos, Qt::IntersectsItemShape, Qt::DescendingOrder, transform());
    for (QGraphicsItem *item : items) {
        if (auto *node = qgraphicsitem_cast<NodeItem *>(item))
            return node;
    }
    return nullptr;
}

EdgeItem *TopologyView::edgeAt(const QPointF &scenePos) const
{
    const auto items = m_scene->items(scenePos, Qt::IntersectsItemShape, Qt::DescendingOrder, transform());
    for (QGraphicsItem *item : items) {
        if (qgraphicsitem_cast<NodeItem *>(item))
            return nullptr;   // a node on top hides the link under it
        if (auto *edge = qgraphicsitem_cast<EdgeItem *>(item))
            return edge;
        if (auto *label = qgraphicsitem_cast<EdgeLabelItem *>(item))
            return label->edge();
    }
    return nullptr;
}

QMenu *TopologyView::createContextMenu(const QPointF &scenePos, QWidget *parent)
{
    if (NodeItem *node = nodeAt(scenePos)) {
        const QString name = node->name();
        const auto it = m_stats.constFind(name);
        const bool hosted = it != m_stats.cend();
        auto *menu = new QMenu(parent);
        menu->addSection(name);
        QAction *toggle = menu->addAction(hosted && it->running ? tr("Stop node") : tr("Start node"));
        toggle->setEnabled(hosted && m_controlsUnavailable.isEmpty());   // a node in another process is not ours to start or stop
        if (!m_controlsUnavailable.isEmpty())
            toggle->setToolTip(m_controlsUnavailable);
        else if (!hosted)
            toggle->setToolTip(tr("%1 is not hosted in this process").arg(name));
        menu->setToolTipsVisible(true);
        connect(toggle, &QAction::triggered, this, [this, name] { Q_EMIT startStopRequested(name); });
        return menu;
    }
    if (EdgeItem *edge = edgeAt(scenePos)) {
        const QString a = edge->nodeA()->name();
        const QString b = edge->nodeB()->name();
        const bool cut = edge->state() == EdgeState::Cut;
        auto *menu = new QMenu(parent);
        menu->addSection(edgeName(a, b));
        QAction *toggle = menu->addAction(cut ? tr("Restore link") : tr("Cut link"));
        toggle->setEnabled((m_stats.contains(a) || m_stats.contains(b)) && m_controlsUnavailable.isEmpty());
        if (!m_controlsUnavailable.isEmpty())
            toggle->setToolTip(m_controlsUnavailable);
        menu->setToolTipsVisible(true);
        connect(toggle, &QAction::triggered, this, [this, a, b, cut] { Q_EMIT linkCutRequested(a, b, !cut); });
        return menu;
    }
    return nullptr;
}

void TopologyView::contextMenuEvent(QContextMenuEvent *event)
{
    const QPointF scenePos = mapToScene(event->pos());
    if (NodeItem *node = nodeAt(scenePos))
        selectNode(node->name());   // the details pane follows what the menu is about
    std::unique_ptr<QMenu> menu(createContextMenu(scenePos, this));
    if (!menu) {
        menu = std::make_unique<QMenu>(this);
        menu->addAction(tr("Fit all"), this, &TopologyView::fitAll);
        menu->addAction(tr("Reset layout"), this, &TopologyView::resetLayout);
        menu->addSeparator();
        menu->addAction(tr("Zoom in"), this, &TopologyView::zoomIn);
        menu->addAction(tr("Zoom out"), this, &TopologyView::zoomOut);
    }
    menu->exec(event->globalPos());
    event->accept();
}

// ---- zoom, pan, paint ----

void TopologyView::scaleBy(qreal factor)
{
    const qreal current = transform().m11();
    const qreal target = std::clamp(current * factor, kMinScale, kMaxScale);
    if (!qFuzzyCompare(target, current))
        scale(target / current, target / current);
}

void TopologyView::zoomIn()
{
    m_autoFit = false;
    scaleBy(1.25);
}

void TopologyView::zoomOut()
{
    m_autoFit = false;
    scaleBy(1 / 1.25);
}

QRectF TopologyView::contentRect() const
{
    QRectF rect;
    for (const NodeItem *node : m_nodeList)
        rect |= node->footprint();
    for (const EdgeItem *edge : m_edgeList)
        rect |= edge->labelItem()->sceneBoundingRect();
    return rect.isNull() ? rect : rect.adjusted(-kContentMargin, -kContentMargin, kContentMargin, kContentMargin);
}

void TopologyView::fitAll()
{
    m_autoFit = true;
    const QRectF rect = contentRect();
    if (rect.isNull())
        return;
    // The legend is pinned to the bottom left of the viewport: fit the graph into what is left
    // above it, so it never hides a node.
    const QSizeF legend = paintLegend(nullptr, {}, palette(), font(), viewport()->width() - 20);
    const QRectF room = QRectF(viewport()->rect()).adjusted(4, 4, -4, -(legend.height() + 14));
    if (room.width() < 10 || room.height() < 10) {
        fitInView(rect, Qt::KeepAspectRatio);
        return;
    }
    const qreal s = std::clamp(std::min(room.width() / rect.width(), room.height() / rect.height()), kMinScale, kMaxFitScale);
    setTransform(QTransform::fromScale(s, s));
    // Put the content's centre on the centre of that room, not of the whole viewport.
    const QPointF shift = (QRectF(viewport()->rect()).center() - room.center()) / s;
    centerOn(rect.center() + shift);
}

void TopologyView::wheelEvent(QWheelEvent *event)
{
    const int delta = event->angleDelta().y();
    if (delta == 0) {
        QGraphicsView::wheelEvent(event);
        return;
    }
    m_autoFit = false;
    scaleBy(std::pow(1.2, delta / 120.0));   // one notch: 20 %, smooth on touchpads
    event->accept();
}

void TopologyView::mousePressEvent(QMouseEvent *event)
{
    const bool onNode = nodeAt(mapToScene(event->position().toPoint())) != nullptr;
    if (event->button() == Qt::LeftButton) {
        m_draggingNode = onNode;
        if (!onNode)
            m_autoFit = false;   // the user is panning: resizing must not undo it
    }
    QGraphicsView::mousePressEvent(event);
}

void TopologyView::mouseReleaseEvent(QMouseEvent *event)
{
    QGraphicsView::mouseReleaseEvent(event);
    if (m_draggingNode) {
        m_draggingNode = false;
        placeLabels();   // a moved node may now sit on a label
    }
}

void TopologyView::keyPressEvent(QKeyEvent *event)
{
    switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal:
        zoomIn();
        return;
    case Qt::Key_Minus:
        zoomOut();
        return;
    case Qt::Key_0:
    case Qt::Key_Home:
        fitAll();
        return;
    default:
        QGraphicsView::keyPressEvent(event);
    }
}

void TopologyView::resizeEvent(QResizeEvent *event)
{
    QGraphicsView::resizeEvent(event);
    if (m_autoFit)
        fitAll();
}

void TopologyView::showEvent(QShowEvent *event)
{
    QGraphicsView::showEvent(event);
    if (m_autoFit)
        fitAll();
}

void TopologyView::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::PaletteChange)
        m_scene->setPalette(palette());   // items paint with the scene's palette (dark mode)
    QGraphicsView::changeEvent(event);
}

void TopologyView::scrollContentsBy(int dx, int dy)
{
    QGraphicsView::scrollContentsBy(dx, dy);
    viewport()->update();   // the legend is pinned to the viewport: a blit would drag it along
}

bool TopologyView::viewportEvent(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        // Built on demand from the last stats, not stored on items at 30 Hz.
        const auto *help = static_cast<QHelpEvent *>(event);
        const QPointF scenePos = mapToScene(help->pos());
        const QGraphicsItem *item = nodeAt(scenePos);
        if (!item)
            item = edgeAt(scenePos);
        const QString text = toolTipFor(item);
        if (text.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(help->globalPos(), text, viewport());
        return true;
    }
    return QGraphicsView::viewportEvent(event);
}

void TopologyView::drawBackground(QPainter *painter, const QRectF &rect)
{
    painter->fillRect(rect, palette().color(QPalette::Base));
}

void TopologyView::drawForeground(QPainter *painter, const QRectF &rect)
{
    Q_UNUSED(rect)
    if (m_nodeList.isEmpty())
        return;
    painter->save();
    painter->resetTransform();   // viewport pixels: the legend stays put while the graph zooms
    const qreal maxWidth = viewport()->width() - 20;
    const QSizeF size = paintLegend(nullptr, {}, palette(), font(), maxWidth);
    paintLegend(painter, QPointF(10, viewport()->height() - size.height() - 10), palette(), font(), maxWidth);
    painter->restore();
}

// ---- pictures ----

void TopologyView::paintPicture(QPainter *painter, const QRectF &source, const QRectF &target)
{
    const QSizeF legend = paintLegend(nullptr, {}, palette(), font(), target.width() - 20);
    painter->fillRect(target, palette().color(QPalette::Base));
    const QRectF graph(target.topLeft(), QSizeF(target.width(), target.height() - legend.height() - 12));
    m_scene->render(painter, graph, source, Qt::KeepAspectRatio);
    paintLegend(painter, QPointF(target.left() + 10, target.bottom() - legend.height() - 6), palette(), font(), target.width() - 20);
}

bool TopologyView::savePicture(const QString &fileName)
{
    const QRectF source = contentRect();
    if (source.isNull() || fileName.isEmpty())
        return false;
    // The picture is as wide as the graph; the legend wraps to fit it (two rows at most).
    const QSizeF legend = paintLegend(nullptr, {}, palette(), font(), source.width() - 20);
    const QRectF target(0, 0, std::max(source.width(), legend.width() + 20), source.height() + legend.height() + 12);
    const QString suffix = QFileInfo(fileName).suffix().toLower();
    if (suffix == QLatin1String("svg")) {
        QSvgGenerator svg;
        svg.setFileName(fileName);
        svg.setSize(target.size().toSize());
        svg.setViewBox(target);
        svg.setTitle(tr("herd topology"));
        svg.setDescription(tr("Nodes and peer links of the herd, as shown by the monitor"));
        QPainter painter;
        if (!painter.begin(&svg))
            return false;
        painter.setRenderHints(QPainter::Antialiasing | QPainter::TextAntialiasing);
        paintPicture(&painter, source, target);
        if (!painter.end())
            return false;
        // QSvgGenerator reports no write errors: judge by what reached the disk.
        return QFileInfo(fileName).size() > 0;
    }
    if (!QImageWriter::supportedImageFormats().contains(suffix.toLatin1()))
        return false;
    constexpr qreal kPixelRatio = 2;   // crisp on high-density screens and in documentation
    QImage image((target.size() * kPixelRatio).toSize(), QImage::Format_ARGB32_Premultiplied);
    if (image.isNull())
        return false;
    image.setDevicePixelRatio(kPixelRatio);
    QPainter painter(&image);
    painter.setRenderHints(QPainter::Antialiasing | QPainter::TextAntialiasing | QPainter::SmoothPixmapTransform);
    paintPicture(&painter, source, target);
    painter.end();
    return image.save(fileName);
}

} // namespace herd
