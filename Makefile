# Two entry points: `make test` and `make demo`. Both set up .venv on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch for a machine without a GPU. On this project's CPU machines pip finds this CPU
# build on disk; elsewhere pass e.g. TORCH_SPEC="torch" TORCH_PIP_ARGS="--index-url <cpu index>".
TORCH_SPEC     ?= torch==2.13.0
TORCH_PIP_ARGS ?=
STAMP := $(VENV)/.installed

.PHONY: test demo lint clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	@if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then \
	  echo "GPU found: keeping pip's default torch build"; \
	else \
	  echo "No GPU: installing CPU torch ($(TORCH_SPEC))"; \
	  $(BIN)/python -m pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"; \
	fi
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check mixopt rlvr evaluators studies tests benchmarks
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/mixopt demo --out runs/demo

lint: $(STAMP)
	$(BIN)/ruff check mixopt rlvr evaluators studies tests benchmarks
	$(BIN)/ruff format --check mixopt rlvr evaluators studies tests benchmarks

clean-venv:
	rm -rf $(VENV)
