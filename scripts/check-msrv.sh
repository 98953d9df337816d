#!/usr/bin/env bash
# Checks the `rust-version` the publishable crates declare:
# - no dependency declares a newer one (it would not build there);
# - the workspace builds with that toolchain: either it is the active one
#   (then every build and test of CI ran on it), or it is installed and
#   `cargo +VERSION check` runs here.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t crates < <(scripts/publishable-crates.sh)
# The host platform's graph only: a full `cargo metadata` would fetch every
# other platform's crates (android, windows), which no build here downloads.
host="$(rustc -vV | sed -n 's/^host: //p')"
cargo metadata --format-version 1 --filter-platform "$host" | python3 -c '
import json, sys
crates = set(sys.argv[1:])
meta = json.load(sys.stdin)
def ver(v): return (tuple(int(x) for x in (v or "0").split(".")) + (0, 0, 0))[:3]
packages = {p["id"]: p for p in meta["packages"]}
bad = []
for p in meta["packages"]:
    if p["name"] not in crates or p["id"] not in meta["workspace_members"]:
        continue
    msrv = p.get("rust_version")
    if not msrv:
        bad.append(p["name"] + ": no rust-version")
        continue
    # Every package in the resolved graph (a superset of what this crate
    # needs, so the check errs on the safe side).
    for q in packages.values():
        if q.get("rust_version") and ver(q["rust_version"]) > ver(msrv):
            bad.append("%s %s needs Rust %s, over the rust-version %s of %s" % (q["name"], q["version"], q["rust_version"], msrv, p["name"]))
if bad:
    sys.exit("msrv: " + "\n  ".join(bad))
' "${crates[@]}"

msrv="$(cargo metadata --format-version 1 --no-deps --offline | python3 -c '
import json, sys
print(next(p["rust_version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "jsbox"))')"
active="$(rustc --version | awk '{print $2}')"
case "$active" in
  "$msrv" | "$msrv".*)
    echo "msrv: rust-version $msrv is the active toolchain (rustc $active): every build and test here uses it"
    ;;
  *)
    toolchain="$(rustup toolchain list 2>/dev/null | awk '{print $1}' | grep -E "^${msrv//./\\.}(\.[0-9]+)?-" | head -1 || true)"
    if [ -z "$toolchain" ]; then
      echo "msrv: rust-version $msrv is neither the active toolchain (rustc $active) nor installed" >&2
      exit 1
    fi
    args=()
    for c in "${crates[@]}"; do args+=(-p "$c"); done
    cargo "+$toolchain" check --locked "${args[@]}"
    echo "msrv: the publishable crates build with $toolchain (rust-version $msrv)"
    ;;
esac
