#pragma once
#include "protocol.h"
#include <QByteArrayView>
#include <QtGlobal>
#include <algorithm>
#include <array>
#include <cstddef>
#include <vector>

namespace herd {

// What a node knows of one client: its newest accepted update. It is the header of a block in
// the store's arena, followed by the AT line's bytes; the client ID is the line's 4th field, so
// the ID is never stored twice. Only the store creates records; a pointer to one (from find()
// or forEach()) is valid until the next offer() to the store: copy the line to keep it longer.
class ClientRecord {
public:
    protocol::Timestamp time() const { return {m_sec, qint32(m_nsec)}; }
    quint64 seq() const { return m_seq; }   // the store's change counter when last stored
    // The AT line as the receiving node produced it, no terminator.
    QByteArrayView atLine() const { return {bytes(), qsizetype(m_len)}; }
    QByteArrayView client() const;

    ClientRecord(const ClientRecord &) = delete;
    ClientRecord &operator=(const ClientRecord &) = delete;

private:
    friend class LocationStore;
    ClientRecord() = default;
    const char *bytes() const { return reinterpret_cast<const char *>(this + 1); }
    char *bytes() { return reinterpret_cast<char *>(this + 1); }
    qsizetype clientOffset() const;

    qint64 m_sec;
    quint64 m_seq;
    quint64 m_nsec : 30;       // 0..999'999'999
    quint64 m_len : 26;        // line bytes, < 64 MiB (kMaxLineBytes)
    quint64 m_clientAt : 8;    // offset of the client field, 0 if beyond 255 (then it is scanned)
};
static_assert(sizeof(ClientRecord) == 24, "the record header is 24 bytes: 8 + 8 + 8");

// Client ID -> newest record. The strictly-newer rule lives here, and only here.
//
// Memory, per client: one arena block of 24 header bytes + the AT line, rounded up to 8 bytes
// (no per-block malloc overhead), and one 8-byte slot in a table kept at most 80% full (10 to 20
// bytes per client). An ~85-byte AT line costs 112 + ~17 = ~130 bytes per client at 1M clients.
//
// The table is open addressing with linear probing. A slot holds the high 32 bits of the
// client's hash and a 32-bit handle to its block: a probe compares hashes and only touches a
// record on a match (a false match is ~1 in 2^(32 - log2 cells)). The slot's home is the top bits
// of its stored hash, so growing needs no record and no rehash of a key, and slots keep their
// order; the table doubles incrementally: each offer() moves the next kMigrateStep cells of the
// old table to the new one, and the old table's memory goes back 1 MiB at a time behind the
// move, so no call ever stops for a whole rehash or a whole munmap (herd-store-bench --pause:
// the slowest insert while growing to 4M clients takes ~0.4 ms of CPU).
//
// Blocks come from arena chunks (64 KiB, doubling up to 2 MiB), recycled through a free list per
// size class (8-byte steps up to 2 KiB, then 8 classes per doubling up to 64 KiB; a bigger record
// gets a malloc'ed chunk of its own). An update whose line stays in its class is written in
// place; otherwise the record moves to a new block. A freed block is reused by a later record of the same class only: a mass change of line
// lengths can leave up to one free block per record in the old classes (freeBytes() says how
// much). Chunks are never returned before the store is destroyed (clients are never erased).
//
// Limits: 32-bit handles in 8-byte units address 32 GiB of blocks (~300M clients at ~112
// bytes; beyond that offer() throws std::bad_alloc); lines longer than kMaxLineBytes (64 MiB; a
// node's lines are at most max_line_bytes, 16 MiB, plus a name and a skew) are refused.
// Not thread-safe: one thread (the node's) owns the store.
class LocationStore {
public:
    static constexpr qsizetype kMaxLineBytes = (qsizetype(1) << 26) - 1;

    LocationStore();
    ~LocationStore();
    LocationStore(const LocationStore &) = delete;
    LocationStore &operator=(const LocationStore &) = delete;

    // Stores `atLine` for `client` if `time` is strictly newer than what is held, with the next
    // seq(). Returns whether it was stored. `client` must be the 4th field of `atLine` (an AT line:
    // "AT <origin> <skew> <client> <location> <time>"); a line where it is not, or one of
    // more than kMaxLineBytes, is refused (false). `atLine` may point into the store itself.
    bool offer(QByteArrayView client, protocol::Timestamp time, QByteArrayView atLine);
    // The client's record, or null. Valid until the next offer().
    const ClientRecord *find(QByteArrayView client) const;
    // A hint that offer() or find() for `client` comes soon: starts loading its table slot, so
    // that the cache misses of several lookups overlap instead of coming one after another.
    void prefetch(QByteArrayView client) const
    {
        __builtin_prefetch(&m_table.cells[m_table.home(hashOf(client))]);
    }
    qsizetype size() const { return m_size; }
    // Changes so far: every stored update takes the next number. With the epoch (random, one
    // per store) a neighbour can ask for "everything after seq N" when its link comes back.
    quint64 seq() const { return m_seq; }
    quint64 epoch() const { return m_epoch; }

    // Calls f(const ClientRecord &) once per client, in no particular order. f must not call
    // offer() (the records and the table may move).
    template <typename F>
    void forEach(F &&f) const
    {
        for (quint64 i = m_oldCursor; i < m_old.capacity(); ++i) {   // not moved yet
            if (m_old.cells[i].ref != kEmpty)
                f(*record(m_old.cells[i].ref));
        }
        for (quint64 i = 0; i < m_table.capacity(); ++i) {
            if (m_table.cells[i].ref != kEmpty)
                f(*record(m_table.cells[i].ref));
        }
    }

