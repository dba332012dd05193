#!/bin/bash
# 50 containers on one user-defined network, started all at once: per engine (berth, docker,
# podman if it works here) one `network create`, then N (50) x `run -d --network NET busybox
# sleep 1000` by P (50) parallel clients (xargs -P), timed until every one is running (each
# `run -d` returns once its container runs; the script then checks that N are). Then, untimed:
# the N addresses must be distinct, and container 0 must resolve every other container's name to
# that container's address through the network's DNS server (one `exec` running busybox
# nslookup for each name; failures are counted and listed); then `rm -f` of all. Engines take
# turns, ROUNDS times; medians. Target: berth's start time <= 1/10 of docker's.
#
# DNS queries ask only for the names of containers made here ("NAME.", no search domain), of the
# first nameserver in the container's resolv.conf (the engine's own DNS server).
#
# Usage (root): benches/net-parallel-50.sh        ROUNDS=5 N=50 P=8 benches/net-parallel-50.sh
# Prints results on stdout; exits 0 whether targets pass or fail (2 if it could not measure).
set -uo pipefail
# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
N=${N:-50}
P=${P:-50}

bench_init net-parallel-50
start_berth
DOCKER_NETWORKING=1 start_docker
import_busybox
# Containers that outlive one command: podman uses runc (crun refuses this hybrid-cgroup host).
PODMAN_EXTRA="--runtime runc" PODMAN_NETWORK=bridge podman_prepare
engine_table

# One network per engine; an engine whose network can't be made is left out (berth and docker
# must have theirs).
net=${PREFIX}net
declare -A rm_extra=([podman]="-t 0")
ok=()
for e in "${engines[@]}"; do
    if net_create "${fn[$e]}" "$net"; then
        ok+=("$e")
    else
        [ "$e" = podman ] || die "$e network create failed"
    fi
done
engines=("${ok[@]}")

# In container 0: for each name, "NAME ADDRESS" (- when the lookup failed), asking the first
# nameserver of resolv.conf (the engine's DNS server) for the A record of NAME. (busybox)
# shellcheck disable=SC2016
lookup='ns=$(awk "/^nameserver/ { print \$2; exit }" /etc/resolv.conf)
for n in "$@"; do
    a=$(timeout 5 nslookup -type=a "$n." "$ns" 2>/dev/null | awk "/^Name:/ { f = 1 } f && /^Address/ { print \$NF; exit }")
    echo "$n ${a:--}"
done'

declare -A t_run t_rm bad_addr bad_dns
for round in $(seq "$ROUNDS"); do
    for e in "${engines[@]}"; do
        names=$(seq 0 $((N - 1)) | sed "s/^/${PREFIX}$e-/")
        t0=$(now)
        # shellcheck disable=SC2086
        echo "$names" | xargs -P"$P" -I{} ${cli[$e]} run -d --pull never --network "$net" \
            ${run_extra[$e]:-} --name {} busybox sleep 1000 >"$WORK/$e.run.out" 2>"$WORK/$e.run.err"
        rc=$?
        tr=$(elapsed "$t0")
        up=$(${cli[$e]} ps -q --filter "name=$PREFIX" 2>/dev/null | grep -c .)
        [ "$rc" = 0 ] && [ "$up" = "$N" ] ||
            warn "$e round $round: run -d exit $rc, $up of $N running: $(sort "$WORK/$e.run.err" | uniq -c | head -3)"
        t_run[$e]+="$tr "

        # Addresses: N, non-empty, distinct.
        # shellcheck disable=SC2086
        container_ip "${fn[$e]}" $names >"$WORK/$e.addr" 2>"$WORK/$e.addr.err"
        n_addr=$(awk 'NF == 2 { print $2 }' "$WORK/$e.addr" | sort -u | grep -c .)
        bad=$((N - n_addr))
        [ "$bad" = 0 ] || warn "$e round $round: $n_addr distinct addresses for $N containers: $(awk '{ print $2 }' "$WORK/$e.addr" | sort | uniq -d | head -3 | tr '\n' ' ')$(head -1 "$WORK/$e.addr.err")"
        bad_addr[$e]+="$bad "

        # Names: container 0 resolves the N-1 others, each to its address.
        # shellcheck disable=SC2086,SC2046
        ${cli[$e]} exec "${PREFIX}$e-0" sh -c "$lookup" sh $(sed 1d <<<"$names") >"$WORK/$e.dns" 2>"$WORK/$e.dns.err" ||
            warn "$e round $round: exec in ${PREFIX}$e-0 failed: $(head -3 "$WORK/$e.dns.err")"
        awk 'NR == FNR { want[$1] = $2; next } { got[$1] = $2 }
             END { for (n in want) if (n !~ /-0$/ && got[n] != want[n]) print n " " (n in got ? got[n] : "(no answer)") " want " want[n] }' \
            "$WORK/$e.addr" "$WORK/$e.dns" | sort -V >"$WORK/$e.dns.bad"
        bad=$(grep -c . "$WORK/$e.dns.bad")
        if [ "$bad" != 0 ]; then
            warn "$e round $round: $bad of $((N - 1)) names not resolved to their address from ${PREFIX}$e-0:"
            head -5 "$WORK/$e.dns.bad" | sed 's/^/    /' >&2
        fi
        bad_dns[$e]+="$bad "

        t0=$(now)
        # shellcheck disable=SC2086
        echo "$names" | xargs -P8 -n $(((N + 7) / 8)) ${cli[$e]} rm -f ${rm_extra[$e]:-} >/dev/null 2>"$WORK/$e.rm.err"
        rc=$?
        tm=$(elapsed "$t0")
        left=$(${cli[$e]} ps -aq --filter "name=$PREFIX" 2>/dev/null | grep -c .)
        [ "$rc" = 0 ] && [ "$left" = 0 ] ||
            warn "$e round $round: rm -f exit $rc, $left containers left: $(head -3 "$WORK/$e.rm.err")"
        t_rm[$e]+="$tm "
        log "round $round $e: run ${tr}s, $(echo "${bad_addr[$e]}" | awk '{ print $NF }') duplicate/missing addresses, $bad DNS failures, rm ${tm}s"
    done
done

echo "== net-parallel-50: $N x run -d --network (user-defined bridge) by $P clients, until all run (median of $ROUNDS rounds, seconds)"
printf '%-10s %10s %12s %14s %10s   %s\n' engine run_s addr_errors dns_failures rm_s "all run times"
declare -A run
for e in "${engines[@]}"; do
    run[$e]=$(median_of "${t_run[$e]}")
    printf '%-10s %10.3f %12s %14s %10.3f   %s\n' "$e" "${run[$e]}" "$(tr ' ' '\n' <<<"${bad_addr[$e]}" | awk '{ s += $1 } END { print s + 0 }')" \
        "$(tr ' ' '\n' <<<"${bad_dns[$e]}" | awk '{ s += $1 } END { print s + 0 }')" "$(median_of "${t_rm[$e]}")" "${t_run[$e]}"
done
echo "(addr_errors: containers without a distinct address, dns_failures: names container 0 did not resolve to their address; summed over the rounds, each round checks $N addresses and $((N - 1)) names; rm -f by 8 clients, podman with -t 0)"
echo
target_line "berth/docker (run)" "$(ratio "${run[berth]}" "${run[docker]}")" 0.100
[ -n "${run[podman]:-}" ] && printf '%-34s %9s   (information)\n' "berth/podman (run)" "$(ratio "${run[berth]}" "${run[podman]}")"
exit 0
