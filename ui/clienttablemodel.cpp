#include "clienttablemodel.h"

namespace herd {

ClientTableModel::ClientTableModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

void ClientTableModel::setNodeCount(int nodes)
{
    if (nodes == m_nodeCount)
        return;
    m_nodeCount = nodes;
    if (!m_rows.isEmpty())
        Q_EMIT dataChanged(index(0, Holders), index(rowCount() - 1, Holders));
}

void ClientTableModel::recount(Row &row)
{
    row.holders = 0;
    for (const protocol::Timestamp &t : std::as_const(row.heldBy))
        row.holders += t == row.time ? 1 : 0;
}

void ClientTableModel::applyStored(const QList<StoredUpdate> &updates)
{
    QList<Row> added;
    QHash<QByteArray, int> addedIndex;
    int firstChanged = INT_MAX;
    int lastChanged = -1;
    for (const StoredUpdate &u : updates) {
        Row *row = nullptr;
        if (auto it = m_index.constFind(u.client); it != m_index.cend()) {
            row = &m_rows[*it];
            firstChanged = std::min(firstChanged, *it);
            lastChanged = std::max(lastChanged, *it);
        } else if (auto jt = addedIndex.constFind(u.client); jt != addedIndex.cend()) {
            row = &added[*jt];
        } else {
            addedIndex.insert(u.client, int(added.size()));
            added.append(Row{});
            row = &added.back();
            row->client = u.client;
        }
        row->heldBy.insert(u.node, u.time);
        if (row->atLine.isEmpty() || u.time > row->time) {
            row->time = u.time;
            row->lat = u.lat;
            row->lng = u.lng;
            row->atLine = u.atLine;
            const protocol::Message m = protocol::parse(u.atLine);
            row->origin = QString::fromUtf8(m.origin);
            row->skew = m.skew.toByteArray();
            row->location = m.location.toByteArray();
            row->timeText = m.time.toByteArray();
        }
        recount(*row);
    }
    if (lastChanged >= 0)
        Q_EMIT dataChanged(index(firstChanged, 0), index(lastChanged, ColumnCount - 1));
    if (!added.isEmpty()) {
        const int first = rowCount();
        beginInsertRows({}, first, first + int(added.size()) - 1);
        for (Row &row : added) {
            m_index.insert(row.client, int(m_rows.size()));
            m_rows.append(std::move(row));
        }
        endInsertRows();
    }
}

void ClientTableModel::clear()
{
    beginResetModel();
    m_rows.clear();
    m_index.clear();
    endResetModel();
}

QModelIndex ClientTableModel::indexOfClient(const QByteArray &client, int column) const
{
    const auto it = m_index.constFind(client);
    return it == m_index.cend() ? QModelIndex() : index(*it, column);
}

int ClientTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int ClientTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ClientTableModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &row = m_rows.at(index.row());
    switch (role) {
    case ClientIdRole: return row.client;
    case LatitudeRole: return row.lat;
    case LongitudeRole: return row.lng;
    case HoldersRole: return row.holders;
    case AtLineRole: return row.atLine;
    case ClientTimeRole: return QString::fromLatin1(row.timeText);
    case OriginRole: return row.origin;
    case Qt::ToolTipRole: return QString::fromUtf8(row.atLine);
    case Qt::TextAlignmentRole:
        return index.column() == Holders ? QVariant(Qt::AlignCenter) : QVariant();
    case Qt::DisplayRole:
        switch (index.column()) {
        case Client: return QString::fromUtf8(row.client);
        case Location: return QString::fromLatin1(row.location);
        case ClientTime: return QString::fromLatin1(row.timeText);
        case Origin: return row.origin;
        case Skew: return QString::fromLatin1(row.skew);
        case Holders:
            return m_nodeCount > 0 ? QStringLiteral("%1/%2").arg(row.holders).arg(m_nodeCount)
                                   : QString::number(row.holders);
        }
        return {};
    default:
        return {};
    }
}

QVariant ClientTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Client: return tr("Client");
    case Location: return tr("Location");
    case ClientTime: return tr("Client time");
    case Origin: return tr("Origin");
    case Skew: return tr("Skew");
    case Holders: return tr("Nodes holding");
    }
    return {};
}

QHash<int, QByteArray> ClientTableModel::roleNames() const
{
    auto names = QAbstractTableModel::roleNames();
    names.insert(ClientIdRole, "clientId");
    names.insert(LatitudeRole, "latitude");
    names.insert(LongitudeRole, "longitude");
    names.insert(HoldersRole, "holders");
    names.insert(AtLineRole, "atLine");
    return names;
}

} // namespace herd
