#!/bin/sh
# Installs what building and testing berth needs, idempotently (Debian 12, as root).
# Build: a C compiler, pkg-config, libseccomp-dev (linked statically into berth).
# Run:   busybox-static (the test/demo image), iproute2, procps (`ps` for `top`).
# Tests: the docker CLI (end-to-end suite against berth), cargo-nextest, util-linux.
set -eu
need=""
for p in build-essential pkg-config libseccomp-dev busybox-static procps util-linux; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
if [ "${1:-}" = "--tests" ] && [ ! -x /usr/local/bin/docker ] && ! command -v docker >/dev/null 2>&1; then
    need="$need docker.io"
fi
if [ -n "$need" ]; then
    echo "installing:$need" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "deps.sh: cargo (the Rust toolchain) is required" >&2
    exit 1
fi
if [ "${1:-}" = "--tests" ] && ! cargo nextest --version >/dev/null 2>&1; then
    cargo install cargo-nextest --locked
fi
