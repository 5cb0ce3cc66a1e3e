#include "clienttablemodel.h"

#include <QHashFunctions>
#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>

namespace herd {

namespace {

constexpr qint64 kArenaSlack = 8;   // room for a slightly longer location or time in place

char foldAscii(char c)
{
    return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
}

// `needle` is already folded.
bool containsFolded(QByteArrayView haystack, QByteArrayView needle)
{
    if (needle.isEmpty())
        return true;
    if (haystack.size() < needle.size())
        return false;
    const char first = needle[0];
    const qsizetype last = haystack.size() - needle.size();
    for (qsizetype i = 0; i <= last; ++i) {
        if (foldAscii(haystack[i]) != first)
            continue;
        qsizetype j = 1;
        while (j < needle.size() && foldAscii(haystack[i + j]) == needle[j])
            ++j;
        if (j == needle.size())
            return true;
    }
    return false;
}

// "[+-]digits.digits" as nanoseconds, saturating; for sorting only.
qint64 skewNs(QByteArrayView s)
{
    if (s.isEmpty())
        return 0;
    qsizetype i = 0;
    const bool negative = s[0] == '-';
    if (s[0] == '+' || s[0] == '-')
        ++i;
    qint64 sec = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i)
        sec = sec < 9'000'000'000 ? sec * 10 + (s[i] - '0') : sec;
    qint64 ns = 0;
    int digits = 0;
    if (i < s.size() && s[i] == '.') {
        for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 9; ++i, ++digits)
            ns = ns * 10 + (s[i] - '0');
    }
    for (; digits < 9; ++digits)
        ns *= 10;
    const qint64 v = sec * 1'000'000'000 + ns;
    return negative ? -v : v;
}

size_t hashId(QByteArrayView id)
{
    return qHash(id, QHashSeed::globalSeed());
}

} // namespace

ClientTableModel::ClientTableModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

void ClientTableModel::setNodeCount(int nodes)
{
    if (nodes == m_nodeCount)
        return;
    m_nodeCount = nodes;
    if (rowCount() > 0)
        Q_EMIT dataChanged(index(0, Holders), index(rowCount() - 1, Holders));
}

// ---- storage ---------------------------------------------------------------------------------

QByteArrayView ClientTableModel::idOf(int slot) const
{
    const Text &t = m_text[size_t(slot)];
    return QByteArrayView(m_arena.constData() + t.offset, qsizetype(t.idLen));
}

QByteArrayView ClientTableModel::locationOf(int slot) const
{
    const Text &t = m_text[size_t(slot)];
    return QByteArrayView(m_arena.constData() + t.offset + t.idLen, t.locLen);
}

QByteArrayView ClientTableModel::skewOf(int slot) const
{
    const Text &t = m_text[size_t(slot)];
    return QByteArrayView(m_arena.constData() + t.offset + t.idLen + t.locLen, qsizetype(t.skewLen));
}

QByteArrayView ClientTableModel::timeOf(int slot) const
{
    const Text &t = m_text[size_t(slot)];
    return QByteArrayView(m_arena.constData() + t.offset + t.idLen + t.locLen + t.skewLen, t.timeLen);
}

QByteArray ClientTableModel::atLineOf(int slot) const
{
    const QString &origin = m_nodeNames.at(m_origin[size_t(slot)]);
    QByteArray line;
    line.reserve(3 + origin.size() + 4 + qsizetype(m_text[size_t(slot)].capacity));
    line.append("AT ").append(origin.toUtf8()).append(' ').append(skewOf(slot)).append(' ').append(idOf(slot))
        .append(' ').append(locationOf(slot)).append(' ').append(timeOf(slot));
    return line;
}

int ClientTableModel::holdersOf(int slot) const
{
    int n = 0;
    const quint64 *words = m_holders.data() + size_t(slot) * size_t(m_holderWords);
    for (int w = 0; w < m_holderWords; ++w)
        n += std::popcount(words[w]);
    return n;
}

void ClientTableModel::setHolder(int slot, int node, bool on)
{
    quint64 &word = m_holders[size_t(slot) * size_t(m_holderWords) + size_t(node / 64)];
    const quint64 bit = quint64(1) << (node % 64);
    word = on ? word | bit : word & ~bit;
}

