#!/bin/bash
# Start-to-exit latency of `run --rm --network none busybox true`: berth (its own CLI), docker,
# podman, `crun run` (and `runc run`) on the same busybox rootfs, in ONE hyperfine invocation,
# medians from its JSON. Targets: berth <= 1/10 of docker; berth <= 2x crun.
#
# Usage (root): benches/run-latency.sh        RUNS=50 benches/run-latency.sh
# Prints results on stdout; exits 0 whether targets pass or fail (2 if it could not measure).
set -uo pipefail
# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-30}
WARMUP=${WARMUP:-5}

bench_init run-latency
start_berth
start_docker
import_busybox
podman_prepare v1ns

# The OCI bundle: the same rootfs, crun's default spec (its namespaces: pid, network, ipc, uts,
# mount, cgroup), running `true` without a terminal.
bundle=$WORK/bundle
mkdir -p "$bundle/rootfs"
tar -xf "$BUSYBOX_TAR" -C "$bundle/rootfs" || die "unpacking the bundle rootfs failed"
(cd "$bundle" && crun spec) || die "crun spec failed"
jq '.process.args = ["true"] | .process.terminal = false' "$bundle/config.json" >"$bundle/config.tmp" &&
    mv "$bundle/config.tmp" "$bundle/config.json"
on_exit "v1ns crun delete -f ${PREFIX}crun >/dev/null 2>&1; v1ns runc delete -f ${PREFIX}runc >/dev/null 2>&1"

run_args="run --rm --pull never --network none"
names=(berth docker crun)
cmds=(
    "$BERTH -H unix://$BERTH_SOCK $run_args busybox true"
    "${DOCKER_CMD[*]} $run_args busybox true"
    "crun run -b $bundle ${PREFIX}crun"
)
if command -v runc >/dev/null; then
    names+=(runc)
    cmds+=("runc run -b $bundle ${PREFIX}runc")
fi
if [ "$PODMAN_OK" = 1 ]; then
    names+=(podman)
    cmds+=("podman $run_args ${PODMAN_RUN_FLAGS[*]} busybox true")
fi
# For information: the docker CLI against berth's daemon.
names+=("docker-cli->berth")
cmds+=("docker -H unix://$BERTH_SOCK $run_args busybox true")

declare -A med
hyperfine_medians "run-latency: run --rm --network none busybox true, start to exit"
target_line "berth/docker (median)" "$(ratio "${med[berth]}" "${med[docker]}")" 0.100
target_line "berth/crun (median)" "$(ratio "${med[berth]}" "${med[crun]}")" 2.000
[ -n "${med[runc]:-}" ] && printf '%-34s %9s   (information)\n' "berth/runc (median)" "$(ratio "${med[berth]}" "${med[runc]}")"
[ -n "${med[podman]:-}" ] && printf '%-34s %9s   (information)\n' "berth/podman (median)" "$(ratio "${med[berth]}" "${med[podman]}")"
printf '%-34s %9s   (information)\n' "docker-cli->berth / docker" "$(ratio "${med[docker-cli->berth]}" "${med[docker]}")"
exit 0
