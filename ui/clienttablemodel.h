#pragma once
#include "monitor.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QList>

namespace herd {

// Every client the hosted nodes know: its newest location, who received it, and how many nodes
// hold that newest update. Fed from monitor batches (one range insert per batch).
class ClientTableModel final : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Client, Location, ClientTime, Origin, Skew, Holders, ColumnCount };
    enum Role {
        ClientIdRole = Qt::UserRole + 1,   // QByteArray, exact bytes
        LatitudeRole,                      // double
        LongitudeRole,                     // double
        HoldersRole,                       // int: nodes holding the newest update
        AtLineRole,                        // QByteArray: the stored AT line
        ClientTimeRole,                    // QString "sec.nnnnnnnnn"
        OriginRole,                        // QString: the node that received the IAMAT
    };

    explicit ClientTableModel(QObject *parent = nullptr);

    void setNodeCount(int nodes);          // hosted nodes: "3/5" in the Holders column
    void applyStored(const QList<StoredUpdate> &updates);
    void clear();
    QModelIndex indexOfClient(const QByteArray &client, int column = 0) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

private:
    struct Row {
        QByteArray client;
        protocol::Timestamp time;
        double lat = 0;
        double lng = 0;
        QByteArray atLine;
        QString origin;
        QByteArray skew;
        QByteArray location;
        QByteArray timeText;
        QHash<QString, protocol::Timestamp> heldBy;   // node -> newest time it holds
        int holders = 0;
    };
    static void recount(Row &row);

    QList<Row> m_rows;
    QHash<QByteArray, int> m_index;   // client -> row
    int m_nodeCount = 0;
};

} // namespace herd
