#!/bin/sh
# A short run of each libFuzzer target from its seeds (fuzz/corpus/<name>/),
# with new inputs kept in build/fuzz/corpus/ so the repository stays clean.
# Usage: tools/fuzz-smoke.sh SECONDS TARGET...
set -e
seconds=$1
shift
top=$(cd "$(dirname "$0")/.." && pwd)
for target in "$@"; do
    name=$(basename "$target")
    work=$top/build/fuzz/corpus/$name
    mkdir -p "$work"
    echo "fuzz: $name for ${seconds}s"
    if ! "$target" -max_total_time="$seconds" "$work" \
           "$top/fuzz/corpus/$name" > "$work.log" 2>&1
    then
        tail -40 "$work.log"
        echo "fuzz: $name FAILED (crash input saved in the current directory)"
        exit 1
    fi
    grep '^Done' "$work.log" || true
done
