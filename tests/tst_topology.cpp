// The topology and propagation views driven by a real in-process herd: stats colour the scene,
// stopping a node and cutting a link show up on its items, real flood hops animate and build
// the propagation tree, pictures save.
#include "testherds.h"
#include "herd.h"
#include "monitor.h"
#include "propagation.h"
#include "testclient.h"
#include "topologyview.h"

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QDir>
#include <QFileInfo>
#include <QImage>
#include <QMenu>
#include <QPainterPath>
#include <QRegularExpression>
#include <QPainter>
#include <QSignalSpy>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QLabel>
#include <QTest>
#include <QTreeView>
#include <QWheelEvent>
#include <memory>

using herd::EdgeItem;
using herd::EdgeState;
using herd::FloodHop;
using herd::HerdConfig;
using herd::NodeConfig;
using herd::NodeItem;
using herd::NodeState;
using herd::PropagationModel;
using herd::TopologyView;
using herdtest::TestClient;

using herdtest::classicHerd;

namespace {


template <typename T>
QList<T *> itemsOfType(const QGraphicsScene *scene)
{
    QList<T *> out;
    for (QGraphicsItem *item : scene->items()) {
        if (auto *t = qgraphicsitem_cast<T *>(item))
            out.append(t);
    }
    return out;
}

QAction *actionNamed(QMenu *menu, const QString &text)
{
    for (QAction *a : menu->actions()) {
        if (a->text() == text)
            return a;
    }
    return nullptr;
}

int descendants(const QAbstractItemModel &model, const QModelIndex &parent)
{
    int n = 0;
    for (int r = 0; r < model.rowCount(parent); ++r)
        n += 1 + descendants(model, model.index(r, 0, parent));
    return n;
}

} // namespace

class tst_Topology : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();
    void layoutIsClear();
    void svgShowsFloodsInFlightLikeThePng();
    void bigHerdLayoutHasNoOverlaps();
    void edgesFollowDraggedNodes();
    void statsColourNodesAndLinks();
    void contextMenusRequestStartStopAndCut();
    void floodHopsAnimateAndStop();
    void propagationTreeOfOneUpdate();
    void propagationViewFollowsAndPicks();
    void pulsesAreCappedUnderLoad();
    void propagationStoreIsBounded();
    void propagationMarksPartialTrees();
    void selectionZoomAndFit();
    void savePictures();

private:
    void startHerd(bool withEvents = false);
    void applyUntil(TopologyView &view, const std::function<bool()> &done);
    QList<FloodHop> sendIamat(const QString &node, const QByteArray &client, int expectedHops);

    std::unique_ptr<herd::Herd> m_herd;
    std::unique_ptr<herd::EventStream> m_events;
    std::unique_ptr<QSignalSpy> m_batches;
};

void tst_Topology::init()
{
    qRegisterMetaType<herd::MonitorBatchPtr>();
}

void tst_Topology::cleanup()
{
    m_batches.reset();
    if (m_herd)
        m_herd->setEventStream(nullptr);   // the nodes must not record into a dead stream
    m_events.reset();
    m_herd.reset();
}

void tst_Topology::startHerd(bool withEvents)
{
    m_herd = std::make_unique<herd::Herd>(classicHerd(QString()));
    if (withEvents) {
        herd::Herd *h = m_herd.get();
        m_events = std::make_unique<herd::EventStream>([h] { return h->stats(); });
        m_herd->setEventStream(m_events.get());
        m_batches = std::make_unique<QSignalSpy>(m_events.get(), &herd::EventStream::batchReady);
    }
    QVERIFY2(m_herd->start(), qPrintable(m_herd->lastError()));
    QTRY_VERIFY2_WITH_TIMEOUT(herdtest::allLinksUp(m_herd->stats()), "every link of the five-node herd comes up", 10000);
}

// Stats change on the network's schedule: re-apply fresh ones until the scene shows `done`.
void tst_Topology::applyUntil(TopologyView &view, const std::function<bool()> &done)
{
    QTRY_VERIFY_WITH_TIMEOUT((view.applyStats(m_herd->stats()), done()), 10000);
}

