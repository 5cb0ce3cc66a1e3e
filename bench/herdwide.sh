#!/usr/bin/env bash
# The herd-wide figure (docs/PERFORMANCE.md): one process hosting the classic five-node herd (Hill, Jaquez,
# Smith, Campbell, Singleton and their six links), IAMAT load with new client IDs spread over all
# five nodes, every update stored by every node; afterwards 1,000 acknowledged clients are asked
# at every node (none may be missing). Prints one line per run, then herd-bench's JSON lines.
#
#   bench/herdwide.sh [BUILD_DIR]          (default: build; builds nothing)
#
# Environment: ROUNDS (default 3), DURATION (measured seconds, default 5), PIN (1: herd on
# CPU 0 and herd-bench on CPU 1, the default on 2+ CPUs with one thread; 0: leave it to the
# scheduler), THREADS (herd --threads: network threads the five nodes are shared out over,
# default 1; more than one is never pinned).
# Offline Places, logging on into a temporary directory (deleted afterwards).
set -euo pipefail

BUILD_DIR=${1:-build}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
THREADS=${THREADS:-1}
CPUS=$(nproc)
PIN=${PIN:-$([ "$CPUS" -ge 2 ] && [ "$THREADS" = 1 ] && echo 1 || echo 0)}

die() { echo "herdwide.sh: $*" >&2; exit 2; }

# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
find_tools "$BUILD_DIR" app/herd bench/herd-bench
HERD=$BUILD_DIR/app/herd
BENCH=$BUILD_DIR/bench/herd-bench
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[[ $THREADS =~ ^[1-9][0-9]*$ ]] || die "THREADS must be a positive integer"

setup_pinning "$PIN" herd

WORK=$(mktemp -d)
HERD_PID=
cleanup() {
    [ -n "$HERD_PID" ] && kill "$HERD_PID" 2> /dev/null && wait "$HERD_PID" 2> /dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "load average before: $(cut -d' ' -f1 /proc/loadavg); $CPUS CPUs; herd threads: $THREADS; pinning: $PINNING"
failed=0
for ((round = 1; round <= ROUNDS; round++)); do
    ports=()
    for _ in 1 2 3 4 5; do ports+=("$("$BENCH" free-port)"); done
    rm -rf "$WORK/logs"
    cat > "$WORK/herd.json" << JSON
{ "nodes": [ { "name": "Hill", "port": ${ports[0]} }, { "name": "Jaquez", "port": ${ports[1]} },
             { "name": "Smith", "port": ${ports[2]} }, { "name": "Campbell", "port": ${ports[3]} },
             { "name": "Singleton", "port": ${ports[4]} } ],
  "links": [ ["Hill", "Jaquez"], ["Hill", "Smith"], ["Singleton", "Jaquez"], ["Singleton", "Smith"],
             ["Singleton", "Campbell"], ["Smith", "Campbell"] ],
  "places": { "provider": "offline" }, "log_dir": "$WORK/logs" }
JSON
    all=$(IFS=,; echo "${ports[*]}")
    "${SERVER_PIN[@]}" "$HERD" --headless --threads "$THREADS" --config "$WORK/herd.json" --stats-interval 0 \
        > "$WORK/herd.out" 2>&1 &
    HERD_PID=$!
    # Ready when every node answers (its links come up within a heartbeat or two).
    for _ in $(seq 50); do
        ok=1
        for p in "${ports[@]}"; do (exec 3<> "/dev/tcp/127.0.0.1/$p") 2> /dev/null || ok=0; done
        [ "$ok" = 1 ] && break
        sleep 0.1
    done
    sleep 1
    cpu0=$(awk '{ print $14 + $15 }' "/proc/$HERD_PID/stat")
    json=$("${BENCH_PIN[@]}" "$BENCH" iamat --ports "$all" --connections 64 --depth 16 --clients new \
        --duration "$DURATION" --warmup 1 --verify 1000 --verify-ports "$all" | tail -1) || failed=1
    cpu1=$(awk '{ print $14 + $15 }' "/proc/$HERD_PID/stat")
    kill "$HERD_PID"; wait "$HERD_PID" 2> /dev/null || true
    HERD_PID=
    rate=$(sed -n 's/.*"requests_per_s":\([0-9.]*\).*/\1/p' <<< "$json")
    sent=$(sed -n 's/.*"sent":\([0-9]*\).*/\1/p' <<< "$json")
    missing=$(sed -n 's/.*"verify_missing":\([0-9]*\).*/\1/p' <<< "$json")
    checked=$(sed -n 's/.*"verify_checked":\([0-9]*\).*/\1/p' <<< "$json")
    cpu_us=$(awk -v a="$cpu0" -v b="$cpu1" -v s="${sent:-0}" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { if (s > 0) printf "%.2f", (b - a) * 1e6 / hz / s; else print "-" }')
    printf 'run %d: %s updates/s accepted herd-wide, %s us of herd CPU per update, %s of %s sampled (client, node) pairs missing\n' \
        "$round" "${rate:-?}" "$cpu_us" "${missing:-?}" "${checked:-?}"
    echo "$json"
    [ "${missing:-1}" = 0 ] || failed=1
done
echo "load average after: $(cut -d' ' -f1 /proc/loadavg)"
exit "$failed"
