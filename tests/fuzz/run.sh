#!/bin/sh
# tests/fuzz/run.sh
# Builds a loader fuzzer standalone (clang, libFuzzer, ASan, UBSan) and runs
# it for SECONDS (default 60).  Licence: see LICENSE at the top of the repository.
#
# Usage: [FUZZ_TARGET=config|set] tests/fuzz/run.sh [SECONDS] [extra libFuzzer flags...]
#   config (default)  fuzz_config.c: arbitrary scenario text (+ --set lines);
#   set               fuzz_set.c: arbitrary --set lines against a fixed scenario.
# Work files go to $FUZZ_DIR (default /tmp/dealsim-fuzz-TARGET): the binary,
# the growing corpus and crash artifacts.  Copy every crash-*/leak-*/timeout-*
# file into tests/data/fuzz/ (config) or tests/data/fuzz_set/ (set) as a
# regression test (tests/config loads each one) before fixing the bug.
set -eu
seconds=${1:-60}
[ $# -gt 0 ] && shift
target=${FUZZ_TARGET:-config}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${FUZZ_DIR:-/tmp/dealsim-fuzz-$target}
cc=${CC_FUZZ:-clang}
mkdir -p "$work/corpus" "$work/artifacts"

case "$target" in
config)
    seeds="configs tests/data/good tests/data/bad tests/data/fuzz tests/fuzz/corpus"
    dict="$root/tests/fuzz/config.dict" ;;
set)
    seeds="tests/fuzz/corpus_set tests/data/fuzz_set"
    dict="$root/tests/fuzz/set.dict" ;;
*)
    echo "run.sh: FUZZ_TARGET must be config or set, not '$target'" >&2
    exit 2 ;;
esac

# The loader and what it links: config, dist, rng, error, dsmath (with its array forms,
# which ds_vec_erfc calls).  No HDF5, no OpenMP.
"$cc" -std=c11 -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$root/include" \
    "$root"/sim/config/*.c "$root"/sim/dist/*.c "$root/sim/core/rng.c" "$root/sim/core/error.c" "$root/sim/core/dsmath.c" "$root/sim/core/dsmath_vec.c" \
    "$root/tests/fuzz/fuzz_$target.c" -lyaml -lm -o "$work/fuzz_$target"

for d in $seeds; do
    [ -d "$root/$d" ] || continue
    for f in "$root/$d"/*; do
        [ -f "$f" ] && cp "$f" "$work/corpus/"
    done
done

# -max_len: large enough for the shipped scenarios; -timeout: a scenario that
# takes a second to load is a bug worth keeping.
exec "$work/fuzz_$target" "$work/corpus" \
    -dict="$dict" \
    -max_len=16384 -timeout=5 -rss_limit_mb=2048 \
    -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$@"
