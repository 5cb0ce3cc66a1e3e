#!/usr/bin/env bash
# Packaging test (ctest "packaging"): install into a temporary prefix and run the installed
# binary; check the man page against --help and --print-config; validate the desktop file, the
# icon and the systemd unit; build the .deb with CPack from this build and check its contents.
#
# Usage: bash tests/packaging.sh BUILD_DIR
# Needs: cmake/cpack, bash (/dev/tcp), dpkg-deb (dpkg), dpkg-shlibdeps (dpkg-dev), file,
#        readelf (binutils), desktop-file-validate (desktop-file-utils); optional: systemd-analyze (systemd),
#        groff (groff-base, with man-db).
set -uo pipefail

build=${1:?usage: packaging.sh BUILD_DIR}
build=$(cd "$build" && pwd)
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/herd-packaging.XXXXXX")
prefix=$tmp/prefix
pids=()
failures=0

cleanup() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    exec 3<&- 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
skip() { echo "skip $*"; }
check() {   # check DESCRIPTION COMMAND...: passes when the command succeeds
    local what=$1; shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
matches() { [[ $1 =~ $2 ]]; }
need() {    # need TOOL PACKAGE: a hard requirement
    command -v "$1" >/dev/null || { echo "FAIL missing $1 (Debian package $2)"; exit 1; }
}
need cmake cmake
need cpack cmake
need dpkg-deb dpkg
need dpkg-shlibdeps dpkg-dev
need file file          # CPack runs file(1) to find the ELF files for dpkg-shlibdeps
need readelf binutils
need desktop-file-validate desktop-file-utils

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[[ -n $version ]] || { echo "FAIL no CMAKE_PROJECT_VERSION in $build/CMakeCache.txt"; exit 1; }

# Files every install carries, relative to the prefix (the .deb: relative to /usr).
files=(bin/herd
       bin/herd-server
       share/doc/herd/examples/herd.logrotate
       share/applications/herd.desktop
       share/icons/hicolor/scalable/apps/herd.svg
       share/man/man1/herd.1
       lib/systemd/system/herd@.service
       share/doc/herd/examples/herd.json
       share/doc/herd/examples/herd.env.example)
for f in "$src"/resources/herds/*.json; do files+=("share/herd/herds/${f##*/}"); done

# --- 1. cmake --install into a temporary prefix ------------------------------------------------
echo "== install into $prefix"
if ! cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "FAIL cmake --install"
    exit 1
fi
for f in "${files[@]}"; do
    check "installed $f" test -f "$prefix/$f"
