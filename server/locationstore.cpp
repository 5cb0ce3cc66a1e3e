#include "locationstore.h"

#include <QHashFunctions>
#include <QRandomGenerator>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sys/mman.h>

namespace herd {

namespace {

// A table's cells, all kEmpty (zero). A big table is a mapping of its own: fresh zero pages, so
// growing costs no memset (calloc could memset recycled heap memory: ms for a big table), its
// pages fault in 4 KiB at a time as the migration and inserts reach them, and they go back to the
// system as soon as the table is replaced. Transparent huge pages were tried (MADV_HUGEPAGE on
// tables and chunks): finds ~15% faster in herd-store-bench, but each 2 MiB first touch stopped
// the node for up to 15 ms on the 2-CPU VM, and the end-to-end rate was no better.
constexpr size_t kMapTableBytes = size_t(1) << 20;   // also the piece a moved part goes back in

void *allocateCells(size_t bytes)
{
    void *p = nullptr;
    if (bytes < kMapTableBytes) {
        p = std::calloc(bytes, 1);
    } else {
        p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            p = nullptr;
    }
    if (!p)
        throw std::bad_alloc();
    return p;
}

void freeCells(void *p, size_t bytes)
{
    if (bytes < kMapTableBytes)
        std::free(p);
    else if (p)
        ::munmap(p, bytes);
}

// Arena chunks and big records.
char *allocateBytes(size_t bytes)
{
    void *p = std::malloc(bytes);
    if (!p)
        throw std::bad_alloc();
    return static_cast<char *>(p);
}

constexpr qsizetype kHeaderBytes = qsizetype(sizeof(ClientRecord));
constexpr int kInitialBits = 6;   // 64 cells: a node that never sees a client costs 512 bytes

// Where field `index` (0-based) of `line` starts, or -1 if it has fewer fields. Fields are runs
// of non-white-space bytes, as the protocol splits them.
qsizetype fieldOffset(QByteArrayView line, int index)
{
    const char *p = line.data();
    const qsizetype n = line.size();
    qsizetype i = 0;
    for (;;) {
        while (i < n && protocol::isSpace(p[i]))
            ++i;
        if (i == n)
            return -1;
        if (index-- == 0)
            return i;
        while (i < n && !protocol::isSpace(p[i]))
            ++i;
    }
}

// Whether `line` holds exactly `client` as the field starting at `at`.
bool fieldIs(QByteArrayView line, qsizetype at, QByteArrayView client)
{
    const qsizetype end = at + client.size();
    return end <= line.size() && std::memcmp(line.data() + at, client.data(), size_t(client.size())) == 0
           && (end == line.size() || protocol::isSpace(line[end]));
}

} // namespace

QByteArrayView ClientRecord::client() const
{
    const QByteArrayView line = atLine();
    const qsizetype at = clientOffset();
    qsizetype end = at;
    while (end < line.size() && !protocol::isSpace(line[end]))
        ++end;
    return line.sliced(at, end - at);
}

qsizetype ClientRecord::clientOffset() const
{
    return m_clientAt ? qsizetype(m_clientAt) : fieldOffset(atLine(), 3);
}

LocationStore::LocationStore()
    : m_epoch(QRandomGenerator::system()->generate64() | 1),   // never 0: 0 means "unknown"
      m_seed(size_t(QRandomGenerator::system()->generate64()))  // client IDs are chosen by clients
{
    m_chunks.push_back(nullptr);   // chunk id 0 is never used, so handle 0 can mean "empty"
    m_table.bits = kInitialBits;
    m_table.cells = static_cast<Slot *>(allocateCells(sizeof(Slot) << kInitialBits));
}

LocationStore::~LocationStore()
{
    for (char *chunk : m_chunks)
        std::free(chunk);
    freeCells(m_table.cells, m_table.capacity() * sizeof(Slot));
    dropOld();
}

// Size classes: 8-byte steps up to 2 KiB (an AT line is ~85 bytes: its block wastes < 8), then
// 8 per doubling (< 12.5% waste) up to 64 KiB.
int LocationStore::classOf(qsizetype bytes)
{
    if (bytes <= 2048)
        return int((bytes + 7) >> 3) - 1;
    if (bytes > kMaxClassBytes)
        return -1;
    const int p = 63 - qCountLeadingZeroBits(quint64(bytes - 1));   // bytes in (2^p, 2^(p+1)], p 11..15
    const qsizetype step = qsizetype(1) << (p - 3);
    const int j = int((bytes - (qsizetype(1) << p) + step - 1) / step);   // 1..8
    return kSmallClasses + (p - 11) * 8 + (j - 1);
}

qsizetype LocationStore::classBytes(int cls)
{
    if (cls < kSmallClasses)
        return qsizetype(cls + 1) * 8;
    const int k = cls - kSmallClasses;
    const int p = 11 + k / 8;
    return (qsizetype(1) << p) + qsizetype(k % 8 + 1) * (qsizetype(1) << (p - 3));
}

quint32 LocationStore::hashOf(QByteArrayView client) const
{
    return quint32(qHashBits(client.data(), size_t(client.size()), m_seed) >> 32);
}

bool LocationStore::matches(const ClientRecord &r, QByteArrayView client)
{
    return fieldIs(r.atLine(), r.clientOffset(), client);
}

// Linear probing from the home slot up to an empty one. In the old table, the run is read from
// `from` (the migration cursor) on, wrapping back to it, not to 0: a key still there sits at or
// after the cursor, and every cell between its home and it was full when it was inserted (and
// still is, cells are never emptied), so the part of its run from the cursor on has no empty cell.
const LocationStore::Slot *LocationStore::probe(const Table &t, quint64 from, quint32 hash,
                                                QByteArrayView client) const
{
    const quint64 end = t.capacity();
    quint64 i = std::max<quint64>(t.home(hash), from);
    for (quint64 left = end - from; left; --left) {   // a bound: the old table's rest may be full
        const Slot &s = t.cells[i];
        if (s.ref == kEmpty)
            return nullptr;
        if (s.hash == hash && matches(*record(s.ref), client))
            return &s;
        if (++i == end)
            i = from;
    }
    return nullptr;
}

void LocationStore::place(Table &t, Slot s)
{
    const quint64 mask = t.capacity() - 1;
    quint64 i = t.home(s.hash);
    while (t.cells[i].ref != kEmpty)
        i = (i + 1) & mask;
    t.cells[i] = s;
}

void LocationStore::grow()
{
    if (m_old.cells)
        migrate(m_old.capacity());   // only if offers stopped short of it; normally done long ago
    if (m_table.bits >= 32)
        throw std::bad_alloc();      // 2^32 cells: the handles run out first anyway
    Table next;
    next.bits = m_table.bits + 1;
    next.cells = static_cast<Slot *>(allocateCells(sizeof(Slot) << next.bits));
    m_old = m_table;
    m_table = next;
    m_oldCursor = 0;
    if (m_old.capacity() <= 4096)
        migrate(m_old.capacity());   // small: at once, a few microseconds
}

// Moves the next `count` cells of the old table. Slots keep their order (the home is the hash's
// top bits), so both tables are walked sequentially: no cache miss per slot. The moved part of a
// mapped table is unmapped 1 MiB at a time (~0.1 ms each): the whole of a 32 MiB table at once
// stopped an insert for ~3 ms.
void LocationStore::migrate(quint64 count)
{
    const quint64 end = std::min(m_oldCursor + count, m_old.capacity());
    for (; m_oldCursor < end; ++m_oldCursor) {
        const Slot s = m_old.cells[m_oldCursor];
        if (s.ref != kEmpty)
            place(m_table, s);
    }
    if (m_oldCursor == m_old.capacity()) {
        dropOld();
        return;
    }
    constexpr quint64 kPiece = kMapTableBytes / sizeof(Slot);
    if (m_old.capacity() * sizeof(Slot) >= kMapTableBytes && m_oldCursor - m_oldReleased >= kPiece) {
        ::munmap(m_old.cells + m_oldReleased, kMapTableBytes);
        m_oldReleased += kPiece;
    }
}

void LocationStore::dropOld()
{
    if (m_old.cells && m_old.capacity() * sizeof(Slot) >= kMapTableBytes)
        ::munmap(m_old.cells + m_oldReleased, (m_old.capacity() - m_oldReleased) * sizeof(Slot));
    else
        std::free(m_old.cells);
    m_old = Table();
    m_oldCursor = 0;
    m_oldReleased = 0;
}

quint32 LocationStore::newChunkId(char *memory, qsizetype bytes)
{
    m_chunkBytes += bytes;
    if (!m_freeChunkIds.empty()) {
        const quint32 id = m_freeChunkIds.back();
        m_freeChunkIds.pop_back();
        m_chunks[id] = memory;
        return id;
    }
    if (m_chunks.size() >= kMaxChunks) {
        std::free(memory);
        m_chunkBytes -= bytes;
        throw std::bad_alloc();   // 32 GiB of records: the handles are exhausted
    }
    m_chunks.push_back(memory);
    return quint32(m_chunks.size() - 1);
}

quint32 LocationStore::allocate(qsizetype bytes)
{
    const int cls = classOf(bytes);
    if (cls < 0) {   // a big record: its own chunk id, offset 0
        const quint32 id = newChunkId(allocateBytes(size_t(bytes)), bytes);
        return id << kUnitsPerChunkShift;
    }
    const qsizetype size = classBytes(cls);
    if (const quint32 ref = m_freeLists[cls]) {
        std::memcpy(&m_freeLists[cls], block(ref), sizeof(quint32));   // the next free block
        m_freeBytes -= size;
        return ref;
    }
    const quint64 units = quint64(size) >> kUnitShift;
    if (m_bump + units > m_bumpEnd) {
        // The chunk's tail goes to the free lists in the biggest blocks that fit, not to waste.
        while (m_bumpEnd - m_bump >= 4) {   // < 32 bytes fits no record
            const qsizetype tail = qsizetype(m_bumpEnd - m_bump) << kUnitShift;
            int c = classOf(std::min(tail, kMaxClassBytes));
            if (classBytes(c) > tail)
                --c;
            release(quint32(m_bump), classBytes(c));
            m_bump += quint64(classBytes(c)) >> kUnitShift;
        }
        // Small stores (a node with a few clients) stay small.
        const qsizetype chunk = qsizetype(64 * 1024) << std::min(m_arenaChunks, kChunkShift - 16);
        const quint32 id = newChunkId(allocateBytes(size_t(chunk)), chunk);
        ++m_arenaChunks;
        m_bump = quint64(id) << kUnitsPerChunkShift;
        m_bumpEnd = m_bump + (quint64(chunk) >> kUnitShift);
    }
    const quint32 ref = quint32(m_bump);
    m_bump += units;
    return ref;
}

void LocationStore::release(quint32 ref, qsizetype bytes)
{
    const int cls = classOf(bytes);
    if (cls < 0) {
        const quint32 id = ref >> kUnitsPerChunkShift;
        std::free(m_chunks[id]);
        m_chunks[id] = nullptr;
        m_chunkBytes -= bytes;
        m_freeChunkIds.push_back(id);
        return;
    }
    std::memcpy(block(ref), &m_freeLists[cls], sizeof(quint32));
    m_freeLists[cls] = ref;
    m_freeBytes += classBytes(cls);
}

bool LocationStore::offer(QByteArrayView client, protocol::Timestamp time, QByteArrayView atLine)
{
    Q_ASSERT(time.nsec >= 0 && time.nsec < 1'000'000'000);
    if (m_old.cells)
        migrate(kMigrateStep);   // first: the slot found below must stay where it is

    const quint32 hash = hashOf(client);
    auto *slot = const_cast<Slot *>(probe(m_table, 0, hash, client));
    if (!slot && m_old.cells)
        slot = const_cast<Slot *>(probe(m_old, m_oldCursor, hash, client));
    if (slot && !(time > record(slot->ref)->time()))
        return false;   // the common case for floods: no more work than a find()

    // Only a line that will be stored is checked (and its client field located).
    const qsizetype at = fieldOffset(atLine, 3);
    if (at < 0 || !fieldIs(atLine, at, client) || atLine.size() > kMaxLineBytes)
        return false;   // not an AT line for this client (a caller's bug), or absurdly long
    const qsizetype bytes = kHeaderBytes + atLine.size();
    ClientRecord *r;
    if (slot) {
        r = record(slot->ref);
        const qsizetype oldBytes = kHeaderBytes + qsizetype(r->m_len);
        const int cls = classOf(bytes);
        if (cls < 0 || cls != classOf(oldBytes)) {   // big records are sized exactly: always anew
            // A new block first, the old one freed after the copy: atLine may point into it.
            const quint32 ref = allocate(bytes);
            ClientRecord *moved = new (block(ref)) ClientRecord;
            std::memcpy(moved->bytes(), atLine.data(), size_t(atLine.size()));
            release(slot->ref, oldBytes);
            slot->ref = ref;
            r = moved;
        } else {
            std::memmove(r->bytes(), atLine.data(), size_t(atLine.size()));
        }
    } else {
        if (quint64(m_size) + 1 > m_table.capacity() - m_table.capacity() / 5)
            grow();   // load factor <= 0.8
        const quint32 ref = allocate(bytes);
        r = new (block(ref)) ClientRecord;
        std::memcpy(r->bytes(), atLine.data(), size_t(atLine.size()));
        place(m_table, Slot{hash, ref});
        ++m_size;
    }
    r->m_sec = time.sec;
    r->m_nsec = quint64(time.nsec);
    r->m_len = quint64(atLine.size());
    r->m_clientAt = at < 256 ? quint64(at) : 0;
    r->m_seq = ++m_seq;
    return true;
}

const ClientRecord *LocationStore::find(QByteArrayView client) const
{
    const quint32 hash = hashOf(client);
    if (const Slot *s = probe(m_table, 0, hash, client))
        return record(s->ref);
    if (m_old.cells) {
        if (const Slot *s = probe(m_old, m_oldCursor, hash, client))
            return record(s->ref);
    }
    return nullptr;
}

qint64 LocationStore::memoryBytes() const
{
    return m_chunkBytes + qint64(m_table.capacity() + m_old.capacity()) * qint64(sizeof(Slot))
           + qint64(m_chunks.capacity() * sizeof(char *) + m_freeChunkIds.capacity() * sizeof(quint32));
}

} // namespace herd
