#!/usr/bin/env bash
# Builds every wasm guest (examples/wasm) into one directory, $GEARS_GUESTS_DIR (default
# target/guests): word_count.wasm audit_log.wasm stream_consumer.wasm generator.wasm command_hook.wasm
# compositions.wasm (Rust), c_counter.wasm (C), py_hello.wasm (Python). Each is checked to be a
# component exporting gears:function/function and importing nothing but gears:function (the
# Python one also WASI, which the host gives an empty context).
#
# Toolchains (see ../shared/wasm-toolchain.md; .ci/run installs them):
#   Rust  Debian's rustc-web/cargo-web 1.96 + rust-web-src + rust-web-llvm (wasm-component-ld)
#         + lld-22: wasm32-unknown-unknown with -Zbuild-std, linked straight into a component.
#   C     clang-22 + wasi-libc + libclang-rt-22-dev-wasm32; bindings and componentization by
#         tools/guest-tool (wit-bindgen-c, wit-component), built with rustup's cargo.
#   Py    componentize-py 0.25.1 (pip).
# A missing piece fails the build (exit 1) with what to install; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${GEARS_GUESTS_DIR:-$ROOT/target/guests}
WORK=$ROOT/target/guests-build
WIT=$ROOT/wit

DEB=/usr/bin
COMPONENT_LD=/usr/lib/rustlib/x86_64-unknown-linux-gnu/bin/wasm-component-ld
WASM_LD=/usr/lib/llvm-22/bin/wasm-ld
RUST_SRC=/usr/lib/rustlib/src/rust/library
CLANG=clang-22
WASI_SYSROOT_INC=/usr/include/wasm32-wasi
WASI_LIB=/usr/lib/wasm32-wasi
CLANG_RT=/usr/lib/llvm-22/lib/clang/22/lib/wasi/libclang_rt.builtins-wasm32.a
COMPONENTIZE_PY_VERSION=0.25.1

APT_HINT="apt-get install -y rustc-web cargo-web rust-web-src rust-web-llvm lld-22 clang-22 wasi-libc libclang-rt-22-dev-wasm32"
missing=()
need_file() { [ -e "$1" ] || missing+=("$1 ($2)"); }

# --- toolchain check: everything first, then one clear failure --------------------------
need_file "$DEB/rustc" "Debian rustc-web"
need_file "$DEB/cargo" "Debian cargo-web"
need_file "$RUST_SRC/Cargo.lock" "rust-web-src, for -Zbuild-std"
need_file "$COMPONENT_LD" "rust-web-llvm's wasm-component-ld"
need_file "$WASM_LD" "lld-22"
need_file "$WASI_SYSROOT_INC/stdlib.h" "wasi-libc headers"
need_file "$WASI_LIB/libc.a" "wasi-libc"
need_file "$CLANG_RT" "libclang-rt-22-dev-wasm32"
command -v "$CLANG" >/dev/null || missing+=("$CLANG (clang-22)")
if [ -x "$DEB/rustc" ]; then
  deb_version=$("$DEB/rustc" --version)
  case "$deb_version" in
    "rustc 1.9"[6-9]*|"rustc 1."[1-9][0-9][0-9]*) ;;
    *) missing+=("Debian rustc >= 1.96 (found: $deb_version; bookworm-security's rustc-web)") ;;
  esac
fi
# rustup's cargo (first cargo on PATH that is not Debian's) builds the guest tool
HOST_CARGO=${HOST_CARGO:-}
if [ -z "$HOST_CARGO" ]; then
  for c in "$HOME/.cargo/bin/cargo" $(type -ap cargo); do
    if [ -x "$c" ] && [ "$c" != "$DEB/cargo" ]; then HOST_CARGO=$c; break; fi
  done
fi
[ -n "$HOST_CARGO" ] || missing+=("rustup's cargo (for tools/guest-tool)")
if ! command -v componentize-py >/dev/null; then
  missing+=("componentize-py (python3 -m pip install componentize-py==$COMPONENTIZE_PY_VERSION)")
