// herd-store-bench: the location store alone (server/locationstore.*), no sockets, no event loop.
//
//   herd-store-bench [--clients 10000,1000000,4000000] [--pause]
//
// For each size N (up to 10M): N new clients offered in random order (what `herd-bench iamat --clients new`
// does to a node), then N random finds of known clients, N offers of known clients that are not
// newer (a flood's duplicates), N newer offers (same line length) and N finds of unknown clients;
// ns per operation for each, and the memory the store holds per client (RSS growth while it
// was filled, and glibc's heap in use). --pause times every insert on its own (adds ~20 ns per
// insert) and reports the slowest: the longest the event loop would stop for one offer, rehash
// included; in wall time (which includes being preempted by other work on the machine) and in
// the thread's CPU time (which does not: the store's own pause, page faults included), and how
// many inserts took over 1 ms of CPU. Lines are realistic AT lines of ~85 bytes:
//   AT Hill +173790896.793442772 client-0001234 +34.068930-118.445127 1621464827.959498503
//
// Before/after: -DHERD_OLD_STORE builds it against the QHash store of commit 81c108a (its record
// has public fields, not accessors), by hand, e.g. with that tree's server/ in OLD:
//   Q="$(pkg-config --cflags Qt6Core) -fPIC -std=c++20 -O2 -DQT_NO_KEYWORDS -DHERD_OLD_STORE -I$OLD"
//   g++ $Q bench/storebench.cpp $OLD/locationstore.cpp -lQt6Core -o herd-store-bench-old
#include "locationstore.h"

#include <QByteArray>
#include <QByteArrayList>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <malloc.h>
#include <random>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
volatile size_t g_sink = 0;
using herd::protocol::Timestamp;

#ifdef HERD_OLD_STORE
QByteArrayView lineOf(const herd::ClientRecord *r) { return r->atLine; }
#else
QByteArrayView lineOf(const herd::ClientRecord *r) { return r->atLine(); }
#endif

double cpuMs()
{
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}

qint64 rssBytes()
{
    long pages = 0, resident = 0;
    if (FILE *f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        std::fclose(f);
    }
    return qint64(resident) * sysconf(_SC_PAGESIZE);
}

qint64 heapInUse()
{
    const struct mallinfo2 m = mallinfo2();
    return qint64(m.uordblks + m.hblkhd);   // allocated chunks (incl. their overhead) + mmapped
}

// One realistic AT line, rewritten in place for client i (7 digits): the bytes a node offers are
// always in cache (it has just built them), so the benchmark must not add misses of its own.
class LineMaker {
public:
    LineMaker(const char *origin, const char *prefix, qint64 sec)
    {
        m_at = std::snprintf(m_buf, sizeof m_buf, "AT %s +173790896.793442772 ", origin);
        m_digitsAt = m_at + std::snprintf(m_buf + m_at, sizeof m_buf - size_t(m_at), "%s", prefix);
        m_len = m_digitsAt + 7;
        m_len += std::snprintf(m_buf + m_len, sizeof m_buf - size_t(m_len), " +34.068930-118.445127 %lld.959498503",
                               static_cast<long long>(sec));
    }
    void set(size_t i)
    {
        for (int d = 6; d >= 0; --d, i /= 10)
            m_buf[m_digitsAt + d] = char('0' + i % 10);
    }
    QByteArrayView line() const { return {m_buf, m_len}; }
    QByteArrayView client() const { return {m_buf + m_at, m_digitsAt + 7 - m_at}; }

private:
    char m_buf[160];
    int m_at, m_digitsAt, m_len;
};

struct Result {
    double insertNs, findNs, dupNs, updateNs, missNs;
    double rssPerClient, heapPerClient, storePerClient;
    double worstPauseMs, worstCpuMs;
    size_t overMs;
};

template <typename F>
double nsPerOp(size_t n, F &&f)
{
    const auto t0 = Clock::now();
    for (size_t i = 0; i < n; ++i)
        f(i);
    return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / double(n);
}

