#!/usr/bin/env bash
# The repository explains itself: no tracked file may cite a document or a tracker
# that a clone does not have (a "SPEC" section, a "§" reference, a path into ../shared, an
# "issue N" / "item N" of an outside tracker, or contract-status.md). State the rule itself
# instead, or point at a file in the repository (docs/PROTOCOL.md, docs/OPERATIONS.md, ...).
# Usage: self_contained.sh SOURCE_DIR     check a checkout (tracked files; every file without git)
#        self_contained.sh --self-test    show that the check fails on a planted citation
set -euo pipefail

# What counts as a citation of something outside (extended regex, matched per line).
pattern='\bSPEC\b|§|\.\./shared|\b[Ii]ssue #?[0-9]|\b[Ii]tem #?[0-9]|contract-status'

check() {
    local root=$1
    cd "$root"
    local files
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        files=$(git ls-files)
    else
        files=$(find . -type f -not -path './.git/*' -not -path './build*' | sed 's|^\./||')
    fi
    # One grep over every file that is checked (one process per file is slow on a busy machine).
    local -a checked=()
    local f
    while IFS= read -r f; do
        [[ -z $f || $f == tests/self_contained.sh || ! -f $f ]] && continue
        checked+=("$f")
    done <<<"$files"
    if ((${#checked[@]} == 0)); then
        echo "self_contained: no files found under $root" >&2
        return 1
    fi
    # -I: text files only (the screenshots and the coastline are binary). -H: always the name.
    if grep -IHnE "$pattern" -- "${checked[@]}" >&2; then
        echo "self_contained: the lines above cite something outside the repository; state the rule itself or point into docs/" >&2
        return 1
    fi
    echo "self_contained: no outside citations in ${#checked[@]} files"
}

if [[ ${1:-} == --self-test ]]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/docs" "$tmp/server"
    echo '// fields split on white space' >"$tmp/server/ok.cpp"
    echo 'The protocol is described in PROTOCOL.md.' >"$tmp/docs/notes.md"
    (check "$tmp") || { echo "self-test: a clean tree was rejected" >&2; exit 1; }
    for planted in '// see SPEC §2' '# as ../shared/DESIGN.md says' '// issue 4 item 5' '// (contract-status.md)' '// § 3'; do
        for bad in "$tmp/server/bad.cpp" "$tmp/docs/bad.md"; do
            echo "$planted" >"$bad"
            if (check "$tmp") 2>/dev/null; then
                echo "self-test: the citation \"$planted\" in ${bad#$tmp/} was not caught" >&2
                exit 1
            fi
            rm "$bad"
        done
    done
    echo "self-test: every planted citation caught, the clean tree accepted"
    exit 0
fi

check "${1:?usage: self_contained.sh SOURCE_DIR | --self-test}"
