#!/usr/bin/env bash
# herd against the epoll ceiling, in one run on this machine: the IAMAT rate of a
# single herd node and of herd-epoll-ceiling (a bare single-threaded epoll line server) under the
# same herd-bench load, and their ratio.
#
#   bench/compare.sh [BUILD_DIR]          (default: build; builds nothing)
#
# Environment:
#   DURATION  measured seconds per run (default 5)
#   LOG_LEVEL herd's log level: io (default, every line), events or off
#   WARMUP    warm-up seconds per run (default 1)
#   CLIENTS   new (a fresh client ID per request: the store grows by millions) or repeat
#             (a pool of 10,000 IDs), default new
#   ROUNDS    runs of each (server, load) pair, alternating ceiling and herd; the table keeps
#             each pair's best run, since other work on the machine only ever lowers a figure
#             (default 1)
#   PIN       1: pin the servers and the generator to different CPUs with taskset (default when
#             there are 2+ CPUs), 0: leave placement to the scheduler
#
# Besides rates, it prints each server's CPU time per request (user + system, all its threads,
# from /proc, over the whole run including the warm-up, divided by the requests sent): other work
# on the machine lowers a rate a lot but a server's CPU per request much less, so the CPU ratio
# (ceiling's CPU per request / herd's) is the steadier comparison on a shared machine.
#
# herd runs --headless with a temporary one-node config: offline Places, logging on (into a
# temporary directory, deleted afterwards). Each herd run gets a freshly started node, so no run
# inherits the clients stored by the one before. Pinning: on 2 CPUs the servers get CPU 0 and
# herd-bench CPU 1. Left to the scheduler, loopback wake-ups often put server and generator on one
# CPU and the figures swing by 2x from run to run.
set -euo pipefail

BUILD_DIR=${1:-build}
DURATION=${DURATION:-5}
LOG_LEVEL=${LOG_LEVEL:-io}   # the node's log level: io (every line), events or off
WARMUP=${WARMUP:-1}
CLIENTS=${CLIENTS:-new}
ROUNDS=${ROUNDS:-1}
CPUS=$(nproc)
PIN=${PIN:-$([ "$CPUS" -ge 2 ] && echo 1 || echo 0)}

die() { echo "compare.sh: $*" >&2; exit 2; }

# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
find_tools "$BUILD_DIR" app/herd bench/herd-bench bench/herd-epoll-ceiling
HERD=$BUILD_DIR/app/herd
BENCH=$BUILD_DIR/bench/herd-bench
CEILING=$BUILD_DIR/bench/herd-epoll-ceiling
[[ $CLIENTS == new || $CLIENTS == repeat ]] || die "CLIENTS must be new or repeat"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"

setup_pinning "$PIN" servers

TMP=$(mktemp -d "${TMPDIR:-/tmp}/herd-compare.XXXXXX")
HERD_PID=
CEILING_PID=
stop() {   # stop PID: SIGTERM, then wait (it is our child)
    [ -n "$1" ] || return 0
    kill "$1" 2> /dev/null || true
    wait "$1" 2> /dev/null || true
}
cleanup() {
    stop "$HERD_PID"
    stop "$CEILING_PID"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # exit runs the EXIT trap

# Waits (up to 10 s) until PORT accepts connections; fails at once if PID has exited.
wait_for_port() {
    local port=$1 pid=$2 log=$3 i
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2> /dev/null || { cat "$log" >&2; die "server (pid $pid) exited before listening"; }
        if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
            return 0
        fi
        sleep 0.05
    done
    cat "$log" >&2
    die "nothing listening on port $port after 10 s"
}

# --- herd: one node, offline Places, logs on --------------------------------------------------
LOG_BYTES=0
start_herd() {
    local attempt
    for attempt in 1 2 3; do   # free-port can race with another process taking the port
        HERD_PORT=$("$BENCH" free-port)
        rm -rf "$TMP/logs"
        cat > "$TMP/herd.json" << EOF
{
    "nodes": [ { "name": "Bench", "host": "127.0.0.1", "port": $HERD_PORT } ],
    "places": { "provider": "offline" },
    "log_dir": "$TMP/logs",
    "log_level": "$LOG_LEVEL"
}
EOF
        (cd "$TMP" && exec "${SERVER_PIN[@]}" "$HERD" --headless --config "$TMP/herd.json" --stats-interval 0) \
            > "$TMP/herd.out" 2>&1 &
        HERD_PID=$!
        sleep 0.05
        if kill -0 "$HERD_PID" 2> /dev/null || ! grep -q "in use" "$TMP/herd.out"; then
            wait_for_port "$HERD_PORT" "$HERD_PID" "$TMP/herd.out"
            return 0
        fi
        wait "$HERD_PID" 2> /dev/null || true
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
    LOG_BYTES=$((LOG_BYTES + $(du -sb "$TMP/logs" 2> /dev/null | cut -f1 || true) + 0))
    # Deleting the logs at once drops their dirty pages: written back later, they would compete
    # with the next run for the CPUs (hundreds of MiB per run).
    rm -rf "$TMP/logs"
}

# Other work on the machine (a build, a test run) skews every figure: say so up front.
read -r LOAD1 _ < /proc/loadavg
if awk -v l="$LOAD1" 'BEGIN { exit !(l >= 0.5) }'; then
    echo "warning: load average $LOAD1 before starting: other work is running, figures will be low and noisy" >&2
fi

# --- the ceiling: picks its own port and prints it ---------------------------------------------
"${SERVER_PIN[@]}" "$CEILING" --port 0 > "$TMP/ceiling.out" 2>&1 &
CEILING_PID=$!
CEILING_PORT=
for ((i = 0; i < 200; i++)); do
    CEILING_PORT=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$TMP/ceiling.out")
    [ -n "$CEILING_PORT" ] && break
    kill -0 "$CEILING_PID" 2> /dev/null || { cat "$TMP/ceiling.out" >&2; die "herd-epoll-ceiling exited"; }
    sleep 0.05
done
[ -n "$CEILING_PORT" ] || die "herd-epoll-ceiling printed no port"
wait_for_port "$CEILING_PORT" "$CEILING_PID" "$TMP/ceiling.out"

json_field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<< "$2"; }
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2> /dev/null || echo 0; }   # utime + stime

