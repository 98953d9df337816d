#!/usr/bin/env bash
# Installs the reference tools the tests compare jsbox with, when the
# machine lacks them (`make test` runs this first). The tests fail, never
# skip, when a tool is missing, so this is the one place that provides them.
# Each tool is a function; all are idempotent and quiet when already there.
set -euo pipefail
cd "$(dirname "$0")/.."

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

node_tool
