# reviewlab: every target bootstraps the environment it needs (python3 + make suffice).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Offline Hugging Face settings come with the package (reviewlab/__init__.py).
export DVC_NO_ANALYTICS=1 PYTHONHASHSEED=0

.PHONY: help install data repro results plots test test-fast lint format lab lock clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name reviewlab --display-name reviewlab >/dev/null
	$(BIN)/dvc config --local core.analytics false
	@touch $@

install: $(STAMP)  ## create .venv and install the pinned environment

data: $(STAMP)  ## materialise data/ from the DVC remote (../shared/dvc-remote)
	$(BIN)/dvc pull -q data.dvc

repro: data  ## run the whole pipeline (dvc repro), refresh the README tables and dvc_plots/
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro
	$(BIN)/reviewlab readme
	$(BIN)/dvc plots show -q -o dvc_plots

results: $(STAMP)  ## copy the generated blocks (stage report: reports/blocks/) into the README and docs/
	$(BIN)/reviewlab readme

plots: $(STAMP)  ## render every DVC plot (dvc.yaml `plots`) to dvc_plots/index.html (vega from its CDN)
	$(BIN)/dvc plots show -q -o dvc_plots

# The tests on the tiny `dvc repro` (marked tiny_repo by tests/conftest.py) keep one core busy:
# the rest run beside them in a second process, their report printed after.
test: data  ## the whole test suite: unit tests, notebooks (nbval), end-to-end dvc repro
	@rest=$$(mktemp); $(BIN)/pytest -m "not tiny_repo" >$$rest 2>&1 & pid=$$!; \
	$(BIN)/pytest -m tiny_repo; tiny=$$?; wait $$pid; other=$$?; \
	echo "== the tests without the tiny repro =="; cat $$rest; rm -f $$rest; \
	[ $$tiny -eq 0 ] && [ $$other -eq 0 ]

test-fast: data  ## unit tests only (skips the slow end-to-end tests)
	$(BIN)/pytest -m "not slow"

lint: $(STAMP)  ## ruff lint + format check, notebooks stripped of outputs, import layers, declared deps
	$(BIN)/ruff check src tests notebooks
	$(BIN)/ruff format --check src tests notebooks
	$(BIN)/nbstripout --verify notebooks/*.ipynb
	$(BIN)/lint-imports
	$(BIN)/deptry src

format: $(STAMP)  ## apply ruff fixes and formatting, strip notebook outputs
	$(BIN)/ruff check --fix src tests notebooks
	$(BIN)/ruff format src tests notebooks
	$(BIN)/nbstripout notebooks/*.ipynb

lab: $(STAMP)  ## JupyterLab with the project's kernel
	$(BIN)/jupyter lab notebooks

lock: $(STAMP)  ## re-pin requirements.lock from the current environment
	{ echo "# Exact pins of every dependency (generated: make lock). Installed by make as constraints."; \
	  $(BIN)/pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu/torch==\1/'; } > requirements.lock

clean:  ## remove pipeline artifacts (not data/, not the venv)
	rm -rf artifacts