else
  cpy=$(componentize-py --version 2>&1 || true)
  [ "$cpy" = "componentize-py $COMPONENTIZE_PY_VERSION" ] ||
    missing+=("componentize-py $COMPONENTIZE_PY_VERSION (found: $cpy)")
fi
if [ ${#missing[@]} -gt 0 ]; then
  {
    echo "build-guests: ERROR: the wasm guest toolchain is incomplete. Missing:"
    printf '  - %s\n' "${missing[@]}"
    echo "Install: $APT_HINT"
    echo "         python3 -m pip install componentize-py==$COMPONENTIZE_PY_VERSION"
  } >&2
  exit 1
fi

mkdir -p "$OUT" "$WORK"
t0=$(date +%s.%N)
stage() { printf '== build-guests: %s\n' "$1"; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }

# --- guest tool (rustup cargo, host target) ----------------------------------------------
stage "guest tool (wit-bindgen-c, wit-component)"
t=$(date +%s.%N)
CARGO_TARGET_DIR="$ROOT/target/guest-tool" "$HOST_CARGO" build --locked --release --quiet \
  --manifest-path tools/guest-tool/Cargo.toml
TOOL=$ROOT/target/guest-tool/release/gears-guest-tool
echo "   $(elapsed "$t")"

# --- Rust guests (Debian cargo 1.96, wasm32-unknown-unknown, -Zbuild-std) ----------------
stage "rust guests (word-count audit-log stream-consumer generator compositions command-hook)"
t=$(date +%s.%N)
RUST_TARGET_DIR=$ROOT/target/wasm-guests
(
  cd examples/wasm
  env -u RUSTUP_TOOLCHAIN -u RUSTC -u RUSTDOC -u RUSTC_WRAPPER \
    PATH="$DEB:/usr/lib/llvm-22/bin:$PATH" RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$RUST_TARGET_DIR" \
    RUSTFLAGS="-C linker=$COMPONENT_LD -C link-arg=--wasm-ld-path=$WASM_LD -C link-arg=--wasi-adapter=none" \
    "$DEB/cargo" build --locked --release --target wasm32-unknown-unknown \
    -Zbuild-std=std,panic_abort --workspace
)
for n in word_count audit_log stream_consumer generator compositions command_hook; do
  cp "$RUST_TARGET_DIR/wasm32-unknown-unknown/release/$n.wasm" "$OUT/$n.wasm"
done
echo "   $(elapsed "$t")"

# --- C guest (clang-22 + wasi-libc; bindings and component by the guest tool) ------------
stage "c guest (c-counter)"
t=$(date +%s.%N)
"$TOOL" c-bindings "$WIT" gears "$WORK/c-gen" >/dev/null
# wasm32-wasi (not -wasip1: Debian's wasi-libc lives in /usr/lib/wasm32-wasi). The guest uses
# no libc I/O, so the module imports nothing from WASI and needs no adapter (checked below).
"$CLANG" --target=wasm32-wasi -Wno-deprecated --sysroot=/usr -isystem "$WASI_SYSROOT_INC" \
  -O2 -Wall -Wextra -Werror -mexec-model=reactor -Wl,--strip-all -I "$WORK/c-gen" \
  -o "$WORK/c_counter.core.wasm" examples/wasm/c-counter/counter.c \
  "$WORK/c-gen/gears.c" "$WORK/c-gen/gears_component_type.o"
"$TOOL" componentize "$WORK/c_counter.core.wasm" "$OUT/c_counter.wasm"
echo "   $(elapsed "$t")"

# --- Python guest (componentize-py) -------------------------------------------------------
stage "python guest (py-hello)"
t=$(date +%s.%N)
componentize-py -d "$WIT" -w gears componentize app -p examples/wasm/py-hello \
  -o "$OUT/py_hello.wasm" >/dev/null
echo "   $(elapsed "$t")"

# --- check every component ----------------------------------------------------------------
stage "check"
for f in word_count audit_log stream_consumer generator compositions command_hook c_counter; do
  "$TOOL" check "$OUT/$f.wasm" | tail -1
done
"$TOOL" check "$OUT/py_hello.wasm" --allow-wasi | tail -1
echo "== build-guests: done in $(elapsed "$t0"): $OUT"
