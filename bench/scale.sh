#!/usr/bin/env bash
# How herd's cost grows: a table of throughput and memory
#   A. with the number of clients a node holds: 1k, 10k, 100k, 1M, one node;
#   B. with the number of nodes in one process: 5, 10, 15, 20, 25, every update flooded to all.
#
#   bench/scale.sh [BUILD_DIR]          (default: build; builds nothing)
#
# Environment:
#   QUICK=1    small sizes only (1k and 10k clients; 5 and 10 nodes) and 1 s runs: checks that
#              the script works, in about 15 s
#   CLIENTS    the store sizes of part A (default "1000 10000 100000 1000000"; "" skips A)
#   NODES      the node counts of part B (default "5 10 15 20 25"; "" skips B)
#   DURATION   measured seconds per load run (default 2)
#   WARMUP     warm-up seconds per load run (default 0.5)
#   UPDATES    flood completion: updates measured per herd (default 500)
#   PIN        1: herd on CPU 0, herd-bench on the last CPU, with taskset (default when there are
#              2+ CPUs), 0: leave placement to the scheduler
#
# Every herd is a fresh `herd --headless` process with a temporary config: offline Places,
# logging on (log_dir in a temporary directory, deleted after each herd), as compare.sh does.
#
# A. For each N: start one node; RSS (VmRSS of /proc/PID/status) empty; `herd-bench preload`
#    stores N distinct clients; once the process is idle again, RSS and bytes per client
#    ((RSS after - RSS empty) / N). Then, DURATION s each after WARMUP:
#    - IAMAT 64 connections x depth 16 repeating the N stored clients (--clients repeat --pool N
#      --tag: every update newer, so stored, and the store stays at N), with the server's CPU time
#      per IAMAT over the measured window (utime + stime of /proc/PID/stat);
#    - WHATSAT 16 x 4 over the stored clients (radius 10, bound 5, offline Places);
#    - IAMAT 64 x 16 with new clients (the store grows by ~1M during the run).
# B. For each K: one process hosting K nodes on a circulant graph: a ring (node i linked to i+1)
#    plus chords from node i to node i+s, s = round(sqrt(K)), so every node has 4 neighbours (K=5
#    is then the complete graph) and the diameter grows like sqrt(K) (printed). Then:
#    - flood completion idle (`herd-bench flood --spread`, UPDATES updates, each sent to the next
#      node in turn, time until every node answers WHATSAT with it), p50 and p99;
#    - RSS with the links up and nothing stored, and RSS / K;
#    - herd-wide IAMAT throughput with the load spread over all nodes (64 connections rounded up to
#      a multiple of K, depth 16, new clients, each stored by all K nodes), then --verify 1000
#      --verify-ports ALL (1000 acknowledged clients asked at every node: none missing?);
#      server CPU per accepted update over the measured window, and per store (/ K);
#    - RSS after that load.
# The CPU figures include everything in the process (the log writer thread, heartbeats, floods
# between the nodes). With the server pinned to one CPU and saturated, CPU per update is about
# 1 / rate: the "cpu %" column says how busy the process was.
#
# Output: a table per part, then one JSON line per row ({"bench":"scale","part":...}). Exit
# status 1 when some run had errors or lost updates, 2 on a setup error.
set -euo pipefail

BUILD_DIR=${1:-build}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    CLIENTS=${CLIENTS-1000 10000}
    NODES=${NODES-5 10}
    DURATION=${DURATION:-1}
    WARMUP=${WARMUP:-0.3}
    UPDATES=${UPDATES:-200}
else
    CLIENTS=${CLIENTS-1000 10000 100000 1000000}
    NODES=${NODES-5 10 15 20 25}
    DURATION=${DURATION:-2}
    WARMUP=${WARMUP:-0.5}
    UPDATES=${UPDATES:-500}
fi
CPUS=$(nproc)
PIN=${PIN:-$([ "$CPUS" -ge 2 ] && echo 1 || echo 0)}
TICK=$(getconf CLK_TCK)

die() { echo "scale.sh: $*" >&2; exit 2; }

# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
find_tools "$BUILD_DIR" app/herd bench/herd-bench
HERD=$BUILD_DIR/app/herd
BENCH=$BUILD_DIR/bench/herd-bench
for n in $CLIENTS; do [[ $n =~ ^[1-9][0-9]*$ ]] || die "CLIENTS: not a positive integer: \"$n\""; done
for k in $NODES; do
    if ! [[ $k =~ ^[0-9]+$ ]] || [ "$k" -lt 2 ]; then die "NODES: not an integer >= 2: \"$k\""; fi