// Sends an IAMAT to `node` and collects the flood's hops from real monitor batches.
QList<FloodHop> tst_Topology::sendIamat(const QString &node, const QByteArray &client, int expectedHops)
{
    QList<FloodHop> hops;
    TestClient c(m_herd->node(node)->port());
    if (!c.isConnected())
        return hops;
    c.send("IAMAT " + client + " +34.068930-118.445127 1621464827.959498503\n");
    bool ok = false;
    const QByteArray reply = c.readLine(&ok);
    if (!ok || !reply.startsWith("AT " + node.toUtf8()))
        return hops;
    static_cast<void>(QTest::qWaitFor([&] {
        while (!m_batches->isEmpty()) {
            const auto batch = m_batches->takeFirst().at(0).value<herd::MonitorBatchPtr>();
            for (const FloodHop &h : batch->hops) {
                if (h.client == client)
                    hops.append(h);
            }
            m_events->batchApplied();   // as the GUI does: only then may the next batch come
        }
        return hops.size() >= expectedHops;
    }, 10000));
    return hops;
}

void tst_Topology::layoutIsClear()
{
    startHerd();
    TopologyView view;
    view.setHerd(m_herd->config());
    view.applyStats(m_herd->stats());   // real labels, so their real sizes are placed

    const QList<NodeItem *> nodes = itemsOfType<NodeItem>(view.scene());
    const QList<EdgeItem *> edges = itemsOfType<EdgeItem>(view.scene());
    QCOMPARE(nodes.size(), 5);
    QCOMPARE(edges.size(), 6);
    for (qsizetype i = 0; i < nodes.size(); ++i) {
        for (qsizetype j = i + 1; j < nodes.size(); ++j) {
            QVERIFY2(!nodes[i]->footprint().intersects(nodes[j]->footprint()),
                     qPrintable(nodes[i]->name() + QStringLiteral(" overlaps ") + nodes[j]->name()));
        }
    }
    // This herd is planar: the circle order is chosen so that no two links cross.
    for (qsizetype i = 0; i < edges.size(); ++i) {
        for (qsizetype j = i + 1; j < edges.size(); ++j) {
            QPointF at;
            const bool shareNode = edges[i]->nodeA() == edges[j]->nodeA() || edges[i]->nodeA() == edges[j]->nodeB()
                || edges[i]->nodeB() == edges[j]->nodeA() || edges[i]->nodeB() == edges[j]->nodeB();
            if (!shareNode)
                QVERIFY2(edges[i]->line().intersects(edges[j]->line(), &at) != QLineF::BoundedIntersection, "links cross");
        }
    }
    // Labels sit beside the middle of their links, clear of every node, link and other label.
    for (qsizetype i = 0; i < edges.size(); ++i) {
        const QRectF label = edges[i]->labelItem()->sceneBoundingRect();
        QVERIFY(!label.isEmpty());
        const QPointF middle = edges[i]->line().pointAt(0.5);
        const QPointF offset = label.center() - middle;
        QVERIFY2(std::hypot(offset.x(), offset.y()) < edges[i]->line().length() / 2,
                 qPrintable(edges[i]->label() + QStringLiteral(" strays from its link")));
        for (const NodeItem *n : nodes)
            QVERIFY2(!label.intersects(n->footprint()), qPrintable(edges[i]->label() + QStringLiteral(" covers ") + n->name()));
        for (qsizetype j = 0; j < edges.size(); ++j) {
            if (j == i)
                continue;
            QVERIFY2(!label.intersects(edges[j]->labelItem()->sceneBoundingRect()), "labels overlap");
            QPainterPath line(edges[j]->line().p1());
            line.lineTo(edges[j]->line().p2());
            QVERIFY2(!line.intersects(label), qPrintable(edges[i]->label() + QStringLiteral(" covers another link")));
        }
    }
}

void tst_Topology::bigHerdLayoutHasNoOverlaps()
{
    // Twelve nodes: past the brute-force circle, laid out force-directed.
    HerdConfig c;
    for (int i = 0; i < 12; ++i)
        c.nodes.append(NodeConfig{QStringLiteral("Node%1").arg(i), QStringLiteral("127.0.0.1"), quint16(13000 + i)});
    for (int i = 0; i < 12; ++i) {
        c.links.append({c.nodes[i].name, c.nodes[(i + 1) % 12].name});
        if (i % 3 == 0)
            c.links.append({c.nodes[i].name, c.nodes[(i + 5) % 12].name});
    }
    TopologyView view;
    view.setHerd(c);
    const QList<NodeItem *> nodes = view.nodeItems();
    QCOMPARE(nodes.size(), 12);
    QCOMPARE(view.edgeItems().size(), 16);
    for (qsizetype i = 0; i < nodes.size(); ++i) {
        for (qsizetype j = i + 1; j < nodes.size(); ++j)
            QVERIFY2(!nodes[i]->footprint().intersects(nodes[j]->footprint()), qPrintable(nodes[i]->name() + QLatin1Char('/') + nodes[j]->name()));
    }
    // Degenerate herds lay out too.
    c.nodes.resize(1);
    c.links.clear();
    view.setHerd(c);
    QCOMPARE(view.nodeItems().size(), 1);
    view.setHerd(HerdConfig{});
    QVERIFY(view.nodeItems().isEmpty());
    QVERIFY2(!view.savePicture(QStringLiteral("empty.png")), "nothing to draw");
}

