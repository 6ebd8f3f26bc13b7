#!/usr/bin/env bash
# The one test command: builds gears-host, then runs the Rust tests (unit + end-to-end), the
# Python client tests (redis-py) and the Redis 7.0 Tcl units against the real binary.
# Fails if any of them fails. Needs: cargo, redis-server, tclsh, python3 with redis + pytest
# (.ci/run installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

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
