#!/bin/bash
# Memory: the per-container monitor's RSS with 10 containers running (berth: `berth shim`
# processes; docker: containerd-shim-runc-v2; podman: conmon), as the average VmRSS (and PSS,
# which splits shared pages between the processes that share them); and the daemons' idle RSS
# (berth daemon vs dockerd + containerd) after startup and after the 10 containers are removed.
# Targets: berth shim average VmRSS <= 2048 kB; berth daemon idle VmRSS <= 15 MiB (15360 kB).
# berth's init as a supervisor with three programs (PID 1) <= 1024 kB. For information: PID 1 of a
# `run --init` container, berth's init vs docker-init (tini).
#
# For information, also berth's idle daemon after a burst of BURST (50) containers run and
# removed by 8 parallel clients (BURST=0 skips it).
#
# Usage (root): benches/memory.sh        N=10 SETTLE=2 BURST=50 benches/memory.sh
# Prints results on stdout; exits 0 whether targets pass or fail (2 if it could not measure).
set -uo pipefail
# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"

N=${N:-10}
SETTLE=${SETTLE:-2}
BURST=${BURST:-50}
BURST_SETTLE=${BURST_SETTLE:-12}

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
pss() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
# sum_of FN PID...: FN summed over the pids.
sum_of() {
    local f=$1 p t=0
    shift
    for p in "$@"; do t=$((t + $($f "$p"))); done
    echo "$t"
}
avg_of() {
    local f=$1
    shift
    [ $# -gt 0 ] || { echo nan; return; }
    awk -v s="$(sum_of "$f" "$@")" -v n=$# 'BEGIN { printf "%.0f", s / n }'
}
docker_daemon_pids() { echo "$(pgrep -x dockerd | head -1) $(containerd_pid)"; }

bench_init memory
start_berth
start_docker
sleep "$SETTLE"
berth_start_rss=$(rss "$BERTH_PID")
# shellcheck disable=SC2046
docker_start_rss=$(sum_of rss $(docker_daemon_pids))
dockerd_started_here=$([ -n "$DOCKERD_PID" ] && echo yes || echo "no (was already running)")

import_busybox
PODMAN_EXTRA="--runtime runc" podman_prepare
engine_table

for e in "${engines[@]}"; do
    log "starting $N $e containers"
    for i in $(seq "$N"); do
        # shellcheck disable=SC2086
        ${cli[$e]} run -d --pull never --network none ${run_extra[$e]:-} --name "$PREFIX$e-$i" busybox sleep 1000 \
            >/dev/null 2>"$WORK/run.err" || warn "$e run -d failed: $(head -2 "$WORK/run.err")"
    done
done
sleep "$SETTLE"

# The monitors of this script's containers.
declare -A mon
mon[berth]=$(berth_shim_pids | tr '\n' ' ')
ids=$(dk ps -q --no-trunc --filter "name=$PREFIX")
mon[docker]=$(for id in $ids; do pgrep -f "containerd-shim-runc-v2 .*-id $id"; done | tr '\n' ' ')
if [ "$PODMAN_OK" = 1 ]; then
    ids=$(podman ps -q --no-trunc --filter "name=$PREFIX")
    mon[podman]=$(for id in $ids; do pgrep -x conmon -a | awk -v id="$id" '$0 ~ "-c " id { print $1 }'; done | tr '\n' ' ')
fi
berth_busy_rss=$(rss "$BERTH_PID")
# shellcheck disable=SC2046
docker_busy_rss=$(sum_of rss $(docker_daemon_pids))

echo "== memory: monitor process per running container ($N containers each, busybox sleep 1000)"
printf '%-8s %-24s %6s %14s %14s %12s\n' engine process count avg_VmRSS_kB avg_Pss_kB max_RSS_kB
declare -A avg_rss
for e in "${engines[@]}"; do
    case $e in berth) pname="berth shim" ;; docker) pname=containerd-shim-runc-v2 ;; podman) pname=conmon ;; esac
    # shellcheck disable=SC2086
    set -- ${mon[$e]}
    [ $# = "$N" ] || warn "$e: found $# monitor processes for $N containers"
    avg_rss[$e]=$(avg_of rss "$@")
    max=$(for p in "$@"; do rss "$p"; done | sort -n | tail -1)
    printf '%-8s %-24s %6s %14s %14s %12s\n' "$e" "$pname" $# "${avg_rss[$e]}" "$(avg_of pss "$@")" "${max:-nan}"
done

# PID 1 of a `run --init` container: berth's init (the berth binary, bind-mounted) vs docker's
# (tini as docker-init).
declare -A init_rss
for e in berth docker; do
    # shellcheck disable=SC2086
    ${cli[$e]} run -d --pull never --network none --init --name "${PREFIX}$e-init" busybox sleep 1000 \
        >/dev/null 2>"$WORK/run.err" || warn "$e run -d --init failed: $(head -2 "$WORK/run.err")"
done
# berth's init as a supervisor (issue 5) with three programs: a sleeper, a loop writing a line a
# second (its output goes through PID 1 to the log) and busybox httpd.
"$BERTH" -H "unix://$BERTH_SOCK" run -d --pull never --network none --name "${PREFIX}berth-supervise" \
    --program 'idle=sleep 1000' --program 'talk=sh -c "while true; do echo x; sleep 1; done"' \
    --program 'web=httpd -f -p 8080' busybox >/dev/null 2>"$WORK/run.err" ||
    warn "berth run --supervise failed: $(head -2 "$WORK/run.err")"
sleep "$SETTLE"
for e in berth docker; do
    init_rss[$e]=$(rss "$(${cli[$e]} inspect -f '{{.State.Pid}}' "${PREFIX}$e-init" 2>/dev/null)")
done
# (inspect asks the supervisor for its programs' states: measure a moment after it.)
supervise_pid=$("$BERTH" -H "unix://$BERTH_SOCK" inspect -f '{{.State.Pid}}' "${PREFIX}berth-supervise" 2>/dev/null)
sleep 1
supervise_rss=$(rss "$supervise_pid")

log "removing the containers"
for e in "${engines[@]}"; do
    # shellcheck disable=SC2046
    ${cli[$e]} rm -f $(${cli[$e]} ps -aq --filter "name=$PREFIX") >/dev/null 2>"$WORK/rm.err" ||
        warn "$e rm -f failed: $(head -2 "$WORK/rm.err")"
done
sleep "$SETTLE"
left=$(berth_shim_pids | tr '\n' ' ')
[ -z "$left" ] || warn "berth shims still running after rm -f: $left"
berth_after_rss=$(rss "$BERTH_PID")
# shellcheck disable=SC2046
docker_after_rss=$(sum_of rss $(docker_daemon_pids))

# For information: berth's idle daemon after a burst of BURST containers started and removed by
# 8 parallel clients, once its idle blocking threads have exited (tokio keeps them 10 s).
if [ "$BURST" -gt 0 ]; then
    log "burst: $BURST x run -d by 8 clients, rm -f, then ${BURST_SETTLE}s idle"
    seq "$BURST" | xargs -P8 -I{} "$BERTH" -H "unix://$BERTH_SOCK" run -d --pull never --network none \
        --name "${PREFIX}burst-{}" busybox sleep 1000 >/dev/null 2>"$WORK/burst.err" ||
        warn "burst run -d failed: $(sort "$WORK/burst.err" | uniq -c | head -2)"
    # shellcheck disable=SC2046
    bx ps -aq --filter "name=$PREFIX" | xargs -r -n7 -P8 "$BERTH" -H "unix://$BERTH_SOCK" rm -f >/dev/null ||
        warn "burst rm -f failed"
    sleep "$BURST_SETTLE"
    berth_burst_rss=$(rss "$BERTH_PID")
    berth_burst_anon=$(awk '/^RssAnon:/ { print $2 }' "/proc/$BERTH_PID/status")
    berth_burst_threads=$(awk '/^Threads:/ { print $2 }' "/proc/$BERTH_PID/status")
fi

echo
echo "== memory: daemon VmRSS in kB (docker = dockerd + containerd; dockerd started here: $dockerd_started_here)"
printf '%-8s %14s %14s %14s\n' engine after_start "with_${N}_running" after_rm
printf '%-8s %14s %14s %14s\n' berth "$berth_start_rss" "$berth_busy_rss" "$berth_after_rss"
printf '%-8s %14s %14s %14s\n' docker "$docker_start_rss" "$docker_busy_rss" "$docker_after_rss"
echo
target_line "berth shim avg VmRSS (kB)" "${avg_rss[berth]}" 2048
target_line "berth daemon after start (kB)" "$berth_start_rss" 15360
target_line "berth daemon after rm (kB)" "$berth_after_rss" 15360
[ "$BURST" -gt 0 ] && printf '%-34s %9s   (information: RssAnon %s kB, %s threads; same 15360 kB target: %s)\n' \
    "berth daemon after burst (kB)" "$berth_burst_rss" "$berth_burst_anon" "$berth_burst_threads" "$(verdict "$berth_burst_rss" 15360)"
target_line "berth supervisor, 3 programs (kB)" "${supervise_rss:-nan}" 1024
printf '%-34s %9s   (information: docker-init %s kB)\n' \
    "berth --init PID 1 VmRSS (kB)" "${init_rss[berth]:-nan}" "${init_rss[docker]:-nan}"
printf '%-34s %9s   (information)\n' "berth/docker shim VmRSS" "$(ratio "${avg_rss[berth]}" "${avg_rss[docker]}")"
printf '%-34s %9s   (information)\n' "berth/docker daemon after rm" "$(ratio "$berth_after_rss" "$docker_after_rss")"
exit 0
