#include "propagation.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QScopedValueRollback>
#include <QSet>
#include <QTimer>
#include <QTreeView>
#include <QVBoxLayout>

namespace herd {

namespace {

QString timeText(protocol::Timestamp t)
{
    return QStringLiteral("%1.%2").arg(t.sec).arg(t.nsec, 9, 10, QLatin1Char('0'));
}

// Client IDs are arbitrary bytes: show control and non-ASCII bytes escaped, never raw.
QString clientText(const QByteArray &client)
{
    return QString::fromLatin1(protocol::escaped(client, 128));
}

QString nodesText(qsizetype n)
{
    return n == 1 ? PropagationView::tr("1 node") : PropagationView::tr("%1 nodes").arg(n);
}

QString offsetText(qint64 us)
{
    return QStringLiteral("+%1 ms").arg(double(us) / 1000.0, 0, 'f', 3);   // ms with µs precision
}

} // namespace

size_t qHash(const UpdateKey &key, size_t seed) noexcept
{
    return qHashMulti(seed, key.client, key.time.sec, key.time.nsec);
}

// ---- PropagationStore ----

PropagationStore::PropagationStore(int capacity) : m_capacity(std::max(1, capacity))
{
    m_hops.reserve(m_capacity);
}

void PropagationStore::addHops(const QList<FloodHop> &hops, quint64 hopsDropped, qint64 batchUs)
{
    if (hopsDropped > 0) {
        if (m_drops.size() >= kMaxDropEvents)
            m_drops.removeFirst();
        m_drops.append({batchUs, hopsDropped});
        m_droppedTotal += hopsDropped;
    }
    for (const FloodHop &hop : hops) {
        const UpdateKey key{hop.client, hop.time};
        auto it = m_hops.find(key);
        if (it == m_hops.end()) {
            if (m_order.size() >= m_capacity) {
                m_hops.remove(m_order.takeFirst());   // oldest first: QList pops its front in O(1)
                ++m_evicted;
            }
            m_order.append(key);
            it = m_hops.insert(key, {});
        }
        if (it->size() < kMaxHopsPerUpdate)
            it->append(hop);
    }
}

QList<FloodHop> PropagationStore::hopsOf(const QByteArray &client, protocol::Timestamp time) const
{
    return m_hops.value(UpdateKey{client, time});
}

quint64 PropagationStore::droppedNear(const QByteArray &client, protocol::Timestamp time) const
{
    const auto it = m_hops.constFind(UpdateKey{client, time});
    if (it == m_hops.cend() || it->isEmpty() || m_drops.isEmpty())
        return 0;
    qint64 first = it->front().timeUs;
    qint64 last = first;
    for (const FloodHop &h : *it) {
        first = std::min(first, h.timeUs);
        last = std::max(last, h.timeUs);
    }
    quint64 dropped = 0;
    for (const auto &[at, n] : m_drops) {
        if (at >= first - kDropWindowUs && at <= last + kDropWindowUs)
            dropped += n;
    }
    return dropped;
}

bool PropagationStore::contains(const QByteArray &client, protocol::Timestamp time) const
{
    return m_hops.contains(UpdateKey{client, time});
}

QList<QPair<QByteArray, protocol::Timestamp>> PropagationStore::recentUpdates(int max) const
{
    const qsizetype count = max < 0 ? m_order.size() : std::min<qsizetype>(max, m_order.size());
    QList<QPair<QByteArray, protocol::Timestamp>> out;
    out.reserve(count);
    for (qsizetype i = m_order.size() - 1; i >= m_order.size() - count; --i)
        out.append({m_order[i].client, m_order[i].time});
    return out;
}

std::optional<QPair<QByteArray, protocol::Timestamp>> PropagationStore::newest() const
{
    if (m_order.isEmpty())
        return std::nullopt;
    return qMakePair(m_order.back().client, m_order.back().time);
}

std::optional<protocol::Timestamp> PropagationStore::newestOf(const QByteArray &client) const
{
    for (auto it = m_order.crbegin(); it != m_order.crend(); ++it) {
        if (it->client == client)
            return it->time;
    }
    return std::nullopt;
}

void PropagationStore::clear()
{
    m_hops.clear();
    m_order.clear();
    m_drops.clear();
    m_droppedTotal = 0;
    m_evicted = 0;
}

// ---- PropagationModel ----

PropagationModel::PropagationModel(QObject *parent) : QAbstractItemModel(parent) {}

bool PropagationModel::canAppend(const QList<FloodHop> &hops) const
{
    if (m_hops.isEmpty() || hops.size() < m_hops.size())
        return false;
    const FloodHop &first = m_hops.front();
    for (qsizetype i = 0; i < m_hops.size(); ++i) {
        const FloodHop &a = m_hops[i];
        const FloodHop &b = hops[i];
        if (a.client != b.client || a.time != b.time || a.from != b.from || a.to != b.to || a.timeUs != b.timeUs)
            return false;
    }
    for (qsizetype i = m_hops.size(); i < hops.size(); ++i) {
        const FloodHop &h = hops[i];
        if (h.client != first.client || h.time != first.time || h.timeUs < m_firstUs)
            return false;   // another update, or the "+time" origin would move
        for (int root : m_roots) {
            if (!m_hops[root].from.isEmpty() && m_hops[root].from == h.to)
                return false;   // it would adopt an orphan: rows would move
        }
    }
    return true;
}

void PropagationModel::append(const FloodHop &hop, bool notify)
{
    const int entry = int(m_entries.size());
    const auto parentIt = hop.from.isEmpty() ? m_byNode.cend() : m_byNode.constFind(hop.from);
    const int parent = parentIt == m_byNode.cend() ? -1 : *parentIt;
    QList<int> &siblings = parent < 0 ? m_roots : m_entries[parent].children;
    const int row = int(siblings.size());
    if (notify) {
        const QModelIndex parentIndex = parent < 0 ? QModelIndex() : createIndex(m_entries[parent].row, 0, quintptr(parent));
        beginInsertRows(parentIndex, row, row);
    }
    Entry e;
    e.parent = parent;
    e.row = row;
    e.depth = parent < 0 ? 0 : m_entries[parent].depth + 1;
    m_entries.append(e);
    m_hops.append(hop);
    // `siblings` may point into m_entries, which just grew: look it up again.
    (parent < 0 ? m_roots : m_entries[parent].children).append(entry);
    m_byNode.insert(hop.to, entry);
    if (notify)
        endInsertRows();
}

void PropagationModel::setHops(const QList<FloodHop> &hops)
{
    if (canAppend(hops)) {
        for (qsizetype i = m_hops.size(); i < hops.size(); ++i)
            append(hops[i], true);
        return;
    }
    beginResetModel();
    m_hops.clear();
    m_entries.clear();
    m_roots.clear();
    m_byNode.clear();
    m_firstUs = 0;
    if (!hops.isEmpty()) {
        m_firstUs = hops.front().timeUs;
        for (const FloodHop &h : hops)
            m_firstUs = std::min(m_firstUs, h.timeUs);
    }
    m_hops.reserve(hops.size());
    for (const FloodHop &h : hops)
        append(h, false);
    endResetModel();
}

void PropagationModel::clear()
{
    setHops({});
}

qint64 PropagationModel::spanUs() const
{
    qint64 last = m_firstUs;
    for (const FloodHop &h : m_hops)
        last = std::max(last, h.timeUs);
    return last - m_firstUs;
}

int PropagationModel::maxHops() const
{
    int depth = 0;
    for (const Entry &e : m_entries)
        depth = std::max(depth, e.depth);
    return depth;
}

QModelIndex PropagationModel::index(int row, int column, const QModelIndex &parent) const
{
    if (row < 0 || column < 0 || column >= ColumnCount || (parent.isValid() && parent.column() != 0))
        return {};
    const QList<int> &siblings = parent.isValid() ? m_entries[int(parent.internalId())].children : m_roots;
    if (row >= siblings.size())
        return {};
    return createIndex(row, column, quintptr(siblings[row]));
}

QModelIndex PropagationModel::parent(const QModelIndex &child) const
{
    if (!child.isValid())
        return {};
    const int parent = m_entries[int(child.internalId())].parent;
    if (parent < 0)
        return {};
    return createIndex(m_entries[parent].row, 0, quintptr(parent));
}

int PropagationModel::rowCount(const QModelIndex &parent) const
{
    if (!parent.isValid())
        return int(m_roots.size());
    if (parent.column() != 0)
        return 0;
    return int(m_entries[int(parent.internalId())].children.size());
}

int PropagationModel::columnCount(const QModelIndex &parent) const
{
    Q_UNUSED(parent)
    return ColumnCount;
}

QString PropagationModel::pathOf(int entry) const
{
    QStringList path;
    int e = entry;
    for (;;) {
        path.prepend(m_hops[e].to);
        if (m_entries[e].parent < 0)
            break;
        e = m_entries[e].parent;
    }
    path.prepend(m_hops[e].from.isEmpty() ? tr("client") : m_hops[e].from);
    return path.join(QStringLiteral(" → "));
}

QVariant PropagationModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid))
        return {};
    const int entry = int(index.internalId());
    const FloodHop &hop = m_hops[entry];
    const Entry &e = m_entries[entry];
    const qint64 offset = hop.timeUs - m_firstUs;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case NodeColumn: return hop.to;
        case FromColumn: return hop.from.isEmpty() ? tr("(client)") : hop.from;
        case TimeColumn: return offsetText(offset);
        case HopsColumn: return e.depth;
        }
        break;
    case Qt::ToolTipRole: {
        QString tip = tr("%1 stored it %2 after the first node").arg(hop.to, offsetText(offset));
        tip += QLatin1Char('\n') + tr("Path: %1").arg(pathOf(entry));
        if (e.parent < 0 && !hop.from.isEmpty())
            tip += QLatin1Char('\n') + tr("(%1's own hop was not recorded: sampled out or hosted elsewhere)").arg(hop.from);
        return tip;
    }
    case Qt::TextAlignmentRole:
        if (index.column() == TimeColumn || index.column() == HopsColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case NodeRole: return hop.to;
    case FromRole: return hop.from;
    case OffsetUsRole: return offset;
    case HopCountRole: return e.depth;
    default: break;
    }
    return {};
}