# Runs herd-bench iamat; prints its table (a record of the run) and keeps the figures of the
# best run so far of this (server, load) pair; errors add up over all runs.
declare -A RPS P50 P99 ERR ALL CPU
run() {
    local name=$1 port=$2 conns=$3 depth=$4 pid=$5 out json key=$1.$3.$4 rps t0 t1 cpu
    echo "== $name, $conns connections x depth $depth, clients $CLIENTS"
    t0=$(cpu_ticks "$pid")
    out=$("${BENCH_PIN[@]}" "$BENCH" iamat --port "$port" --connections "$conns" --depth "$depth" \
        --duration "$DURATION" --warmup "$WARMUP" --clients "$CLIENTS") || true
    t1=$(cpu_ticks "$pid")
    echo "$out" | sed '$d'
    json=$(echo "$out" | tail -n 1)
    [[ $json == '{"mode":"iamat"'* ]] || die "herd-bench failed against $name"
    rps=$(json_field requests_per_s "$json")
    cpu=$(awk -v a="$t0" -v b="$t1" -v s="$(json_field sent "$json")" -v hz="$CLK_TCK" \
        'BEGIN { printf "%.3f", (s > 0 ? (b - a) * 1e6 / hz / s : 0) }')
    echo "server CPU: $cpu us per request"
    ALL[$key]="${ALL[$key]:-}${ALL[$key]:+ }${rps%.*}"
    # The lowest CPU per request over the rounds, like the best rate.
    if [ -z "${CPU[$key]:-}" ] || awk -v a="$cpu" -v b="${CPU[$key]}" 'BEGIN { exit !(a < b) }'; then
        CPU[$key]=$cpu
    fi
    ERR[$key]=$((${ERR[$key]:-0} + $(json_field errors "$json")))
    if [ -z "${RPS[$key]:-}" ] || awk -v a="$rps" -v b="${RPS[$key]}" 'BEGIN { exit !(a > b) }'; then
        RPS[$key]=$rps
        P50[$key]=$(json_field p50_us "$json")
        P99[$key]=$(json_field p99_us "$json")
    fi
}

CONFIGS=("64 16" "16 1")
for ((round = 1; round <= ROUNDS; round++)); do
    for cfg in "${CONFIGS[@]}"; do
        read -r c d <<< "$cfg"
        run ceiling "$CEILING_PORT" "$c" "$d" "$CEILING_PID"
        start_herd
        run herd "$HERD_PORT" "$c" "$d" "$HERD_PID"
        stop_herd
    done
done
stop "$CEILING_PID"
CEILING_PID=

echo
echo "herd vs herd-epoll-ceiling: IAMAT, clients $CLIENTS, ${DURATION} s after ${WARMUP} s warm-up, best of $ROUNDS"
echo "load average before: $LOAD1; machine: $CPUS CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(uname -sr), pinning: $PINNING"
printf '%-10s %12s %12s %7s %7s %20s %20s %7s\n' load "herd req/s" "ceiling/s" ratio target \
    "herd p50/p99 us" "ceiling p50/p99 us" errors
for cfg in "${CONFIGS[@]}"; do
    read -r c d <<< "$cfg"
    h=herd.$c.$d
    e=ceiling.$c.$d
    target=$([ "$d" -gt 1 ] && echo 0.50 || echo 0.70)
    awk -v load="$c x $d" -v h="${RPS[$h]}" -v e="${RPS[$e]}" -v t="$target" \
        -v hl="${P50[$h]}/${P99[$h]}" -v el="${P50[$e]}/${P99[$e]}" -v err="$((ERR[$h] + ERR[$e]))" \
        'BEGIN { r = e > 0 ? h / e : 0;
                 printf "%-10s %12.0f %12.0f %7.3f %7s %20s %20s %7s\n", load, h, e, r,
                        (r >= t ? ">=" : "<") t, hl, el, err }'
done
printf '%-10s %16s %16s %10s\n' load "herd CPU us/req" "ceiling us/req" "CPU ratio"
for cfg in "${CONFIGS[@]}"; do
    read -r c d <<< "$cfg"
    awk -v load="$c x $d" -v h="${CPU[herd.$c.$d]}" -v e="${CPU[ceiling.$c.$d]}" \
        'BEGIN { printf "%-10s %16.3f %16.3f %10.3f\n", load, h, e, (h > 0 ? e / h : 0) }'
done
if [ "$ROUNDS" -gt 1 ]; then
    for cfg in "${CONFIGS[@]}"; do
        read -r c d <<< "$cfg"
        echo "all runs, $c x $d: herd ${ALL[herd.$c.$d]}; ceiling ${ALL[ceiling.$c.$d]}"
    done
fi
echo "herd logs written during its runs: $((LOG_BYTES / 1024 / 1024)) MiB (log level $LOG_LEVEL)"
