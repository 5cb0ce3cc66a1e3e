#!/usr/bin/env bash
# Builds herd-fuzz-protocol with clang's libFuzzer, ASan and UBSan in build-fuzz/, then fuzzes
# LineFramer + protocol for N seconds (default 30) on a copy of fuzz/corpus/. Exits non-zero on
# a crash, a sanitizer report, a leak or a timeout; the input that did it is left in
# build-fuzz/artifacts/ (replay: build-fuzz/fuzz/herd-fuzz-protocol FILE).
# Usage: fuzz/run.sh [seconds]
# Needs (Debian 12): clang-14 libclang-rt-14-dev, and llvm-14 for symbolized stack traces.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
build_dir=build-fuzz

pick() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 && { echo "$c"; return; }; done; }
cc=$(pick clang clang-14)
cxx=$(pick clang++ clang++-14)
if [[ -z $cc || -z $cxx ]]; then
    echo "fuzz/run.sh: clang not found (apt-get install clang-14 libclang-rt-14-dev)" >&2
    exit 2
fi
# Symbolized reports when llvm-symbolizer is around (package llvm-14).
if [[ -z ${ASAN_SYMBOLIZER_PATH:-} ]]; then
    sym=$(pick llvm-symbolizer llvm-symbolizer-14 /usr/lib/llvm-14/bin/llvm-symbolizer)
    [[ -n $sym ]] && export ASAN_SYMBOLIZER_PATH=$(command -v "$sym")
fi

CC=$cc CXX=$cxx cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHERD_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build_dir" --target herd-fuzz-protocol

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$build_dir/artifacts"
cp fuzz/corpus/* "$work/corpus/"
# A 64 MiB quarantine (default 256) keeps a long run well under the RSS limit.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:quarantine_size_mb=64}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# -max_len 8192: twice the 4 KiB line limit, so lines of 4096, 4097 and beyond are in reach.
"$build_dir/fuzz/herd-fuzz-protocol" \
    -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
    -use_value_profile=1 -dict=fuzz/protocol.dict -print_final_stats=1 \
    -artifact_prefix="$build_dir/artifacts/" "$work/corpus"
echo "fuzz/run.sh: no crash in ${seconds} s"
