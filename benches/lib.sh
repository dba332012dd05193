# Shared helpers for the benchmark scripts in this directory; sourced, not run.
#
# Every script: `bench_init NAME` (root check, setup.sh, a work dir under /tmp, an EXIT trap),
# then starts what it compares (`start_berth`, `start_docker`, `podman_prepare`), measures, and
# prints results on stdout (progress goes to stderr). Everything a script creates is undone by
# the trap in reverse order, also on failure or Ctrl-C: containers, networks, imported images, the
# private berth daemon, a dockerd/containerd the script started, crun containers, what the
# engines added to the host's network setup (bridges, veths, nftables/iptables rules, network
# namespaces, docker-proxy/aardvark-dns processes), mounts under the work dir, cgroups, and the
# work dir itself. Leftovers that had to be forced away are reported as WARN lines on stderr,
# since they point at a bug (berth's or the script's).
# shellcheck shell=bash disable=SC2034  # PODMAN_OK and friends are read by the sourcing scripts

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
# The release build (`cargo build --release`; CARGO_TARGET_DIR is honoured), or BERTH=.
BERTH=${BERTH:-${CARGO_TARGET_DIR:-$REPO/target}/x86_64-unknown-linux-gnu/release/berth}
# Every container, crun ID and temp name a script makes starts with this, so cleanup can find
# them even on a shared dockerd or podman store.
PREFIX="bb$$-"
# The private berth daemon's default bridge and nftables table (`ip $BERTH_TABLE`): unique to
# this run, so a berth0 / `ip berth` of the host (or of another run) is never touched.
BERTH_BRIDGE="bb$$"
BERTH_TABLE="bb$$"
BENCH_NAME=bench
WORK=
BERTH_PID=
BERTH_SOCK=
DOCKERD_PID=
DOCKER_CMD=(docker -H unix:///var/run/docker.sock)
PODMAN_OK=0
PODMAN_RUN_FLAGS=()
WARNINGS=0

log() { echo "[$BENCH_NAME] $*" >&2; }
warn() { echo "[$BENCH_NAME] WARN: $*" >&2; WARNINGS=$((WARNINGS + 1)); }
die() { echo "[$BENCH_NAME] ERROR: $*" >&2; exit 2; }

# --- cleanup stack --------------------------------------------------------------------------

_CLEANUPS=()
on_exit() { _CLEANUPS+=("$1"); }
_run_cleanups() {
    local rc=$? i
    set +e
    trap - EXIT INT TERM
    # A signal that comes while a shell function runs with redirections (`v1ns hyperfine ...
    # >file 2>&1`, `bx ... >/dev/null`) runs this with the function's stdout and stderr: back
    # to the script's own (saved by bench_init; the daemons don't inherit the copies), so the
    # cleanup's messages are seen.
    [ -z "${_OUT_FD:-}" ] || exec 1>&"$_OUT_FD" 2>&"$_ERR_FD"
    for ((i = ${#_CLEANUPS[@]} - 1; i >= 0; i--)); do
        eval "${_CLEANUPS[i]}"
    done
    if [ "$WARNINGS" -gt 0 ]; then log "cleanup finished with $WARNINGS warning(s)"; fi
    exit "$rc"
}

# bench_init NAME: checks, setup, work dir, traps.
bench_init() {
    BENCH_NAME=$1
    [ "$(id -u)" = 0 ] || die "must run as root"
    bash "$BENCH_DIR/setup.sh" || die "setup.sh failed"
    [ -x "$BERTH" ] || die "no berth binary at $BERTH (run cargo build --release, or set BERTH=)"
    BERTH_SRC=$BERTH
    exec {_OUT_FD}>&1 {_ERR_FD}>&2
    trap _run_cleanups EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # Short on purpose: berth's shim socket is <exec-root>/containers/<64 hex>/shim.sock and must
    # fit in sockaddr_un (108 bytes), so the exec root can't be longer than ~21 characters.
    WORK=$(mktemp -d /tmp/bb.XXXXXX) || die "mktemp failed"
    on_exit _remove_work
    _snapshot_cgroups >"$WORK/cgroups.before"
    on_exit _check_leftovers
    _snapshot_net
    on_exit _check_net_leftovers
    echo "$BENCH_NAME" >"$WORK/bench-name"
    # A private copy, so a rebuild during the run doesn't swap the daemon's or the shims' binary.
    cp "$BERTH_SRC" "$WORK/berth.bin" || die "copying $BERTH_SRC failed"
    BERTH=$WORK/berth.bin
    log "work dir $WORK, berth $BERTH_SRC ($(stat -c %y "$BERTH_SRC" | cut -d. -f1))"
}

# make_busybox_tar: the busybox image as a rootfs tar, from Debian's busybox-static (no
# registry), at $BUSYBOX_TAR.
BUSYBOX_TAR=
make_busybox_tar() {
    BUSYBOX_TAR=$WORK/busybox.tar
    [ -f "$BUSYBOX_TAR" ] || sh "$REPO/tests/make-busybox.sh" "$BUSYBOX_TAR" || die "make-busybox.sh failed"
}

# import_busybox: the busybox rootfs tar (make_busybox_tar) imported as busybox:latest (CMD sh)
# into berth, docker and podman; after start_berth and start_docker.
import_busybox() {
    local eng
    make_busybox_tar
    for eng in bx dk podman; do
        import_image "$eng" "$BUSYBOX_TAR" busybox:latest -c 'CMD ["sh"]'
    done
}

# engine_table: after podman_prepare, the engines to compare in `engines` (berth, docker, and
# podman if it works here) with, per engine, its CLI command (`cli[e]`, to be word-split), the
# function of this file that runs it (`fn[e]`: bx, dk, podman) and extra `run` flags
# (`run_extra[e]`).
engine_table() {
    engines=(berth docker)
    declare -gA cli=([berth]="$BERTH -H unix://$BERTH_SOCK" [docker]="${DOCKER_CMD[*]}")
    declare -gA fn=([berth]=bx [docker]=dk)
    declare -gA run_extra=()
    if [ "$PODMAN_OK" = 1 ]; then
        engines+=(podman)
        cli[podman]=podman
        fn[podman]=podman
        run_extra[podman]="${PODMAN_RUN_FLAGS[*]}"
    fi
}

# --- berth ----------------------------------------------------------------------------------

bx() { "$BERTH" -H "unix://$BERTH_SOCK" "$@"; }

# start_berth: a private daemon with its own root, exec root and socket under $WORK, in its own
# session (so a Ctrl-C to the script doesn't reach it before cleanup has removed containers),
# with its own default bridge ($BERTH_BRIDGE, made at startup, deleted at exit) and nftables
# table ($BERTH_TABLE: the daemon deletes it when it stops with no container running).
start_berth() {
    local d=$WORK/berth i
    mkdir -p "$d"
    BERTH_SOCK=$d/berth.sock
    ! link_exists "$BERTH_BRIDGE" || die "interface $BERTH_BRIDGE exists already"
    own_link "$BERTH_BRIDGE"
    own_table ip "$BERTH_TABLE" warn
    setsid "$BERTH" daemon --root "$d/root" --exec-root "$WORK/r" -H "unix://$BERTH_SOCK" \
        --bridge "$BERTH_BRIDGE" --firewall-table "$BERTH_TABLE" >"$d/daemon.log" 2>&1 </dev/null \
        {_OUT_FD}>&- {_ERR_FD}>&- &
    BERTH_PID=$!
    on_exit stop_berth
    for i in $(seq 200); do
        [ -S "$BERTH_SOCK" ] && bx version >/dev/null 2>&1 && break
        kill -0 "$BERTH_PID" 2>/dev/null || { tail -20 "$d/daemon.log" >&2; die "berth daemon exited at startup"; }
        sleep 0.05
    done
    bx version >/dev/null 2>&1 || { tail -20 "$d/daemon.log" >&2; die "berth daemon not answering on $BERTH_SOCK"; }
    log "berth daemon pid $BERTH_PID on $BERTH_SOCK"
}

# cmdline PID [SEP]: a process's argv joined by SEP (a space), empty if it is gone.
cmdline() { { tr '\0' "${2:- }" <"/proc/$1/cmdline"; } 2>/dev/null; }

# Processes whose command line mentions the given path (shims, containerd of our dockerd, ...).
procs_mentioning() {
    local p
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        case "$(cmdline "$p")" in *"$1"*) echo "$p" ;; esac
    done
}

# berth shim pids of our daemon: processes whose argv is `.../berth shim <rundir under $WORK>`.
berth_shim_pids() {
    local p
    for p in $(procs_mentioning "$WORK/r/"); do
        [ "$(cmdline "$p" '\n' | sed -n 2p)" = shim ] && echo "$p"
    done
}

stop_berth() {
    [ -n "$BERTH_PID" ] || return 0
    local ids p i left
    if kill -0 "$BERTH_PID" 2>/dev/null; then
        ids=$(bx ps -aq --no-trunc 2>/dev/null)
        if [ -n "$ids" ]; then
            # shellcheck disable=SC2086
            bx rm -f $ids >/dev/null 2>&1 || warn "berth rm -f failed: $(bx rm -f $ids 2>&1 | head -3)"
        fi
        bx ps -aq 2>/dev/null | grep -q . && warn "berth still lists containers after rm -f: $(bx ps -a 2>&1 | head -5)"
        kill -TERM "$BERTH_PID"
        for i in $(seq 100); do kill -0 "$BERTH_PID" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$BERTH_PID" 2>/dev/null; then
            warn "berth daemon ignored SIGTERM for 10 s; killing it"
            kill -KILL "$BERTH_PID"
        fi
    fi
    wait "$BERTH_PID" 2>/dev/null
    left=$(berth_shim_pids)
    if [ -n "$left" ]; then
        warn "berth shims left running after rm -f and daemon stop: $left"
        for p in $left; do kill -KILL "$p" 2>/dev/null; done
    fi
    if grep -q -E ' (ERROR|WARN) ' "$WORK/berth/daemon.log" 2>/dev/null; then
        warn "berth daemon log has errors/warnings (first 5):"
        grep -E ' (ERROR|WARN) ' "$WORK/berth/daemon.log" | head -5 >&2
    fi
    BERTH_PID=
}

# --- docker ---------------------------------------------------------------------------------

dk() { "${DOCKER_CMD[@]}" "$@"; }

# start_docker: uses a running dockerd on /var/run/docker.sock, or starts one (with its own
# data and exec roots under $WORK, no bridge and no iptables rules, so it leaves nothing in the
# host's network setup) and stops it at the end.
# DOCKER_NETWORKING=1: networking benchmarks; the dockerd started has its default bridge
# (docker0, deleted at exit unless it was there before) and user-defined networks, but still
# `--iptables=false`: it adds no iptables rules, published ports go through docker-proxy, and
# the embedded DNS of user-defined networks works (its rules live in each container's
# namespace). A running dockerd must have its default bridge.
start_docker() {
    local d=$WORK/docker i net_flags=(--bridge=none --iptables=false)
    on_exit stop_docker
    if dk version >/dev/null 2>&1; then
        [ -z "${DOCKER_PRIVATE:-}" ] || die "a dockerd is already running; this benchmark starts its own (stop it first)"
        if [ -n "${DOCKER_NETWORKING:-}" ] && ! dk network inspect bridge >/dev/null 2>&1; then
            die "the running dockerd has no default bridge (--bridge=none?); stop it and this benchmark starts its own"
        fi
        log "using the running dockerd"
        return 0
    fi
    if [ -n "${DOCKER_NETWORKING:-}" ]; then
        net_flags=(--iptables=false)
        link_exists docker0 || own_link docker0
    fi
    mkdir -p "$d"
    setsid dockerd --data-root "$d/data" --exec-root "$d/run" --pidfile "$d/dockerd.pid" \
        "${net_flags[@]}" >"$d/dockerd.log" 2>&1 </dev/null {_OUT_FD}>&- {_ERR_FD}>&- &
    DOCKERD_PID=$!
    for i in $(seq 300); do
        [ -S /var/run/docker.sock ] && dk version >/dev/null 2>&1 && break
        kill -0 "$DOCKERD_PID" 2>/dev/null || { tail -20 "$d/dockerd.log" >&2; die "dockerd exited at startup"; }
        sleep 0.1
    done
    dk version >/dev/null 2>&1 || { tail -20 "$d/dockerd.log" >&2; die "dockerd not answering"; }
    log "dockerd pid $DOCKERD_PID (started by this script)"
}

# The containerd serving our dockerd (its child, or a system one).
containerd_pid() {
    local p
    if [ -n "$DOCKERD_PID" ]; then
        p=$(pgrep -x -P "$DOCKERD_PID" containerd | head -1)
        [ -n "$p" ] && { echo "$p"; return; }
    fi
    pgrep -x containerd | head -1
}

stop_docker() {
    local i
    dk version >/dev/null 2>&1 && rm_prefixed dk
    [ -n "$DOCKERD_PID" ] || return 0
    kill -TERM "$DOCKERD_PID" 2>/dev/null
    for i in $(seq 300); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$DOCKERD_PID" 2>/dev/null; then
        warn "dockerd did not stop in 30 s; killing it"
        kill -KILL "$DOCKERD_PID"
    fi
    wait "$DOCKERD_PID" 2>/dev/null
    for i in $(procs_mentioning "$WORK/docker"); do
        warn "killing leftover docker process $i: $(cmdline "$i")"
        kill -KILL "$i" 2>/dev/null
    done
    DOCKERD_PID=
}

# --- images in docker/podman: import as busybox:latest, restore a tag we displaced -------------

# import_image ENGINE TAR REF [docker import args...]: ENGINE is dk, podman or bx.
import_image() {
    local eng=$1 tar=$2 ref=$3 old
    shift 3
    old=$($eng image inspect --format '{{.Id}}' "$ref" 2>/dev/null)
    $eng import "$@" "$tar" "$ref" >/dev/null 2>"$WORK/import.err" || { cat "$WORK/import.err" >&2; die "$eng import $ref failed"; }
    if [ "$eng" != bx ]; then
        on_exit "rm_prefixed $eng; _rmi $eng $ref $old"
    fi
}

# _rmi ENGINE REF [OLD]: removes REF, then tags image OLD (the one REF named before) back.
_rmi() {
    local try
    for try in 1 2 3; do
        # An engine client killed by the same signal may still be finishing with the image.
        [ "$try" = 1 ] || sleep 1
        "$1" rmi -f "$2" >/dev/null 2>"$WORK/rmi.err" && break
    done || warn "$1 rmi -f $2 failed: $(head -3 "$WORK/rmi.err")"
    [ -z "${3:-}" ] || "$1" tag "$3" "$2" >/dev/null 2>&1 || warn "$1 tag $3 $2 (putting the old $2 back) failed"
}

# rm_prefixed ENGINE: removes this script's containers (named $PREFIX*) from docker or podman
# (or berth: bx). Podman's are killed at once (`-t 0`), not after its 10 s stop timeout.
rm_prefixed() {
    local ids try now=()
    [ "$1" = podman ] && now=(-t 0)
    for try in 1 2 3; do
        ids=$($1 ps -aq --filter "name=$PREFIX" 2>/dev/null)
        [ -n "$ids" ] || return 0
        # An interrupted client can leave a removal in progress: try again a little later.
        [ "$try" = 1 ] || sleep 1
        # shellcheck disable=SC2086
        $1 rm -f "${now[@]}" $ids >/dev/null 2>"$WORK/rm.err" && return 0
    done
    warn "$1 rm -f of leftover containers failed: $(head -3 "$WORK/rm.err")"
}

# --- podman -----------------------------------------------------------------------------------

# podman_prepare [WRAP...]: finds flags that let `podman run` work on this host, trying the
# command under WRAP (e.g. the cgroup-v1 namespace wrapper). Sandboxes without CAP_SYS_RESOURCE
# can't raise RLIMIT_NOFILE/NPROC to podman's defaults; then the host's hard limits are passed.
# Sets PODMAN_OK=1 and PODMAN_RUN_FLAGS, or leaves PODMAN_OK=0 (podman is for information only).
# The try runs with `--network $PODMAN_NETWORK` (none; `bridge`: podman's default network, whose
# bridge, podman0, is deleted at exit unless it was there before).
podman_prepare() {
    local nofile nproc try br
    if [ "$PODMAN_NETWORK" != none ]; then
        br=$(podman network inspect -f '{{.NetworkInterface}}' podman 2>/dev/null)
        [ -z "$br" ] || link_exists "$br" || own_link "$br"
    fi
    nofile=$(ulimit -Hn)
    nproc=$(ulimit -Hu)
    [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
    for try in "" "--ulimit nofile=$nofile:$nofile --ulimit nproc=$nproc:$nproc"; do
        # shellcheck disable=SC2086
        if "$@" podman run --rm --pull never --network "$PODMAN_NETWORK" $PODMAN_EXTRA $try busybox true >"$WORK/podman-try.log" 2>&1; then
            PODMAN_OK=1
            # shellcheck disable=SC2206
            PODMAN_RUN_FLAGS=($PODMAN_EXTRA $try)
            log "podman run works with flags: ${PODMAN_RUN_FLAGS[*]:-(none)}"
            return 0
        fi
    done
    warn "podman run does not work here, skipping podman: $(tail -1 "$WORK/podman-try.log")"
}
PODMAN_EXTRA=
PODMAN_NETWORK=none

# --- cgroup v1 for crun -----------------------------------------------------------------------

# crun refuses hybrid cgroup hosts ("cgroups in hybrid mode not supported"). V1NS runs a shell
# command in a private mount namespace where /sys/fs/cgroup/unified is unmounted, so crun sees
# pure v1. Clients (berth, docker, podman CLIs) work the same in there; daemons stay outside.
v1ns() {
    unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' v1ns "$@"
}

# --- networking -------------------------------------------------------------------------------

link_exists() { ip link show dev "$1" >/dev/null 2>&1; }
# own_link NAME [warn]: a link (bridge) this run is answerable for. If it is still there at exit
# (after the engines are stopped), _check_net_leftovers deletes it, with the veths still on it;
# with `warn` its presence is a WARN (it should have gone by itself, e.g. with `network rm`).
own_link() { echo "$1 ${2:-quiet}" >>"$WORK/links.own"; }
# own_table FAMILY NAME [warn]: the same for an nftables table.
own_table() { echo "$1 $2 ${3:-quiet}" >>"$WORK/tables.own"; }

# Podman's aardvark-dns keeps a file per network; interrupted `podman run`s can leave it behind.
_AARDVARK=/run/containers/networks/aardvark-dns

# net_create ENGINE NAME: a user-defined bridge network in ENGINE (bx, dk or podman), removed at
# exit after the script's containers in that engine; its bridge is owned (`warn`).
net_create() {
    local eng=$1 name=$2 out br subnet
    out=$($eng network create "$name" 2>"$WORK/net.err") || {
        warn "$eng network create $name failed: $(head -3 "$WORK/net.err")"
        return 1
    }
    case $eng in
    podman)
        br=$(podman network inspect -f '{{.NetworkInterface}}' "$name")
        subnet=$(podman network inspect -f '{{range .Subnets}}{{.Subnet}} {{end}}' "$name")
        ;;
    *)
        br=br-${out:0:12} # berth and docker print the ID; the bridge is br-<first 12>
        subnet=$($eng network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' "$name")
        ;;
    esac
    own_link "$br" warn
    on_exit "_net_rm $eng $name $br"
    log "$eng network $name: bridge $br, subnet $subnet"
}

# _net_rm ENGINE NAME BRIDGE
_net_rm() {
    local try
    rm_prefixed "$1"
    for try in 1 2 3; do
        # dockerd can still hold an endpoint of a container just removed: try again a little later.
        [ "$try" = 1 ] || sleep 1
        if "$1" network rm "$2" >/dev/null 2>"$WORK/net.err"; then
            [ "$try" = 1 ] || log "$1 network rm $2: done at try $try"
            if [ "$1" = podman ] && [ -e "$_AARDVARK/$2" ]; then
                warn "podman left $_AARDVARK/$2 after network rm"
                rm -f "$_AARDVARK/$2"
            fi
            return 0
        fi
    done
    warn "$1 network rm $2 failed: $(head -3 "$WORK/net.err"); containers: $("$1" network inspect -f '{{json .Containers}}' "$2" 2>&1 | head -c 300)"
    # Its bridge stays, as a consequence of that (reported already): deleted without a second WARN.
    sed -i "s/^$3 warn\$/$3 quiet/" "$WORK/links.own"
}

# container_ip ENGINE NAME...: "NAME ADDRESS" per container (its address on its one network).
container_ip() {
    local eng=$1
    shift
    $eng inspect -f '{{.Name}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$@" | sed 's|^/||'
}

# What the engines' networking leaves on the host besides the links and tables they own:
# iptables (nft backend) chains and rules of podman's netavark or a dockerd with iptables,
# podman's network namespaces in /run/netns (and that directory's bind mount), docker-proxy
# and aardvark-dns processes, and net.ipv4.ip_forward (all three engines set it to 1).
_FW_RE='NETAVARK|DOCKER|CNI-'
_snapshot_net() {
    local c
    : >"$WORK/links.own"
    : >"$WORK/tables.own"
    cat /proc/sys/net/ipv4/ip_forward >"$WORK/ip_forward.before"
    nft list tables >"$WORK/nft.before" 2>/dev/null
    for c in iptables ip6tables; do
        command -v "$c-save" >/dev/null && "$c-save" >"$WORK/$c.before" 2>/dev/null
    done
    ls /run/netns >"$WORK/netns.before" 2>/dev/null
    mountpoint -q /run/netns && touch "$WORK/netns.mounted"
    _net_procs >"$WORK/netprocs.before"
}

_net_procs() { pgrep -x docker-proxy; pgrep -x aardvark-dns; }

# "TABLE -A CHAIN ..." rules, and "TABLE CHAIN" user chains, of an iptables-save dump.
_ipt_rules() { awk '/^\*/ { t = substr($0, 2) } /^-A / { print t " " $0 }' "$1" | sort; }
_ipt_chains() { awk '/^\*/ { t = substr($0, 2) } /^:/ && $2 == "-" { print t " " substr($1, 2) }' "$1" | sort; }

# _iptables_undo iptables|ip6tables: removes the engines' rules and chains added since the
# snapshot (netavark keeps its chains when its last container goes), then the tables
# iptables-nft created for them if they are empty now.
_iptables_undo() {
    local c=$1 fam=ip t rule chain chains done_=() left
    [ -f "$WORK/$c.before" ] || return 0
    [ "$c" = ip6tables ] && fam=ip6
    "$c-save" >"$WORK/$c.after" 2>/dev/null || return 0
    chains=$(comm -13 <(_ipt_chains "$WORK/$c.before") <(_ipt_chains "$WORK/$c.after") | grep -E "$_FW_RE")
    # Rules added to chains that were there before (jumps into the new chains, mostly); those
    # in new chains go with their chain.
    while read -r t rule; do
        [ -n "$t" ] || continue
        chain=$(awk '{ print $2 }' <<<"$rule")
        grep -qxF "$t $chain" <<<"$chains" && continue
        eval "$c -w -t $t -D ${rule#-A }" 2>/dev/null && done_+=("rule in $t/$chain")
    done < <(comm -13 <(_ipt_rules "$WORK/$c.before") <(_ipt_rules "$WORK/$c.after") | grep -E "$_FW_RE")
    while read -r t chain; do [ -n "$t" ] && "$c" -w -t "$t" -F "$chain"; done <<<"$chains"
    while read -r t chain; do [ -n "$t" ] && "$c" -w -t "$t" -X "$chain" && done_+=("chain $t/$chain"); done <<<"$chains"
    # Tables iptables-nft made for them: gone if nothing but the built-in chains is left.
    if "$c" --version 2>/dev/null | grep -q nf_tables; then
        while read -r t; do
            grep -qx "table $fam $t" "$WORK/nft.before" && continue
            left=$("$c-save" -t "$t" 2>/dev/null | grep -cE '^(-A |:[^ ]+ - )')
            [ "$left" = 0 ] && nft delete table "$fam" "$t" 2>/dev/null && done_+=("table $fam $t")
        done < <(awk '/^\*/ { print substr($0, 2) }' "$WORK/$c.after")
    fi
    [ ${#done_[@]} = 0 ] || log "removed what the engines left in $c (podman's netavark keeps its chains): ${done_[*]}"
}

_check_net_leftovers() {
    local p name how fam v f
    # Processes: a docker-proxy per published port, aardvark-dns for podman's networks.
    for p in $(_net_procs); do
        grep -qx "$p" "$WORK/netprocs.before" && continue
        [ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" = Z ] && continue
        warn "leftover process $p: $(cmdline "$p")"
        kill -KILL "$p" 2>/dev/null
        [ "$(cat "$_AARDVARK/aardvark.pid" 2>/dev/null)" = "$p" ] && rm -f "$_AARDVARK/aardvark.pid"
    done
    # Owned links (bridges), with the veths still attached to them.
    while read -r name how; do
        link_exists "$name" || continue
        for v in $(ip -o link show master "$name" 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
            warn "veth $v left on bridge $name"
            ip link del "$v" 2>/dev/null
        done
        if [ "$how" = warn ]; then warn "bridge $name left behind"; else log "deleting bridge $name"; fi
        ip link del "$name" || warn "could not delete $name"
    done <"$WORK/links.own"
    while read -r fam name how; do
        nft list table "$fam" "$name" >/dev/null 2>&1 || continue
        if [ "$how" = warn ]; then warn "nftables table $fam $name left behind"; else log "deleting nftables table $fam $name"; fi
        nft delete table "$fam" "$name" || warn "could not delete nftables table $fam $name"
    done <"$WORK/tables.own"
    _iptables_undo iptables
    _iptables_undo ip6tables
    # Network namespaces podman (netavark) names netns-<uuid>.
    for f in /run/netns/netns-*; do
        [ -e "$f" ] || continue
        f=${f#/run/netns/}
        grep -qxF "$f" "$WORK/netns.before" && continue
        warn "leftover network namespace /run/netns/$f"
        ip netns delete "$f"
    done
    # Podman (like `ip netns add`) makes /run/netns a shared bind mount of itself, and leaves it.
    if [ ! -e "$WORK/netns.mounted" ] && mountpoint -q /run/netns && [ -z "$(ls -A /run/netns)" ]; then
        umount /run/netns && log "unmounted /run/netns (podman made it a mount point)"
    fi
    v=$(cat "$WORK/ip_forward.before")
    if [ "$(cat /proc/sys/net/ipv4/ip_forward)" != "$v" ]; then
        echo "$v" >/proc/sys/net/ipv4/ip_forward
        log "net.ipv4.ip_forward set back to $v"
    fi
}

# --- leftovers ----------------------------------------------------------------------------------

_snapshot_cgroups() {
    find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d \
        \( -path '*/berth/*' -o -path '*/docker*' -o -path '*/libpod_parent*' \) 2>/dev/null | sort
}

# Other running berth daemons' containers, so their cgroups are never touched.
_foreign_berth_ids() {
    local p root
    for p in $(pgrep -f 'berth daemon'); do
        [ "$p" = "$BERTH_PID" ] && continue
        root=$(cmdline "$p" '\n' | sed -n '/^--root$/{n;p}')
        [ -n "$root" ] && ls "$root/containers" 2>/dev/null
        [ -n "$root" ] || ls /var/lib/berth/containers 2>/dev/null
    done
}

_check_leftovers() {
    local m dirs d id foreign
    # Processes: anything still mentioning our work dir.
    for m in $(procs_mentioning "$WORK/"); do
        [ "$m" = $$ ] && continue
        warn "leftover process $m: $(cmdline "$m")"
        kill -KILL "$m" 2>/dev/null
    done
    sleep 0.2
    # Mounts under the work dir, deepest first.
    for m in $(findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r); do
        warn "leftover mount $m"
        umount "$m" 2>/dev/null || umount -l "$m"
    done
    # New cgroups: berth ones of our containers are a berth leak; docker/podman ones are their
    # normal leftovers and removed quietly when this script started their daemon / used podman.
    _snapshot_cgroups >"$WORK/cgroups.after"
    dirs=$(comm -13 "$WORK/cgroups.before" "$WORK/cgroups.after" | sort -r)
    foreign=$(_foreign_berth_ids)
    for d in $dirs; do
        case "$d" in
        */berth/*)
            id=${d##*/berth/}
            id=${id%%/*}
            grep -qx "$id" <<<"$foreign" && continue
            if [ -z "$(cat "$d/cgroup.procs" 2>/dev/null)" ]; then
                warn "berth left cgroup $d"
                rmdir "$d" 2>/dev/null
            else
                warn "berth left cgroup $d with processes $(tr '\n' ' ' <"$d/cgroup.procs"); killing them"
                xargs -r kill -KILL <"$d/cgroup.procs"
                sleep 0.5
                rmdir "$d" 2>/dev/null || warn "could not remove $d"
            fi
            ;;
        *) [ -z "$(cat "$d/cgroup.procs" 2>/dev/null)" ] && rmdir "$d" 2>/dev/null ;;
        esac
    done
}

_remove_work() {
    [ -n "$WORK" ] && [ -d "$WORK" ] || return 0
    if findmnt -rn -o TARGET | grep -qF "$WORK/"; then
        warn "mounts remain under $WORK; not removing it"
        return 0
    fi
    rm -rf --one-file-system "$WORK"
}

# --- numbers ------------------------------------------------------------------------------------

# ratio A B: A/B with 3 decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "nan"; else printf "%.3f", a / b }'; }
# verdict VALUE LIMIT: PASS if VALUE <= LIMIT.
verdict() { awk -v v="$1" -v l="$2" 'BEGIN { print (v != "nan" && v + 0 <= l + 0) ? "PASS" : "FAIL" }'; }
# median_of "N1 N2 ...": the median of space-separated numbers (nan if there are none).
median_of() { tr ' ' '\n' <<<"$1" | grep . | median; }
# median of the numbers on stdin.
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# now: seconds since the epoch with nanoseconds.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
# target_line LABEL VALUE LIMIT: one result line, "LABEL  VALUE  target <= LIMIT  PASS|FAIL".
target_line() { printf '%-34s %9s   target <= %-8s %s\n' "$1" "$2" "$3" "$(verdict "$2" "$3")"; }

# hyperfine_medians TITLE: runs the arrays `names` and `cmds` in one hyperfine invocation (RUNS,
# WARMUP; in the cgroup-v1 mount namespace), prints "== TITLE" and a table of the times in ms,
# and fills the associative array `med` (name -> median seconds). Dies if a command fails.
hyperfine_medians() {
    local title=$1 i name median mean stddev min max
    local hf_args=(-N --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/hyperfine.json" --style basic)
    for i in "${!names[@]}"; do hf_args+=(-n "${names[i]}" "${cmds[i]}"); done
    log "hyperfine: ${#names[@]} commands x $RUNS runs (+$WARMUP warmup), in a cgroup-v1 mount namespace"
    v1ns hyperfine "${hf_args[@]}" >"$WORK/hyperfine.out" 2>&1 || {
        cat "$WORK/hyperfine.out" >&2
        die "hyperfine failed (a command exited non-zero)"
    }
    echo "== $title ($RUNS runs, $WARMUP warmup, one hyperfine invocation)"
    printf '%-20s %10s %10s %10s %10s %10s\n' engine median_ms mean_ms stddev_ms min_ms max_ms
    while IFS=$'\t' read -r name median mean stddev min max; do
        med[$name]=$median
        awk -v n="$name" -v a="$median" -v b="$mean" -v c="$stddev" -v d="$min" -v e="$max" \
            'BEGIN { printf "%-20s %10.1f %10.1f %10.1f %10.1f %10.1f\n", n, a*1000, b*1000, c*1000, d*1000, e*1000 }'
    done < <(jq -r '.results[] | [.command, .median, .mean, .stddev, .min, .max] | @tsv' "$WORK/hyperfine.json")
    echo
}
