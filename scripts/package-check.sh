#!/usr/bin/env bash
# Proves the publishable crates work for someone who only has the `.crate`
# files, as crates.io would serve them:
#  1. `cargo package` every publishable crate (jsbox-cli's dependencies on
#     jsbox and jsbox-datafusion resolve to the ones packaged in the same
#     run), and report the
#     sizes (crates.io refuses more than 10 MiB);
#  2. unpack them into a throwaway workspace under target/ and build them
#     from their own files alone (jsbox-cli against the unpacked jsbox and
#     jsbox-datafusion);
#  3. build a new binary crate that depends on the unpacked jsbox by path,
#     holding the README's API example (the ```rust block under
#     "## The API"), and run it, and run the packaged CLI on the README's
#     first command, both in a directory holding only a copy of examples/.
# The throwaway workspace shares the repository's target directory and
# profile, so wasmtime is not compiled again.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
work="$target/package-check"
max_bytes=$((8 << 20))

mapfile -t crates < <(scripts/publishable-crates.sh)
args=()
for c in "${crates[@]}"; do args+=(-p "$c"); done
# --no-verify: step 2 is the verification, with the workspace's profile
# (cargo's own would rebuild every dependency in another profile).
cargo package --offline --no-verify --allow-dirty "${args[@]}"

rm -rf "$work"
mkdir -p "$work/run"
version="$(cargo metadata --format-version 1 --no-deps --offline | python3 -c '
import json, sys
print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "jsbox"))')"
members=()
for c in "${crates[@]}"; do
  file="$target/package/$c-$version.crate"
  size=$(stat -c %s "$file")
  echo "package-check: $(basename "$file") $size bytes ($(awk "BEGIN { printf \"%.2f\", $size / 1048576 }") MiB)"
  if [ "$size" -gt "$max_bytes" ]; then
    echo "package-check: $file is over $max_bytes bytes (crates.io's limit is 10 MiB)" >&2
    exit 1
  fi
  tar -xzf "$file" -C "$work"
  members+=("\"$c-$version\"")
done

# The README's API example as a program.
mkdir -p "$work/readme-example/src"
cat > "$work/readme-example/Cargo.toml" <<TOML
[package]
name = "readme-example"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
jsbox = { path = "../jsbox-$version" }
TOML
{
  echo "fn main() -> Result<(), jsbox::Error> {"
  # Hidden lines are kept (a program needs them) except the doctest's own
  # move to the repository root: this program runs where it is told.
  awk '/^## The API/ { api = 1 } api && /^```rust/ { inside = 1; next } inside && /^```/ { exit } inside' README.md \
    | grep -v '^# .*set_current_dir\|^# // `cargo test`' \
    | sed -E 's/^# //; s/^#$//'
  echo "}"
} > "$work/readme-example/src/main.rs"
if [ "$(wc -l < "$work/readme-example/src/main.rs")" -lt 5 ]; then
  echo "package-check: no \`\`\`rust block under '## The API' in README.md" >&2
  exit 1
fi

cat > "$work/Cargo.toml" <<TOML
[workspace]
resolver = "2"
members = [$(IFS=,; echo "${members[*]}"), "readme-example"]

# The packaged jsbox-cli and jsbox-datafusion ask crates.io for jsbox (and
# jsbox-datafusion) $version; they get the unpacked ones.
[patch.crates-io]
jsbox = { path = "jsbox-$version" }
jsbox-datafusion = { path = "jsbox-datafusion-$version" }
TOML
# The repository's own profiles, verbatim: with other opt-levels every
# dependency (DataFusion most of all, 19 min optimised) would build again.
awk '/^\[/ { p = /^\[profile/ } p' Cargo.toml >> "$work/Cargo.toml"
cp Cargo.lock "$work/Cargo.lock"
CARGO_TARGET_DIR="$target" cargo build --offline --manifest-path "$work/Cargo.toml" --workspace --bins

cp -R examples "$work/run/examples"
cd "$work/run"
export JSBOX_CACHE_DIR="$target/package-check-cache"
"$target/debug/readme-example"
echo "package-check: the README's API example ran against the packaged jsbox"
"$target/debug/jsbox" run examples/wordcount/plugin.js --allow-read examples/wordcount/texts > "$work/wordcount.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["total"] > 0, r' "$work/wordcount.json"
echo "package-check: the packaged jsbox CLI ran the README's first command"
