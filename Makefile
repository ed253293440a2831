# Two commands from a fresh clone (see README):
#   make run    set up .venv and open the workbench on the bundled example workflow
#               (in a terminal; without one, run it headless with the lgp CLI)
#   make test   set up .venv and run the whole test suite (static checks included)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test check format bench screenshots lint clean

# uv installs in seconds what pip takes tens of seconds for; pip only bootstraps it.
# --compile-bytecode: uv does not compile by default, and where PYTHONDONTWRITEBYTECODE
# is set nothing ever writes the .pyc files, so every `lgp` command would compile
# langgraph & co. again (about 1 s each).
# The venv gets no pip of its own (ensurepip alone takes ~4 s): the base Python's pip
# installs uv into it (pip >= 22.3), or, failing that, an ensurepip'd one.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	@test -x $(BIN)/uv || $(PYTHON) -m pip --python $(BIN)/python install --quiet \
		--disable-pip-version-check 'uv>=0.9' 2>/dev/null || { $(BIN)/python -m ensurepip -q && \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check 'uv>=0.9'; }
	VIRTUAL_ENV=$(VENV) $(BIN)/uv pip install --quiet --compile-bytecode -e '.[test,claude-code]'
	@# the project itself is installed editable: uv compiles site-packages only, and where
	@# PYTHONDONTWRITEBYTECODE is set every start compiled lgp_engine and lgp_tui again
	@# (about 1 s of lgp-tui's first frame); a source edited later is compiled as usual
	@$(BIN)/python -m compileall -q -j 0 --invalidation-mode checked-hash -x '/templates/' lgp_engine lgp_tui >/dev/null
	@touch $(STAMP)

run: $(STAMP)
	@if [ -t 0 ] && [ -t 1 ] && [ -z "$$CI" ]; then \
		$(BIN)/lgp-tui workflows/basic_workflow.py; \
	else \
		$(BIN)/lgp run workflows/basic_workflow.py --input '{"input": "Hello from the quick start"}' --thread quickstart && \
		$(BIN)/lgp history quickstart; \
	fi

test: $(STAMP)
	@scripts/test.sh

# The static checks alone (fast): formatting, lint, types, import contracts.
check: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/engine_overhead.py
	$(BIN)/python benchmarks/server_throughput.py
	$(BIN)/python benchmarks/hot_reload.py
	$(BIN)/python benchmarks/tui_startup.py
	$(BIN)/python benchmarks/agent_overhead.py
	$(BIN)/python benchmarks/tracing_overhead.py
	$(BIN)/python benchmarks/store_search.py

screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

lint: check

clean:
	rm -rf $(VENV) .lgp .pytest_cache .ruff_cache .mypy_cache dist build