done

setup_pinning "$PIN" herd

TMP=$(mktemp -d "${TMPDIR:-/tmp}/herd-scale.XXXXXX")
HERD_PID=
FAILURES=0
cleanup() {
    if [ -n "$HERD_PID" ]; then
        kill "$HERD_PID" 2> /dev/null || true
        wait "$HERD_PID" 2> /dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # exit runs the EXIT trap

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$HERD_PID/status"; }
# utime + stime of the herd process, in clock ticks (the command name "(herd)" has no spaces).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$HERD_PID/stat"; }
now_s() { date +%s.%N; }
json_field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<< "$2" | head -n 1; }
# The first number of a "phases" array element (flood: the idle phase comes first).
json_first() { grep -o "\"$1\":[0-9.]*" <<< "$2" | head -n 1 | cut -d: -f2; }

# Waits (up to 10 s) until PORT accepts connections; returns 1 at once if herd has exited.
wait_for_port() {
    local port=$1 i
    for ((i = 0; i < 200; i++)); do
        kill -0 "$HERD_PID" 2> /dev/null || return 1
        if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
            return 0
        fi
        sleep 0.05
    done
    cat "$TMP/herd.out" >&2
    die "nothing listening on port $port after 10 s"
}

# Waits until the herd process has used (almost) no CPU for 0.3 s, at most 10 s: the log writer
# and the floods are done, so RSS and CPU samples see a settled process.
wait_idle() {
    local i a b
    a=$(cpu_ticks)
    for ((i = 0; i < 33; i++)); do
        sleep 0.3
        b=$(cpu_ticks)
        [ $((b - a)) -le 1 ] && return 0
        a=$b
    done
}

# PORTS: K distinct ports that are free right now.
free_ports() {
    local k=$1 p
    PORTS=()
    declare -A seen=()
    while [ "${#PORTS[@]}" -lt "$k" ]; do
        p=$("$BENCH" free-port)
        [ -n "${seen[$p]:-}" ] && continue
        seen[$p]=1
        PORTS+=("$p")
    done
}

# LINKS: the circulant graph C_K(1, s): i -- i+1 and i -- i+s (mod K), without duplicates.
make_links() {
    local k=$1 s=$2 i j a b d
    LINKS=()
    declare -A have=()
    for ((i = 0; i < k; i++)); do
        for d in 1 "$s"; do
            j=$(((i + d) % k))
            [ "$i" = "$j" ] && continue
            a=$((i < j ? i : j))
            b=$((i < j ? j : i))
            [ -n "${have[$a.$b]:-}" ] && continue
            have[$a.$b]=1
            LINKS+=("$a $b")
        done
    done
}

# The diameter of LINKS over K nodes (breadth-first search from every node).
diameter() {
    local k=$1
    printf '%s\n' "${LINKS[@]}" | awk -v k="$k" '
        { adj[$1] = adj[$1] " " $2; adj[$2] = adj[$2] " " $1 }
        END {
            best = 0
            for (s = 0; s < k; s++) {
                delete dist; dist[s] = 0; q[0] = s; head = 0; tail = 1
                while (head < tail) {
                    u = q[head++]; n = split(adj[u], nb, " ")
                    for (x = 1; x <= n; x++) if (!(nb[x] in dist)) { dist[nb[x]] = dist[u] + 1; q[tail++] = nb[x] }
                }
                if (tail < k) { print -1; exit }
                for (v in dist) if (dist[v] > best) best = dist[v]
            }
            print best
        }'
}

# Starts herd: WRITE_CONFIG (a function) picks PORTS and writes $TMP/herd.json. Tried three
# times, since another process may take a port between free-port and herd's bind.
start_herd() {
    local write_config=$1 attempt p ok
    for attempt in 1 2 3; do
        "$write_config"
        rm -rf "$TMP/logs"
        (cd "$TMP" && exec "${SERVER_PIN[@]}" "$HERD" --headless --config "$TMP/herd.json" --stats-interval 0) \
            > "$TMP/herd.out" 2>&1 &
        HERD_PID=$!
        ok=1
        for p in "${PORTS[@]}"; do
            wait_for_port "$p" || { ok=0; break; }
        done
        [ "$ok" = 1 ] && return 0
        wait "$HERD_PID" 2> /dev/null || true
        HERD_PID=
        grep -q "in use" "$TMP/herd.out" || break
        echo "note: a port was taken (attempt $attempt), new ports" >&2
    done
    cat "$TMP/herd.out" >&2
    die "herd would not start"
}
stop_herd() {
    local rc=0
    kill "$HERD_PID" 2> /dev/null || true
    wait "$HERD_PID" || rc=$?
    HERD_PID=
    [ "$rc" = 0 ] || echo "note: herd exited with status $rc on SIGTERM" >&2
    # Deleting the logs at once drops their dirty pages before the next herd starts.
    rm -rf "$TMP/logs"
}

