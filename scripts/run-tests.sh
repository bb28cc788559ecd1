#!/usr/bin/env bash
# One suite, two stores: every test file runs on SQLite, then the store-facing
# ones (sync, images, CLI, HTTP, store, several processes, dashboard) run again on
# PostgreSQL from the same files, each test in a fresh database of its own on the
# server TEST_DATABASE_URL names. Without it the PostgreSQL half is skipped with a
# line saying so, except under CI, where a skipped half would hide a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# Both halves run even when the first fails, so one run shows every failure.
status=0
node --test --test-concurrency=2 $(find dist/test -name '*.test.js' | sort) || status=$?

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  if [ -n "${CI:-}" ]; then
    echo "CI is set but TEST_DATABASE_URL is not: the PostgreSQL half of the suite must run in CI." >&2
    exit 1
  fi
  echo "PostgreSQL half skipped: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres (any server where that user may create databases) to run it."
  exit $status
fi
# The dashboard's HTTP tests read their figures through the store, so they run on
# both; the browser tests and the thumbnail tests (files on disk) stay SQLite-only.
TEST_STORE=postgres node --test --test-concurrency=2 $(find dist/test/sync dist/test/images dist/test/cli dist/test/http dist/test/store dist/test/scale dist/test/web -name '*.test.js' ! -name browser.test.js ! -path '*/web/images.test.js' 2>/dev/null | sort) || status=$?
exit $status
