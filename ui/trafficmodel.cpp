#include "trafficmodel.h"

#include <QBrush>
#include <QColor>
#include <QDateTime>
#include <QFont>
#include <QLatin1StringView>
#include <algorithm>

namespace herd {

namespace {

// Tints with alpha, so the rules read on a light and on a dark palette alike.
const QColor kInvalidTint(220, 50, 47, 70);
const QColor kFloodTint(38, 139, 210, 55);
const QColor kLinkTint(255, 176, 0, 80);
const QColor kConnectionTint(128, 128, 128, 30);
const QColor kDuplicateText(128, 128, 128);
const QColor kErrorText(220, 40, 40);

bool isFieldSpace(char c)
{
    // Fields are separated by space, tab, CR, FF, VT; LF too for a multi-line reply.
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == '\n';
}

// The length of the valid UTF-8 sequence starting at bytes[i] (lead byte >= 0x80), 0 if none;
// *cp gets its code point. Overlong forms and surrogates are invalid (RFC 3629).
int utf8Sequence(QByteArrayView bytes, qsizetype i, char32_t *cp)
{
    const auto b = [&](qsizetype k) { return uchar(bytes[k]); };
    const uchar lead = b(i);
    int len = 0;
    uchar lo = 0x80, hi = 0xbf;   // allowed range of the second byte
    if (lead >= 0xc2 && lead <= 0xdf) {
        len = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        len = 3;
        if (lead == 0xe0) lo = 0xa0;
        if (lead == 0xed) hi = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        len = 4;
        if (lead == 0xf0) lo = 0x90;
        if (lead == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (i + len > bytes.size())
        return 0;
    char32_t c = lead & (0x7f >> len);
    for (int k = 1; k < len; ++k) {
        const uchar cont = b(i + k);
        if (cont < (k == 1 ? lo : 0x80) || cont > (k == 1 ? hi : 0xbf))
            return 0;
        c = (c << 6) | (cont & 0x3f);
    }
    *cp = c;
    return len;
}

void appendHex(QString &out, uchar c)
{
    static constexpr char kHex[] = "0123456789abcdef";
    out.append(QLatin1StringView("\\x"));
    out.append(QLatin1Char(kHex[c >> 4]));
    out.append(QLatin1Char(kHex[c & 0xf]));
}

} // namespace

TrafficModel::TrafficModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

void TrafficModel::setCapacity(int rows)
{
    rows = std::max(rows, 1);
    if (rows == m_capacity)
        return;
    const quint64 before = droppedTotal();
    if (m_count > rows) {
        const int overflow = m_count - rows;
        beginRemoveRows({}, 0, overflow - 1);
        for (int i = 0; i < overflow; ++i)
            m_slots[slot(i)] = TrafficRow{};   // free the payload now
        m_start = (m_start + size_t(overflow)) % m_slots.size();
        m_count -= overflow;
        m_evicted += quint64(overflow);
        endRemoveRows();
    }
    m_capacity = rows;
    relinearize();   // the ring's modulus changes with the capacity
    if (droppedTotal() != before)
        Q_EMIT droppedChanged(droppedTotal());
}

void TrafficModel::relinearize()
{
    std::vector<TrafficRow> rows;
    rows.reserve(size_t(m_count));
    for (int i = 0; i < m_count; ++i)
        rows.push_back(std::move(m_slots[slot(i)]));
    m_slots = std::move(rows);
    m_start = 0;
}

void TrafficModel::appendBatch(const QList<TrafficRow> &rows, quint64 droppedUpstream)
{
    const quint64 before = droppedTotal();
    m_droppedUpstream += droppedUpstream;
    const int n = int(rows.size());
    if (n > m_capacity) {
        // Everything held and the batch's oldest go: one reset is cheaper than two huge ranges.
        beginResetModel();
        m_evicted += quint64(m_count) + quint64(n - m_capacity);
        m_slots.clear();
        m_slots.reserve(size_t(m_capacity));
        for (qsizetype i = n - m_capacity; i < n; ++i)
            m_slots.push_back(rows.at(i));
        m_start = 0;
        m_count = m_capacity;
        endResetModel();
    } else if (n > 0) {
        const int overflow = m_count + n - m_capacity;
        if (overflow > 0) {
            beginRemoveRows({}, 0, overflow - 1);   // evict the oldest first: no ghost rows
            if (m_slots.size() < size_t(m_capacity))
                m_slots.resize(size_t(m_capacity));   // m_start is 0 here: the new slots follow the rows
            m_start = (m_start + size_t(overflow)) % m_slots.size();
            m_count -= overflow;   // their slots are overwritten just below
            m_evicted += quint64(overflow);
            endRemoveRows();
        }
        const int first = m_count;
        beginInsertRows({}, first, first + n - 1);
        for (const TrafficRow &r : rows) {
            if (m_slots.size() < size_t(m_capacity))
                m_slots.push_back(r);
            else
                m_slots[(m_start + size_t(m_count)) % m_slots.size()] = r;
            ++m_count;
        }
        endInsertRows();
    }
    if (droppedTotal() != before)
        Q_EMIT droppedChanged(droppedTotal());
}

void TrafficModel::clear()
{
    const bool hadDropped = droppedTotal() != 0;
    beginResetModel();
    m_slots.clear();
    m_slots.shrink_to_fit();
    m_start = 0;
    m_count = 0;
    m_droppedUpstream = 0;
    m_evicted = 0;
    endResetModel();
    if (hadDropped)
        Q_EMIT droppedChanged(0);
}

int TrafficModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : m_count;
}

int TrafficModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TrafficModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const TrafficRow &r = row(index.row());
    switch (role) {
    case Qt::DisplayRole:
        // Computed here, for the few rows on screen, never when a batch arrives.
        switch (index.column()) {
        case Time: return timeText(r.timeUs);
        case Node: return r.node;
        case Direction: return directionName(r.dir);
        case Peer: return QString::fromUtf8(r.who);
        case Kind: return lineKindName(r.kind);
        case Text: return escapeText(r.text, kMaxDisplayChars);
        }
        return {};
    case Qt::ToolTipRole:
        switch (index.column()) {
        case Time:
            return QDateTime::fromMSecsSinceEpoch(r.timeUs / 1000).toString(Qt::ISODateWithMs);
        case Text:
            // The line as it reads (a WHATSAT reply's JSON on its lines), unlike the cell.
            return QString::fromUtf8(r.text);
        }
        return {};
    case Qt::BackgroundRole:
        switch (r.kind) {
        case LineKind::Invalid: return QBrush(kInvalidTint);
        case LineKind::Flood: return QBrush(kFloodTint);
        case LineKind::LinkEvent: return QBrush(kLinkTint);
        case LineKind::Connection: return QBrush(kConnectionTint);
        default: return {};
        }
    case Qt::ForegroundRole:
        switch (r.kind) {
        case LineKind::Duplicate: return QBrush(kDuplicateText);
        case LineKind::Error: return QBrush(kErrorText);
        default: return {};
        }
    case Qt::FontRole:
        if (r.kind == LineKind::Duplicate) {
            QFont italic;   // only the italic bit is set, so the view's own font is kept
            italic.setItalic(true);
            return italic;
        }
        return {};
    case KindRole: return int(r.kind);
    case DirectionRole: return int(r.dir);
    case NodeRole: return r.node;
    case WhoRole: return r.who;
    case TimeUsRole: return r.timeUs;
    case RawTextRole: return r.text;
    case ClientRole: return clientId(r.text);
    }
    return {};
}

QVariant TrafficModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Time: return tr("Time");
    case Node: return tr("Node");
    case Direction: return tr("Dir");
    case Peer: return tr("Peer");
    case Kind: return tr("Kind");
    case Text: return tr("Text");
    }
    return {};
}

