#pragma once
#include "stats.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QList>
#include <QPair>

namespace herd {

// One row per (node, peer) as seen from that node ("Hill → Jaquez"), for the hosted nodes: both
// ends of a link show, because each end counts its own heartbeats, floods and RTT. Refreshed
// from a stats batch, in place; the rows only change when the herd (its set of links) does.
class LinkTableModel final : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        Node, Peer, State, Liveness, TimesUp, TimesDown, HeartbeatsSent, AcksReceived, Rtt,
        FloodsSent, FloodsReceived, Duplicates, AuthFailures, LastChange, ColumnCount
    };
    enum Role {
        UpRole = Qt::UserRole + 1,   // bool: the link is up
        CutRole,                     // bool: held down on purpose (fault injection)
        NodeNameRole,                // QString: the node this row is seen from
        PeerNameRole,                // QString: its neighbour
    };

    explicit LinkTableModel(QObject *parent = nullptr);

    // Updates in place with one dataChanged over the changed rows; resets only when the set
    // of (node, peer) rows changes.
    void applyStats(const QList<NodeStats> &stats);
    QModelIndex indexOf(const QString &node, const QString &peer, int column = 0) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

private:
    struct Row {
        QString node;
        LinkInfo link;
    };
    using Key = QPair<QString, QString>;   // (node, peer)

    static bool sameRow(const LinkInfo &a, const LinkInfo &b);

    QList<Row> m_rows;
    QHash<Key, int> m_index;   // (node, peer) -> row
};

} // namespace herd
