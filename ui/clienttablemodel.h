#pragma once
#include "mappoints.h"
#include "monitor.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QList>
#include <QStringList>
#include <vector>

namespace herd {

// Every client the hosted nodes know: its newest location, who received it, and how many nodes
// hold that newest update. Fed from monitor batches (range inserts and one dataChanged range per
// batch, never a signal per client).
//
// Built for millions of clients: a client is a few fixed-size fields in parallel arrays (position
// as floats for the map, client time, origin node as an index, the nodes holding the newest
// update as a bit mask) plus its texts (id, location, skew, time: the AT line's fields, exact
// bytes) in one shared byte arena, about 130 bytes in all. Display strings are made in data(),
// for the rows a view asks for. Sorting and filtering are the model's own (an index vector over
// the arrays), so neither calls data() per row.
class ClientTableModel final : public QAbstractTableModel, public MapPoints {
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
    // The row of `client` now (-1 / invalid when unknown or filtered out).
    QModelIndex indexOfClient(const QByteArray &client, int column = 0) const;

    // Sort by a column (-1: the order clients first appeared). New and moved clients take their
    // place as batches arrive.
    void sort(int column, Qt::SortOrder order = Qt::AscendingOrder) override;
    int sortColumn() const { return m_sortColumn; }
    Qt::SortOrder sortOrder() const { return m_sortOrder; }
    // Show only clients whose id, location text or origin node contains `text` (ASCII case
    // folded); empty shows all.
    void setFilterText(const QString &text);
    QString filterText() const { return m_filterText; }
    int clientCount() const { return int(m_sec.size()); }   // all, shown or not
    qint64 memoryBytes() const;                            // what the arrays and arena hold

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    MapPointArrays mapPoints() const override;
    int pointOfRow(int row) const override;

private:
    // Where a client's texts are in the arena: id, location, skew, time, back to back.
    struct Text {
        quint64 offset : 40;
        quint64 idLen : 24;
        quint32 capacity : 24;
        quint32 skewLen : 8;
        quint16 locLen;
        quint16 timeLen;
    };
    static constexpr qsizetype kMaxIdBytes = 1 << 20;   // longer ids are not shown (no node stores them)

    int slotOfRow(int row) const { return m_mapped ? int(m_view[size_t(row)]) : row; }
    int rowOfSlot(int slot) const { return m_mapped ? m_pos[size_t(slot)] : slot; }
    QByteArrayView idOf(int slot) const;
    QByteArrayView locationOf(int slot) const;
    QByteArrayView skewOf(int slot) const;
    QByteArrayView timeOf(int slot) const;
    QByteArray atLineOf(int slot) const;
    int holdersOf(int slot) const;
    void setTexts(int slot, QByteArrayView id, QByteArrayView loc, QByteArrayView skew, QByteArrayView time);
    void compactArena();

    int findSlot(QByteArrayView client, size_t hash) const;
    void insertIndex(int slot, size_t hash);
    void growIndex();
    int nodeIndex(QStringView name);
    void setHolder(int slot, int node, bool on);
    void clearHolders(int slot);

    bool matches(int slot) const;
    bool lessThan(int a, int b) const;     // in the current sort
    void sortSlots(std::vector<quint32> &slots) const;
    // Moves the shown rows to `target` with inserts, removes and layout changes the views can
    // follow (persistent indexes and selections keep their clients).
    void transition(std::vector<quint32> target);
    void relayout(const std::vector<quint32> &order);
    void rebuildPositions();
    void setMapped(bool mapped);

    // Per client (slot), in the order first seen.
    std::vector<Text> m_text;
    std::vector<float> m_lat;
    std::vector<float> m_lng;
    std::vector<qint64> m_sec;
    std::vector<qint32> m_nsec;
    std::vector<quint16> m_origin;         // index into m_nodeNames
    std::vector<quint64> m_holders;        // m_holderWords words per slot: bit n = node n holds the newest
    int m_holderWords = 1;
    QByteArray m_arena;
    qint64 m_arenaGarbage = 0;

    // client id -> slot + 1 (0 empty), open addressing, power-of-two size, at most half full.
    std::vector<quint32> m_index;

    QStringList m_nodeNames;               // nodes and origins, as first seen
    QHash<QString, int> m_nodeIds;
    std::vector<int> m_nodeRank;           // by name, for sorting by origin
    std::vector<char> m_nodeMatches;       // node name contains the filter

    // Rows: identity (row == slot) until a sort or filter is set; then m_view lists the shown
    // slots in order and m_pos maps a slot to its row (-1 hidden).
    bool m_mapped = false;
    int m_identityRows = 0;                // rows while not mapped (slots announced to views)
    std::vector<quint32> m_view;
    std::vector<qint32> m_pos;
    int m_sortColumn = -1;
    Qt::SortOrder m_sortOrder = Qt::AscendingOrder;
    QString m_filterText;
    QByteArray m_filterNeedle;             // UTF-8, ASCII lower case

    int m_nodeCount = 0;
};

} // namespace herd
