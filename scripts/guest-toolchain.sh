#!/usr/bin/env bash
# Installs (when missing) and describes the toolchain that builds the guest.
#
# Two ways to build the guest, chosen in this order:
#   1. rustup with the wasm32-wasip1 target installed, plus a wasi-sdk
#      (WASI_SDK=/path/to/wasi-sdk). This is the route on a developer laptop.
#   2. Debian's packages (bookworm): rustc-web/cargo-web 1.96 with the std
#      sources (std built with -Zbuild-std), clang-22, wasi-libc and LLVM's
#      libc++/libc++abi for wasm32 (ada, the URL parser, is C++). This is
#      the route on CI machines that can reach only Debian's archive and
#      crates.io. The versions are pinned so the guest rebuilds byte for byte.
#
# Usage: scripts/guest-toolchain.sh install   # apt-get the pinned packages
#        scripts/guest-toolchain.sh env       # print `export` lines for make
set -euo pipefail

# Pinned Debian package versions. When Debian supersedes one (security
# updates do), `apt-get install` fails; move the pin to the version that
# `apt-cache policy <package>` shows as Candidate, rebuild with
# `make guest`, and commit the new host/src/jsbox_guest.wasm.
RUST_WEB_VERSION="1.96.0+dfsg1-1~deb12u2"
LLVM_VERSION="1:22.1.8-1~deb12u1"
WASI_LIBC_VERSION="0.0~git20220510.9886d3d-2"

PACKAGES=(
  "rustc-web=${RUST_WEB_VERSION}"
  "cargo-web=${RUST_WEB_VERSION}"
  "rust-web-src=${RUST_WEB_VERSION}"
  "libstd-rust-web-dev=${RUST_WEB_VERSION}"
  "libstd-rust-web-1.96=${RUST_WEB_VERSION}"
  "rust-web-llvm=${RUST_WEB_VERSION}"
  "clang-22=${LLVM_VERSION}"
  "lld-22=${LLVM_VERSION}"
  "llvm-22=${LLVM_VERSION}"
  "libclang-22-dev=${LLVM_VERSION}"
  "libclang-rt-22-dev-wasm32=${LLVM_VERSION}"
  "libc++-22-dev-wasm32=${LLVM_VERSION}"
  "libc++abi-22-dev-wasm32=${LLVM_VERSION}"
  "wasi-libc=${WASI_LIBC_VERSION}"
)

# A wasi-sdk-shaped directory made of links into Debian's packages, because
# rquickjs-sys and ada-url read $WASI_SDK (rquickjs-sys would otherwise try
# to download one). Debian's libc++-22-dev-wasm32 and libc++abi-22-dev-wasm32
# put the C++ headers in /usr/include/wasm32-wasi/c++/v1 and libc++.a and
# libc++abi.a in /usr/lib/wasm32-wasi, so the sysroot links below already
# cover them; clang finds the headers through --sysroot (the cc crate passes
# $WASI_SYSROOT).
SDK_DIR="${JSBOX_WASI_SDK_DIR:-/tmp/jsbox-wasi-sdk}"

installed_version() {
  dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true
}

missing_packages() {
  local spec name want
  for spec in "${PACKAGES[@]}"; do
    name="${spec%%=*}"
    want="${spec#*=}"
    if [ "$(installed_version "$name")" != "$want" ]; then
      echo "$spec"
    fi
  done
}

install() {
  local missing
  missing=$(missing_packages)
  if [ -z "$missing" ]; then
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "guest-toolchain: installing from Debian: $(echo $missing | tr '\n' ' ')" >&2
  $sudo apt-get update -q >/dev/null
  local spec name want candidate
  for spec in $missing; do
    name="${spec%%=*}"
    want="${spec#*=}"
    candidate=$(apt-cache policy "$name" 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
      echo "guest-toolchain: Debian has no package '$name'." >&2
      exit 1
    fi
    if ! apt-cache madison "$name" | awk '{print $3}' | grep -qxF "$want"; then
      cat >&2 <<MSG
guest-toolchain: the pinned version of '$name' is gone from Debian's archive.
  pinned:    $want
  available: $candidate
Move the pin in scripts/guest-toolchain.sh to '$candidate', run
'make guest' and commit the rebuilt host/src/jsbox_guest.wasm (the bytes of the
guest may change with the compiler).
MSG
      exit 1
    fi
  done
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing >/dev/null
}

make_sdk_dir() {
  mkdir -p "$SDK_DIR/bin" "$SDK_DIR/share/wasi-sysroot/include" "$SDK_DIR/share/wasi-sysroot/lib"
  ln -sfn /usr/bin/clang-22 "$SDK_DIR/bin/clang"
  ln -sfn /usr/bin/clang++-22 "$SDK_DIR/bin/clang++"
  ln -sfn /usr/bin/llvm-ar-22 "$SDK_DIR/bin/ar"
  ln -sfn /usr/bin/llvm-ar-22 "$SDK_DIR/bin/llvm-ar"
  ln -sfn /usr/bin/wasm-ld-22 "$SDK_DIR/bin/wasm-ld"
  for triple in wasm32-wasi wasm32-wasip1; do
    ln -sfn /usr/include/wasm32-wasi "$SDK_DIR/share/wasi-sysroot/include/$triple"
    ln -sfn /usr/lib/wasm32-wasi "$SDK_DIR/share/wasi-sysroot/lib/$triple"
  done
}

env_debian() {
  make_sdk_dir
  cat <<ENV
export JSBOX_GUEST_ROUTE=debian
export PATH=/usr/bin:\$PATH
export RUSTC=/usr/bin/rustc
export CARGO=/usr/bin/cargo
unset RUSTUP_TOOLCHAIN
export RUSTC_BOOTSTRAP=1
export WASI_SDK=$SDK_DIR
export WASI_SYSROOT=$SDK_DIR/share/wasi-sysroot
export LIBCLANG_PATH=/usr/lib/llvm-22/lib
export JSBOX_BUILD_STD=1
export JSBOX_WASI_LIBC=/usr/lib/wasm32-wasi
ENV
}

env_rustup() {
  cat <<ENV
export JSBOX_GUEST_ROUTE=rustup
export CARGO=cargo
export JSBOX_BUILD_STD=0
ENV
}

have_rustup_target() {
  command -v rustup >/dev/null 2>&1 &&
    rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1 &&
    [ -n "${WASI_SDK:-}" ]
}

case "${1:-}" in
  install)
    if have_rustup_target; then exit 0; fi
    install
    ;;
  env)
    if have_rustup_target; then env_rustup; else env_debian; fi
    ;;
  *)
    echo "usage: $0 install|env" >&2
    exit 2
    ;;
esac
