#!/usr/bin/env bash
# The hostile wasm corpus against the real binary, while another client PINGs every millisecond:
# PING latency percentiles during the attacks (target p99 < 1 ms) and the server's RSS before and
# after (target: back within 10% of the baseline). Never run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p gears-host
export GEARS_HOST_BIN="${GEARS_HOST_BIN:-$PWD/target/release/gears-host}"
cargo test --release -q -p gears-tests --test e2e -- --ignored --nocapture \
  wasm::hostile::bench_ping_latency_and_rss_under_attack 2>&1 | grep -v '^running\|^test result\|^$'