namespace {
// Pixels of `image` that are nearly black: what a pulse drawn wrong in SVG turns into.
int darkPixels(const QImage &image)
{
    int dark = 0;
    for (int y = 0; y < image.height(); ++y)
        for (int x = 0; x < image.width(); ++x) {
            const QColor c = image.pixelColor(x, y);
            dark += (c.alpha() > 128 && c.red() < 40 && c.green() < 40 && c.blue() < 40) ? 1 : 0;
        }
    return dark;
}

QImage rendered(const QString &svgFile, QSize size)
{
    QSvgRenderer svg(svgFile);
    QImage image(size, QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::white);
    QPainter p(&image);
    svg.render(&p);
    return image;
}
} // namespace

void tst_Topology::svgShowsFloodsInFlightLikeThePng()
{
    TopologyView view;
    view.resize(800, 600);
    view.setHerd(classicHerd(QString()));
    const QTemporaryDir dir;
    const QString idle = dir.filePath(QStringLiteral("idle.svg"));
    QVERIFY(view.savePicture(idle));
    const herd::protocol::Timestamp t{1621464827, 0};
    QList<FloodHop> hops;
    hops.append(FloodHop{"svg-client", t, QString(), QStringLiteral("Hill"), 0});
    for (const char *to : {"Jaquez", "Smith"})
        hops.append(FloodHop{"svg-client", t, QStringLiteral("Hill"), QString::fromLatin1(to), 0});
    view.addHops(hops);
    // Mid-flight: the pulses are between their nodes.
    QTRY_VERIFY([&] {
        for (const auto *p : itemsOfType<herd::PulseItem>(view.scene()))
            if (p->kind() == herd::PulseItem::Kind::Travel && p->progress() > 0.3 && p->progress() < 0.7)
                return true;
        return false;
    }());
    const QString flying = dir.filePath(QStringLiteral("flying.svg"));
    QVERIFY(view.savePicture(flying));
    const QSize size = QSvgRenderer(idle).defaultSize();
    QVERIFY(!size.isEmpty());
    const int before = darkPixels(rendered(idle, size));
    const int after = darkPixels(rendered(flying, size));
    // A pulse is a violet dot with a fading tail, not a black bar.
    QVERIFY2(after - before < 20, qPrintable(QStringLiteral("dark pixels: %1 without pulses, %2 with").arg(before).arg(after)));
}

void tst_Topology::edgesFollowDraggedNodes()
{
    TopologyView view;
    view.setHerd(classicHerd(QString()));
    NodeItem *hill = view.nodeItem(QStringLiteral("Hill"));
    EdgeItem *edge = view.edgeItem(QStringLiteral("Hill"), QStringLiteral("Jaquez"));
    QVERIFY(hill->flags() & QGraphicsItem::ItemIsMovable);
    hill->setPos(hill->pos() + QPointF(-120, 80));
    const QLineF line = edge->lineFrom(hill);
    QVERIFY2(std::abs(QLineF(hill->pos(), line.p1()).length() - NodeItem::kRadius - 2) < 0.5,
             "the link starts at the moved node's rim");
}

