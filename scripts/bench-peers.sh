#!/usr/bin/env bash
# Times the peer sandboxes (benches/peers: quickjs-emscripten, node:vm and,
# when it builds, isolated-vm) on jsbox's workloads, each warmed up and in a
# node process of its own (the method is in peers.js), and writes
# $CARGO_TARGET_DIR/bench-peers.json for the bench report. Installs the
# pinned packages from the lockfile first (npm ci, only when the lockfile
# changed). Without node or npm, or when the install fails, it says so,
# removes a stale result and exits 0: the report then shows the peers as n/a.
#
# isolated-vm (optional) is a native addon. Its install script would try a
# prebuilt binary from GitHub first, which these machines cannot reach, so
# install scripts are off and it is compiled here with npm's own node-gyp
# against the node headers already on the machine (Debian's nodejs ships
# them under /usr/include/node); about 3 minutes once. Without local headers,
# or with JSBOX_BENCH_ISOLATED_VM=0, it is skipped and the report says so.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
peers="$root/benches/peers"
target="${CARGO_TARGET_DIR:-$root/target}"
out="$target/bench-peers.json"
mkdir -p "$target"

skip() {
  echo "bench-peers: skipped: $1 (the report shows the peers as n/a)" >&2
  rm -f "$out"
  exit 0
}

command -v node >/dev/null 2>&1 || skip "node is not installed"
command -v npm >/dev/null 2>&1 || skip "npm is not installed"

stamp="$peers/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$peers/package-lock.json" -nt "$stamp" ]; then
  echo "bench-peers: npm ci in benches/peers (pinned by package-lock.json)" >&2
  (cd "$peers" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || skip "npm ci failed"
fi

ivm="$peers/node_modules/isolated-vm"
if [ "${JSBOX_BENCH_ISOLATED_VM:-1}" != 0 ] && [ -d "$ivm" ] && [ ! -f "$ivm/out/isolated_vm.node" ]; then
  nodedir="$(npm config get nodedir 2>/dev/null)"
  case "$nodedir" in ""|undefined|null) nodedir=/usr ;; esac
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  if [ -f "$nodedir/include/node/node.h" ] && [ -f "$gyp" ]; then
    echo "bench-peers: compiling isolated-vm against $nodedir/include/node (once, a few minutes)" >&2
    (cd "$ivm" && node "$gyp" rebuild --release -j 2 --nodedir="$nodedir" --loglevel=error >/dev/null) \
      || echo "bench-peers: isolated-vm did not compile; it is skipped" >&2
  else
    echo "bench-peers: no local node headers (node-gyp would download them); isolated-vm is skipped" >&2
  fi
fi

echo "bench-peers: timing the peers with node $(node --version), each in its own process" >&2
# peers.js starts one node process per peer, with the flags that peer needs.
node "$peers/peers.js" "$out" >/dev/null || skip "the peer benchmark failed"
echo "bench-peers: wrote $out" >&2