QVariant PropagationModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || section < 0 || section >= ColumnCount)
        return {};
    if (role == Qt::DisplayRole) {
        switch (section) {
        case NodeColumn: return tr("Node");
        case FromColumn: return tr("From");
        case TimeColumn: return tr("+time");
        case HopsColumn: return tr("Hops");
        }
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case NodeColumn: return tr("The node that stored the update");
        case FromColumn: return tr("Where it came from: a neighbour, or the client's IAMAT");
        case TimeColumn: return tr("When it was stored, after the first node stored it");
        case HopsColumn: return tr("Links travelled from the node that heard from the client");
        }
    }
    return {};
}

// ---- PropagationView ----

PropagationView::PropagationView(QWidget *parent)
    : QWidget(parent), m_model(new PropagationModel(this)), m_picker(new QComboBox(this)),
      m_filter(new QLineEdit(this)), m_follow(new QCheckBox(tr("Follow newest"), this)),
      m_tree(new QTreeView(this)), m_summary(new QLabel(this)), m_sampling(new QLabel(this)),
      m_pickerTimer(new QTimer(this))
{
    m_picker->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_picker->setMinimumContentsLength(24);
    m_picker->setToolTip(tr("A flooded update: client and client time, newest first"));
    m_filter->setPlaceholderText(tr("Filter by client…"));
    m_filter->setClearButtonEnabled(true);
    m_filter->setToolTip(tr("List only the updates of clients containing this text"));
    m_follow->setChecked(true);
    m_follow->setToolTip(tr("Always show the most recent update"));
    m_tree->setModel(m_model);
    m_tree->setUniformRowHeights(true);
    m_tree->setAllColumnsShowFocus(true);
    m_tree->setRootIsDecorated(true);
    m_tree->header()->setStretchLastSection(false);
    m_tree->header()->setSectionResizeMode(PropagationModel::NodeColumn, QHeaderView::Stretch);
    for (int c : {int(PropagationModel::FromColumn), int(PropagationModel::TimeColumn), int(PropagationModel::HopsColumn)})
        m_tree->header()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_summary->setObjectName(QStringLiteral("propagationSummary"));
    m_sampling->setWordWrap(true);
    m_sampling->setObjectName(QStringLiteral("propagationSampling"));
    m_sampling->setEnabled(false);   // the muted colour of a footnote

    auto *pickRow = new QHBoxLayout;
    pickRow->addWidget(m_picker, 1);
    pickRow->addWidget(m_follow);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(pickRow);
    layout->addWidget(m_filter);
    layout->addWidget(m_tree, 1);
    layout->addWidget(m_summary);
    layout->addWidget(m_sampling);

    m_pickerTimer->setSingleShot(true);
    m_pickerTimer->setInterval(kPickerRefreshMs);
    connect(m_pickerTimer, &QTimer::timeout, this, &PropagationView::refreshPicker);
    // New rows of the shown tree open as they arrive.
    connect(m_model, &QAbstractItemModel::rowsInserted, m_tree, [this](const QModelIndex &under) {
        if (under.isValid())
            m_tree->expand(under);
    });
    connect(m_model, &QAbstractItemModel::modelReset, m_tree, &QTreeView::expandAll);
    connect(m_picker, &QComboBox::activated, this, [this](int row) {
        if (row < 0 || row >= m_pickerKeys.size())
            return;
        const UpdateKey key = m_pickerKeys[row];
        m_follow->setChecked(false);   // the user chose: stop jumping to the newest
        showKey(key);
        // The window may answer by selecting the client and asking for its newest update: the
        // user's pick must survive that echo.
        QScopedValueRollback echo(m_echoGuard, key.client);
        Q_EMIT updateChosen(key.client);
    });
    connect(m_follow, &QCheckBox::toggled, this, [this](bool on) {
        if (on)
            refreshPicker();
    });
    connect(m_filter, &QLineEdit::textChanged, this, &PropagationView::refreshPicker);
    updateSummary();
    updateSampling();
}

