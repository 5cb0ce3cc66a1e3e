#pragma once
#include "stats.h"

#include <QAbstractTableModel>
#include <QList>

namespace herd {

// One row per hosted node, refreshed from a stats batch (never per message).
class NodeTableModel final : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Name, State, Port, Links, ClientsKnown, Connections, LinesIn, LinesOut, Invalid, Floods, ColumnCount };

    explicit NodeTableModel(QObject *parent = nullptr);

    void applyStats(const QList<NodeStats> &stats);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QList<NodeStats> m_rows;
};

} // namespace herd
