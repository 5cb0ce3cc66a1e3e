#!/usr/bin/env bash
# Installs what herd needs on Debian 12 (only what is missing), then configures and builds.
# Usage: bash tools/setup.sh [--fuzz] [build-dir]     (default: build)
# Installs as root, or through sudo when it is there; a plain user without sudo gets the exact
# apt-get line to run as root, and the script stops (exit 1). The libFuzzer toolchain (clang,
# LLVM) only with --fuzz or CI=true: neither README command needs it.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzz=0
[[ ${CI:-} == true ]] && fuzz=1
if [[ ${1:-} == --fuzz ]]; then fuzz=1; shift; fi
build_dir=${1:-build}

packages=(cmake ninja-build g++ pkg-config
          qt6-base-dev qt6-base-dev-tools qt6-svg-dev libgl-dev libxkbcommon-dev
          xvfb xauth
          desktop-file-utils dpkg-dev file)        # the packaging test (.deb, desktop file)
((fuzz)) && packages+=(clang-14 libclang-rt-14-dev llvm-14)   # the libFuzzer run
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    install_line="apt-get install -y --no-install-recommends ${missing[*]}"
    sudo_cmd=()
    if [[ $(id -u) -ne 0 ]]; then
        if ! command -v sudo >/dev/null; then
            echo "setup: missing packages; as root, run:" >&2
            echo "apt-get update && $install_line"
            exit 1
        fi
        sudo_cmd=(sudo)
    fi
    echo "setup: installing ${missing[*]}"
    "${sudo_cmd[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build_dir" --parallel "$(nproc)"