void PropagationView::setNodes(const QStringList &nodes)
{
    m_nodes = nodes;
    updateSummary();
}

void PropagationView::addHops(const QList<FloodHop> &hops, quint64 hopsDropped, qint64 batchUs)
{
    if (hops.isEmpty() && hopsDropped == 0)
        return;
    m_store.addHops(hops, hopsDropped, batchUs);
    if (hopsDropped > 0) {
        updateSummary();   // the shown update may have flooded while hops were dropped
        updateSampling();
    }
    if (hops.isEmpty())
        return;
    if (m_shown) {
        for (const FloodHop &h : hops) {
            if (h.client == m_shown->client && h.time == m_shown->time) {
                m_model->setHops(m_store.hopsOf(m_shown->client, m_shown->time));
                updateSummary();
                break;
            }
        }
    }
    schedulePickerRefresh();
}

void PropagationView::schedulePickerRefresh()
{
    if (!m_pickerTimer->isActive())
        m_pickerTimer->start();   // coalesce: however many batches, one refresh per interval
}

void PropagationView::showUpdate(const QByteArray &client, protocol::Timestamp time)
{
    if (!m_echoGuard.isNull() && client == m_echoGuard)
        return;
    m_follow->setChecked(false);
    showKey(UpdateKey{client, time});
    refreshPicker();
}