# Runs herd-bench ARGS... pinned, sampling the herd's CPU time over its measured window
# (from WARMUP + 0.1 s after the start to 0.1 s before the end). Sets OUT (its output), JSON
# (its last line) and CPU_S (herd CPU seconds per second of that window).
bench_sampled() {
    local c1 t1 c2 t2 pid rc=0
    "${BENCH_PIN[@]}" "$BENCH" "$@" > "$TMP/bench.out" 2>&1 &
    pid=$!
    sleep "$(awk -v w="$WARMUP" 'BEGIN { print w + 0.1 }')"
    c1=$(cpu_ticks)
    t1=$(now_s)
    sleep "$(awk -v d="$DURATION" 'BEGIN { print (d > 0.4 ? d - 0.2 : d / 2) }')"
    c2=$(cpu_ticks)
    t2=$(now_s)
    wait "$pid" || rc=$?
    OUT=$(cat "$TMP/bench.out")
    JSON=$(tail -n 1 <<< "$OUT")
    [[ $JSON == '{"mode":'* ]] || { echo "$OUT" >&2; die "herd-bench $1 failed"; }
    [ "$rc" = 0 ] || { FAILURES=$((FAILURES + 1)); echo "$OUT" | sed '$d' >&2; }
    CPU_S=$(awk -v c=$((c2 - c1)) -v tk="$TICK" -v a="$t1" -v b="$t2" 'BEGIN { print c / tk / (b - a) }')
}
bench_plain() {
    local rc=0
    OUT=$("${BENCH_PIN[@]}" "$BENCH" "$@" 2>&1) || rc=$?
    JSON=$(tail -n 1 <<< "$OUT")
    [[ $JSON == '{"mode":'* ]] || { echo "$OUT" >&2; die "herd-bench $1 failed"; }
    [ "$rc" = 0 ] || { FAILURES=$((FAILURES + 1)); echo "$OUT" | sed '$d' >&2; }
}

LOAD_START=$(loadavg)
echo "herd scale: $(date -u +%Y-%m-%dT%H:%M:%SZ), $CPUS CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(uname -sr)"
echo "pinning: $PINNING; ${DURATION} s per load run after ${WARMUP} s warm-up; logging on, offline Places"
echo "load average before: $LOAD_START"
if awk -v l="${LOAD_START%% *}" 'BEGIN { exit !(l >= 0.5) }'; then
    echo "warning: load average ${LOAD_START%% *}: other work is running, figures will be low and noisy" >&2
fi

JSON_LINES=()

