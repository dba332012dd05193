#!/bin/sh
# Runs berth's fuzz targets (fuzz/, cargo-fuzz and libFuzzer on the stable compiler, without a
# sanitizer) for a bounded time each: first every input of fuzz/corpus/TARGET (the seeds and
# the regression inputs of fixed bugs), then new inputs for FUZZ_SECONDS (default 20).
# The committed corpus is only read: what a run finds goes to a temp dir. A crash, a hang
# (10 s per input) or an RSS over 1.5 GB fails the run; libFuzzer saves the input under
# fuzz/artifacts/TARGET/. scripts/test.sh calls this; ARCHITECTURE.md ("Fuzzing") says how to
# run a longer campaign.
#   scripts/fuzz.sh [TARGET...]     targets: unpack load api dns supervisor cron (default: all)
set -eu
cd "$(dirname "$0")/../fuzz"
secs=${FUZZ_SECONDS:-20}
targets=${*:-unpack load api dns supervisor cron}
# Beside the main build's artifacts, not among them: these are built with coverage flags.
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
    export CARGO_TARGET_DIR="$CARGO_TARGET_DIR/fuzz"
fi
work=$(mktemp -d /tmp/berth-fuzz-run.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
cargo fuzz build --sanitizer none
passed=0
for t in $targets; do
    mkdir -p "$work/$t"
    dict=""
    [ -f "dict/$t.dict" ] && dict="-dict=dict/$t.dict"
    start=$(date +%s)
    # shellcheck disable=SC2086
    if ! cargo fuzz run --sanitizer none "$t" "$work/$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=1536 -max_len=65536 \
        $dict -print_final_stats=1 >"$work/$t.log" 2>&1; then
        tail -n 60 "$work/$t.log" >&2
        echo "fuzz.sh: target $t failed; the input is under fuzz/artifacts/$t/" >&2
        exit 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
    cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -n 1)
    echo "fuzz $t: ${execs:-?} inputs in $(($(date +%s) - start)) s, $cov, no crash"
    passed=$((passed + 1))
done
echo "fuzz targets: $passed passed, 0 failed"
