#!/bin/bash
# Start-to-exit latency of `run --rm busybox true` on the DEFAULT BRIDGE (a veth, an address,
# routes, /etc/hosts and resolv.conf for every container): berth (its own CLI), docker, podman
# (its default network), in ONE hyperfine invocation, medians from its JSON. Target: berth <= 1/10
# of docker.
#
# Usage (root): benches/net-latency.sh        RUNS=50 benches/net-latency.sh
# Prints results on stdout; exits 0 whether targets pass or fail (2 if it could not measure).
set -uo pipefail
# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-30}
WARMUP=${WARMUP:-5}

bench_init net-latency
start_berth
DOCKER_NETWORKING=1 start_docker
import_busybox
# As in run-latency.sh, hyperfine runs in the cgroup-v1 mount namespace, where podman can use
# its default runtime (crun).
PODMAN_NETWORK=bridge podman_prepare v1ns

run_args="run --rm --pull never"
names=(berth docker)
cmds=(
    "$BERTH -H unix://$BERTH_SOCK $run_args busybox true"
    "${DOCKER_CMD[*]} $run_args busybox true"
)
if [ "$PODMAN_OK" = 1 ]; then
    names+=(podman)
    cmds+=("podman $run_args ${PODMAN_RUN_FLAGS[*]} busybox true")
fi

hf_args=(-N --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/hyperfine.json" --style basic)
for i in "${!names[@]}"; do hf_args+=(-n "${names[i]}" "${cmds[i]}"); done
log "hyperfine: ${#names[@]} commands x $RUNS runs (+$WARMUP warmup), in a cgroup-v1 mount namespace"
v1ns hyperfine "${hf_args[@]}" >"$WORK/hyperfine.out" 2>&1 || {
    cat "$WORK/hyperfine.out" >&2
    die "hyperfine failed (a command exited non-zero)"
}

declare -A med
echo "== net-latency: run --rm busybox true on the default bridge, start to exit ($RUNS runs, $WARMUP warmup, one hyperfine invocation)"
printf '%-20s %10s %10s %10s %10s %10s\n' engine median_ms mean_ms stddev_ms min_ms max_ms
while IFS=$'\t' read -r name median mean stddev min max; do
    med[$name]=$median
    awk -v n="$name" -v a="$median" -v b="$mean" -v c="$stddev" -v d="$min" -v e="$max" \
        'BEGIN { printf "%-20s %10.1f %10.1f %10.1f %10.1f %10.1f\n", n, a*1000, b*1000, c*1000, d*1000, e*1000 }'
done < <(jq -r '.results[] | [.command, .median, .mean, .stddev, .min, .max] | @tsv' "$WORK/hyperfine.json")
echo
target_line "berth/docker (median)" "$(ratio "${med[berth]}" "${med[docker]}")" 0.100
[ -n "${med[podman]:-}" ] && printf '%-34s %9s   (information)\n' "berth/podman (median)" "$(ratio "${med[berth]}" "${med[podman]}")"
exit 0
