# Two commands from a fresh clone (see README):
#   make run    set up .venv and open the workbench on the bundled example workflow
#               (in a terminal; without one, run it headless with the lgp CLI)
#   make test   set up .venv and run the whole test suite (lint included)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test bench screenshots lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
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

bench: $(STAMP)
	$(BIN)/python benchmarks/engine_overhead.py
	$(BIN)/python benchmarks/server_throughput.py
	$(BIN)/python benchmarks/hot_reload.py
	$(BIN)/python benchmarks/tui_startup.py

screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .lgp .pytest_cache .ruff_cache
