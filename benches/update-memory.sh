#!/bin/bash
# Latency of a live `update --memory 200m` of a running container (256 MiB at start), berth
# (its own CLI) vs docker, in ONE hyperfine invocation, medians from its JSON; for information
# also the docker CLI against berth. Each run writes the same value: what is measured is the
# request path (CLI, API, validation, record, cgroup writes), not the kernel's reclaim.
#
# Usage (root): benches/update-memory.sh        RUNS=50 benches/update-memory.sh
# Prints results on stdout; exits 0 whatever the ratio (2 if it could not measure).
set -uo pipefail
# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-30}
WARMUP=${WARMUP:-5}

bench_init update-memory
start_berth
start_docker
make_busybox_tar
import_image bx "$BUSYBOX_TAR" busybox:latest -c 'CMD ["sh"]'
import_image dk "$BUSYBOX_TAR" busybox:latest -c 'CMD ["sh"]'

for e in bx dk; do
    $e run -d --pull never --network none --name "${PREFIX}$e" -m 256m busybox sleep 1000 >/dev/null ||
        die "$e run -d failed"
done

names=(berth docker "docker-cli->berth")
cmds=(
    "$BERTH -H unix://$BERTH_SOCK update --memory 200m ${PREFIX}bx"
    "${DOCKER_CMD[*]} update --memory 200m ${PREFIX}dk"
    "docker -H unix://$BERTH_SOCK update --memory 200m ${PREFIX}bx"
)
declare -A med
hyperfine_medians "update-memory: update --memory 200m of a running container"
# Both really changed the limit (and the container kept running).
[ "$(bx inspect -f '{{.HostConfig.Memory}} {{.State.Running}}' "${PREFIX}bx")" = "209715200 true" ] ||
    die "berth's container does not show the new limit"
[ "$(dk inspect -f '{{.HostConfig.Memory}} {{.State.Running}}' "${PREFIX}dk")" = "209715200 true" ] ||
    die "docker's container does not show the new limit"
printf '%-34s %9s   (lower is better)\n' "berth/docker (median)" "$(ratio "${med[berth]}" "${med[docker]}")"
printf '%-34s %9s   (information)\n' "docker-cli->berth / docker" "$(ratio "${med[docker-cli->berth]}" "${med[docker]}")"
exit 0
