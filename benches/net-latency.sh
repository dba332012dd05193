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

declare -A med
hyperfine_medians "net-latency: run --rm busybox true on the default bridge, start to exit"
target_line "berth/docker (median)" "$(ratio "${med[berth]}" "${med[docker]}")" 0.100
[ -n "${med[podman]:-}" ] && printf '%-34s %9s   (information)\n' "berth/podman (median)" "$(ratio "${med[berth]}" "${med[podman]}")"
exit 0