done
check "installed bin/herd is executable" test -x "$prefix/bin/herd"
needed=$(LC_ALL=C readelf -d "$prefix/bin/herd-server" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
check "herd-server links Qt Core and Network ($needed)" grep -q 'libQt6Network' <<<"$needed"
check "herd-server links no Qt Gui or Widgets library" bash -c '! grep -qE "libQt6(Gui|Widgets|Svg)" <<<"$1"' _ "$needed"
herd=$prefix/bin/herd

# --- 2. the installed binary ---------------------------------------------------------------------
echo "== installed binary"
out=$("$herd" --version 2>&1)
check "--version prints \"herd $version\" (got \"$out\")" test "$out" = "herd $version"

"$herd" --help >"$tmp/help.txt" 2>&1
check "--help exits 0" test $? -eq 0
for opt in --headless --config --node --print-config --stats-interval --screenshot --demo \
           --log-format --help --version; do
    check "--help lists $opt" grep -q -- "$opt\\b" "$tmp/help.txt"
done

"$herd" --print-config >"$tmp/config.json" 2>&1
check "--print-config exits 0" test $? -eq 0
check "--print-config shows the built-in herd" grep -q '"name": "Singleton"' "$tmp/config.json"
for f in "$prefix"/share/herd/herds/*.json "$prefix/share/doc/herd/examples/herd.json"; do
    check "--print-config accepts the installed ${f#"$prefix"/}" \
        "$herd" --print-config --config "$f" >/dev/null
done
"$herd" --headless --node Nobody >/dev/null 2>"$tmp/err.txt"
rc=$?
check "unknown --node: exit 2 and one line on stderr (rc $rc)" \
    test "$rc" -eq 2 -a "$(wc -l <"$tmp/err.txt")" -eq 1

# A headless node on a free port: IAMAT and WHATSAT over /dev/tcp, a log file, SIGTERM -> 0.
mkdir -p "$tmp/run"
cat >"$tmp/run/solo.json" <<EOF
{ "nodes": [ { "name": "Solo", "host": "127.0.0.1", "port": 0 } ],
  "places": { "provider": "offline" },
  "log_dir": "logs", "log_level": "io" }
EOF
(cd "$tmp/run" && exec "$herd" --headless --config solo.json --stats-interval 0.2 \
    >"$tmp/run/stdout" 2>"$tmp/run/stderr") &
pid=$!
pids+=("$pid")
port=
for _ in $(seq 100); do
    port=$(sed -n 's/.* Solo running port \([0-9][0-9]*\):.*/\1/p' "$tmp/run/stdout" | head -n1)
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [[ -z $port ]]; then
    fail "headless node started (stdout: $(cat "$tmp/run/stdout"), stderr: $(cat "$tmp/run/stderr"))"
else
    pass "headless node listening on port $port"
    check "headless prints \"herd: serving Solo\"" grep -q '^herd: serving Solo$' "$tmp/run/stdout"
    if exec 3<>"/dev/tcp/127.0.0.1/$port"; then
        printf 'IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503\n' >&3
        IFS= read -r -t 10 at <&3
        at_re='^AT Solo [+-][0-9]+\.[0-9]{9} kiwi\.cs\.ucla\.edu \+34\.068930-118\.445127 1621464827\.959498503$'
        check "IAMAT answered with an AT line (\"${at:-}\")" matches "${at:-}" "$at_re"
        printf 'WHATSAT kiwi.cs.ucla.edu 10 2\n' >&3
        reply=()
        while IFS= read -r -t 10 line <&3; do
            [[ -z $line ]] && break
            reply+=("$line")
        done
        check "WHATSAT: first line is the stored AT line" test "${reply[0]:-}" = "${at:-x}"
        check "WHATSAT: offline places, status OK" \
            grep -q '"status": "OK"' <<<"$(printf '%s\n' "${reply[@]:1}")"
        printf 'HELLO\n' >&3
        IFS= read -r -t 10 invalid <&3
        check "invalid command answered with \"? HELLO\"" test "${invalid:-}" = "? HELLO"
        exec 3<&-
    else
        fail "connect to 127.0.0.1:$port"
    fi
    kill -TERM "$pid"
fi
wait "$pid"
rc=$?
check "SIGTERM: exit status 0 (got $rc)" test "$rc" -eq 0
check "relative log_dir: logs/Solo.log in the working directory, with the IAMAT" \
    grep -q 'IAMAT kiwi.cs.ucla.edu' "$tmp/run/logs/Solo.log"

# --log-format json, and QT_LOGGING_RULES switching a category off.
cat >"$tmp/run/pair.json" <<EOF
{ "nodes": [ { "name": "A", "port": 0 }, { "name": "B", "port": 0 } ],
  "links": [ ["A", "B"] ], "places": { "provider": "offline" }, "log_dir": "" }
EOF
run_pair() {   # run_pair NAME [env...] -- [herd args...]: until both links are up, then SIGTERM
    local name=$1; shift
    local envs=()
    while [[ $1 != -- ]]; do envs+=("$1"); shift; done
    shift
    env "${envs[@]}" "$herd" --headless --config "$tmp/run/pair.json" --stats-interval 0.1 "$@" \
        >"$tmp/run/$name.out" 2>"$tmp/run/$name.err" &
    local p=$!
    pids+=("$p")
    for _ in $(seq 100); do
        [[ $(grep -c 'links 1/1' "$tmp/run/$name.out") -ge 4 ]] && break
        sleep 0.1
    done
    kill -TERM "$p"
    wait "$p"
}
run_pair json -- --log-format json
rc=$?
check "--log-format json: SIGTERM exit 0 (got $rc)" test "$rc" -eq 0
json_re='^\{"time":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z","level":"(debug|info|warning|critical|fatal)","category":"[^"]+","message":".*"\}$'
bad=$(grep -Evc "$json_re" "$tmp/run/json.err")
check "--log-format json: every stderr line is one JSON object ($bad other lines)" test "$bad" -eq 0
check "--log-format json: herd.peer \"link up\" messages" \
    grep -q '"level":"info","category":"herd.peer","message":"A: link to B up"' "$tmp/run/json.err"
run_pair rules QT_LOGGING_RULES='herd.peer=false' -- --log-format json
check "QT_LOGGING_RULES=herd.peer=false silences herd.peer" \
    test "$(grep -c '"category":"herd.peer"' "$tmp/run/rules.err")" -eq 0
check "... while the links still came up" grep -q 'links 1/1' "$tmp/run/rules.out"
run_pair text -- --log-format text
check "text log format off a terminal: \"<UTC time> info herd.peer: A: link to B up\"" \
    grep -Eq '^[0-9-]{10}T[0-9:.]+Z info herd\.peer: A: link to B up$' "$tmp/run/text.err"

# --- 3. man page ---------------------------------------------------------------------------------
echo "== man page"
man=$prefix/share/man/man1/herd.1
check "man page version substituted" grep -q "\"herd $version\"" "$man"
for section in NAME SYNOPSIS DESCRIPTION OPTIONS CONFIGURATION PROTOCOL FILES ENVIRONMENT \
               SIGNALS "EXIT STATUS" EXAMPLES; do
    check "man page section $section" grep -q "^\\.SH \"\\?$section\"\\?\$" "$man"
done
# Every option --help shows is an item of OPTIONS (a .B/.BR/.BI line naming \-\-option).
sed -n '/^\.SH OPTIONS/,/^\.SH [^O]/p' "$man" | grep -E '^\.B[IR]? ' >"$tmp/man-options.txt"
for opt in $(grep -oE '^ +(-[a-z], )?--[a-z-]+' "$tmp/help.txt" | grep -oE -- '--[a-z-]+'); do
    re=$(sed 's/-/\\\\-/g' <<<"$opt")
    check "man page OPTIONS documents $opt" grep -Eq -- "^\.B[IR]? (.* )?$re( |\"|\$)" "$tmp/man-options.txt"
done
# Every config key --print-config shows is documented (places.provider, limits.max_line_bytes...).
keys=$(awk '
    /^    "[a-z_]+": \{/ { match($0, /"[a-z_]+"/); parent = substr($0, RSTART + 1, RLENGTH - 2); next }
    /^    \}/            { parent = ""; next }
    /^    "[a-z_]+":/    { match($0, /"[a-z_]+"/); print substr($0, RSTART + 1, RLENGTH - 2); next }
    /^        "[a-z_]+":/ && parent != "" { match($0, /"[a-z_]+"/); print parent "." substr($0, RSTART + 1, RLENGTH - 2) }
' "$tmp/config.json")
check "config keys found in --print-config ($(wc -w <<<"$keys"))" test "$(wc -w <<<"$keys")" -ge 20
for key in $keys; do
    check "man page documents config key $key" grep -qF -- "$key" "$man"
done
for var in GOOGLE_PLACES_API_KEY HERD_PEER_SECRET QT_LOGGING_RULES; do
    check "man page ENVIRONMENT lists $var" grep -q "^\\.B $var\$" "$man"
done
if command -v groff >/dev/null; then
    groff -man -ww -z "$man" 2>"$tmp/groff.txt"
    check "groff -man -ww: no warnings ($(head -c 300 "$tmp/groff.txt"))" test ! -s "$tmp/groff.txt"
else
    skip "groff not installed (groff-base): man page not rendered"
fi

# --- 4. desktop file, icon ----------------------------------------------------------------------
echo "== desktop file and icon"
desktop=$prefix/share/applications/herd.desktop
desktop-file-validate "$desktop" >"$tmp/dfv.txt" 2>&1
check "desktop-file-validate: no errors or warnings ($(cat "$tmp/dfv.txt"))" test ! -s "$tmp/dfv.txt"
for kv in 'Type=Application' 'Exec=herd' 'Icon=herd' 'Categories=Network;Monitor;Qt;'; do
    check "desktop file: $kv" grep -qxF "$kv" "$desktop"
done
check "desktop file: Comment and Keywords" grep -q '^Comment=.' "$desktop"
check "desktop file: Keywords" grep -q '^Keywords=.' "$desktop"
icon=$prefix/share/icons/hicolor/scalable/apps/herd.svg
check "icon is an SVG document" grep -q '<svg xmlns="http://www.w3.org/2000/svg"' "$icon"
check "icon has a viewBox and ends with </svg>" \
    bash -c 'grep -q "viewBox=" "$1" && tail -n1 "$1" | grep -q "^</svg>$"' _ "$icon"
check "icon references nothing external" bash -c '! grep -qE "xlink:href|href=\"http|<image" "$1"' _ "$icon"

# --- 5. systemd unit ----------------------------------------------------------------------------
echo "== systemd unit"
unit=$prefix/lib/systemd/system/herd@.service
for kv in 'ExecStart=/usr/bin/herd-server --config /etc/herd/herd.json --node %i' \
          'Type=notify' 'WatchdogSec=30s' 'StartLimitBurst=5' 'StartLimitIntervalSec=60s' \
          'EnvironmentFile=-/etc/herd/herd.env' 'Restart=on-failure' 'KillSignal=SIGTERM' \
          'DynamicUser=yes' 'StateDirectory=herd' 'LogsDirectory=herd' \
          'WorkingDirectory=%S/herd' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
          'ProtectHome=yes' 'PrivateTmp=yes' 'WantedBy=multi-user.target'; do
    check "unit: $kv" grep -qxF -- "$kv" "$unit"
done
nofile=$(sed -n 's/^LimitNOFILE=\([0-9]*\).*/\1/p' "$unit")
check "unit: LimitNOFILE >= 65536 (${nofile:-none})" test "${nofile:-0}" -ge 65536
check "unit: no secret on a command line" \
    bash -c '! grep -E "^Exec.*(API_KEY|SECRET)" "$1"' _ "$unit"
check "unit: no secret value in the unit" \
    bash -c '! grep -E "^Environment=.*(API_KEY|SECRET)" "$1"' _ "$unit"
if command -v systemd-analyze >/dev/null; then
    # An instance of the unit, pointed at the installed binary (verify wants an executable).
    mkdir -p "$tmp/units"
    sed "s#/usr/bin/herd#$herd#" "$unit" >"$tmp/units/herd@Hill.service"
    systemd-analyze verify --man=no "$tmp/units/herd@Hill.service" >"$tmp/verify.txt" 2>&1
    rc=$?
    check "systemd-analyze verify herd@Hill.service (rc $rc: $(head -c 500 "$tmp/verify.txt"))" \
        test "$rc" -eq 0 -a ! -s "$tmp/verify.txt"
else
    skip "systemd-analyze not installed (systemd): unit not verified"
fi

# --- 6. the .deb ----------------------------------------------------------------------------------
echo "== .deb"
if ! (cd "$tmp" && cpack --config "$build/CPackConfig.cmake" -G DEB -B "$tmp/deb") >"$tmp/cpack.log" 2>&1; then
    cat "$tmp/cpack.log"
    fail "cpack -G DEB"
else
    debs=("$tmp"/deb/herd_*.deb)
    deb=${debs[0]}
    arch=$(dpkg --print-architecture)
    check "package file herd_${version}_$arch.deb" test "${deb##*/}" = "herd_${version}_$arch.deb"
    dpkg-deb -c "$deb" >"$tmp/contents.txt"
    cat "$tmp/contents.txt"
    for f in "${files[@]}"; do
        check "deb contains /usr/$f" grep -qE " \./usr/$f\$" "$tmp/contents.txt"
    done
    check "deb: everything under /usr (no /etc, no build paths)" \
        bash -c '! awk "{print \$6}" "$1" | grep -v "^\./usr/" | grep -vx "\./"' _ "$tmp/contents.txt"
    field() { dpkg-deb -f "$deb" "$1"; }
    check "deb Package: herd" test "$(field Package)" = herd
    check "deb Version: $version" test "$(field Version)" = "$version"
    check "deb Section: net" test "$(field Section)" = net
    check "deb Maintainer: herd developers" test "$(field Maintainer)" = "herd developers"
    check "deb Description" test -n "$(field Description)"
    depends=$(field Depends)
    for lib in libqt6core6 libqt6network6 libqt6gui6 libqt6widgets6 libqt6svg6 libc6; do
        check "deb Depends: $lib (dpkg-shlibdeps)" grep -q "\\b$lib\\b" <<<"$depends"
    done
    dpkg-deb -x "$deb" "$tmp/root"
    check "packaged (stripped) /usr/bin/herd --version" \
        test "$("$tmp/root/usr/bin/herd" --version 2>&1)" = "herd $version"
    check "packaged binary has no RUNPATH" \
        bash -c '! LC_ALL=C readelf -d "$1" 2>/dev/null | grep -qE "RPATH|RUNPATH"' _ "$tmp/root/usr/bin/herd"
fi

echo
if ((failures)); then
    echo "packaging: $failures check(s) failed"
    exit 1
fi
echo "packaging: all checks passed"
