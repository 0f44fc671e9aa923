# Two commands for a newcomer: `make run` (the main job) and `make test` (the whole suite).
# Each creates the local virtual environment .venv on first use. `make run` installs the runtime
# dependencies only (no PyTorch, no test tools); `make test` adds the `test` and `dev` extras. Each has its
# own stamp, so `make test` after `make run` upgrades the same .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(BIN)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $@

run: $(BIN)/.installed-run
	$(BIN)/chainrule demo

test: $(BIN)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n 2

bench: $(BIN)/.installed-test
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
