#!/usr/bin/env bash
# Installs the tools some tests run into target/test-tools/, from their
# registries, pinned. `make test` runs it before `cargo test`; run it by
# hand before running those tests alone. Idempotent: a tool already there
# at its pinned version is left alone. One function per tool; add yours
# with its call at the bottom.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=target/test-tools

# TypeScript's compiler for host/tests/types.rs (the `.d.ts` of
# `jsbox types`): tsc at target/test-tools/node_modules/.bin/tsc, run by
# the machine's node. 5.9 is the last line written in JS (7 is a native
# binary per platform).
typescript() {
    local version=5.9.3
    if [ "$("$TOOLS/node_modules/.bin/tsc" --version 2>/dev/null)" = "Version $version" ]; then
        return
    fi
    mkdir -p "$TOOLS"
    npm install --prefix "$TOOLS" --no-save --no-audit --no-fund --loglevel=error "typescript@$version"
    echo "test-tools: typescript $version in $TOOLS"
}

typescript
