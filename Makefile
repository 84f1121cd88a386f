# Two commands for a fresh machine with Python >= 3.10:
#   make demo   — create .venv, install codequarry with the models extra, run `codequarry demo`
#   make test   — create .venv, install codequarry with every extra, run ruff and the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU build of PyTorch, installed before the `models` extra so pip does not pull a CUDA build.
TORCH ?= torch==2.13.0
DEMO_OUT ?= codequarry-demo

.PHONY: demo test lint venv install-demo install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.torch: | $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH)"
	touch $@

$(VENV)/.demo: pyproject.toml $(VENV)/.torch
	$(BIN)/pip install --quiet -e ".[demo]"
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.torch
	$(BIN)/pip install --quiet -e ".[dev,models,ray,fast]"
	touch $@ $(VENV)/.demo

install-demo: $(VENV)/.demo
install-dev: $(VENV)/.dev

demo: install-demo
	$(BIN)/codequarry demo --out $(DEMO_OUT) --overwrite

test: install-dev
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache $(DEMO_OUT)