QHash<int, QByteArray> TrafficModel::roleNames() const
{
    QHash<int, QByteArray> names = QAbstractTableModel::roleNames();
    names.insert(KindRole, "kind");
    names.insert(DirectionRole, "direction");
    names.insert(NodeRole, "node");
    names.insert(WhoRole, "who");
    names.insert(TimeUsRole, "timeUs");
    names.insert(RawTextRole, "rawText");
    names.insert(ClientRole, "client");
    return names;
}

QString TrafficModel::escapeText(QByteArrayView bytes, qsizetype maxChars)
{
    QString out;
    out.reserve(std::min<qsizetype>(bytes.size(), maxChars < 0 ? bytes.size() : maxChars) + 8);
    qsizetype i = 0;
    while (i < bytes.size()) {
        if (maxChars >= 0 && out.size() >= maxChars) {
            out.append(QChar(0x2026));   // …
            break;
        }
        const uchar c = uchar(bytes[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            // A run of plain ASCII in one append: most lines are nothing else.
            qsizetype end = i + 1;
            while (end < bytes.size() && uchar(bytes[end]) >= 0x20 && uchar(bytes[end]) < 0x7f
                   && bytes[end] != '\\')
                ++end;
            if (maxChars >= 0)
                end = std::min(end, i + (maxChars - out.size()));
            out.append(QLatin1StringView(bytes.sliced(i, end - i)));
            i = end;
            continue;
        }
        switch (c) {
        case '\\': out.append(QLatin1StringView("\\\\")); ++i; continue;
        case '\n': out.append(QLatin1StringView("\\n")); ++i; continue;
        case '\r': out.append(QLatin1StringView("\\r")); ++i; continue;
        case '\t': out.append(QLatin1StringView("\\t")); ++i; continue;
        default: break;
        }
        char32_t cp = 0;
        const int len = c >= 0x80 ? utf8Sequence(bytes, i, &cp) : 0;
        if (len > 0 && !(cp >= 0x80 && cp < 0xa0)) {   // C1 controls are escaped like C0 ones
            out.append(QStringView(QChar::fromUcs4(cp)));
            i += len;
        } else {
            appendHex(out, c);
            ++i;
        }
    }
    return out;
}

QByteArray TrafficModel::clientId(QByteArrayView line)
{
    if (line.startsWith("? "))
        line = line.sliced(2);   // the echo of an invalid line names the same client
    QByteArrayView fields[4];
    int n = 0;
    qsizetype i = 0;
    while (n < 4) {
        while (i < line.size() && isFieldSpace(line[i]))
            ++i;
        if (i >= line.size())
            break;
        const qsizetype start = i;
        while (i < line.size() && !isFieldSpace(line[i]))
            ++i;
        fields[n++] = line.sliced(start, i - start);
    }
    if (n >= 2 && (fields[0] == "IAMAT" || fields[0] == "WHATSAT"))
        return fields[1].toByteArray();
    if (n >= 4 && fields[0] == "AT")
        return fields[3].toByteArray();
    return {};
}

QString TrafficModel::timeText(qint64 timeUs)
{
    return QDateTime::fromMSecsSinceEpoch(timeUs / 1000).time().toString(QStringLiteral("hh:mm:ss.zzz"));
}

// ---------------------------------------------------------------------------------------------

TrafficFilterProxy::TrafficFilterProxy(QObject *parent)
    : QSortFilterProxyModel(parent)
{
    // Rows never change once appended; re-filtering on dataChanged would only cost.
    setDynamicSortFilter(false);
}

void TrafficFilterProxy::Needle::set(const QString &t)
{
    text = t;
    ascii.clear();
    const bool isAscii = std::all_of(t.cbegin(), t.cend(), [](QChar ch) { return ch.unicode() < 0x80; });
    if (isAscii)
        ascii = t.toLatin1();
}

bool TrafficFilterProxy::Needle::matches(QByteArrayView hay) const
{
    if (text.isEmpty())
        return true;
    if (!ascii.isEmpty()) {
        if (QLatin1StringView(hay).contains(QLatin1StringView(ascii), Qt::CaseInsensitive))
            return true;
    } else if (QString::fromUtf8(hay).contains(text, Qt::CaseInsensitive)) {
        return true;
    }
    // "\n" or "\x01" typed as shown in the view.
    return text.contains(QLatin1Char('\\'))
        && TrafficModel::escapeText(hay).contains(text, Qt::CaseInsensitive);
}

void TrafficFilterProxy::setNodeFilter(const QString &node)
{
    if (node == m_node)
        return;
    m_node = node;
    invalidateFilter();
}

void TrafficFilterProxy::setKindFilter(std::optional<LineKind> kind)
{
    if (kind == m_kind)
        return;
    m_kind = kind;
    invalidateFilter();
}

void TrafficFilterProxy::setClientFilter(const QString &client)
{
    if (client == m_client)
        return;
    m_client = client;
    m_clientNeedle.set(client);
    invalidateFilter();
}

void TrafficFilterProxy::setTextFilter(const QString &text)
{
    if (text == m_text)
        return;
    m_text = text;
    m_textNeedle.set(text);
    invalidateFilter();
}

void TrafficFilterProxy::setFollow(const QString &node, const QByteArray &who)
{
    const QString n = who.isEmpty() ? QString() : node;
    if (n == m_followNode && who == m_followWho)
        return;
    m_followNode = n;
    m_followWho = who;
    invalidateFilter();
}

void TrafficFilterProxy::setHiddenKinds(quint32 mask)
{
    if (mask == m_hiddenKinds)
        return;
    m_hiddenKinds = mask;
    invalidateFilter();
}

namespace {

QString kindKey(const QString &name)
{
    QString key = name.toLower();
    key.remove(QLatin1Char(' '));
    key.remove(QLatin1Char('-'));
    key.remove(QLatin1Char('_'));
    return key;
}

// Words, with "double quotes" around a phrase (also after a key: client:"a b").
QStringList tokens(const QString &text)
{
    QStringList out;
    QString current;
    bool quoted = false;
    bool any = false;
    for (const QChar c : text) {
        if (c == QLatin1Char('"')) {
            quoted = !quoted;
            any = true;
        } else if (c.isSpace() && !quoted) {
            if (any || !current.isEmpty())
                out.append(current);
            current.clear();
            any = false;
        } else {
            current.append(c);
        }
    }
    if (any || !current.isEmpty())
        out.append(current);
    return out;
}

} // namespace

bool TrafficFilterProxy::setExpression(const QString &expression, QString *error)
{
    QList<Term> terms;
    for (QString token : tokens(expression)) {
        Term term;
        if (token.startsWith(QLatin1Char('-')) && token.size() > 1) {
            term.negate = true;
            token.remove(0, 1);
        }
        const qsizetype colon = token.indexOf(QLatin1Char(':'));
        const QString key = colon > 0 ? token.left(colon).toLower() : QString();
        const QString value = colon > 0 ? token.mid(colon + 1) : token;
        const auto fail = [error](const QString &why) {
            if (error)
                *error = why;
            return false;
        };
        if (colon > 0 && value.isEmpty())
            return fail(tr("%1: nothing after the colon").arg(token));
        if (key == QLatin1String("node")) {
            term.field = Term::Node;
            term.nodes = value.split(QLatin1Char(','), Qt::SkipEmptyParts);
        } else if (key == QLatin1String("kind")) {
            term.field = Term::Kind;
            for (const QString &k : value.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
                bool found = false;
                for (int i = int(LineKind::Iamat); i <= int(LineKind::Blank); ++i) {
                    if (kindKey(lineKindName(LineKind(i))) == kindKey(k)) {
                        term.kinds |= 1u << i;
                        found = true;
                    }
                }
                if (!found)
                    return fail(tr("kind:%1: no such kind (iamat, whatsat, atreply, whatsatreply, invalid, flood, "
                                   "duplicate, heartbeat, handshake, link, connection, error, blank)").arg(k));
            }
        } else if (key == QLatin1String("client")) {
            term.field = Term::Client;
            term.needle.set(value);
        } else if (key == QLatin1String("dir")) {
            term.field = Term::Dir;
            const QString d = value.toLower();
            if (d == QLatin1String("in"))
                term.dir = int(Direction::In);
            else if (d == QLatin1String("out"))
                term.dir = int(Direction::Out);
            else if (d == QLatin1String("event"))
                term.dir = int(Direction::Event);
            else
                return fail(tr("dir:%1: expected in, out or event").arg(value));
        } else if (colon > 0 && std::all_of(key.cbegin(), key.cend(), [](QChar c) { return c.isLetter(); })) {
            return fail(tr("%1: unknown key (node, kind, client, dir)").arg(key));
        } else {
            term.field = Term::Text;   // "12:00" or "AT:x" are words too
            term.needle.set(token);
        }
        terms.append(term);
    }
    if (error)
        error->clear();
    m_expression = expression;
    m_terms = terms;
    invalidateFilter();
    return true;
}

bool TrafficFilterProxy::termHolds(const Term &term, const QModelIndex &idx) const
{
    switch (term.field) {
    case Term::Node: {
        const QString node = idx.data(TrafficModel::NodeRole).toString();
        for (const QString &n : term.nodes)
            if (n.compare(node, Qt::CaseInsensitive) == 0)
                return true;
        return false;
    }
    case Term::Kind:
        return term.kinds & (1u << idx.data(TrafficModel::KindRole).toInt());
    case Term::Client: {
        const QByteArray client = idx.data(TrafficModel::ClientRole).toByteArray();
        return !client.isEmpty() && term.needle.matches(client);
    }
    case Term::Dir:
        return idx.data(TrafficModel::DirectionRole).toInt() == term.dir;
    case Term::Text:
        return term.needle.matches(idx.data(TrafficModel::RawTextRole).toByteArray())
            || term.needle.matches(idx.data(TrafficModel::WhoRole).toByteArray());
    }
    return true;
}

void TrafficFilterProxy::clearFilters()
{
    if (!hasFilter())
        return;
    m_hiddenKinds = 0;
    m_expression.clear();
    m_terms.clear();
    m_node.clear();
    m_kind.reset();
    m_client.clear();
    m_clientNeedle.set({});
    m_text.clear();
    m_textNeedle.set({});
    m_followNode.clear();
    m_followWho.clear();
    invalidateFilter();   // once for all of them
}

bool TrafficFilterProxy::hasFilter() const
{
    return !m_node.isEmpty() || m_kind || !m_client.isEmpty() || !m_text.isEmpty() || isFollowing()
        || m_hiddenKinds != 0 || !m_terms.isEmpty();
}

bool TrafficFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    if (!hasFilter())
        return true;
    const QAbstractItemModel *m = sourceModel();
    const QModelIndex idx = m->index(sourceRow, 0, sourceParent);
    if (isFollowing()) {
        if (idx.data(TrafficModel::WhoRole).toByteArray() != m_followWho
            || idx.data(TrafficModel::NodeRole).toString() != m_followNode)
            return false;
    }
    if (!m_node.isEmpty() && idx.data(TrafficModel::NodeRole).toString() != m_node)
        return false;
    const int kind = idx.data(TrafficModel::KindRole).toInt();
    if (m_kind && kind != int(*m_kind))
        return false;
    if (m_hiddenKinds & (1u << kind))
        return false;
    for (const Term &term : m_terms) {
        if (termHolds(term, idx) == term.negate)
            return false;
    }
    if (!m_client.isEmpty()) {
        const QByteArray client = idx.data(TrafficModel::ClientRole).toByteArray();
        if (client.isEmpty() || !m_clientNeedle.matches(client))
            return false;
    }
    if (!m_text.isEmpty()) {
        if (!m_textNeedle.matches(idx.data(TrafficModel::RawTextRole).toByteArray())
            && !m_textNeedle.matches(idx.data(TrafficModel::WhoRole).toByteArray()))
            return false;
    }
    return true;
}

} // namespace herd
