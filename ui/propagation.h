#pragma once
// Flood propagation: which node got an update from whom, and when, relative to the first.
#include "monitor.h"

#include <QAbstractItemModel>
#include <QHash>
#include <QList>
#include <QPair>
#include <QWidget>
#include <optional>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QTimer;
class QTreeView;

namespace herd {

// One flooded update: a client's location at a client time.
struct UpdateKey {
    QByteArray client;
    protocol::Timestamp time;
    friend bool operator==(const UpdateKey &, const UpdateKey &) = default;
};
size_t qHash(const UpdateKey &key, size_t seed = 0) noexcept;

// The hops of the most recent updates, bounded: the oldest update is evicted first.
class PropagationStore {
public:
    static constexpr int kMaxUpdates = 2000;
    static constexpr int kMaxHopsPerUpdate = 256;   // a flood stores once per node; this is a guard

    static constexpr qint64 kDropWindowUs = 1'000'000;   // a drop this close to an update's hops may have hit it
    static constexpr int kMaxDropEvents = 256;

    explicit PropagationStore(int capacity = kMaxUpdates);

    // One monitor batch's hops; `hopsDropped` hops of that batch (at `batchUs`) were not delivered
    // (the event stream's bound under load): any update flooding about then may miss some.
    void addHops(const QList<FloodHop> &hops, quint64 hopsDropped = 0, qint64 batchUs = 0);
    // Hops dropped in batches within kDropWindowUs of this update's recorded hops.
    quint64 droppedNear(const QByteArray &client, protocol::Timestamp time) const;
    quint64 droppedTotal() const { return m_droppedTotal; }
    QList<FloodHop> hopsOf(const QByteArray &client, protocol::Timestamp time) const;
    bool contains(const QByteArray &client, protocol::Timestamp time) const;
    // Newest first (by when its first hop arrived); at most `max` of them (-1: all).
    QList<QPair<QByteArray, protocol::Timestamp>> recentUpdates(int max = -1) const;
    std::optional<QPair<QByteArray, protocol::Timestamp>> newest() const;
    std::optional<protocol::Timestamp> newestOf(const QByteArray &client) const;   // the most recently seen update of a client
    int size() const { return int(m_order.size()); }
    int capacity() const { return m_capacity; }
    quint64 evicted() const { return m_evicted; }
    void clear();

private:
    int m_capacity;
    QHash<UpdateKey, QList<FloodHop>> m_hops;
    QList<UpdateKey> m_order;   // oldest first
    quint64 m_evicted = 0;
    QList<QPair<qint64, quint64>> m_drops;   // (batch time, hops dropped), oldest first, bounded
    quint64 m_droppedTotal = 0;
};

// One update's propagation as a tree: roots are the nodes that got it from a client (or whose
// sender's hop is unknown), children the nodes that got it from them.
class PropagationModel final : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Column { NodeColumn, FromColumn, TimeColumn, HopsColumn, ColumnCount };
    enum Role {
        NodeRole = Qt::UserRole + 1,   // QString
        FromRole,                      // QString, empty: from a client
        OffsetUsRole,                  // qint64: µs after the first hop
        HopCountRole,                  // int: links from the root
    };

    explicit PropagationModel(QObject *parent = nullptr);

    // One update's hops, in the order they happened. When they extend the hops already shown
    // (the same update, more nodes reached), only the new rows are inserted.
    void setHops(const QList<FloodHop> &hops);
    void clear();
    const QList<FloodHop> &hops() const { return m_hops; }
    qint64 spanUs() const;    // first hop to last
    int maxHops() const;      // depth of the tree

    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    struct Entry {
        int parent = -1;     // entry index, -1 for a root
        int row = 0;         // among its siblings
        int depth = 0;
        QList<int> children;
    };
    bool canAppend(const QList<FloodHop> &hops) const;
    void append(const FloodHop &hop, bool notify);
    QString pathOf(int entry) const;

    QList<FloodHop> m_hops;    // entry i is m_hops[i]
    QList<Entry> m_entries;
    QList<int> m_roots;
    QHash<QString, int> m_byNode;   // node -> its entry
    qint64 m_firstUs = 0;
};

// Pick an update (newest first, or follow the newest) and see its propagation tree.
class PropagationView final : public QWidget {
    Q_OBJECT
public:
    static constexpr int kPickerRefreshMs = 250;   // the picker list changes at most 4 times a second
    static constexpr int kPickerItems = 200;       // the newest updates listed (filter to find older)

    explicit PropagationView(QWidget *parent = nullptr);

    // Feeds the store; the tree updates at once if the shown update got new hops. `hopsDropped`
    // and `batchUs` as in a MonitorBatch.
    void addHops(const QList<FloodHop> &hops, quint64 hopsDropped = 0, qint64 batchUs = 0);
    // The nodes whose hops are recorded (the shown herd): a tree with fewer is partial.
    void setNodes(const QStringList &nodes);

    // Whether the shown tree has every node, and if not, what is known about why.
    struct Completeness {
        int seen = 0;                 // nodes with a recorded hop
        int expected = 0;             // nodes recorded (0: unknown)
        QStringList missing;          // expected nodes without a hop
        quint64 droppedNear = 0;      // hops dropped under load while it flooded
        bool partial() const { return expected > 0 ? seen < expected : droppedNear > 0; }
    };
    Completeness completeness() const;
    QString summaryText() const;
    // Shows this update and stops following the newest.
    void showUpdate(const QByteArray &client, protocol::Timestamp time);
    // Shows the newest recorded update of `client`; false if none is recorded.
    bool showClient(const QByteArray &client);
    void clear();

    bool followNewest() const;
    void setFollowNewest(bool follow);
    std::optional<UpdateKey> shownUpdate() const { return m_shown; }
    PropagationModel *model() const { return m_model; }
    const PropagationStore &store() const { return m_store; }
    QTreeView *treeView() const { return m_tree; }
    QComboBox *picker() const { return m_picker; }

Q_SIGNALS:
    void updateChosen(const QByteArray &client);

private:
    void showKey(const UpdateKey &key);
    void schedulePickerRefresh();
    void refreshPicker();
    void updateSummary();
    void updateSampling();

    PropagationStore m_store;
    PropagationModel *m_model;
    QComboBox *m_picker;
    QLineEdit *m_filter;
    QCheckBox *m_follow;
    QTreeView *m_tree;
    QLabel *m_summary;
    QLabel *m_sampling;                // what is recorded at all: the bounds, and what they dropped
    QStringList m_nodes;
    QTimer *m_pickerTimer;
    QList<UpdateKey> m_pickerKeys;     // the picker's rows
    std::optional<UpdateKey> m_shown;
    QByteArray m_echoGuard;            // the client of a pick being announced (see updateChosen)
};

} // namespace herd
