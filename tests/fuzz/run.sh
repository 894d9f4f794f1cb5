#!/bin/sh
# tests/fuzz/run.sh
# Builds the scenario-loader fuzzer standalone (clang, libFuzzer, ASan, UBSan)
# and runs it for SECONDS (default 60).  Licence: see LICENSE at the top of the repository.
#
# Usage: tests/fuzz/run.sh [SECONDS] [extra libFuzzer flags...]
# Work files go to $FUZZ_DIR (default /tmp/dealsim-fuzz): the binary, the
# growing corpus (seeded from configs/, tests/data/good, tests/data/bad,
# tests/data/fuzz and tests/fuzz/corpus) and crash artifacts.  Copy every
# crash-*/leak-*/timeout-* file into tests/data/fuzz/ as a regression test
# (tests/config/test_config_files.c loads each one) before fixing the bug.
set -eu
seconds=${1:-60}
[ $# -gt 0 ] && shift
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${FUZZ_DIR:-/tmp/dealsim-fuzz}
cc=${CC_FUZZ:-clang}
mkdir -p "$work/corpus" "$work/artifacts"

# The loader and what it links: config, dist, rng, error.  No HDF5, no OpenMP.
"$cc" -std=c11 -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$root/include" \
    "$root"/sim/config/*.c "$root"/sim/dist/*.c "$root/sim/core/rng.c" "$root/sim/core/error.c" \
    "$root/tests/fuzz/fuzz_config.c" -lyaml -lm -o "$work/fuzz_config"

for d in configs tests/data/good tests/data/bad tests/data/fuzz tests/fuzz/corpus; do
    [ -d "$root/$d" ] || continue
    for f in "$root/$d"/*; do
        [ -f "$f" ] && cp "$f" "$work/corpus/"
    done
done

# -max_len: large enough for the shipped scenarios; -timeout: a scenario that
# takes a second to load is a bug worth keeping.
exec "$work/fuzz_config" "$work/corpus" \
    -dict="$root/tests/fuzz/config.dict" \
    -max_len=16384 -timeout=5 -rss_limit_mb=2048 \
    -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$@"
