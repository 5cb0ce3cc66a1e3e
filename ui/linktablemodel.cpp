#include "linktablemodel.h"

#include <QBrush>
#include <QColor>
#include <QDateTime>

#include <algorithm>
#include <climits>

namespace herd {

namespace {

const QColor kUpColour(0x2e, 0x7d, 0x32);     // the node table's "running" green
const QColor kDownColour(0xc6, 0x28, 0x28);   // and its "stopped" red
const QColor kCutColour(0x75, 0x75, 0x75);    // grey: down on purpose, not a fault

QString noValue()
{
    return QStringLiteral("\u2013");   // en dash: "no value yet", distinct from a zero
}

} // namespace

LinkTableModel::LinkTableModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

bool LinkTableModel::sameRow(const LinkInfo &a, const LinkInfo &b)
{
    const LinkStats &x = a.stats;
    const LinkStats &y = b.stats;
    return a.up == b.up && a.cut == b.cut && a.liveness == b.liveness
        && x.heartbeatsSent == y.heartbeatsSent && x.acksReceived == y.acksReceived
        && x.timesUp == y.timesUp && x.timesDown == y.timesDown
        && x.floodsSent == y.floodsSent && x.floodsReceived == y.floodsReceived
        && x.duplicatesDropped == y.duplicatesDropped && x.authFailures == y.authFailures
        && x.rttUs == y.rttUs && x.lastChangeMs == y.lastChangeMs;
}

void LinkTableModel::applyStats(const QList<NodeStats> &stats)
{
    qsizetype links = 0;
    bool sameSet = true;
    for (const NodeStats &s : stats) {
        links += s.links.size();
        for (const LinkInfo &l : s.links)
            sameSet = sameSet && m_index.contains(Key(s.name, l.peer));
    }
    // Same size and every key known: the same set (the keys of one snapshot are unique).
    sameSet = sameSet && links == m_rows.size();

    if (!sameSet) {
        // A herd was loaded (or a node added): the rows themselves change.
        beginResetModel();
        m_rows.clear();
        m_index.clear();
        m_rows.reserve(links);
        for (const NodeStats &s : stats) {
            for (const LinkInfo &l : s.links) {
                m_index.insert(Key(s.name, l.peer), int(m_rows.size()));
                m_rows.append(Row{s.name, l});
            }
        }
        endResetModel();
        return;
    }

    // In place, keeping the existing row order; one dataChanged spanning what changed, so a
    // quiet herd (counters frozen) costs the views nothing.
    int first = INT_MAX;
    int last = -1;
    for (const NodeStats &s : stats) {
        for (const LinkInfo &l : s.links) {
            const int row = m_index.value(Key(s.name, l.peer));
            if (sameRow(m_rows.at(row).link, l))
                continue;
            m_rows[row].link = l;
            first = std::min(first, row);
            last = std::max(last, row);
        }
    }
    if (last >= 0)
        Q_EMIT dataChanged(index(first, 0), index(last, ColumnCount - 1));
}

QModelIndex LinkTableModel::indexOf(const QString &node, const QString &peer, int column) const
{
    const auto it = m_index.constFind(Key(node, peer));
    return it == m_index.cend() ? QModelIndex() : index(*it, column);
}

int LinkTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int LinkTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant LinkTableModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &row = m_rows.at(index.row());
    const LinkInfo &l = row.link;
    const LinkStats &s = l.stats;
    switch (role) {
    case UpRole: return l.up;
    case CutRole: return l.cut;
    case NodeNameRole: return row.node;
    case PeerNameRole: return l.peer;
    case Qt::ForegroundRole:
        if (index.column() == State)
            return QBrush(l.cut ? kCutColour : l.up ? kUpColour : kDownColour);
        return {};
    case Qt::TextAlignmentRole:
        // Counters and times line up on the right; names and states read from the left.
        return index.column() >= TimesUp ? QVariant(int(Qt::AlignRight | Qt::AlignVCenter)) : QVariant();
    case Qt::ToolTipRole:
        switch (index.column()) {
        case Node:
        case Peer: return tr("%1 \u2192 %2, as %1 sees it").arg(row.node, l.peer);
        case State:
            return l.cut ? tr("Cut: held down on purpose (fault injection) until restored")
                         : l.up ? tr("Up: handshake done, heartbeats flowing") : tr("Down: being redialled");
        case LastChange:
            return s.lastChangeMs > 0
                ? QDateTime::fromMSecsSinceEpoch(s.lastChangeMs).toString(QStringLiteral("yyyy-MM-dd hh:mm:ss.zzz t"))
                : QVariant();
        default: return {};
        }
    case Qt::DisplayRole:
        switch (index.column()) {
        case Node: return row.node;
        case Peer: return l.peer;
        case State: return l.cut ? tr("cut") : l.up ? tr("up") : tr("down");
        case Liveness: return livenessName(l.liveness);
        case TimesUp: return qulonglong(s.timesUp);
        case TimesDown: return qulonglong(s.timesDown);
        case HeartbeatsSent: return qulonglong(s.heartbeatsSent);
        case AcksReceived: return qulonglong(s.acksReceived);
        case Rtt: return s.rttUs < 0 ? noValue() : QString::number(double(s.rttUs) / 1000.0, 'f', 2);
        case FloodsSent: return qulonglong(s.floodsSent);
        case FloodsReceived: return qulonglong(s.floodsReceived);
        case Duplicates: return qulonglong(s.duplicatesDropped);
        case AuthFailures: return qulonglong(s.authFailures);
        case LastChange:
            return s.lastChangeMs > 0
                ? QDateTime::fromMSecsSinceEpoch(s.lastChangeMs).toString(QStringLiteral("hh:mm:ss"))
                : noValue();
        default: return {};
        }
    default:
        return {};
    }
}

QVariant LinkTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || (role != Qt::DisplayRole && role != Qt::ToolTipRole))
        return {};
    const bool tip = role == Qt::ToolTipRole;
    switch (section) {
    case Node: return tip ? tr("The node this link is seen from") : tr("Node");
    case Peer: return tip ? tr("Its neighbour") : tr("Peer");
    case State: return tip ? tr("up, down, or cut (held down on purpose)") : tr("State");
    case Liveness: return tip ? tr("Judged from acks to heartbeats: alive, suspect, dead") : tr("Liveness");
    case TimesUp: return tip ? tr("Times the link came up") : tr("Up");
    case TimesDown: return tip ? tr("Times the link went down") : tr("Down");
    case HeartbeatsSent: return tip ? tr("Heartbeats sent") : tr("Heartbeats");
    case AcksReceived: return tip ? tr("Acks received for them") : tr("Acks");
    case Rtt: return tip ? tr("Round trip of the last acked heartbeat, in milliseconds") : tr("RTT (ms)");
    case FloodsSent: return tip ? tr("Updates flooded to the peer") : tr("Floods out");
    case FloodsReceived: return tip ? tr("Updates from the peer that were newer: stored and passed on") : tr("Floods in");
    case Duplicates: return tip ? tr("Updates from the peer that were not newer: dropped") : tr("Duplicates");
    case AuthFailures: return tip ? tr("Peer handshakes refused") : tr("Auth failures");
    case LastChange: return tip ? tr("When the link last went up or down (local time)") : tr("Last change");
    default: return {};
    }
}

QHash<int, QByteArray> LinkTableModel::roleNames() const
{
    auto names = QAbstractTableModel::roleNames();
    names.insert(UpRole, "up");
    names.insert(CutRole, "cut");
    names.insert(NodeNameRole, "nodeName");
    names.insert(PeerNameRole, "peerName");
    return names;
}

} // namespace herd