Result run(size_t n, bool pause)
{
    std::mt19937_64 rng(n);
    std::vector<quint32> order(n);
    for (size_t i = 0; i < n; ++i)
        order[i] = quint32(i);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<quint32> probes(n);
    for (size_t i = 0; i < n; ++i)
        probes[i] = quint32(rng() % n);

    LineMaker first("Hill", "client-", 1621464827);
    LineMaker newer("Jaquez", "client-", 1621464828);   // 2 bytes longer: same block size
    LineMaker unknown("Hill", "nobody-", 1621464827);
    const Timestamp t1{1621464827, 959498503};
    const Timestamp t2{1621464828, 959498503};
    // The cost of the loop and of making the lines, without the store: subtracted below.
    const double overhead = nsPerOp(n, [&](size_t k) {
        first.set(order[k]);
        g_sink = g_sink + size_t(first.line()[first.line().size() - 1]);
    });

    Result r{};
    malloc_trim(0);
    const qint64 rss0 = rssBytes();
    const qint64 heap0 = heapInUse();
    auto *store = new herd::LocationStore;
    size_t sink = 0;
    if (pause) {
        double worst = 0;
        const auto t0 = Clock::now();
        for (size_t k = 0; k < n; ++k) {
            first.set(order[k]);
            const double c = cpuMs();
            const auto a = Clock::now();
            sink += store->offer(first.client(), t1, first.line());
            worst = std::max(worst, std::chrono::duration<double, std::milli>(Clock::now() - a).count());
            const double cpu = cpuMs() - c;
            r.worstCpuMs = std::max(r.worstCpuMs, cpu);
            r.overMs += cpu > 1 ? 1 : 0;
        }
        r.insertNs = std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / double(n);
        r.worstPauseMs = worst;
    } else {
        r.insertNs = nsPerOp(n, [&](size_t k) {
            first.set(order[k]);
            sink += store->offer(first.client(), t1, first.line());
        }) - overhead;
    }
    r.rssPerClient = double(rssBytes() - rss0) / double(n);
    r.heapPerClient = double(heapInUse() - heap0) / double(n);
#ifndef HERD_OLD_STORE
    r.storePerClient = double(store->memoryBytes()) / double(n);
#endif
    if (store->size() != qsizetype(n)) {
        std::fprintf(stderr, "size %lld, expected %zu\n", static_cast<long long>(store->size()), n);
        std::exit(1);
    }
    r.findNs = nsPerOp(n, [&](size_t k) {
        first.set(probes[k]);
        sink += size_t(lineOf(store->find(first.client())).size());
    }) - overhead;
    r.dupNs = nsPerOp(n, [&](size_t k) {
        first.set(probes[k]);
        sink += store->offer(first.client(), t1, first.line());   // equal time: not stored
    }) - overhead;
    r.updateNs = nsPerOp(n, [&](size_t k) {
        newer.set(order[k]);
        sink += store->offer(newer.client(), t2, newer.line());
    }) - overhead;
    r.missNs = nsPerOp(n, [&](size_t k) {
        unknown.set(probes[k]);
        sink += store->find(unknown.client()) ? 1 : 0;
    }) - overhead;
    g_sink = sink;   // the loops' results are used: nothing is optimised away
    for (size_t i = 0; i < n; i += std::max<size_t>(1, n / 1000)) {
        newer.set(i);
        if (lineOf(store->find(newer.client())) != newer.line()) {
            std::fprintf(stderr, "wrong line for %zu\n", i);
            std::exit(1);
        }
    }
    delete store;
    return r;
}

} // namespace

int main(int argc, char **argv)
{
    std::vector<size_t> sizes = {10'000, 1'000'000, 4'000'000};
    bool pause = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--clients") == 0 && i + 1 < argc) {
            sizes.clear();
            for (const QByteArray &n : QByteArray(argv[++i]).split(','))
                sizes.push_back(size_t(n.toULongLong()));
        } else if (std::strcmp(argv[i], "--pause") == 0) {
            pause = true;
        } else {
            std::fprintf(stderr, "usage: %s [--clients N,N,...] [--pause]\n", argv[0]);
            return 2;
        }
    }
    std::printf("%10s %9s %9s %9s %9s %9s %10s %10s %10s%s\n", "clients", "insert", "find", "dup",
                "update", "miss", "rss B/cl", "heap B/cl", "store B/cl", pause ? "  worst insert ms (wall, cpu, >1ms cpu)" : "");
    for (size_t n : sizes) {
        const Result r = run(n, pause);
        std::printf("%10zu %9.1f %9.1f %9.1f %9.1f %9.1f %10.1f %10.1f %10.1f", n, r.insertNs, r.findNs,
                    r.dupNs, r.updateNs, r.missNs, r.rssPerClient, r.heapPerClient, r.storePerClient);
        if (pause)
            std::printf("  %8.3f %8.3f %6zu", r.worstPauseMs, r.worstCpuMs, r.overMs);
        std::printf("\n");
        std::fflush(stdout);
    }
    std::printf("(ns per operation; B/cl: bytes per client)\n");
    return 0;
}
