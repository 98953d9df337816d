#!/usr/bin/env bash
# Runs each cargo-fuzz target for a bounded time (FUZZ_SECONDS, default 60).
# cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 allows them on the
# stable toolchain, and sanitizers are off (the targets check for panics
# and typed errors; wasm isolation makes memory bugs in the guest traps).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1
for target in decode eval; do
  echo "fuzz: $target for ${seconds}s"
  cargo fuzz run --sanitizer none "$target" -- -max_total_time="$seconds" -rss_limit_mb=4096
done
