#!/bin/bash
# 50 containers started with `run -d --network none busybox sleep 1000` by 8 parallel clients
# (xargs -P8), then removed with `rm -f` by 8 parallel clients; total wall time, berth vs docker
# (podman for information). Engines take turns, ROUNDS times; medians. Target: berth <= 1/10 of
# docker's total.
#
# Usage (root): benches/parallel-50.sh        ROUNDS=5 N=50 P=8 benches/parallel-50.sh
# Prints results on stdout; exits 0 whether targets pass or fail (2 if it could not measure).
set -uo pipefail
# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
N=${N:-50}
P=${P:-8}

bench_init parallel-50
start_berth
start_docker
import_busybox
# crun can't run on this hybrid-cgroup host outside a private namespace, and podman's
# containers must outlive one command here: podman uses runc.
PODMAN_EXTRA="--runtime runc" podman_prepare
engine_table

# running ENGINE: how many of this script's containers the engine lists as running.
running() { ${cli[$1]} ps -q --filter "name=$PREFIX" 2>/dev/null | grep -c .; }

declare -A t_run t_rm t_total
for round in $(seq "$ROUNDS"); do
    for e in "${engines[@]}"; do
        names=$(seq "$N" | sed "s/^/${PREFIX}$e-/")
        t0=$(now)
        # shellcheck disable=SC2086
        echo "$names" | xargs -P"$P" -I{} ${cli[$e]} run -d --pull never --network none \
            ${run_extra[$e]:-} --name {} busybox sleep 1000 >"$WORK/$e.run.out" 2>"$WORK/$e.run.err"
        rc=$?
        tr=$(elapsed "$t0")
        up=$(running "$e")
        [ "$rc" = 0 ] && [ "$up" = "$N" ] ||
            warn "$e round $round: run -d exit $rc, $up of $N running: $(sort "$WORK/$e.run.err" | uniq -c | head -3)"
        t0=$(now)
        # shellcheck disable=SC2086
        echo "$names" | xargs -P"$P" -n $(((N + P - 1) / P)) ${cli[$e]} rm -f >"$WORK/$e.rm.out" 2>"$WORK/$e.rm.err"
        rc=$?
        tm=$(elapsed "$t0")
        left=$(${cli[$e]} ps -aq --filter "name=$PREFIX" 2>/dev/null | grep -c .)
        [ "$rc" = 0 ] && [ "$left" = 0 ] ||
            warn "$e round $round: rm -f exit $rc, $left containers left: $(head -3 "$WORK/$e.rm.err")"
        log "round $round $e: run ${tr}s rm ${tm}s"
        t_run[$e]+="$tr "
        t_rm[$e]+="$tm "
        t_total[$e]+="$(awk -v a="$tr" -v b="$tm" 'BEGIN { print a + b }') "
    done
done

echo "== parallel-50: $N x run -d (sleep 1000) by $P clients, then rm -f by $P clients (median of $ROUNDS rounds, seconds)"
printf '%-10s %10s %10s %10s   %s\n' engine run_s rm_s total_s "all totals"
declare -A total
for e in "${engines[@]}"; do
    total[$e]=$(median_of "${t_total[$e]}")
    printf '%-10s %10.3f %10.3f %10.3f   %s\n' "$e" "$(median_of "${t_run[$e]}")" "$(median_of "${t_rm[$e]}")" "${total[$e]}" "${t_total[$e]}"
done
echo
target_line "berth/docker (total)" "$(ratio "${total[berth]}" "${total[docker]}")" 0.100
[ -n "${total[podman]:-}" ] && printf '%-34s %9s   (information)\n' "berth/podman (total)" "$(ratio "${total[berth]}" "${total[podman]}")"
exit 0