bool PropagationView::showClient(const QByteArray &client)
{
    const auto time = m_store.newestOf(client);
    if (!time)
        return false;
    showUpdate(client, *time);
    return true;
}

void PropagationView::clear()
{
    m_store.clear();
    m_shown.reset();
    m_model->clear();
    refreshPicker();
    updateSummary();
    updateSampling();
}

bool PropagationView::followNewest() const
{
    return m_follow->isChecked();
}

void PropagationView::setFollowNewest(bool follow)
{
    m_follow->setChecked(follow);
}

void PropagationView::showKey(const UpdateKey &key)
{
    m_shown = key;
    m_model->setHops(m_store.hopsOf(key.client, key.time));
    m_tree->expandAll();
    updateSummary();
}

void PropagationView::refreshPicker()
{
    updateSampling();
    if (m_follow->isChecked()) {
        if (const auto newest = m_store.newest()) {
            const UpdateKey key{newest->first, newest->second};
            if (m_shown != key)
                showKey(key);
        }
    }
    if (m_picker->view()->isVisible()) {
        schedulePickerRefresh();   // never reshuffle the list under an open popup
        return;
    }
    const QString filter = m_filter->text();
    m_pickerKeys.clear();
    QStringList texts;
    int current = -1;
    for (const auto &[client, time] : m_store.recentUpdates()) {
        if (m_pickerKeys.size() >= kPickerItems)
            break;
        const QString name = clientText(client);
        if (!filter.isEmpty() && !name.contains(filter, Qt::CaseInsensitive))
            continue;
        const UpdateKey key{client, time};
        if (m_shown == key)
            current = int(m_pickerKeys.size());
        m_pickerKeys.append(key);
        const qsizetype seen = m_store.hopsOf(client, time).size();
        texts.append(m_nodes.isEmpty() || seen >= m_nodes.size()
                         ? tr("%1  @ %2  (%3)").arg(name, timeText(time), nodesText(seen))
                         : tr("%1  @ %2  (%3 of %4 nodes seen)").arg(name, timeText(time)).arg(seen).arg(m_nodes.size()));
    }
    const QSignalBlocker blocker(m_picker);
    m_picker->clear();
    m_picker->addItems(texts);
    m_picker->setCurrentIndex(current);
    if (current < 0 && m_shown) {
        // The shown update is older than the list (or filtered out): say what it is anyway.
        m_picker->setPlaceholderText(tr("%1  @ %2").arg(clientText(m_shown->client), timeText(m_shown->time)));
    } else if (texts.isEmpty()) {
        m_picker->setPlaceholderText(tr("No flooded update yet"));
    }
}