void tst_Topology::statsColourNodesAndLinks()
{
    startHerd();
    TopologyView view;
    view.setHerd(m_herd->config());
    for (EdgeItem *e : view.edgeItems())
        QCOMPARE(e->state(), EdgeState::Unknown);   // before any stats: nothing claimed

    // Up, and labelled with counts and a round trip once the first heartbeat is acked.
    const QRegularExpression label(QStringLiteral("^hb \\d+ / ack \\d+ · \\d+\\.\\d\\d ms$"));
    applyUntil(view, [&] {
        for (EdgeItem *e : itemsOfType<EdgeItem>(view.scene())) {
            if (e->state() != EdgeState::Up || !label.match(e->label()).hasMatch())
                return false;
        }
        return true;
    });
    for (NodeItem *n : view.nodeItems()) {
        QCOMPARE(n->state(), NodeState::Alive);
        const quint16 port = m_herd->node(n->name())->port();
        QVERIFY2(n->caption().startsWith(QStringLiteral(":%1").arg(port)), qPrintable(n->caption()));
    }
    QVERIFY(view.toolTipFor(view.nodeItem(QStringLiteral("Hill"))).contains(QStringLiteral("clients known")));
    QVERIFY(view.toolTipFor(view.edgeItem(QStringLiteral("Hill"), QStringLiteral("Jaquez"))).contains(QStringLiteral("heartbeats")));

    // Stop Smith: its node greys out, its three links go down, the rest stay up.
    const QString smith = QStringLiteral("Smith");
    m_herd->stopNode(smith);
    applyUntil(view, [&] {
        for (EdgeItem *e : view.nodeItem(smith)->edges()) {
            if (e->state() != EdgeState::Down)
                return false;
        }
        return true;
    });
    QCOMPARE(view.nodeItem(smith)->state(), NodeState::Stopped);
    QVERIFY2(view.nodeItem(smith)->caption().contains(QStringLiteral("stopped")), qPrintable(view.nodeItem(smith)->caption()));
    QCOMPARE(view.edgeItem(QStringLiteral("Hill"), QStringLiteral("Jaquez"))->state(), EdgeState::Up);
    QCOMPARE(view.edgeItem(QStringLiteral("Singleton"), QStringLiteral("Campbell"))->state(), EdgeState::Up);
    QVERIFY(view.edgeItem(QStringLiteral("Smith"), QStringLiteral("Hill"))->label().startsWith(QStringLiteral("down")));

    // Cut Hill–Jaquez: dashed "cut", and it does not count against either node's health.
    m_herd->setLinkCut(QStringLiteral("Hill"), QStringLiteral("Jaquez"), true);
    EdgeItem *hillJaquez = view.edgeItem(QStringLiteral("Jaquez"), QStringLiteral("Hill"));
    applyUntil(view, [&] { return hillJaquez->state() == EdgeState::Cut; });
    QVERIFY(hillJaquez->label().startsWith(QStringLiteral("cut")));
    QCOMPARE(view.nodeItem(QStringLiteral("Jaquez"))->state(), NodeState::Alive);

    // Start Smith again: its links come back.
    QVERIFY(m_herd->startNode(smith));
    applyUntil(view, [&] {
        for (EdgeItem *e : view.nodeItem(smith)->edges()) {
            if (e->state() != EdgeState::Up)
                return false;
        }
        return view.nodeItem(smith)->state() == NodeState::Alive;
    });
    QCOMPARE(hillJaquez->state(), EdgeState::Cut);
}

void tst_Topology::contextMenusRequestStartStopAndCut()
{
    startHerd();
    TopologyView view;
    view.setHerd(m_herd->config());
    view.applyStats(m_herd->stats());
    QSignalSpy startStop(&view, &TopologyView::startStopRequested);
    QSignalSpy cut(&view, &TopologyView::linkCutRequested);

    const QString smith = QStringLiteral("Smith");
    std::unique_ptr<QMenu> menu(view.createContextMenu(view.nodeItem(smith)->pos()));
    QVERIFY(menu);
    QAction *stop = actionNamed(menu.get(), QStringLiteral("Stop node"));
    QVERIFY2(stop && stop->isEnabled(), "a running hosted node offers Stop");
    stop->trigger();
    QCOMPARE(startStop.size(), 1);
    QCOMPARE(startStop.at(0).at(0).toString(), smith);

    m_herd->stopNode(smith);
    view.applyStats(m_herd->stats());
    menu.reset(view.createContextMenu(view.nodeItem(smith)->pos()));
    QVERIFY2(actionNamed(menu.get(), QStringLiteral("Start node")), "a stopped node offers Start");

    EdgeItem *edge = view.edgeItem(QStringLiteral("Hill"), QStringLiteral("Jaquez"));
    menu.reset(view.createContextMenu(edge->line().pointAt(0.5)));
    QVERIFY(menu);
    QAction *cutAction = actionNamed(menu.get(), QStringLiteral("Cut link"));
    QVERIFY(cutAction);
    cutAction->trigger();
    QCOMPARE(cut.size(), 1);
    QCOMPARE(cut.at(0).at(0).toString(), QStringLiteral("Hill"));
    QCOMPARE(cut.at(0).at(1).toString(), QStringLiteral("Jaquez"));
    QCOMPARE(cut.at(0).at(2).toBool(), true);

    m_herd->setLinkCut(QStringLiteral("Hill"), QStringLiteral("Jaquez"), true);
    applyUntil(view, [&] { return edge->state() == EdgeState::Cut; });
    menu.reset(view.createContextMenu(edge->labelItem()->pos()));   // the label stands for its link
    QAction *restore = menu ? actionNamed(menu.get(), QStringLiteral("Restore link")) : nullptr;
    QVERIFY(restore);
    restore->trigger();
    QCOMPARE(cut.size(), 2);
    QCOMPARE(cut.at(1).at(2).toBool(), false);

    QVERIFY2(!view.createContextMenu(QPointF(4000, 4000)), "empty space has no item menu");
}

