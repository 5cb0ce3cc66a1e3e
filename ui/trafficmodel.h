#pragma once
// The traffic inspector's models: every line in and out of every node, as a bounded ring that
// monitor batches are appended to in ranges, plus the filter the inspector's view reads through.
#include "monitor.h"

#include <QAbstractTableModel>
#include <QByteArray>
#include <QList>
#include <QSortFilterProxyModel>
#include <QString>
#include <optional>
#include <vector>

namespace herd {

class TrafficModel final : public QAbstractTableModel {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TrafficModel)
public:
    static constexpr int kDefaultCapacity = 50'000;
    // A cell shows at most this many characters (then "…"): a view is a few hundred wide, and
    // eliding a 2 KiB WHATSAT reply 30 times a second is wasted work. The roles keep it all.
    static constexpr int kMaxDisplayChars = 512;

    enum Column { Time, Node, Direction, Peer, Kind, Text, ColumnCount };
    enum Role {
        KindRole = Qt::UserRole + 1,   // int: herd::LineKind
        DirectionRole,                 // int: herd::Direction
        NodeRole,                      // QString
        WhoRole,                       // QByteArray: the connection ("client#3 127.0.0.1:4000", "peer Jaquez")
        TimeUsRole,                    // qint64: epoch microseconds
        RawTextRole,                   // QByteArray: the line as sent or received
        ClientRole,                    // QByteArray: the client ID field of an IAMAT/WHATSAT/AT line, else empty
    };

    explicit TrafficModel(QObject *parent = nullptr);

    // Fewer rows than held: the oldest are evicted (and counted as dropped). At least 1.
    void setCapacity(int rows);
    int capacity() const { return m_capacity; }
    // Oldest first. Evicts what no longer fits with one row removal, then one row insertion;
    // a batch larger than the capacity resets the model to its newest `capacity` rows.
    void appendBatch(const QList<TrafficRow> &rows, quint64 droppedUpstream);
    quint64 droppedTotal() const { return m_droppedUpstream + m_evicted; }   // upstream + evicted here
    void clear();   // rows and the dropped count

    const TrafficRow &row(int row) const { return m_slots[slot(row)]; }   // 0 <= row < rowCount()

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    // Printable ASCII as is, valid UTF-8 as its characters, "\\" for a backslash (so the escapes
    // stay unambiguous), \n \r \t, and \xNN for every other control or invalid byte.
    // maxChars >= 0: stop there and append "…".
    static QString escapeText(QByteArrayView bytes, qsizetype maxChars = -1);
    // The client ID of "IAMAT <client> ...", "WHATSAT <client> ...", "AT <node> <skew> <client> ..."
    // (also behind the "? " of an invalid-line echo); empty for any other line.
    static QByteArray clientId(QByteArrayView line);
    static QString timeText(qint64 timeUs);   // hh:mm:ss.zzz, local time

Q_SIGNALS:
    void droppedChanged(quint64 dropped);

private:
    size_t slot(int row) const { return (m_start + size_t(row)) % m_slots.size(); }
    void relinearize();

    // A ring: while it has fewer than m_capacity slots, m_start is 0 and every slot is a row;
    // once full, new rows overwrite the evicted ones in place (no per-row allocation churn).
    std::vector<TrafficRow> m_slots;
    size_t m_start = 0;
    int m_count = 0;
    int m_capacity = kDefaultCapacity;
    quint64 m_droppedUpstream = 0;
    quint64 m_evicted = 0;
};

// What the inspector's table shows: rows matching every active filter. Reads the source only
// through TrafficModel's roles. Filters re-run over all rows only when one changes; appended
// rows are filtered as they arrive (dynamic sort/filter is off: rows never change).
class TrafficFilterProxy final : public QSortFilterProxyModel {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TrafficFilterProxy)
public:
    explicit TrafficFilterProxy(QObject *parent = nullptr);

    void setNodeFilter(const QString &node);                 // exact node name; empty = all
    void setKindFilter(std::optional<LineKind> kind);        // nullopt = all
    void setClientFilter(const QString &client);             // case-insensitive substring of the client ID
    void setTextFilter(const QString &text);                 // case-insensitive, in the line or the peer
    void setFollow(const QString &node, const QByteArray &who);   // one connection; empty who = off
    // Kinds not shown (bit i: LineKind i), on top of the other filters: "hide heartbeats".
    void setHiddenKinds(quint32 mask);
    quint32 hiddenKinds() const { return m_hiddenKinds; }
    // A small filter language, every term must hold (a leading "-" negates one):
    //   node:Hill[,Smith]   kind:iamat[,flood]   client:kiwi   dir:in|out|event   word  "two words"
    // kind names as the Kind column shows them, any case, spaces dropped ("atreply"). node is
    // exact (any case), client and words are substrings (any case; words match the line or the
    // peer). False (and the filter unchanged) with `error` set when a term is not understood.
    bool setExpression(const QString &expression, QString *error = nullptr);
    QString expression() const { return m_expression; }
    void clearFilters();                                     // all of the above, following included

    QString nodeFilter() const { return m_node; }
    std::optional<LineKind> kindFilter() const { return m_kind; }
    QString clientFilter() const { return m_client; }
    QString textFilter() const { return m_text; }
    bool isFollowing() const { return !m_followWho.isEmpty(); }
    QString followNode() const { return m_followNode; }
    QByteArray followWho() const { return m_followWho; }
    bool hasFilter() const;

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    // A needle ready for the fast path: an ASCII needle is matched on the raw bytes (as Latin-1,
    // which never folds a UTF-8 byte onto ASCII), anything else on the decoded text.
    struct Needle {
        QString text;
        QByteArray ascii;   // set when `text` is all ASCII
        bool matches(QByteArrayView hay) const;
        void set(const QString &t);
    };

    QString m_node;
    std::optional<LineKind> m_kind;
    QString m_client;
    Needle m_clientNeedle;
    QString m_text;
    Needle m_textNeedle;
    QString m_followNode;
    QByteArray m_followWho;
    quint32 m_hiddenKinds = 0;

    struct Term {
        enum Field { Node, Kind, Client, Dir, Text } field = Text;
        bool negate = false;
        QStringList nodes;
        quint32 kinds = 0;
        int dir = 0;
        Needle needle;
    };
    bool termHolds(const Term &term, const QModelIndex &idx) const;
    QString m_expression;
    QList<Term> m_terms;
};

} // namespace herd
