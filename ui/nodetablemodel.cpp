#include "nodetablemodel.h"

#include <QBrush>
#include <QColor>

namespace herd {

NodeTableModel::NodeTableModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

void NodeTableModel::applyStats(const QList<NodeStats> &stats)
{
    // The node set only changes when a herd is loaded: then reset; otherwise update in place.
    bool sameNodes = stats.size() == m_rows.size();
    for (qsizetype i = 0; sameNodes && i < stats.size(); ++i)
        sameNodes = stats[i].name == m_rows[i].name;
    if (!sameNodes) {
        beginResetModel();
        m_rows = stats;
        endResetModel();
        return;
    }
    m_rows = stats;
    if (!m_rows.isEmpty())
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
}

int NodeTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int NodeTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant NodeTableModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const NodeStats &s = m_rows.at(index.row());
    if (role == Qt::ForegroundRole && index.column() == State)
        return QBrush(s.running ? QColor(0x2e, 0x7d, 0x32)
                                : s.reported ? QColor(0xc6, 0x28, 0x28) : QColor(0x8a, 0x91, 0x9c));
    if (role == Qt::ToolTipRole && index.column() == Links) {
        QStringList lines;
        for (const LinkInfo &l : s.links) {
            lines << tr("%1: %2, heartbeats %3, acks %4, RTT %5")
                         .arg(l.peer, livenessName(l.liveness))
                         .arg(l.stats.heartbeatsSent).arg(l.stats.acksReceived)
                         .arg(l.stats.rttUs < 0 ? tr("-") : tr("%1 ms").arg(l.stats.rttUs / 1000.0, 0, 'f', 2));
        }
        return lines.join(QLatin1Char('\n'));
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Name: return s.name;
    case State: return s.running ? tr("running") : s.reported ? tr("stopped") : tr("no stream");
    case Port: return s.port;
    case Links: {
        int up = 0;
        for (const LinkInfo &l : s.links)
            up += l.up ? 1 : 0;
        return tr("%1/%2 up").arg(up).arg(s.links.size());
    }
    case ClientsKnown: return qlonglong(s.clientsKnown);
    case Connections: return s.clientConnections;
    case LinesIn: return qulonglong(s.linesIn);
    case LinesOut: return qulonglong(s.linesOut);
    case Invalid: return qulonglong(s.invalid);
    case Floods: return tr("%1 out / %2 in / %3 dup").arg(s.floodsSent).arg(s.floodsReceived).arg(s.duplicatesDropped);
    default: return {};
    }
}

QVariant NodeTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Name: return tr("Node");
    case State: return tr("State");
    case Port: return tr("Port");
    case Links: return tr("Links");
    case ClientsKnown: return tr("Clients known");
    case Connections: return tr("Connections");
    case LinesIn: return tr("Lines in");
    case LinesOut: return tr("Lines out");
    case Invalid: return tr("Invalid");
    case Floods: return tr("Floods");
    default: return {};
    }
}

} // namespace herd
