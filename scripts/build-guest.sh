#!/usr/bin/env bash
# Builds the guest (guest/ + wit/) into a wasm file, reproducibly.
#
# Usage: scripts/build-guest.sh OUT.wasm [--clean]
#
# The sources are copied into a fixed staging directory and built there, with
# every machine-specific path remapped, so the bytes depend only on the
# sources, Cargo.lock and the pinned toolchain (scripts/guest-toolchain.sh).
# --clean starts from an empty target directory (used by `make guest-check`).
set -euo pipefail

out="${1:?usage: build-guest.sh OUT.wasm [--clean]}"
clean="${2:-}"
root="$(cd "$(dirname "$0")/.." && pwd)"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
stage="${JSBOX_GUEST_STAGE:-/tmp/jsbox-guest-build}"

"$root/scripts/guest-toolchain.sh" install
eval "$("$root/scripts/guest-toolchain.sh" env)"

mkdir -p "$stage"
# One build at a time per staging directory (several checkouts may share it).
exec 9>"$stage.lock"
flock 9
if [ "$clean" = "--clean" ]; then rm -rf "$stage/target"; fi
rm -rf "$stage/guest" "$stage/wit"
mkdir -p "$stage/guest"
cp -R "$root/wit" "$stage/wit"
cp "$root/guest/Cargo.toml" "$root/guest/Cargo.lock" "$stage/guest/"
cp -R "$root/guest/src" "$stage/guest/src"

cargo_home="${CARGO_HOME:-$HOME/.cargo}"
remap="--remap-path-prefix=$stage=/jsbox --remap-path-prefix=$cargo_home=/cargo"
rustflags="$remap -C target-cpu=mvp -C target-feature=+bulk-memory,+sign-ext,+mutable-globals,+nontrapping-fptoint"
# The wasm shadow stack: 1 MiB, QuickJS's own limit (guest/src/lib.rs) stays
# well below it, so deep recursion ends in a RangeError, never in a stack
# that runs into the heap.
rustflags="$rustflags -C link-arg=-zstack-size=1048576"
build_std=()
if [ "${JSBOX_BUILD_STD:-0}" = 1 ]; then
  rustflags="$rustflags -C linker=rust-lld -L native=$JSBOX_WASI_LIBC"
  rustflags="$rustflags --remap-path-prefix=/usr/lib/rustlib/src/rust=/rustc"
  build_std=(-Zbuild-std=std,panic_abort)
fi
if [ "${JSBOX_BUILD_STD:-0}" != 1 ] && [ -n "${WASI_SDK:-}" ]; then
  # ada-url 3.1's build script looks for libc++ only in wasi-sdk's
  # lib/wasm32-wasi; newer wasi-sdks keep it in lib/wasm32-wasip1, and 27+
  # in its noeh/ subdirectory (ada is built with -fno-exceptions).
  for dir in "$WASI_SDK/share/wasi-sysroot/lib/wasm32-wasip1/noeh" "$WASI_SDK/share/wasi-sysroot/lib/wasm32-wasip1"; do
    if [ -f "$dir/libc++.a" ]; then rustflags="$rustflags -L native=$dir"; break; fi
  done
fi
# The same remapping for the C (QuickJS) and the C++ (ada) compiles.
cflags="-ffile-prefix-map=$stage=/jsbox -ffile-prefix-map=$cargo_home=/cargo"

cd "$stage/guest"
export CARGO_TARGET_DIR="$stage/target"
export SOURCE_DATE_EPOCH=0
export CARGO_ENCODED_RUSTFLAGS=""
unset CARGO_ENCODED_RUSTFLAGS
RUSTFLAGS="$rustflags" \
CFLAGS_wasm32_wasip1="$cflags" \
CXXFLAGS_wasm32_wasip1="$cflags" \
  "$CARGO" build --release --locked --target wasm32-wasip1 "${build_std[@]}"

mkdir -p "$(dirname "$out")"
cp "$stage/target/wasm32-wasip1/release/jsbox_guest.wasm" "$out"
echo "guest: $out ($(wc -c <"$out") bytes, route ${JSBOX_GUEST_ROUTE})" >&2