    // Walks the clients a slice at a time, for a reader that must not stop the node's thread
    // for a whole pass: calls f(const ClientRecord &) for the records in at most `maxCells` table
    // cells from `cursor` on and returns the cursor to go on from, or -1 when the walk is done.
    // A walk stays valid while layout() is unchanged; when it changed (the table grew), start
    // again from 0 (a record may then be seen twice, none is missed). While the table grows,
    // walkSlice() first finishes moving it (in slices: it returns `cursor` until done).
    template <typename F>
    qint64 walkSlice(qint64 cursor, quint64 maxCells, F &&f)
    {
        if (m_old.capacity()) {
            migrate(maxCells);
            return cursor;
        }
        const quint64 end = std::min<quint64>(quint64(cursor) + maxCells, m_table.capacity());
        for (quint64 i = quint64(cursor); i < end; ++i) {
            if (m_table.cells[i].ref != kEmpty)
                f(*record(m_table.cells[i].ref));
        }
        return end >= m_table.capacity() ? -1 : qint64(end);
    }
    int layout() const { return m_table.bits; }

    // Accounting, for benchmarks and stats: bytes held (arena chunks, big records, tables) and
    // the part of it sitting in free lists.
    qint64 memoryBytes() const;
    qint64 freeBytes() const { return m_freeBytes; }

private:
    struct Slot {
        quint32 hash;   // high 32 bits of the client's hash; its top bits are the home slot
        quint32 ref;    // block handle (8-byte units into the arena), or kEmpty
    };
    struct Table {
        Slot *cells = nullptr;   // zero-filled (all kEmpty): see allocateCells()
        int bits = 0;            // capacity 2^bits
        quint64 capacity() const { return cells ? quint64(1) << bits : 0; }
        quint32 home(quint32 hash) const { return bits ? hash >> (32 - bits) : 0; }
    };

    static constexpr quint32 kEmpty = 0;             // handle 0 is reserved, never a block
    static constexpr int kChunkShift = 21;           // arena chunks: 64 KiB doubling up to 2 MiB
    static constexpr int kUnitShift = 3;             // handles count 8-byte units
    static constexpr int kUnitsPerChunkShift = kChunkShift - kUnitShift;
    static constexpr quint32 kMaxChunks = 1u << (32 - kUnitsPerChunkShift);
    static constexpr quint64 kMigrateStep = 16;      // old cells moved per offer() while growing

    static constexpr int kSmallClasses = 256;        // 8, 16, ... 2048 bytes
    static constexpr int kMediumClasses = 40;        // 8 per doubling, 2 KiB .. 64 KiB
    static constexpr int kClasses = kSmallClasses + kMediumClasses;
    static constexpr qsizetype kMaxClassBytes = 64 * 1024;
    static int classOf(qsizetype bytes);             // -1: bigger than kMaxClassBytes
    static qsizetype classBytes(int cls);

    quint32 hashOf(QByteArrayView client) const;
    static bool matches(const ClientRecord &r, QByteArrayView client);
    // The slot holding `client` in `t`, or null. Cells below `from` are not read (the old
    // table's moved part, maybe already unmapped).
    const Slot *probe(const Table &t, quint64 from, quint32 hash, QByteArrayView client) const;
    static void place(Table &t, Slot s);             // into the first empty slot from its home
    void grow();
    void migrate(quint64 count);
    void dropOld();                                  // frees what is left of the old table

    // A handle's bytes: chunk id in the high bits, 8-byte unit within the chunk in the low ones.
    char *block(quint32 ref) const
    {
        return m_chunks[ref >> kUnitsPerChunkShift]
               + (qsizetype(ref & ((1u << kUnitsPerChunkShift) - 1)) << kUnitShift);
    }
    const ClientRecord *record(quint32 ref) const { return reinterpret_cast<const ClientRecord *>(block(ref)); }
    ClientRecord *record(quint32 ref) { return reinterpret_cast<ClientRecord *>(block(ref)); }
    quint32 allocate(qsizetype bytes);               // a block of at least `bytes`; a handle
    void release(quint32 ref, qsizetype bytes);
    quint32 newChunkId(char *memory, qsizetype bytes);

    Table m_table;               // where new clients go
    Table m_old;                 // while growing: the previous table, drained from m_oldCursor
    quint64 m_oldCursor = 0;     // cells of m_old below it are moved
    quint64 m_oldReleased = 0;   // cells of m_old below it are unmapped
    qsizetype m_size = 0;
    quint64 m_seq = 0;
    quint64 m_epoch;
    size_t m_seed;

    std::vector<char *> m_chunks;           // chunk id -> memory (null: a free id)
    int m_arenaChunks = 0;                  // arena chunks so far (big records not counted)
    std::vector<quint32> m_freeChunkIds;    // ids of released big records
    quint64 m_bump = 0;                     // next free unit in the current chunk (a handle)
    quint64 m_bumpEnd = 0;                  // end of the current chunk (a handle)
    std::array<quint32, kClasses> m_freeLists{};   // per class: first free block, 0 if none
    qint64 m_chunkBytes = 0;                // arena chunks + big records
    qint64 m_freeBytes = 0;
};

} // namespace herd
