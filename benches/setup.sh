#!/bin/bash
# Installs what the benchmarks need, idempotently: Debian's docker.io (dockerd, containerd, runc),
# podman, crun, hyperfine, busybox-static (for tests/make-busybox.sh), jq and file; for the
# networking ones python3 (the HTTP client), nft, iptables and ip (what the cleanup inspects).
# Runs `apt-get update` only when a package is missing. Prints nothing when all is there.
set -eu

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have dockerd || need+=(docker.io)
have containerd || need+=(docker.io)
have podman || need+=(podman)
have crun || need+=(crun)
have hyperfine || need+=(hyperfine)
have jq || need+=(jq)
have file || need+=(file)
have unshare && have findmnt || need+=(util-linux)
have python3 || need+=(python3)
have nft || need+=(nftables)
have iptables-save || need+=(iptables)
have ip || need+=(iproute2)
# tests/make-busybox.sh wants Debian's static busybox at /bin/busybox.
if ! file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'; then need+=(busybox-static); fi
# The docker CLI: /usr/local/bin/docker (v28) may be installed separately; docker.io brings one too.
have docker || need+=(docker.io)

if [ ${#need[@]} -eq 0 ]; then exit 0; fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
echo "setup.sh: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q "${need[@]}" >&2
