#!/usr/bin/env bash
# The whole test suite: lint, then pytest. Fails when no test ran (pytest exit 5).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

echo "[test] ruff check"
"$BIN/ruff" check . || exit 1

echo "[test] pytest"
"$BIN/python" -m pytest "$@"
code=$?
if [ "$code" -eq 5 ]; then
    echo "[test] ERROR: pytest collected no tests" >&2
    exit 1
fi
exit "$code"