void ClientTableModel::clearHolders(int slot)
{
    std::fill_n(m_holders.begin() + qsizetype(slot) * m_holderWords, m_holderWords, 0);
}

// The id stays; the other texts are replaced in place when they fit, else moved to the end of
// the arena (the old bytes become garbage, reclaimed by compactArena()).
void ClientTableModel::setTexts(int slot, QByteArrayView id, QByteArrayView loc, QByteArrayView skew, QByteArrayView time)
{
    loc = loc.first(std::min<qsizetype>(loc.size(), 0xffff));
    skew = skew.first(std::min<qsizetype>(skew.size(), 0xff));
    time = time.first(std::min<qsizetype>(time.size(), 0xffff));
    const qint64 need = id.size() + loc.size() + skew.size() + time.size();
    Text &t = m_text[size_t(slot)];
    if (need > qint64(t.capacity)) {
        if (t.capacity > 0) {
            m_arenaGarbage += t.capacity;
            // The id may live in the old place: copy it before the arena grows.
            const QByteArray keep = id.toByteArray();
            const qint64 cap = std::min<qint64>(need + kArenaSlack, (1 << 24) - 1);
            t.offset = quint64(m_arena.size());
            t.capacity = quint32(cap);
            m_arena.resize(m_arena.size() + cap);
            std::memcpy(m_arena.data() + t.offset, keep.constData(), size_t(keep.size()));
        } else {
            const qint64 cap = std::min<qint64>(need + kArenaSlack, (1 << 24) - 1);
            t.offset = quint64(m_arena.size());
            t.capacity = quint32(cap);
            m_arena.resize(m_arena.size() + cap);
            std::memcpy(m_arena.data() + t.offset, id.data(), size_t(id.size()));
        }
        t.idLen = quint64(id.size());
    }
    char *p = m_arena.data() + t.offset + t.idLen;
    std::memcpy(p, loc.data(), size_t(loc.size()));
    std::memcpy(p + loc.size(), skew.data(), size_t(skew.size()));
    std::memcpy(p + loc.size() + skew.size(), time.data(), size_t(time.size()));
    t.locLen = quint16(loc.size());
    t.skewLen = quint32(skew.size());
    t.timeLen = quint16(time.size());
    if (m_arenaGarbage > (1 << 20) && m_arenaGarbage > m_arena.size() / 2)
        compactArena();
}

void ClientTableModel::compactArena()
{
    QByteArray arena;
    arena.reserve(m_arena.size() - m_arenaGarbage + qint64(m_text.size()) * kArenaSlack);
    for (Text &t : m_text) {
        const qint64 used = qint64(t.idLen) + t.locLen + t.skewLen + t.timeLen;
        const qint64 offset = arena.size();
        arena.append(m_arena.constData() + t.offset, used);
        arena.append(qsizetype(t.capacity) - used, '\0');
        t.offset = quint64(offset);
    }
    m_arena = std::move(arena);
    m_arenaGarbage = 0;
}

int ClientTableModel::findSlot(QByteArrayView client, size_t hash) const
{
    if (m_index.empty())
        return -1;
    const size_t mask = m_index.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const quint32 v = m_index[i];
        if (v == 0)
            return -1;
        if (idOf(int(v - 1)) == client)
            return int(v - 1);
    }
}

void ClientTableModel::insertIndex(int slot, size_t hash)
{
    const size_t mask = m_index.size() - 1;
    size_t i = hash & mask;
    while (m_index[i] != 0)
        i = (i + 1) & mask;
    m_index[i] = quint32(slot + 1);
}

void ClientTableModel::growIndex()
{
    const size_t size = std::max<size_t>(1024, m_index.size() * 2);
    m_index.assign(size, 0);
    for (int slot = 0; slot < int(m_sec.size()); ++slot)
        insertIndex(slot, hashId(idOf(slot)));
}

