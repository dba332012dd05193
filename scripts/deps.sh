#!/bin/sh
# Installs what building and testing berth needs, idempotently (Debian 12, as root).
# Rust:  a toolchain is a prerequisite (rustup, stable >= the workspace's rust-version) with
#        rustfmt and clippy; this script checks it (and adds the two components with rustup
#        if they are missing) but does not download toolchains.
# Build: a C compiler, pkg-config, libseccomp-dev (linked statically into berth).
# Run:   busybox-static and file (tests/make-busybox.sh: the test/demo image), procps (`ps`
#        for `top`).
# Tests: the docker CLI (end-to-end suite against berth), cargo-nextest, util-linux (setpriv),
#        openssl (TLS certificates), systemd (systemd-analyze, systemd-socket-activate; nothing
#        needs it running), passwd (groupadd for the socket-group test; useradd, usermod for
#        `--userns-remap default` and the user namespace tests), cargo-fuzz (scripts/fuzz.sh:
#        libFuzzer on the stable compiler, built with build-essential's g++).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)

# --- the Rust toolchain -----------------------------------------------------------------------
die() {
    echo "deps.sh: $*" >&2
    exit 1
}
want=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$root/Cargo.toml" | head -1)
[ -n "$want" ] || die "no rust-version in $root/Cargo.toml"
if ! command -v cargo >/dev/null 2>&1; then
    hint="install it with rustup (https://rustup.rs), stable >= $want"
    [ -x "$HOME/.cargo/bin/cargo" ] && hint="$HOME/.cargo/bin/cargo exists: put $HOME/.cargo/bin on PATH (sudo resets PATH; run as root without sudo)"
    die "cargo (the Rust toolchain) is required and is not on PATH; $hint"
fi
have=$(cargo --version | sed -n 's/^cargo \([0-9][0-9.]*\).*/\1/p')
[ -n "$have" ] || die "could not read the version of cargo: $(cargo --version 2>&1)"
# older A B: true if version A < version B (missing parts count as 0).
older() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        na = split(a, x, "."); nb = split(b, y, ".")
        for (i = 1; i <= 3; i++) { p = (i <= na) ? x[i] + 0 : 0; q = (i <= nb) ? y[i] + 0 : 0
            if (p != q) exit !(p < q) }
        exit 1 }'
}
if older "$have" "$want"; then
    die "cargo $have is too old: the workspace (edition 2024) needs Rust >= $want ($(command -v rustup >/dev/null 2>&1 && echo 'rustup update stable' || echo 'install a newer toolchain with rustup'))"
fi
missing=""
cargo fmt --version >/dev/null 2>&1 || missing="$missing rustfmt"
cargo clippy --version >/dev/null 2>&1 || missing="$missing clippy"
if [ -n "$missing" ] && command -v rustup >/dev/null 2>&1; then
    echo "deps.sh: adding the Rust components:$missing" >&2
    # shellcheck disable=SC2086
    rustup component add $missing >&2 || true
    missing=""
    cargo fmt --version >/dev/null 2>&1 || missing="$missing rustfmt"
    cargo clippy --version >/dev/null 2>&1 || missing="$missing clippy"
fi
[ -z "$missing" ] || die "cargo $have lacks:$missing (\`cargo fmt --version\` / \`cargo clippy --version\` fail); install them with \`rustup component add$missing\`"

# --- Debian packages --------------------------------------------------------------------------
need=""
# nftables (nft) and iproute2 are run by the daemon; curl by the network tests; tzdata's zone
# files by the cron time-zone tests; passwd (useradd, usermod) by `--userns-remap default` and
# the user namespace tests.
for p in build-essential pkg-config libseccomp-dev busybox-static file procps util-linux nftables iproute2 curl tzdata openssl systemd passwd; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
if [ "${1:-}" = "--tests" ] && [ ! -x /usr/local/bin/docker ] && ! command -v docker >/dev/null 2>&1; then
    need="$need docker.io"
fi
if [ -n "$need" ]; then
    echo "installing:$need" >&2
    apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi

# --- test runner ------------------------------------------------------------------------------
if [ "${1:-}" = "--tests" ] && ! cargo nextest --version >/dev/null 2>&1; then
    cargo install cargo-nextest --locked
fi
# cargo-fuzz drives the fuzz targets of fuzz/ (scripts/fuzz.sh). Without a sanitizer it needs no
# nightly compiler; its libfuzzer-sys crate builds libFuzzer itself.
if [ "${1:-}" = "--tests" ] && ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2
fi
