#!/bin/bash
# `stats --no-stream` with N (50) running containers, berth (its own CLI) vs docker, in ONE
# hyperfine invocation, medians from its JSON; for information also the docker CLI against
# berth. Both daemons take two samples per container for the CPU percentage (dockerd one
# collector tick apart, 1 s; berth 0.5 s apart), so this is dominated by that wait and by how
# well 50 requests run in parallel.
#
# Usage (root): benches/stats-50.sh        RUNS=10 N=50 benches/stats-50.sh
# Prints results on stdout; exits 0 whatever the ratio (2 if it could not measure).
set -uo pipefail
# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
N=${N:-50}

bench_init stats-50
start_berth
start_docker
make_busybox_tar
import_image bx "$BUSYBOX_TAR" busybox:latest -c 'CMD ["sh"]'
import_image dk "$BUSYBOX_TAR" busybox:latest -c 'CMD ["sh"]'

for e in bx dk; do
    seq "$N" | sed "s/^/${PREFIX}$e-/" | while read -r name; do
        $e run -d --pull never --network none --name "$name" busybox sleep 1000 >/dev/null || die "$e run -d $name failed"
    done
    up=$($e ps -q --filter "name=$PREFIX" | grep -c .)
    [ "$up" = "$N" ] || die "$e: $up of $N containers running"
done
log "$N containers running in each engine"

names=(berth docker "docker-cli->berth")
cmds=(
    "$BERTH -H unix://$BERTH_SOCK stats --no-stream"
    "${DOCKER_CMD[*]} stats --no-stream"
    "docker -H unix://$BERTH_SOCK stats --no-stream"
)
declare -A med
hyperfine_medians "stats-50: stats --no-stream with $N running containers"
# Sanity: every container is in berth's table.
rows=$(bx stats --no-stream --format '{{.Name}}' | grep -c "^$PREFIX")
[ "$rows" = "$N" ] || die "berth stats listed $rows of $N containers"
printf '%-34s %9s   (lower is better)\n' "berth/docker (median)" "$(ratio "${med[berth]}" "${med[docker]}")"
printf '%-34s %9s   (information)\n' "docker-cli->berth / docker" "$(ratio "${med[docker-cli->berth]}" "${med[docker]}")"
exit 0