int ClientTableModel::nodeIndex(QStringView name)
{
    const auto it = m_nodeIds.constFind(name.toString());
    if (it != m_nodeIds.cend())
        return *it;
    if (m_nodeNames.size() >= 0xffff)
        return 0xffff - 1;   // beyond any herd: shares the last name
    const int id = int(m_nodeNames.size());
    m_nodeNames.append(name.toString());
    m_nodeIds.insert(name.toString(), id);
    // Sort ranks and filter matches follow the new name.
    std::vector<int> order(size_t(m_nodeNames.size()));
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [this](int a, int b) { return m_nodeNames[a] < m_nodeNames[b]; });
    m_nodeRank.assign(order.size(), 0);
    for (size_t r = 0; r < order.size(); ++r)
        m_nodeRank[size_t(order[r])] = int(r);
    m_nodeMatches.push_back(containsFolded(name.toUtf8(), m_filterNeedle) ? 1 : 0);
    if (id >= 64 * m_holderWords) {   // more nodes than the masks have bits: widen them
        const int words = m_holderWords + 1;
        std::vector<quint64> wider(m_sec.size() * size_t(words), 0);
        for (size_t s = 0; s < m_sec.size(); ++s)
            std::copy_n(m_holders.begin() + qsizetype(s) * m_holderWords, m_holderWords, wider.begin() + qsizetype(s) * words);
        m_holders = std::move(wider);
        m_holderWords = words;
    }
    return id;
}

qint64 ClientTableModel::memoryBytes() const
{
    return qint64(m_text.capacity() * sizeof(Text) + m_lat.capacity() * 4 + m_lng.capacity() * 4
                  + m_sec.capacity() * 8 + m_nsec.capacity() * 4 + m_origin.capacity() * 2
                  + m_holders.capacity() * 8 + m_index.capacity() * 4 + m_view.capacity() * 4
                  + m_pos.capacity() * 4)
         + m_arena.capacity();
}

// ---- batches ---------------------------------------------------------------------------------

