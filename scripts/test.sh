#!/usr/bin/env bash
# The one test command: builds gears-host, then runs the Rust tests (unit + end-to-end), the
# Python client tests (redis-py) and the Redis 7.0 Tcl units against the real binary.
# Before them it builds the wasm guests (scripts/build-guests.sh, into $GEARS_GUESTS_DIR) and runs
# the guest SDK's and the examples' own tests on the build machine.
# Fails if any of them fails. Needs: cargo, redis-server, tclsh, python3 with redis + pytest, the
# wasm guest toolchains (.ci/run installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

echo "== wasm guests"
export GEARS_GUESTS_DIR="${GEARS_GUESTS_DIR:-$ROOT/target/guests}"
scripts/build-guests.sh

echo "== guest sdk + example unit tests (host target)"
CARGO_TARGET_DIR="$ROOT/target/guest-tests" cargo test --locked --quiet --manifest-path guest-sdk/Cargo.toml
CARGO_TARGET_DIR="$ROOT/target/guest-tests" cargo test --locked --quiet --manifest-path examples/wasm/Cargo.toml --workspace

echo "== build (release)"
cargo build --release --workspace --all-targets
export GEARS_HOST_BIN="$ROOT/target/release/gears-host"

echo "== rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --release --workspace --no-fail-fast
else
  cargo test --release --workspace --no-fail-fast
fi

echo "== python client tests"
python3 -m pytest -q tests/python

echo "== redis 7.0 tcl units"
scripts/tcl.sh
