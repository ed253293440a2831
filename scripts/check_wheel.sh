#!/usr/bin/env bash
# Build the wheel, install it alone into a fresh venv, and use it from an empty
# folder: `lgp --version`, `lgp templates`, `lgp create demo` and `lgp run demo`.
# This is what a user gets from `pip install lgp-workbench`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.venv/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# uv builds the same wheel (setuptools, the pyproject's backend) in ~1.5 s where
# `python -m build` took ~6 s setting up its isolated environment with pip
"$BIN/uv" build --quiet --wheel --out-dir "$work/dist" . >"$work/build.log" 2>&1 \
    || { cat "$work/build.log"; exit 1; }
"$BIN/uv" venv --quiet --python "$BIN/python" "$work/venv"
VIRTUAL_ENV="$work/venv" "$BIN/uv" pip install --quiet "$work"/dist/*.whl

mkdir "$work/project"
cd "$work/project"
lgp="$work/venv/bin/lgp"
# this machine sets PYTHONDONTWRITEBYTECODE: without it the first command writes the
# bytecode the next ones read, instead of each compiling langgraph & co. again
unset PYTHONDONTWRITEBYTECODE
"$lgp" --version
"$lgp" templates | grep -q "data_pipeline" || { echo "lgp templates lists no templates"; exit 1; }
"$lgp" create demo --template basic >/dev/null
"$lgp" run demo --input '{"input": "from the wheel"}' >"$work/run.log" 2>&1 \
    || { cat "$work/run.log"; exit 1; }
grep -q "Complete" "$work/run.log" || { cat "$work/run.log"; exit 1; }
echo "[wheel] $(basename "$work"/dist/*.whl): installs alone, creates and runs a workflow"