void ClientTableModel::applyStored(const QList<StoredUpdate> &updates)
{
    enum : quint8 { Touched = 1, Moved = 2, HoldersChanged = 4 };
    std::vector<std::pair<quint32, quint8>> touched;   // existing slots
    const int firstNew = int(m_sec.size());
    for (const StoredUpdate &u : updates) {
        if (u.client.size() > kMaxIdBytes)
            continue;
        const int node = nodeIndex(u.node);
        const size_t hash = hashId(u.client);
        int slot = findSlot(u.client, hash);
        bool fresh = false;
        if (slot < 0) {
            if ((m_sec.size() + 1) * 2 > m_index.size())
                growIndex();
            slot = int(m_sec.size());
            m_text.push_back(Text{0, 0, 0, 0, 0, 0});
            m_lat.push_back(0);
            m_lng.push_back(0);
            m_sec.push_back(0);
            m_nsec.push_back(0);
            m_origin.push_back(0);
            m_holders.resize(m_holders.size() + size_t(m_holderWords), 0);
            if (m_mapped)
                m_pos.push_back(-1);
            fresh = true;
        }
        const protocol::Timestamp had{m_sec[size_t(slot)], m_nsec[size_t(slot)]};
        quint8 flags = Touched;
        if (fresh || u.time > had) {
            const protocol::Message m = protocol::parse(u.atLine);
            const bool six = m.fieldCount == 6;
            setTexts(slot, fresh ? QByteArrayView(u.client) : idOf(slot), six ? m.fields[4] : QByteArrayView(),
                     six ? m.fields[2] : QByteArrayView(), six ? m.fields[5] : QByteArrayView());
            if (fresh)
                insertIndex(slot, hash);
            m_sec[size_t(slot)] = u.time.sec;
            m_nsec[size_t(slot)] = u.time.nsec;
            m_lat[size_t(slot)] = float(u.lat);
            m_lng[size_t(slot)] = float(u.lng);
            m_origin[size_t(slot)] = quint16(six ? nodeIndex(QString::fromUtf8(m.fields[1])) : nodeIndex(u.node));
            clearHolders(slot);
            setHolder(slot, node, true);
            flags |= Moved | HoldersChanged;
        } else {
            // The same update at one more node, or an older one at a node that restarted.
            const int before = holdersOf(slot);
            setHolder(slot, node, u.time == had);
            flags |= holdersOf(slot) != before ? HoldersChanged : 0;
        }
        if (slot < firstNew)
            touched.emplace_back(quint32(slot), flags);
    }
    const int lastNew = int(m_sec.size()) - 1;

    // Several updates of one client in a batch: one entry, flags merged.
    std::sort(touched.begin(), touched.end());
    size_t out = 0;
    for (size_t i = 0; i < touched.size(); ++i) {
        if (out > 0 && touched[out - 1].first == touched[i].first)
            touched[out - 1].second |= touched[i].second;
        else
            touched[out++] = touched[i];
    }
    touched.resize(out);

    if (!m_mapped) {
        // Rows are slots: one dataChanged over the changed range, one insert at the end.
        if (!touched.empty())
            Q_EMIT dataChanged(index(int(touched.front().first), 0), index(int(touched.back().first), ColumnCount - 1));
        if (lastNew >= firstNew) {
            beginInsertRows({}, firstNew, lastNew);
            m_identityRows = lastNew + 1;
            endInsertRows();
        }
        return;
    }

    // Sorted or filtered: rows that stay put change in place; the others (new, moved by the
    // sort, or now shown or hidden by the filter) are placed anew.
    const bool sorted = m_sortColumn >= 0;
    const bool moveOnHolders = m_sortColumn == Holders;
    int lo = INT_MAX;
    int hi = -1;
    std::vector<quint32> relocate;
    auto consider = [&](int slot, quint8 flags) {
        const bool was = m_pos[size_t(slot)] >= 0;
        const bool now = matches(slot);
        const bool moves = sorted && ((flags & Moved) || (moveOnHolders && (flags & HoldersChanged)));
        if (was && now && !moves) {
            lo = std::min(lo, m_pos[size_t(slot)]);
            hi = std::max(hi, m_pos[size_t(slot)]);
        } else if (was || now) {
            relocate.push_back(quint32(slot));
        }
    };
    for (const auto &[slot, flags] : touched)
        consider(int(slot), flags);
    for (int slot = firstNew; slot <= lastNew; ++slot)
        consider(slot, Touched | Moved);
    if (hi >= 0)
        Q_EMIT dataChanged(index(lo, 0), index(hi, ColumnCount - 1));
    if (relocate.empty())
        return;

    // The target order: the shown rows without the relocated ones, then those shown now
    // inserted where they belong.
    std::vector<char> mark(m_sec.size(), 0);
    for (quint32 s : relocate)
        mark[s] = 1;
    std::vector<quint32> rest;
    rest.reserve(m_view.size());
    for (quint32 s : m_view) {
        if (!mark[s])
            rest.push_back(s);
    }
    std::vector<quint32> entering;
    for (quint32 s : relocate) {
        if (matches(int(s)))
            entering.push_back(s);
    }
    std::vector<quint32> target;
    target.reserve(rest.size() + entering.size());
    if (sorted) {
        sortSlots(entering);
        // A binary search per entering row, then one pass of copying: no comparison per row.
        auto from = rest.cbegin();
        for (quint32 e : entering) {
            const auto at = std::lower_bound(from, rest.cend(), e, [this](quint32 a, quint32 b) { return lessThan(int(a), int(b)); });
            target.insert(target.end(), from, at);
            target.push_back(e);
            from = at;
        }
        target.insert(target.end(), from, rest.cend());
    } else {
        std::sort(entering.begin(), entering.end());   // first-seen order is slot order
        std::merge(rest.cbegin(), rest.cend(), entering.cbegin(), entering.cend(), std::back_inserter(target));
    }
    transition(std::move(target));
}

void ClientTableModel::clear()
{
    beginResetModel();
    m_text.clear();
    m_lat.clear();
    m_lng.clear();
    m_sec.clear();
    m_nsec.clear();
    m_origin.clear();
    m_holders.clear();
    m_arena.clear();
    m_arenaGarbage = 0;
    m_index.clear();
    m_view.clear();
    m_pos.clear();
    m_identityRows = 0;
    // Node names stay: they index nothing now, and the next herd most likely has the same.
    endResetModel();
}

QModelIndex ClientTableModel::indexOfClient(const QByteArray &client, int column) const
{
    const int slot = findSlot(client, hashId(client));
    if (slot < 0)
        return {};
    const int row = rowOfSlot(slot);
    return row < 0 || row >= rowCount() ? QModelIndex() : index(row, column);
}

// ---- sort and filter -------------------------------------------------------------------------

bool ClientTableModel::matches(int slot) const
{
    if (m_filterNeedle.isEmpty())
        return true;
    return m_nodeMatches[m_origin[size_t(slot)]] || containsFolded(idOf(slot), m_filterNeedle)
        || containsFolded(locationOf(slot), m_filterNeedle);
}

