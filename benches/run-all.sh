#!/bin/bash
# Runs every benchmark in turn (as root) and prints their results; each script's progress goes to
# stderr. With OUT=FILE, the results (stdout) are also written to FILE.
# Exits 0 when every script measured (whatever the targets say), 2 when one could not.
set -u
dir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=benches/lib.sh
source "$dir/lib.sh"  # for $BERTH, the binary the benchmarks run
out=${OUT:-/dev/null}
status=0
{
    echo "# berth benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, kernel $(uname -r)"
    echo "# berth binary built $(stat -c %y "$BERTH" 2>/dev/null | cut -d. -f1); tree at $(git -C "$dir/.." log -1 --format='%h %cs' 2>/dev/null)$(git -C "$dir/.." diff --quiet 2>/dev/null || echo ' (uncommitted changes)')"
} | tee "$out"
for b in run-latency parallel-50 memory import-load net-latency net-ports net-parallel-50 update-memory stats-50; do
    echo | tee -a "$out"
    "$dir/$b.sh" | tee -a "$out"
    rc=${PIPESTATUS[0]}
    if [ "$rc" != 0 ]; then
        echo "$b.sh: could not measure (exit $rc)" | tee -a "$out"
        status=2
    fi
done
exit "$status"
