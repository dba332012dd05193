#!/bin/sh
# Sets up and runs every check berth has: formatting, clippy, unit tests, the root
# integration and end-to-end suites (real containers; run as root), and a bounded run of each
# fuzz target (scripts/fuzz.sh). `.ci/run` calls this.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "scripts/test.sh: the integration tests create real containers: run as root" >&2
    exit 1
fi
sh scripts/deps.sh --tests
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
cargo clippy --manifest-path fuzz/Cargo.toml --all-targets --locked -- -D warnings
cargo build --workspace --locked
cargo nextest run --workspace --locked --no-fail-fast "$@"
sh scripts/fuzz.sh
