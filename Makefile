# paperlib: `make reproduce` regenerates every figure and table; `make test` runs the test suite.
# Variables: PROFILE=smoke|quick|paper  DATA_DIR=<folder with the CIFAR folders>  ALLOW_PARTIAL=1
#            TORCH_SPEC=<pip requirement for torch>  PYTHON=<interpreter that makes the venv>

PROFILE       ?= quick
DATA_DIR      ?= $(CURDIR)/data
ALLOW_PARTIAL ?= 0
TORCH_SPEC    ?= torch==2.13.0
PYTHON        ?= python3
VENV          ?= .venv
KERNEL        := paperlib
PY            := $(VENV)/bin/python
STAMP         := $(VENV)/.installed

export PAPERLIB_PROFILE := $(PROFILE)
export PAPERLIB_DATA_DIR := $(abspath $(DATA_DIR))
ifeq ($(ALLOW_PARTIAL),1)
export PAPERLIB_ALLOW_PARTIAL_DATA := 1
endif
export MPLBACKEND := Agg
export PYTHONUNBUFFERED := 1

# Tests use $(DATA_DIR) when it holds CIFAR; otherwise a small synthetic copy they write themselves.
TEST_DATA := $(if $(wildcard $(DATA_DIR)/cifar-10-batches-py/test_batch),$(abspath $(DATA_DIR)),$(CURDIR)/results/smoke/synthetic-data)
TEST_ENV  := PAPERLIB_DATA_DIR=$(TEST_DATA) PAPERLIB_ALLOW_PARTIAL_DATA=1 PAPERLIB_PROFILE=smoke \
             PAPERLIB_FIGURES_DIR=$(CURDIR)/results/smoke/figures

.PHONY: help install data models searches notebooks reproduce test test-unit test-notebooks \
        benchmarks lab clean clean-results

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'
	@echo "  variables: PROFILE=$(PROFILE) DATA_DIR=$(DATA_DIR) ALLOW_PARTIAL=$(ALLOW_PARTIAL) TORCH_SPEC=$(TORCH_SPEC)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev,notebooks]"
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (paperlib)"
	touch $@

install: $(STAMP)  ## create .venv with everything (torch from TORCH_SPEC, no CUDA build on CPU)

data: $(STAMP)  ## download (if absent) and md5-verify CIFAR-10/100 into DATA_DIR
	@if [ -f "$(DATA_DIR)/cifar-10-batches-py/test_batch" ] && [ -f "$(DATA_DIR)/cifar-100-python/test" ]; \
	  then $(PY) -m paperlib data; else $(PY) -m paperlib data --download; fi

models: $(STAMP)  ## train (or reuse) the four models of PROFILE
	$(PY) -m paperlib reproduce --stage models

searches: $(STAMP)  ## run (or reuse) the searches of PROFILE
	$(PY) -m paperlib reproduce --stage searches

notebooks: $(STAMP)  ## execute the notebooks with papermill, regenerate figures/ and its MANIFEST
	$(PY) -m paperlib reproduce --stage notebooks

reproduce: $(STAMP)  ## everything: models, searches, notebooks, figures (cached; PROFILE=quick)
	$(PY) -m paperlib reproduce

test: test-unit test-notebooks  ## the test suite: pytest, then nbval over the notebooks (smoke)

$(CURDIR)/results/smoke/synthetic-data: | $(STAMP)
	$(PY) -m paperlib data --synthetic $@

test-unit: $(STAMP) | $(TEST_DATA)
	$(TEST_ENV) $(PY) -m pytest tests

test-notebooks: $(STAMP) | $(TEST_DATA)
	$(TEST_ENV) $(PY) -m pytest --nbval-lax --nbval-kernel-name $(KERNEL) notebooks

benchmarks: $(STAMP)  ## print the speed figures (energy, privacy, search)
	$(PY) benchmarks/bench_energy.py
	$(PY) benchmarks/bench_privacy.py
	$(PY) benchmarks/bench_search.py

lab: $(STAMP)  ## open JupyterLab on the notebooks
	$(VENV)/bin/jupyter lab notebooks

clean-results:  ## delete results/ (searches, executed notebooks); keeps checkpoints and figures
	rm -rf results

clean: clean-results  ## delete the venv, results and caches (not the data or checkpoints)
	rm -rf $(VENV) .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