bool ClientTableModel::lessThan(int a, int b) const
{
    if (m_sortOrder == Qt::DescendingOrder)
        std::swap(a, b);
    const size_t x = size_t(a);
    const size_t y = size_t(b);
    switch (m_sortColumn) {
    case Client: {
        const int c = idOf(a).compare(idOf(b));
        if (c != 0)
            return c < 0;
        break;
    }
    case Location:
        if (m_lat[x] != m_lat[y])
            return m_lat[x] < m_lat[y];
        if (m_lng[x] != m_lng[y])
            return m_lng[x] < m_lng[y];
        break;
    case ClientTime:
        if (m_sec[x] != m_sec[y])
            return m_sec[x] < m_sec[y];
        if (m_nsec[x] != m_nsec[y])
            return m_nsec[x] < m_nsec[y];
        break;
    case Origin:
        if (m_origin[x] != m_origin[y])
            return m_nodeRank[m_origin[x]] < m_nodeRank[m_origin[y]];
        break;
    case Skew: {
        const qint64 sa = skewNs(skewOf(a));
        const qint64 sb = skewNs(skewOf(b));
        if (sa != sb)
            return sa < sb;
        break;
    }
    case Holders: {
        const int ha = holdersOf(a);
        const int hb = holdersOf(b);
        if (ha != hb)
            return ha < hb;
        break;
    }
    default:
        break;
    }
    return a < b;   // ties: first seen first (a total order, so placement is deterministic)
}

void ClientTableModel::sortSlots(std::vector<quint32> &slots) const
{
    if (m_sortColumn < 0) {
        std::sort(slots.begin(), slots.end());
        return;
    }
    std::sort(slots.begin(), slots.end(), [this](quint32 a, quint32 b) { return lessThan(int(a), int(b)); });
}

void ClientTableModel::setMapped(bool mapped)
{
    if (mapped == m_mapped)
        return;
    if (mapped) {
        m_view.resize(m_sec.size());
        std::iota(m_view.begin(), m_view.end(), 0u);
        m_pos.resize(m_sec.size());
        std::iota(m_pos.begin(), m_pos.end(), 0);
    } else {
        // Only called when every slot is shown in slot order: rows stay the same.
        m_view = {};
        m_pos = {};
        m_identityRows = int(m_sec.size());
    }
    m_mapped = mapped;
}

void ClientTableModel::sort(int column, Qt::SortOrder order)
{
    column = column >= 0 && column < ColumnCount ? column : -1;
    if (column == m_sortColumn && order == m_sortOrder)
        return;
    m_sortColumn = column;
    m_sortOrder = order;
    setMapped(true);
    std::vector<quint32> target = m_view;
    sortSlots(target);
    transition(std::move(target));
    if (m_sortColumn < 0 && m_filterNeedle.isEmpty())
        setMapped(false);
}

void ClientTableModel::setFilterText(const QString &text)
{
    if (text == m_filterText)
        return;
    m_filterText = text;
    m_filterNeedle = text.toUtf8();
    for (char &c : m_filterNeedle)
        c = foldAscii(c);
    m_nodeMatches.resize(size_t(m_nodeNames.size()));
    for (qsizetype i = 0; i < m_nodeNames.size(); ++i)
        m_nodeMatches[size_t(i)] = containsFolded(m_nodeNames[i].toUtf8(), m_filterNeedle) ? 1 : 0;
    setMapped(true);
    std::vector<quint32> target;
    target.reserve(m_sec.size());
    for (quint32 s = 0; s < quint32(m_sec.size()); ++s) {
        if (matches(int(s)))
            target.push_back(s);
    }
    if (m_sortColumn >= 0)
        sortSlots(target);
    transition(std::move(target));
    if (m_sortColumn < 0 && m_filterNeedle.isEmpty())
        setMapped(false);
}

void ClientTableModel::rebuildPositions()
{
    m_pos.assign(m_sec.size(), -1);
    for (size_t row = 0; row < m_view.size(); ++row)
        m_pos[m_view[row]] = qint32(row);
}

