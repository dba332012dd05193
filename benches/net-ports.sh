#!/bin/bash
# Published ports: N (1000) sequential HTTP GETs of a small file, each on a NEW TCP connection, to
# busybox httpd in a container on the default bridge, by four paths:
#   berth 127.0.0.1   berth's published port (DNAT in berth's nftables table, no proxy)
#   berth direct      straight to the berth container's bridge address (the floor)
#   podman 127.0.0.1  podman's published port (netavark: iptables-nft DNAT)
#   docker 127.0.0.1  docker's published port (docker-proxy, the userland proxy: this dockerd
#                     runs with --iptables=false)
# and, for information, straight to the docker and podman containers' addresses too (what the
# container and its bridge cost, apart from the published port).
# One small Python client (raw sockets, HTTP/1.0, checks every status and body), timing the
# whole N; paths interleaved, ROUNDS (3) rounds, medians.
# Targets: berth 127.0.0.1 <= podman 127.0.0.1; berth 127.0.0.1 <= 1.2 x berth direct.
#
# Traffic goes only to 127.0.0.1 and to the addresses of the containers made here.
#
# Usage (root): benches/net-ports.sh        ROUNDS=5 N=2000 benches/net-ports.sh
# Prints results on stdout; exits 0 whether targets pass or fail (2 if it could not measure).
set -uo pipefail
# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
N=${N:-1000}
WARMUP=${WARMUP:-100}

bench_init net-ports
start_berth
DOCKER_NETWORKING=1 start_docker
import_busybox
# Containers that outlive one command: podman uses runc (crun refuses this hybrid-cgroup host).
PODMAN_EXTRA="--runtime runc" PODMAN_NETWORK=bridge podman_prepare
engine_table

# The client: `get.py HOST PORT N BODY` GETs /f.txt N times, a new connection each, and prints
# the seconds the N took and how many responses were not `200` with BODY.
cat >"$WORK/get.py" <<'EOF'
import socket, sys, time
host, port, n, body = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].encode()
req = b"GET /f.txt HTTP/1.0\r\nHost: bench\r\n\r\n"
bad = 0
t0 = time.perf_counter()
for _ in range(n):
    try:
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(req)
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
        s.close()
        head, _, got = b"".join(chunks).partition(b"\r\n\r\n")
        if not head.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200")) or got != body:
            bad += 1
    except OSError:
        bad += 1
print("%.6f %d" % (time.perf_counter() - t0, bad))
EOF
BODY="berth net-ports benchmark: a small static file served by busybox httpd."
# The file is BODY and a newline (echo); `$(...)` drops trailing newlines, hence the X.
expected=$(printf '%s\nX' "$BODY")
expected=${expected%X}
get() { python3 "$WORK/get.py" "$1" "$2" "$3" "$expected"; }

# free_port: a TCP port nothing is bound to, below the ephemeral range (client ports come from it).
free_port() {
    python3 -c '
import random, socket, sys
taken = set(int(a) for a in sys.argv[1:])
for _ in range(1000):
    p = random.randrange(20000, 30000)
    if p in taken:
        continue
    s = socket.socket()
    try:
        s.bind(("0.0.0.0", p))
        print(p)
        break
    except OSError:
        pass
    finally:
        s.close()
' "$@"
}

declare -A host port
paths=()
used=()
for e in "${engines[@]}"; do
    p=$(free_port "${used[@]}") || die "no free port"
    used+=("$p")
    # shellcheck disable=SC2086,SC2016
    ${cli[$e]} run -d --pull never ${run_extra[$e]:-} --name "${PREFIX}$e" -p "127.0.0.1:$p:80" busybox \
        sh -c 'echo "$1" >/var/www/f.txt && exec httpd -f -p 80 -h /var/www' sh "$BODY" \
        >/dev/null 2>"$WORK/run.err" || die "$e run -d httpd failed: $(head -3 "$WORK/run.err")"
    ip=$(container_ip "${fn[$e]}" "${PREFIX}$e" | awk '{ print $2 }')
    [ -n "$ip" ] || die "$e inspect gave no address for ${PREFIX}$e"
    paths+=("$e 127.0.0.1" "$e direct")
    host["$e 127.0.0.1"]=127.0.0.1
    port["$e 127.0.0.1"]=$p
    host["$e direct"]=$ip
    port["$e direct"]=80
done
[ "$PODMAN_OK" = 1 ] || warn "podman does not work here: the berth/podman target can't be checked"

# Ready: one good GET on every path (httpd is up, the port published) within 10 s.
ready() { local r; r=$(get "$1" "$2" 1 2>/dev/null) && [ "${r#* }" = 0 ]; }
for p in "${paths[@]}"; do
    for _ in $(seq 100); do ready "${host[$p]}" "${port[$p]}" && break; sleep 0.1; done
    ready "${host[$p]}" "${port[$p]}" || die "no good response by path '$p' (${host[$p]}:${port[$p]}) within 10 s"
done
log "paths: $(for p in "${paths[@]}"; do printf '%s=%s:%s  ' "$p" "${host[$p]}" "${port[$p]}"; done)"
for p in "${paths[@]}"; do get "${host[$p]}" "${port[$p]}" "$WARMUP" >/dev/null; done

declare -A times
for round in $(seq "$ROUNDS"); do
    for p in "${paths[@]}"; do
        read -r t bad < <(get "${host[$p]}" "${port[$p]}" "$N") || die "the client failed on path '$p'"
        if [ "$bad" != 0 ]; then
            warn "round $round, $p: $bad of $N responses were not 200 with the file"
            t=nan
        fi
        log "round $round $p: ${t}s"
        times[$p]+="$t "
    done
done

declare -A med
echo "== net-ports: $N sequential GETs of a ${#expected}-byte file, a new TCP connection each (median of $ROUNDS rounds, paths interleaved)"
printf '%-18s %-24s %10s %10s   %s\n' path address median_s us_per_get "all rounds (s)"
for p in "${paths[@]}"; do
    # A path with a bad response counts as failed (nan), whatever its other rounds gave.
    case " ${times[$p]}" in *" nan "*) med[$p]=nan ;; *) med[$p]=$(median_of "${times[$p]}") ;; esac
    printf '%-18s %-24s %10s %10s   %s\n' "$p" "${host[$p]}:${port[$p]}" "${med[$p]}" \
        "$(awk -v t="${med[$p]}" -v n="$N" 'BEGIN { if (t == "nan") print "nan"; else printf "%.1f", t / n * 1e6 }')" "${times[$p]}"
done
echo
if [ -n "${med[podman 127.0.0.1]:-}" ]; then
    target_line "berth 127.0.0.1 / podman 127.0.0.1" "$(ratio "${med[berth 127.0.0.1]}" "${med[podman 127.0.0.1]}")" 1.000
else
    printf '%-34s %9s   target <= %-8s %s\n' "berth 127.0.0.1 / podman 127.0.0.1" n/a 1.000 "SKIP (no podman)"
fi
target_line "berth 127.0.0.1 / berth direct" "$(ratio "${med[berth 127.0.0.1]}" "${med[berth direct]}")" 1.200
printf '%-34s %9s   (information)\n' "berth 127.0.0.1 / docker 127.0.0.1" "$(ratio "${med[berth 127.0.0.1]}" "${med[docker 127.0.0.1]}")"
for e in docker podman; do
    [ -n "${med[$e direct]:-}" ] || continue
    printf '%-34s %9s   (information)\n' "$e 127.0.0.1 / $e direct" "$(ratio "${med[$e 127.0.0.1]}" "${med[$e direct]}")"
done
exit 0