# --- A. clients ----------------------------------------------------------------------------------
config_one_node() {
    free_ports 1
    cat > "$TMP/herd.json" << EOF
{
    "nodes": [ { "name": "Bench", "host": "127.0.0.1", "port": ${PORTS[0]} } ],
    "places": { "provider": "offline" },
    "log_dir": "$TMP/logs"
}
EOF
}
ROWS_A=()
for N in $CLIENTS; do
    start_herd config_one_node
    wait_idle
    RSS0=$(rss_kib)
    TAG="s$N."
    bench_plain preload --port "${PORTS[0]}" --pool "$N" --tag "$TAG"
    PRE_RATE=$(json_field requests_per_s "$JSON")
    ERR=$(json_field errors "$JSON")
    wait_idle
    RSS1=$(rss_kib)
    bench_sampled iamat --port "${PORTS[0]}" --connections 64 --depth 16 --clients repeat --pool "$N" \
        --tag "$TAG" --duration "$DURATION" --warmup "$WARMUP"
    REP=$(json_field requests_per_s "$JSON")
    REP_P99=$(json_field p99_us "$JSON")
    REP_CPU=$CPU_S
    ERR=$((ERR + $(json_field errors "$JSON")))
    bench_plain whatsat --port "${PORTS[0]}" --connections 16 --depth 4 --pool "$N" --tag "$TAG" \
        --duration "$DURATION" --warmup "$WARMUP"
    WS=$(json_field requests_per_s "$JSON")
    ERR=$((ERR + $(json_field errors "$JSON")))
    bench_plain iamat --port "${PORTS[0]}" --connections 64 --depth 16 --clients new \
        --duration "$DURATION" --warmup "$WARMUP"
    NEW=$(json_field requests_per_s "$JSON")
    ERR=$((ERR + $(json_field errors "$JSON")))
    stop_herd
    ROW=$(awk -v n="$N" -v r0="$RSS0" -v r1="$RSS1" -v pre="$PRE_RATE" -v rep="$REP" -v p99="$REP_P99" \
        -v cpu="$REP_CPU" -v ws="$WS" -v new="$NEW" -v err="$ERR" 'BEGIN {
            bpc = (r1 - r0) * 1024 / n; cpuus = rep > 0 ? cpu * 1e6 / rep : 0
            printf "%9d %10.1f %10.1f %8.0f %11.0f %10.0f %8.0f %6.0f %7.2f %9.0f %9.0f %6d\n",
                n, r0 / 1024, r1 / 1024, bpc, pre, rep, p99, cpu * 100, cpuus, ws, new, err
            printf "{\"bench\":\"scale\",\"part\":\"clients\",\"clients\":%d,\"rss_empty_kib\":%d,\"rss_kib\":%d,\"bytes_per_client\":%.1f,\"preload_per_s\":%.0f,\"iamat_repeat_per_s\":%.0f,\"iamat_repeat_p99_us\":%.1f,\"cpu_busy\":%.3f,\"cpu_us_per_iamat\":%.3f,\"whatsat_per_s\":%.0f,\"iamat_new_per_s\":%.0f,\"errors\":%d}\n",
                n, r0, r1, bpc, pre, rep, p99, cpu, cpuus, ws, new, err }')
    ROWS_A+=("$(head -n 1 <<< "$ROW")")
    JSON_LINES+=("$(tail -n 1 <<< "$ROW")")
    echo "  clients $N done (load average $(loadavg))" >&2
done