void tst_Topology::floodHopsAnimateAndStop()
{
    startHerd(true);
    TopologyView view;
    view.setHerd(m_herd->config());
    const QList<FloodHop> hops = sendIamat(QStringLiteral("Hill"), "kiwi.cs.ucla.edu", 5);
    QCOMPARE(hops.size(), 5);   // each node stores it once
    QVERIFY(!view.isAnimating());

    view.addHops(hops);
    QVERIFY(view.livePulseCount() > 0);
    QVERIFY(view.isAnimating());
    const QList<herd::PulseItem *> pulses = itemsOfType<herd::PulseItem>(view.scene());
    QCOMPARE(pulses.size(), 5);   // the ripple at Hill and four hops
    int ripples = 0;
    for (const herd::PulseItem *p : pulses)
        ripples += p->kind() == herd::PulseItem::Kind::Ripple ? 1 : 0;
    QCOMPARE(ripples, 1);

    // Mid-flight a pulse is somewhere on its link (not parked on a node).
    QTRY_VERIFY(std::any_of(pulses.begin(), pulses.end(), [](const herd::PulseItem *p) {
        return p->kind() == herd::PulseItem::Kind::Travel && p->isVisible();
    }));
    QTRY_VERIFY_WITH_TIMEOUT(!view.isAnimating(), 10000);
    QCOMPARE(view.livePulseCount(), 0);
    QVERIFY(itemsOfType<herd::PulseItem>(view.scene()).isEmpty());
    QCOMPARE(view.droppedPulses(), quint64(0));
}

void tst_Topology::propagationTreeOfOneUpdate()
{
    startHerd(true);
    const QList<FloodHop> hops = sendIamat(QStringLiteral("Hill"), "kiwi.cs.ucla.edu", 5);
    QCOMPARE(hops.size(), 5);

    herd::PropagationStore store;
    store.addHops(hops);
    const QList<FloodHop> stored = store.hopsOf("kiwi.cs.ucla.edu", hops.front().time);
    QCOMPARE(stored.size(), 5);

    PropagationModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    // First the origin and one hop, then all of it: the second call only inserts rows.
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    model.setHops(stored.mid(0, 2));
    model.setHops(stored);
    QCOMPARE(resets.size(), 1);

    QCOMPARE(model.rowCount(), 1);
    const QModelIndex root = model.index(0, PropagationModel::NodeColumn);
    QCOMPARE(root.data().toString(), QStringLiteral("Hill"));
    QVERIFY(root.data(PropagationModel::FromRole).toString().isEmpty());
    QCOMPARE(root.data(PropagationModel::OffsetUsRole).toLongLong(), 0);
    QCOMPARE(model.index(0, PropagationModel::TimeColumn).data().toString(), QStringLiteral("+0.000 ms"));
    QCOMPARE(descendants(model, root), 4);

    // Every child got it from its parent, later than its parent, one hop further.
    std::function<void(const QModelIndex &)> check = [&](const QModelIndex &parent) {
        for (int r = 0; r < model.rowCount(parent); ++r) {
            const QModelIndex child = model.index(r, 0, parent);
            QCOMPARE(child.data(PropagationModel::FromRole).toString(), parent.data(PropagationModel::NodeRole).toString());
            QVERIFY(child.data(PropagationModel::OffsetUsRole).toLongLong() >= parent.data(PropagationModel::OffsetUsRole).toLongLong());
            QCOMPARE(child.data(PropagationModel::HopCountRole).toInt(), parent.data(PropagationModel::HopCountRole).toInt() + 1);
            QVERIFY(model.index(r, PropagationModel::TimeColumn, parent).data().toString().endsWith(QStringLiteral(" ms")));
            check(child);
        }
    };
    check(root);
    // Hill's neighbours are Jaquez and Smith: whoever got it first from Hill is Hill's child.
    QVERIFY(model.rowCount(root) >= 1 && model.rowCount(root) <= 2);
    QVERIFY(model.maxHops() >= 2);   // Campbell and Singleton are two links from Hill

    model.clear();
    QCOMPARE(model.rowCount(), 0);
}

