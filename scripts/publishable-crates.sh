#!/usr/bin/env bash
# Prints the names of the workspace's publishable crates (every member whose
# `publish` is not `false`), one a line, for the packaging and MSRV checks.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --format-version 1 --no-deps --offline | python3 -c '
import json, sys
meta = json.load(sys.stdin)
members = set(meta["workspace_members"])
for p in meta["packages"]:
    if p["id"] in members and p.get("publish") != []:
        print(p["name"])
'