# --- B. nodes ------------------------------------------------------------------------------------
config_k_nodes() {   # K nodes, links in LINKS
    local i a b sep
    free_ports "$K"
    {
        echo '{'
        echo '    "nodes": ['
        for ((i = 0; i < K; i++)); do
            sep=,
            [ "$i" -lt $((K - 1)) ] || sep=
            printf '        { "name": "N%02d", "host": "127.0.0.1", "port": %d }%s\n' $((i + 1)) "${PORTS[$i]}" "$sep"
        done
        echo '    ],'
        echo '    "links": ['
        for ((i = 0; i < ${#LINKS[@]}; i++)); do
            read -r a b <<< "${LINKS[$i]}"
            sep=,
            [ "$i" -lt $((${#LINKS[@]} - 1)) ] || sep=
            printf '        ["N%02d", "N%02d"]%s\n' $((a + 1)) $((b + 1)) "$sep"
        done
        echo '    ],'
        echo '    "places": { "provider": "offline" },'
        echo "    \"log_dir\": \"$TMP/logs\""
        echo '}'
    } > "$TMP/herd.json"
}
ROWS_B=()
for K in $NODES; do
    S=$(awk -v k="$K" 'BEGIN { s = int(sqrt(k) + 0.5); if (s < 2) s = 2; print s }')
    make_links "$K" "$S"
    DIAM=$(diameter "$K")
    start_herd config_k_nodes
    ALL=$(IFS=,; echo "${PORTS[*]}")
    # flood waits (up to 10 s) until an update reaches every node: the links are up.
    bench_plain flood --ports "$ALL" --updates "$UPDATES" --spread
    F50=$(json_first p50_us "$JSON")
    F99=$(json_first p99_us "$JSON")
    ERR=$(json_first lost "$JSON")
    wait_idle
    RSS0=$(rss_kib)
    CONNS=$(((64 + K - 1) / K * K))
    bench_sampled iamat --ports "$ALL" --connections "$CONNS" --depth 16 --clients new \
        --duration "$DURATION" --warmup "$WARMUP" --verify 1000 --verify-ports "$ALL"
    UPS=$(json_field requests_per_s "$JSON")
    SENT=$(json_field sent "$JSON")
    ERR=$((ERR + $(json_field errors "$JSON")))
    MISSING=$(json_field verify_missing "$JSON")
    CHECKED=$(json_field verify_checked "$JSON")
    ERR=$((ERR + MISSING))
    CPU=$CPU_S
    wait_idle
    RSS1=$(rss_kib)
    stop_herd
    # Marginal memory of a node: idle RSS growth per added node since the first K of the list.
    FIRST_K=${FIRST_K:-$K}
    FIRST_RSS=${FIRST_RSS:-$RSS0}
    ROW=$(awk -v k="$K" -v s="$S" -v links="${#LINKS[@]}" -v d="$DIAM" -v f50="$F50" -v f99="$F99" \
        -v r0="$RSS0" -v r1="$RSS1" -v ups="$UPS" -v sent="$SENT" -v cpu="$CPU" -v miss="$MISSING" \
        -v chk="$CHECKED" -v conns="$CONNS" -v err="$ERR" -v k0="$FIRST_K" -v rk0="$FIRST_RSS" 'BEGIN {
            cpuus = ups > 0 ? cpu * 1e6 / ups : 0
            marg = k > k0 ? (r0 - rk0) / (k - k0) : -1
            bpc = sent > 0 ? (r1 - r0) * 1024 / (sent * k) : 0
            printf "%5d %7s %4d %8.0f %8.0f %9.1f %8.2f %8s %10.0f %6.0f %9.2f %9.3f %12s %9.1f %8.0f %6d\n",
                k, links "/" s, d, f50, f99, r0 / 1024, r0 / 1024 / k, marg < 0 ? "-" : sprintf("%.0f", marg),
                ups, cpu * 100, cpuus, cpuus / k, miss "/" chk, r1 / 1024, bpc, err
            printf "{\"bench\":\"scale\",\"part\":\"nodes\",\"nodes\":%d,\"links\":%d,\"chord\":%d,\"diameter\":%d,\"flood_p50_us\":%.1f,\"flood_p99_us\":%.1f,\"rss_idle_kib\":%d,\"rss_per_node_kib\":%.1f,\"rss_marginal_kib_per_node\":%s,\"connections\":%d,\"updates_per_s\":%.0f,\"updates_sent\":%d,\"cpu_busy\":%.3f,\"cpu_us_per_update\":%.3f,\"cpu_us_per_store\":%.4f,\"verify_missing\":%d,\"verify_checked\":%d,\"rss_after_kib\":%d,\"bytes_per_client_per_node\":%.1f,\"errors\":%d}\n",
                k, links, s, d, f50, f99, r0, r0 / k, marg < 0 ? "null" : sprintf("%.1f", marg), conns, ups, sent, cpu, cpuus, cpuus / k, miss, chk, r1, bpc, err }')
    ROWS_B+=("$(head -n 1 <<< "$ROW")")
    JSON_LINES+=("$(tail -n 1 <<< "$ROW")")
    echo "  nodes $K done (load average $(loadavg))" >&2
done

echo
if [ "${#ROWS_A[@]}" -gt 0 ]; then
    echo "A. one node holding N clients: RSS empty and after storing N; IAMAT 64x16 repeating the N"
    echo "   stored clients (store stays N) with its p99 and the server's CPU; WHATSAT 16x4; IAMAT 64x16 new clients"
    printf '%9s %10s %10s %8s %11s %10s %8s %6s %7s %9s %9s %6s\n' clients "RSS0 MiB" "RSS MiB" "B/client" \
        "preload/s" "repeat/s" "p99 us" "cpu %" "us/IAMAT" "WHATSAT/s" "new/s" errors
    printf '%s\n' "${ROWS_A[@]}"
    echo
fi
if [ "${#ROWS_B[@]}" -gt 0 ]; then
    echo "B. K nodes in one process, ring + chords i--i+s (links/s), every update stored by all K nodes;"
    echo "   flood completion idle; RSS idle (links up, nothing stored); IAMAT spread over all nodes, new"
    echo "   clients: accepted updates/s herd-wide, server CPU per update and per store; missing/checked pairs"
    echo "   +KiB/node: idle RSS added per node beyond the first row; B/cl/node: RSS growth over the load"
    echo "   per update sent per node (every update is a new client, stored by each node)"
    printf '%5s %7s %4s %8s %8s %9s %8s %8s %10s %6s %9s %9s %12s %9s %8s %6s\n' nodes links/s diam "fl p50" \
        "fl p99" "RSS MiB" "MiB/node" "+KiB/nd" "updates/s" "cpu %" "us/upd" "us/store" missing "RSS2 MiB" \
        "B/cl/nd" errors
    printf '%s\n' "${ROWS_B[@]}"
    echo
fi
echo "load average before: $LOAD_START; after: $(loadavg)"
printf '%s\n' "${JSON_LINES[@]}"
[ "$FAILURES" = 0 ] && exit 0 || exit 1