PropagationView::Completeness PropagationView::completeness() const
{
    Completeness c;
    if (!m_shown)
        return c;
    const QList<FloodHop> &hops = m_model->hops();
    QSet<QString> seen;
    for (const FloodHop &h : hops)
        seen.insert(h.to);
    c.seen = int(seen.size());
    c.expected = int(m_nodes.size());
    for (const QString &n : m_nodes) {
        if (!seen.contains(n))
            c.missing.append(n);
    }
    c.droppedNear = m_store.droppedNear(m_shown->client, m_shown->time);
    return c;
}

QString PropagationView::summaryText() const
{
    return m_summary->text();
}

// Complete, or says it is not and what is known about why: hops the event stream dropped under
// load while the update flooded, or nodes that never stored it (down, cut off, or not yet).
void PropagationView::updateSummary()
{
    m_summary->setStyleSheet(QString());
    if (!m_shown) {
        m_summary->setText(tr("No update shown. Send an IAMAT to any node: each update's hops appear here."));
        return;
    }
    const QList<FloodHop> &hops = m_model->hops();
    if (hops.isEmpty()) {
        m_summary->setText(tr("%1 @ %2: no hops recorded (older than the last %3 updates, or not flooded here).")
                               .arg(clientText(m_shown->client), timeText(m_shown->time))
                               .arg(m_store.capacity()));
        return;
    }
    QString origin;
    for (const FloodHop &h : hops) {
        if (h.from.isEmpty()) {
            origin = h.to;
            break;
        }
    }
    const Completeness c = completeness();
    const QString reached = c.expected > 0 ? tr("%1 of %2 nodes").arg(c.seen).arg(c.expected) : nodesText(c.seen);
    QString text = tr("%1 @ %2: reached %3 in %4")
                       .arg(clientText(m_shown->client), timeText(m_shown->time), reached,
                            QStringLiteral("%1 ms").arg(double(m_model->spanUs()) / 1000.0, 0, 'f', 3));
    const int depth = m_model->maxHops();
    text += QStringLiteral(", ") + (depth == 1 ? tr("1 hop deep") : tr("%1 hops deep").arg(depth));
    if (!origin.isEmpty())
        text += QStringLiteral(", ") + tr("from %1").arg(origin);
    else
        text += QStringLiteral(", ") + tr("the first node's hop was not recorded");
    text += QLatin1Char('.');
    if (c.partial()) {
        text += QLatin1Char(' ');
        if (c.expected > 0)
            text += tr("Partial: %1 of %2 nodes seen").arg(c.seen).arg(c.expected);
        else
            text += tr("Partial");
        if (c.droppedNear > 0)
            text += tr(", hops dropped under load (%L1 in the batches while it flooded)").arg(c.droppedNear);
        if (!c.missing.isEmpty())
            text += tr("; not seen at %1").arg(c.missing.join(QStringLiteral(", ")));
        text += QLatin1Char('.');
        m_summary->setStyleSheet(QStringLiteral("color: #c62828;"));
    } else if (c.expected > 0) {
        text += QLatin1Char(' ') + tr("Complete: every node stored it.");
    }
    m_summary->setText(text);
}

// Sampling, said in so many words: which updates are kept and what the bounds dropped.
void PropagationView::updateSampling()
{
    QString text = tr("Recorded: the hops of the newest %L1 updates (%L2 older ones evicted).")
                       .arg(m_store.capacity()).arg(m_store.evicted());
    if (m_store.droppedTotal() > 0)
        text += QLatin1Char(' ') + tr("%L1 hops were dropped under load (each batch carries at most %L2), so some trees are partial.")
                                       .arg(m_store.droppedTotal()).arg(EventStream::kMaxHops);
    else
        text += QLatin1Char(' ') + tr("No hop dropped so far.");
    m_sampling->setText(text);
}

} // namespace herd
