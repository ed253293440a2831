#!/usr/bin/env bash
# The whole test suite (what `make test` and CI run): static checks, the wheel in a
# fresh venv, then pytest on every core. Fails when no test ran (pytest exit 5).
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

# This machine's environment sets PYTHONDONTWRITEBYTECODE and uv installs without
# compiling, so every `python -m lgp_engine` a test starts would compile langgraph,
# pydantic, fastapi & co. (and lgp_engine) from source again: about 1 s of CPU per
# process, over a third of the suite. Compile them once, beside the static checks
# (~10 s of CPU on a fresh venv, ~1 s when done). The project's own packages get
# hash-checked .pyc files (never stale, whatever the mtimes); templates and the
# tests' workflows stay uncompiled.
step "bytecode of the installed packages and lgp_engine (in the background)"
{
    "$BIN/python" -m compileall -q -j 0 \
        "$("$BIN/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" &&
        "$BIN/python" -m compileall -q -j 0 --invalidation-mode checked-hash \
            -x '/templates/' lgp_engine lgp_tui
} >/dev/null &
compiling=$!

step "ruff format --check"
"$BIN/ruff" format --check --quiet . || die "ruff format (run: .venv/bin/ruff format .)"
step "ruff check"
"$BIN/ruff" check --quiet . || die "ruff check"
step "mypy"
"$BIN/mypy" --no-error-summary || die "mypy"
step "import-linter"
"$BIN/lint-imports" --no-cache >/tmp/lgp-lint-imports.$$ 2>&1 \
    || { cat /tmp/lgp-lint-imports.$$; rm -f /tmp/lgp-lint-imports.$$; die "import contracts"; }
rm -f /tmp/lgp-lint-imports.$$

step "wheel in a fresh venv"
scripts/check_wheel.sh || die "the wheel"

markers=(-m "not slow")
if [ -n "${CI:-}" ]; then
    markers=()  # CI runs the slow soak tests too
fi
wait "$compiling" || die "compileall"
step "pytest"
# Two workers a core: most tests wait on a process they started (an `lgp` command, a
# server, a model or MCP server), so twice as many workers as cores keep the cores
# busy (measured on 2 cores: 225 s with 2 workers, 179 s with 4, 198 s with 6).
workers=$(( $(nproc) * 2 ))
"$BIN/python" -m pytest -n "$workers" -p no:cacheprovider "${markers[@]}" "$@"
code=$?
if [ "$code" -eq 5 ]; then
    die "pytest collected no tests"
fi
step "done (exit $code)"
exit "$code"
