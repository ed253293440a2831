#!/usr/bin/env bash
# The whole test suite (what `make test` and CI run): static checks, the wheel in a
# fresh venv, and pytest on every core (the slower checks beside it). Fails when no test ran (pytest exit 5).
#
#   scripts/test.sh                 # everything but the slow soak tests
#   CI=true scripts/test.sh         # everything, slow tests included
#   scripts/test.sh tests/server    # pytest arguments are passed on
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
start=$(date +%s)

step() { echo "[test] $1 ($(( $(date +%s) - start ))s)"; }
die() { echo "[test] FAILED: $1" >&2; exit 1; }

# This machine's environment sets PYTHONDONTWRITEBYTECODE, so every `python -m
# lgp_engine` a test starts would compile what it imports from source again: about
# 1 s of CPU per process. The installed packages are compiled when `make` installs
# them (uv's --compile-bytecode); the project's own get hash-checked .pyc files here
# (never stale, whatever the mtimes; under a second). Templates and the tests'
# workflows stay uncompiled.
step "bytecode of lgp_engine and lgp_tui (in the background)"
{
    "$BIN/python" -m compileall -q -j 0 --invalidation-mode checked-hash \
        -x '/templates/' lgp_engine lgp_tui
} >/dev/null &
compiling=$!

step "ruff format --check"
"$BIN/ruff" format --check --quiet . || die "ruff format (run: .venv/bin/ruff format .)"
step "ruff check"
"$BIN/ruff" check --quiet . || die "ruff check"

# The slower checks run beside pytest, whose workers spend much of their time waiting
# on processes they started: on 2 cores that hides most of their ~40 s. Their output
# is shown, and the run fails, if one of them fails.
checks_log=$(mktemp)
step "mypy, import contracts and the wheel in a fresh venv (beside pytest)"
{
    "$BIN/mypy" --no-error-summary || { echo "[test] FAILED: mypy"; exit 1; }
    "$BIN/lint-imports" --no-cache || { echo "[test] FAILED: import contracts"; exit 1; }
    scripts/check_wheel.sh || { echo "[test] FAILED: the wheel"; exit 1; }
} >"$checks_log" 2>&1 &
checks=$!

markers=(-m "not slow")
if [ -n "${CI:-}" ]; then
    markers=()  # CI runs the slow soak tests too
fi
# PostgreSQL (several replicas' database): its tests run when the machine has one
# (127.0.0.1:5432, or LGP_TEST_POSTGRES), and are skipped, said here, when not
if pg=$("$BIN/python" -c 'from tests import postgres; r = postgres.available(); print(r or "")') \
    && [ -z "$pg" ]; then
    step "PostgreSQL at ${LGP_TEST_POSTGRES:-postgresql://postgres@127.0.0.1:5432}: the PostgreSQL tests run"
else
    step "no PostgreSQL (${pg:-unknown}): the PostgreSQL tests are skipped (set LGP_TEST_POSTGRES to a server URL)"
fi
wait "$compiling" || die "compileall"
step "pytest"
# Two workers a core: most tests wait on a process they started (an `lgp` command, a
# server, a model or MCP server), so twice as many workers as cores keep the cores
# busy (measured on 2 cores: 225 s with 2 workers, 179 s with 4, 198 s with 6).
workers=$(( $(nproc) * 2 ))
# Without PYTHONDONTWRITEBYTECODE, pytest keeps the test modules it rewrote (their
# asserts): the next run in this checkout collects in ~2 s of CPU a worker, not ~6.5 s.
# (A fresh clone gains nothing: the workers collect at once. Warming it up first
# delayed pytest as much as it saved.)
env -u PYTHONDONTWRITEBYTECODE "$BIN/python" -m pytest -n "$workers" -p no:cacheprovider \
    "${markers[@]}" "$@"
code=$?
if [ "$code" -eq 5 ]; then
    die "pytest collected no tests"
fi
step "waiting for mypy, the import contracts and the wheel"
if ! wait "$checks"; then
    cat "$checks_log"
    rm -f "$checks_log"
    die "static checks"
fi
rm -f "$checks_log"
step "done (exit $code)"
exit "$code"
