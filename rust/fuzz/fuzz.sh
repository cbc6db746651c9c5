#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer on the stable toolchain: no nightly, no cargo-fuzz.
# The targets (fuzz_targets/*.rs, libfuzzer-sys) are built by plain cargo with the
# sanitizer-coverage flags that `cargo fuzz build -s none` passes, for the host triple (so
# build scripts are not instrumented), into rust/fuzz/target (ignored by git; the main build
# in target/ is never touched). libfuzzer-sys compiles libFuzzer with the system C++ compiler.
#
#   fuzz.sh run [TARGET...]  fuzz each target (default: all) for FUZZ_SECONDS (default 600)
#   fuzz.sh smoke            replay rust/fuzz/regressions/TARGET/*, then fuzz each target
#                            for FUZZ_SMOKE_SECONDS (default 20) from the seeds alone (a
#                            scratch corpus); what `make test` runs. 0 seconds: the seeds
#                            are run once, no fuzzing
#   fuzz.sh build | seeds    only build the targets / only write the seed corpora
#
# Seeds are cut from tests/fixtures and the real files of ../shared/data/stdf (or
# $STDF_DUCK_TEST_DATA) into rust/fuzz/target/seeds at each run; what a run finds worth keeping
# stays in rust/fuzz/target/corpus/TARGET for the next run; a crash or a hang (an input slower
# than FUZZ_TIMEOUT seconds, default 10) is saved in rust/fuzz/target/artifacts/TARGET/ and the
# run fails, printing the input's path and the stack. Fuzzers run under `nice -n 19`, one at a
# time.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$HERE/target
TARGETS=(decode tables raw roundtrip)
CARGO=${CARGO:-cargo}
DATA=${STDF_DUCK_TEST_DATA:-$ROOT/../shared/data/stdf}
PYTHON=${PYTHON:-python3}
HOST=$(rustc -vV | sed -n 's/^host: //p')
BIN=$OUT/$HOST/release

# the flags of `cargo fuzz build -s none` (all stable): edge coverage with inline 8-bit
# counters and a PC table, comparison tracing (libFuzzer's value profile and CMP dictionary),
# `cfg(fuzzing)`, debug assertions and overflow checks (an overflow is a finding)
FLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table
 -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions
 -Coverflow-checks -Cforce-frame-pointers=yes"

build() {
    echo "fuzz: building the targets (libFuzzer, coverage flags, $HOST) into $OUT"
    # the versions of the main build: its lock, to which cargo adds libfuzzer-sys
    cp "$ROOT/Cargo.lock" "$HERE/Cargo.lock"
    RUSTFLAGS="$(echo $FLAGS)" nice -n 19 "$CARGO" build --release --quiet \
        --manifest-path "$HERE/Cargo.toml" --target "$HOST" --target-dir "$OUT" --bins
}

seeds() {
    rm -rf "$OUT/seeds"
    local src=("$ROOT/tests/fixtures")
    if [ -d "$DATA" ]; then src+=("$DATA"); else echo "fuzz: $DATA absent: fixtures only"; fi
    "$PYTHON" "$HERE/seeds.py" "$OUT/seeds" "${src[@]}"
}

# the corpus of seeds a target starts from: the targets that read files also get compressed ones
seed_dir() {
    case $1 in tables | raw) echo "$OUT/seeds/all" ;; *) echo "$OUT/seeds/plain" ;; esac
}

# one line of figures from a libFuzzer log
summary() {
    local log=$1 t=$2 line execs rate
    line=$(grep -E '^#[0-9]+' "$log" | grep 'cov:' | tail -1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    printf 'fuzz: %-9s %s execs, %s exec/s, %s\n' "$t" "${execs:-?}" "${rate:-?}" \
        "$(echo "$line" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' || echo 'no coverage line')"
}

# fuzz target $1 for $2 seconds from corpus dir $3 (and the seeds); non-zero on a finding
fuzz_one() {
    local t=$1 secs=$2 corpus=$3 log=$OUT/logs/$1.log
    mkdir -p "$corpus" "$OUT/artifacts/$t" "$OUT/logs"
    # 0 seconds: run the seeds once and stop (deterministic); libFuzzer's own 0 means forever
    local limit=-max_total_time=$secs
    if [ "$secs" = 0 ]; then limit=-runs=0; fi
    echo "fuzz: $t for ${secs}s (log $log)"
    if nice -n 19 "$BIN/$t" "$corpus" "$(seed_dir "$t")" \
        -dict="$OUT/seeds/stdf.dict" "$limit" -timeout="${FUZZ_TIMEOUT:-10}" \
        -max_len="${FUZZ_MAX_LEN:-32768}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
        -artifact_prefix="$OUT/artifacts/$t/" -print_final_stats=1 >"$log" 2>&1; then
        summary "$log" "$t"
    else
        echo "fuzz: FINDING in target $t:"
        grep -vE '^#[0-9]+|^INFO:' "$log" | tail -60
        grep -E 'Test unit written to' "$log" || true
        return 1
    fi
}

# run every committed regression input of a target once
replay() {
    local t=$1 dir=$HERE/regressions/$1
    [ -d "$dir" ] || return 0
    local files=("$dir"/*)
    [ -e "${files[0]}" ] || return 0
    echo "fuzz: replaying ${#files[@]} regression input(s) of $t"
    nice -n 19 "$BIN/$t" -timeout="${FUZZ_TIMEOUT:-10}" "${files[@]}" >"$OUT/logs/$t.replay.log" 2>&1 || {
        echo "fuzz: a regression input of $t fails again:"
        tail -60 "$OUT/logs/$t.replay.log"
        return 1
    }
}

cmd=${1:-run}
[ $# -gt 0 ] && shift
case $cmd in
build) build ;;
seeds) seeds ;;
run | smoke)
    if [ $# -gt 0 ]; then TARGETS=("$@"); fi
    for t in "${TARGETS[@]}"; do
        [ -f "$HERE/fuzz_targets/$t.rs" ] || { echo "fuzz: no target '$t' (rust/fuzz/fuzz_targets)"; exit 2; }
    done
    build
    seeds
    mkdir -p "$OUT/logs"
    failed=()
    for t in "${TARGETS[@]}"; do
        if [ "$cmd" = smoke ]; then
            # a scratch corpus: the time stays bounded however large the kept corpus grew
            replay "$t" || { failed+=("$t"); continue; }
            rm -rf "$OUT/smoke-corpus/$t"
            fuzz_one "$t" "${FUZZ_SMOKE_SECONDS:-20}" "$OUT/smoke-corpus/$t" || failed+=("$t")
        else
            fuzz_one "$t" "${FUZZ_SECONDS:-600}" "$OUT/corpus/$t" || failed+=("$t")
        fi
    done
    if [ ${#failed[@]} -gt 0 ]; then
        echo "fuzz: findings in: ${failed[*]} (inputs in $OUT/artifacts/)"
        exit 1
    fi
    ;;
*)
    echo "usage: fuzz.sh run [TARGET...] | smoke | build | seeds" >&2
    exit 2
    ;;
esac