void tst_Topology::propagationViewFollowsAndPicks()
{
    startHerd(true);
    herd::PropagationView view;
    QAbstractItemModelTester tester(view.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy chosen(&view, &herd::PropagationView::updateChosen);
    QVERIFY(view.followNewest());

    const QList<FloodHop> first = sendIamat(QStringLiteral("Campbell"), "alpha", 5);
    QCOMPARE(first.size(), 5);
    view.addHops(first);
    QTRY_COMPARE(view.model()->rowCount(), 1);   // follow newest: shown at the next picker refresh
    QCOMPARE(view.model()->index(0, 0).data().toString(), QStringLiteral("Campbell"));
    QCOMPARE(descendants(*view.model(), view.model()->index(0, 0)), 4);
    QVERIFY(view.treeView()->isExpanded(view.model()->index(0, 0)));

    const QList<FloodHop> second = sendIamat(QStringLiteral("Jaquez"), "beta", 5);
    QCOMPARE(second.size(), 5);
    view.addHops(second);
    QTRY_COMPARE(view.model()->index(0, 0).data().toString(), QStringLiteral("Jaquez"));
    QTRY_COMPARE(view.picker()->count(), 2);
    QVERIFY2(view.picker()->itemText(0).startsWith(QStringLiteral("beta")), qPrintable(view.picker()->itemText(0)));

    // Picking an update stops following and tells the window which client it is about.
    Q_EMIT view.picker()->activated(1);   // as a user's choice: activated, not currentIndexChanged
    QCOMPARE(chosen.size(), 1);
    QCOMPARE(chosen.at(0).at(0).toByteArray(), QByteArray("alpha"));
    QVERIFY(!view.followNewest());
    QCOMPARE(view.model()->index(0, 0).data().toString(), QStringLiteral("Campbell"));

    QVERIFY(view.showClient("beta"));
    QCOMPARE(view.shownUpdate()->client, QByteArray("beta"));
    QVERIFY(!view.showClient("nobody"));
}

void tst_Topology::pulsesAreCappedUnderLoad()
{
    TopologyView view;
    view.setHerd(classicHerd(QString()));
    // A burst far over the cap, shaped like real floods: origin, then hops along real links.
    QList<FloodHop> burst;
    for (int i = 0; i < 400; ++i) {
        const QByteArray client = "load" + QByteArray::number(i);
        const herd::protocol::Timestamp t{1700000000 + i, 0};
        burst.append(FloodHop{client, t, QString(), QStringLiteral("Hill"), 0});
        burst.append(FloodHop{client, t, QStringLiteral("Hill"), QStringLiteral("Jaquez"), 0});
        burst.append(FloodHop{client, t, QStringLiteral("Hill"), QStringLiteral("Smith"), 0});
    }
    view.addHops(burst);
    QVERIFY(view.livePulseCount() > 0);
    QVERIFY(view.livePulseCount() <= TopologyView::kMaxPulses);
    QVERIFY(view.droppedPulses() > 0);
    QCOMPARE(quint64(view.livePulseCount()) + view.droppedPulses(), quint64(burst.size()));
    view.addHops(burst);   // still full: all of it is dropped, nothing blocks
    QVERIFY(view.livePulseCount() <= TopologyView::kMaxPulses);

    view.setHerd(classicHerd(QString()));   // a new herd forgets the old pulses and stops the timer
    QCOMPARE(view.livePulseCount(), 0);
    QVERIFY(!view.isAnimating());
}

void tst_Topology::propagationStoreIsBounded()
{
    herd::PropagationStore store;
    for (int i = 0; i <= herd::PropagationStore::kMaxUpdates; ++i)
        store.addHops({FloodHop{"c" + QByteArray::number(i), {i, 0}, QString(), QStringLiteral("Hill"), i}});
    QCOMPARE(store.size(), herd::PropagationStore::kMaxUpdates);
    QCOMPARE(store.evicted(), quint64(1));
    QVERIFY2(!store.contains("c0", {0, 0}), "the oldest update is evicted first");
    const auto recent = store.recentUpdates(3);
    QCOMPARE(recent.size(), 3);
    QCOMPARE(recent.front().first, "c" + QByteArray::number(herd::PropagationStore::kMaxUpdates));
    QCOMPARE(store.newestOf("c5")->sec, 5);
}

// Hand-made batches: a tree is complete, or says how many nodes it has and why not all.
void tst_Topology::propagationMarksPartialTrees()
{
    herd::PropagationView view;
    view.setNodes({QStringLiteral("Bailey"), QStringLiteral("Bona"), QStringLiteral("Campbell"),
                   QStringLiteral("Clark"), QStringLiteral("Jaquez")});
    auto hop = [](const char *client, qint64 sec, const char *from, const char *to, qint64 us) {
        return FloodHop{client, {sec, 0}, QString::fromLatin1(from), QString::fromLatin1(to), us};
    };
    const qint64 t0 = 1'700'000'000'000'000;
    // Every node stored it, nothing dropped: complete.
    view.addHops({hop("full", 1, "", "Bailey", t0), hop("full", 1, "Bailey", "Bona", t0 + 100),
                  hop("full", 1, "Bailey", "Campbell", t0 + 120), hop("full", 1, "Campbell", "Clark", t0 + 300),
                  hop("full", 1, "Bona", "Jaquez", t0 + 310)}, 0, t0 + 20'000);
    view.showUpdate("full", {1, 0});
    QVERIFY(!view.completeness().partial());
    QCOMPARE(view.completeness().seen, 5);
    QVERIFY2(view.summaryText().contains(QStringLiteral("reached 5 of 5 nodes")) && view.summaryText().contains(QStringLiteral("Complete")),
             qPrintable(view.summaryText()));

    // Three hops recorded in a batch that dropped 40 under load: partial, and why.
    const qint64 t1 = t0 + 10'000'000;
    view.addHops({hop("part", 2, "", "Campbell", t1), hop("part", 2, "Campbell", "Bailey", t1 + 90),
                  hop("part", 2, "Campbell", "Jaquez", t1 + 95)}, 40, t1 + 30'000);
    view.showUpdate("part", {2, 0});
    const auto part = view.completeness();
    QVERIFY(part.partial());
    QCOMPARE(part.seen, 3);
    QCOMPARE(part.expected, 5);
    QCOMPARE(part.droppedNear, quint64(40));
    QCOMPARE(part.missing, QStringList({QStringLiteral("Bona"), QStringLiteral("Clark")}));
    QVERIFY2(view.summaryText().contains(QStringLiteral("3 of 5 nodes seen, hops dropped under load")), qPrintable(view.summaryText()));
    QVERIFY2(!view.summaryText().contains(QStringLiteral("Complete")), qPrintable(view.summaryText()));

    // Long after the drops, a node that never stored it: partial, no drop blamed.
    const qint64 t2 = t1 + 60'000'000;
    view.addHops({hop("quiet", 3, "", "Jaquez", t2), hop("quiet", 3, "Jaquez", "Bona", t2 + 80),
                  hop("quiet", 3, "Jaquez", "Bailey", t2 + 85), hop("quiet", 3, "Bailey", "Campbell", t2 + 200)}, 0, t2 + 30'000);
    view.showUpdate("quiet", {3, 0});
    QVERIFY(view.completeness().partial());
    QCOMPARE(view.completeness().droppedNear, quint64(0));
    QVERIFY2(view.summaryText().contains(QStringLiteral("4 of 5 nodes seen; not seen at Clark")), qPrintable(view.summaryText()));
    QVERIFY(!view.summaryText().contains(QStringLiteral("dropped")));

    // The earlier one is still marked, the picker says it, and the sampling line counts the drops.
    view.showUpdate("part", {2, 0});
    QVERIFY(view.summaryText().contains(QStringLiteral("hops dropped under load")));
    bool listed = false;
    for (int i = 0; i < view.picker()->count(); ++i)
        listed = listed || (view.picker()->itemText(i).startsWith(QStringLiteral("part")) && view.picker()->itemText(i).contains(QStringLiteral("3 of 5 nodes seen")));
    QVERIFY(listed);
    auto *sampling = view.findChild<QLabel *>(QStringLiteral("propagationSampling"));
    QVERIFY(sampling);
    QVERIFY2(sampling->text().contains(QStringLiteral("40 hops were dropped under load")), qPrintable(sampling->text()));
}

void tst_Topology::selectionZoomAndFit()
{
    TopologyView view;
    view.resize(800, 600);
    view.setHerd(classicHerd(QString()));
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QSignalSpy selected(&view, &TopologyView::nodeSelected);

    view.selectNode(QStringLiteral("Hill"));
    QCOMPARE(selected.size(), 1);
    QCOMPARE(selected.at(0).at(0).toString(), QStringLiteral("Hill"));
    QCOMPARE(view.selectedNode(), QStringLiteral("Hill"));
    view.selectNode(QString());
    QCOMPARE(selected.size(), 2);
    QVERIFY(selected.at(1).at(0).toString().isEmpty());

    // A click on a node selects it, like a user would.
    const QPoint smith = view.mapFromScene(view.nodeItem(QStringLiteral("Smith"))->pos());
    QTest::mouseClick(view.viewport(), Qt::LeftButton, {}, smith);
    QCOMPARE(view.selectedNode(), QStringLiteral("Smith"));

    // The wheel zooms around the cursor: the scene point under it stays put.
    const QPoint cursor(200, 150);
    QTest::mouseMove(view.viewport(), cursor);
    const QPointF before = view.mapToScene(cursor);
    const qreal unzoomed = view.transform().m11();
    QWheelEvent wheel(cursor, view.viewport()->mapToGlobal(cursor), QPoint(), QPoint(0, 120), Qt::NoButton,
                      Qt::NoModifier, Qt::NoScrollPhase, false);
    QCoreApplication::sendEvent(view.viewport(), &wheel);
    QVERIFY(view.transform().m11() > unzoomed);
    const QPointF after = view.mapToScene(cursor);
    QVERIFY2(QLineF(before, after).length() < 2, "zoom is anchored under the cursor");
    view.fitAll();

    const qreal fitted = view.transform().m11();
    view.zoomIn();
    QVERIFY(view.transform().m11() > fitted);
    view.zoomOut();
    view.zoomOut();
    QVERIFY(view.transform().m11() < fitted);
    view.fitAll();
    QVERIFY(qFuzzyCompare(view.transform().m11(), fitted));
    for (const NodeItem *n : view.nodeItems()) {
        const QRect onScreen = view.mapFromScene(n->footprint()).boundingRect();
        QVERIFY2(view.viewport()->rect().contains(onScreen), qPrintable(n->name() + QStringLiteral(" is cut off")));
    }
}

void tst_Topology::savePictures()
{
    startHerd(true);
    TopologyView view;
    view.resize(900, 700);
    view.setHerd(m_herd->config());
    EdgeItem *hillJaquez = view.edgeItem(QStringLiteral("Hill"), QStringLiteral("Jaquez"));
    applyUntil(view, [&] {   // up, with a measured round trip in its label
        return hillJaquez->state() == EdgeState::Up && !hillJaquez->label().contains(QStringLiteral("–"));
    });
    m_herd->setLinkCut(QStringLiteral("Singleton"), QStringLiteral("Campbell"), true);
    applyUntil(view, [&] { return view.edgeItem(QStringLiteral("Singleton"), QStringLiteral("Campbell"))->state() == EdgeState::Cut; });
    view.addHops(sendIamat(QStringLiteral("Hill"), "kiwi.cs.ucla.edu", 4));
    // A picture with a flood in flight: some pulse is halfway along a link.
    QTRY_VERIFY(std::ranges::any_of(itemsOfType<herd::PulseItem>(view.scene()), [](const herd::PulseItem *p) {
        return p->isVisible() && p->kind() == herd::PulseItem::Kind::Travel && p->progress() > 0.4;
    }));
    view.applyStats(m_herd->stats());   // the captions count the new client

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString png = dir.filePath(QStringLiteral("topology.png"));
    const QString svg = dir.filePath(QStringLiteral("topology.svg"));
    QVERIFY(view.savePicture(png));
    QVERIFY(view.savePicture(svg));
    // For docs and for looking at it: HERD_SCREENSHOT_DIR=dir keeps a copy.
    const QString keep = qEnvironmentVariable("HERD_SCREENSHOT_DIR");
    if (!keep.isEmpty()) {
        QDir().mkpath(keep);
        QFile::remove(keep + QStringLiteral("/topology.png"));
        QFile::remove(keep + QStringLiteral("/topology.svg"));
        QFile::copy(png, keep + QStringLiteral("/topology.png"));
        QFile::copy(svg, keep + QStringLiteral("/topology.svg"));
    }
    QVERIFY(QFileInfo(png).size() > 0);
    QVERIFY(QFileInfo(svg).size() > 0);
    const QImage image(png);
    QVERIFY2(!image.isNull() && image.width() > 0 && image.height() > 0, "the PNG loads");
    QFile svgFile(svg);
    QVERIFY(svgFile.open(QIODevice::ReadOnly));
    const QByteArray svgText = svgFile.readAll();
    QVERIFY(svgText.contains("<svg"));
    QVERIFY2(svgText.contains("Singleton"), "node names are text in the SVG");
    QVERIFY2(!view.savePicture(dir.filePath(QStringLiteral("topology.nosuchformat"))), "unknown formats fail");

}

QTEST_MAIN(tst_Topology)
#include "tst_topology.moc"