// The same rows in another order: a layout change, persistent indexes following their clients.
void ClientTableModel::relayout(const std::vector<quint32> &order)
{
    Q_EMIT layoutAboutToBeChanged();
    const QModelIndexList from = persistentIndexList();
    std::vector<int> slots;
    slots.reserve(size_t(from.size()));
    for (const QModelIndex &i : from)
        slots.push_back(i.isValid() ? int(m_view[size_t(i.row())]) : -1);
    m_view = order;
    rebuildPositions();
    QModelIndexList to;
    to.reserve(from.size());
    for (qsizetype i = 0; i < from.size(); ++i) {
        const int row = slots[size_t(i)] < 0 ? -1 : m_pos[size_t(slots[size_t(i)])];
        to.append(row < 0 ? QModelIndex() : index(row, from[i].column()));
    }
    changePersistentIndexList(from, to);
    Q_EMIT layoutChanged();
}

// From the shown rows to `target` in at most four steps a view follows cheaply: a layout change
// putting the rows that stay in their new order and the leaving ones at the end, one removal of
// that tail, one insertion of the entering rows at the end, a layout change putting them in place.
void ClientTableModel::transition(std::vector<quint32> target)
{
    std::vector<char> inTarget(m_sec.size(), 0);
    for (quint32 s : target)
        inTarget[s] = 1;
    std::vector<quint32> staged;
    staged.reserve(m_view.size());
    for (quint32 s : target) {
        if (m_pos[s] >= 0)
            staged.push_back(s);
    }
    const size_t staying = staged.size();
    for (quint32 s : m_view) {
        if (!inTarget[s])
            staged.push_back(s);
    }
    if (staged != m_view)
        relayout(staged);
    if (m_view.size() > staying) {
        beginRemoveRows({}, int(staying), int(m_view.size()) - 1);
        for (size_t row = staying; row < m_view.size(); ++row)
            m_pos[m_view[row]] = -1;
        m_view.resize(staying);
        endRemoveRows();
    }
    if (target.size() > m_view.size()) {
        const int first = int(m_view.size());
        beginInsertRows({}, first, first + int(target.size() - m_view.size()) - 1);
        for (quint32 s : target) {
            if (m_pos[s] < 0) {
                m_pos[s] = qint32(m_view.size());
                m_view.push_back(s);
            }
        }
        endInsertRows();
    }
    if (m_view != target)
        relayout(target);
}

// ---- model interface -------------------------------------------------------------------------

int ClientTableModel::rowCount(const QModelIndex &parent) const
{
    if (parent.isValid())
        return 0;
    return m_mapped ? int(m_view.size()) : m_identityRows;
}

int ClientTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ClientTableModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const int slot = slotOfRow(index.row());
    auto coordinate = [&](bool lat) -> double {
        // Exact from the text; the float copy is for drawing.
        if (const auto where = protocol::parseLocation(locationOf(slot)))
            return lat ? where->lat : where->lng;
        return lat ? m_lat[size_t(slot)] : m_lng[size_t(slot)];
    };
    switch (role) {
    case ClientIdRole: return idOf(slot).toByteArray();
    case LatitudeRole: return coordinate(true);
    case LongitudeRole: return coordinate(false);
    case HoldersRole: return holdersOf(slot);
    case AtLineRole: return atLineOf(slot);
    case ClientTimeRole: return QString::fromLatin1(timeOf(slot));
    case OriginRole: return m_nodeNames.at(m_origin[size_t(slot)]);
    case Qt::ToolTipRole: return QString::fromUtf8(atLineOf(slot));
    case Qt::TextAlignmentRole:
        return index.column() == Holders ? QVariant(Qt::AlignCenter) : QVariant();
    case Qt::DisplayRole:
        switch (index.column()) {
        case Client: return QString::fromUtf8(idOf(slot));
        case Location: return QString::fromLatin1(locationOf(slot));
        case ClientTime: return QString::fromLatin1(timeOf(slot));
        case Origin: return m_nodeNames.at(m_origin[size_t(slot)]);
        case Skew: return QString::fromLatin1(skewOf(slot));
        case Holders:
            return m_nodeCount > 0 ? QStringLiteral("%1/%2").arg(holdersOf(slot)).arg(m_nodeCount)
                                   : QString::number(holdersOf(slot));
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

MapPointArrays ClientTableModel::mapPoints() const
{
    return {m_lat.data(), m_lng.data(), m_mapped ? m_pos.data() : nullptr, int(m_sec.size())};
}

int ClientTableModel::pointOfRow(int row) const
{
    return row >= 0 && row < rowCount() ? slotOfRow(row) : -1;
}

} // namespace herd
