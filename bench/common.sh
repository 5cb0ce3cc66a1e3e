# shellcheck shell=bash disable=SC2034   # sets variables for the scripts that source it
# Sourced by the bench scripts (compare.sh, scale.sh, herdwide.sh): what they all set up the same
# way. Each defines die() before sourcing this.

# find_tools BUILD_DIR TOOL...: BUILD_DIR made absolute, each TOOL (path relative to it, e.g.
# app/herd) checked to be built; dies naming what to build otherwise.
find_tools() {
    local dir=$1
    shift
    [ -d "$dir" ] || die "no build directory \"$dir\""
    BUILD_DIR=$(cd "$dir" && pwd)
    local tool targets=()
    for tool in "$@"; do targets+=("$(basename "$tool")"); done
    for tool in "$@"; do
        [ -x "$BUILD_DIR/$tool" ] || die "missing $BUILD_DIR/$tool (cmake --build $BUILD_DIR --target ${targets[*]})"
    done
}

# setup_pinning PIN WHAT: with PIN=1 and 2+ CPUs (and taskset), the server(s) on every CPU but the
# last and herd-bench on the last one; sets SERVER_PIN and BENCH_PIN (command prefixes, empty when
# not pinning) and PINNING (a description, WHAT naming the servers).
setup_pinning() {
    local cpus
    cpus=$(nproc)
    SERVER_PIN=()
    BENCH_PIN=()
    PINNING="off"
    if [ "$1" = 1 ] && [ "$cpus" -ge 2 ] && command -v taskset > /dev/null; then
        local server_cpus
        server_cpus=$([ "$cpus" -gt 2 ] && echo "0-$((cpus - 2))" || echo 0)
        SERVER_PIN=(taskset -c "$server_cpus")
        BENCH_PIN=(taskset -c "$((cpus - 1))")
        PINNING="$2 on CPU $server_cpus, herd-bench on CPU $((cpus - 1))"
    fi
}
