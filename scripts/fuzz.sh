#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (FUZZ_SECONDS each,
# default 60) and prints each target's runs and time.
#
# cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 allows them on the
# stable toolchain, and sanitizers are off (the targets check for panics,
# typed errors and differential agreement; wasm isolation makes memory
# bugs in the guest traps). Crashes land in fuzz/artifacts/TARGET/; the
# seeded versions of the differential targets run in `make test`
# (host/tests/differential.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1
targets=(decode eval snapshot_diff slot_reuse)
summary=()
for target in "${targets[@]}"; do
  echo "fuzz: $target for ${seconds}s"
  log="fuzz/$target.log"
  mkdir -p "fuzz/corpus/$target"
  cargo fuzz build --sanitizer none "$target"
  start=$(date +%s)
  cargo fuzz run --sanitizer none "$target" -- -max_total_time="$seconds" -rss_limit_mb=4096 \
    -print_final_stats=1 2>&1 | tee "$log" | grep -E "^(#[0-9]+.*(INITED|DONE|pulse)|Done|==|SUMMARY|panicked)" || true
  status=${PIPESTATUS[0]}
  runs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" || echo "?")
  summary+=("$target: $runs runs in $(( $(date +%s) - start ))s, exit $status")
  if [ "$status" -ne 0 ]; then
    printf 'fuzz: %s\n' "${summary[@]}"
    echo "fuzz: $target failed; see $log and fuzz/artifacts/$target/"
    exit "$status"
  fi
done
printf 'fuzz: %s\n' "${summary[@]}"
