#!/usr/bin/env bash
# One suite, two stores: every test file runs on SQLite, then the store-facing
# ones (sync, images, CLI, HTTP, store, several processes, dashboard) run again on
# PostgreSQL from the same files, each test in a fresh database of its own on the
# server TEST_DATABASE_URL names. Without it the PostgreSQL half is skipped with a
# line saying so, except under CI, where a skipped half would hide a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# A hung test must fail the run with its name, not use up CI's time: each test
# (each test file, on Node 20) is stopped after TEST_TIMEOUT_S, and a half that
# still has not finished (a process left running keeps the runner waiting) after
# HALF_TIMEOUT_S is killed, saying so.
# node --test sorts the files it is given by path (Node 20, 22 and 24 alike) and
# starts them two at a time in that order: listing the slowest first here would
# change nothing.
test_timeout_s=${TEST_TIMEOUT_S:-600}
half_timeout_s=${HALF_TIMEOUT_S:-900}
run_half() {
  local name=$1
  shift
  local code=0
  timeout --kill-after=30 "$half_timeout_s" node --test --test-concurrency=2 --test-timeout=$((test_timeout_s * 1000)) "$@" || code=$?
  if [ "$code" -eq 124 ] || [ "$code" -eq 137 ]; then
    echo "The $name half did not finish within ${half_timeout_s} s and was stopped: a test, or a process one started, hangs (the last file reported above is the place to look)." >&2
  fi
  return "$code"
}

# Both halves run even when the first fails, so one run shows every failure.
status=0
run_half SQLite $(find dist/test -name '*.test.js' | sort) || status=$?

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  if [ -n "${CI:-}" ]; then
    echo "CI is set but TEST_DATABASE_URL is not: the PostgreSQL half of the suite must run in CI." >&2
    exit 1
  fi
  echo "PostgreSQL half skipped: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres (any server where that user may create databases) to run it."
  exit $status
fi
# The dashboard's HTTP tests read their figures and photos through the store, so
# they run on both; the browser tests (about the pages, not the store) stay SQLite-only.
TEST_STORE=postgres run_half PostgreSQL $(find dist/test/sync dist/test/images dist/test/cli dist/test/http dist/test/store dist/test/scale dist/test/web -name '*.test.js' ! -name browser.test.js 2>/dev/null | sort) || status=$?
exit $status
