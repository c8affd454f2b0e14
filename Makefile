# paperlib: `make reproduce` regenerates every figure and table; `make test` runs the test suite.
# Variables: PROFILE=smoke|quick|paper  DATA_DIR=<folder with the CIFAR folders>  ALLOW_PARTIAL=1
#            TORCH_SPEC=<pip requirement for torch>  PYTHON=<interpreter that makes the venv>
# Each one may also come from the environment (PAPERLIB_PROFILE, PAPERLIB_DATA_DIR,
# PAPERLIB_ALLOW_PARTIAL_DATA=1); a value given on the command line wins.

PROFILE       ?= $(or $(PAPERLIB_PROFILE),quick)
DATA_DIR      ?= $(or $(PAPERLIB_DATA_DIR),$(CURDIR)/data)
ALLOW_PARTIAL ?= $(if $(filter 1 true yes on,$(PAPERLIB_ALLOW_PARTIAL_DATA)),1,0)
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
# No MPLBACKEND here: the notebooks' kernels must use the inline backend, or the executed
# notebooks hold no figures (paperlib.app.reproduce sets it for papermill itself).
export PYTHONUNBUFFERED := 1

# The file whose presence says a folder holds a data set (the rest is md5-checked by paperlib).
CIFAR10_FILE  := cifar-10-batches-py/test_batch
CIFAR100_FILE := cifar-100-python/test
# Only the paper profile trains on CIFAR-100 (paperlib/method/profiles.py); the others use CIFAR-10.
NEEDED_FILES  := $(CIFAR10_FILE) $(if $(filter paper,$(PROFILE)),$(CIFAR100_FILE))

# Tests never share state with the user's runs: their checkpoints, results, figures and md5 cache
# live under results/test/<data>/, one root per data folder (a synthetic copy they write themselves
# when DATA_DIR holds no CIFAR), so `make test` passes whatever was run before.
HAS_DATA  := $(wildcard $(DATA_DIR)/$(CIFAR10_FILE))
TEST_DATA := $(if $(HAS_DATA),$(abspath $(DATA_DIR)),$(CURDIR)/results/test/synthetic-data)
TEST_ROOT := $(CURDIR)/results/test/$(if $(HAS_DATA),data-$(shell printf '%s' '$(abspath $(DATA_DIR))' | cksum | cut -d' ' -f1),synthetic)
TEST_ENV  := PAPERLIB_DATA_DIR=$(TEST_DATA) PAPERLIB_ALLOW_PARTIAL_DATA=1 PAPERLIB_PROFILE=smoke \
             PAPERLIB_TEST_ROOT=$(TEST_ROOT) PAPERLIB_CHECKPOINT_DIR=$(TEST_ROOT)/checkpoints \
             PAPERLIB_RESULTS_DIR=$(TEST_ROOT)/results PAPERLIB_FIGURES_DIR=$(TEST_ROOT)/figures \
             PAPERLIB_CACHE_DIR=$(TEST_ROOT)/cache PAPERLIB_CPU_BF16=off

.PHONY: help install check-data data models searches notebooks reproduce test test-unit \
        test-notebooks test-env benchmarks lab clean clean-results

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'
	@echo "  variables: PROFILE=$(PROFILE) DATA_DIR=$(DATA_DIR) ALLOW_PARTIAL=$(ALLOW_PARTIAL) TORCH_SPEC=$(TORCH_SPEC)"
	@echo "  figures of PROFILE=quick go to figures/ (committed); of any other profile to results/<profile>/figures/"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev,notebooks,cluster]"
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (paperlib)"
	touch $@

install: $(STAMP)  ## create .venv with everything (torch from TORCH_SPEC, no CUDA build on CPU)

check-data:  ## check that DATA_DIR holds the data PROFILE needs (before installing anything)
	@missing=""; for f in $(NEEDED_FILES); do [ -f "$(DATA_DIR)/$$f" ] || missing="$$missing $$f"; done; \
	if [ -n "$$missing" ]; then \
	  echo "No CIFAR data for PROFILE=$(PROFILE) in $(abspath $(DATA_DIR)) (missing:$$missing)." >&2; \
	  echo "Ways out:" >&2; \
	  echo "  make data                               download the official archives (internet, about 330 MB) and md5-verify them" >&2; \
	  echo "  make reproduce DATA_DIR=/path/to/folder  use a folder that holds cifar-10-batches-py/ (and cifar-100-python/)" >&2; \
	  echo "                                          (or export PAPERLIB_DATA_DIR=/path/to/folder)" >&2; \
	  echo "  make reproduce DATA_DIR=../shared/data ALLOW_PARTIAL=1" >&2; \
	  echo "                                          use a partial copy; every result is labelled \"partial data\"" >&2; \
	  exit 1; \
	fi

data: $(STAMP)  ## download (if absent) and md5-verify CIFAR-10/100 and the network traces into DATA_DIR
	@if [ -f "$(DATA_DIR)/$(CIFAR10_FILE)" ] && [ -f "$(DATA_DIR)/$(CIFAR100_FILE)" ]; \
	  then $(PY) -m paperlib data; else $(PY) -m paperlib data --download; fi
	$(PY) -m paperlib data --traces --download  # uplink traces of notebook 10 (fetched if absent)

models: check-data  ## train (or reuse) the models of PROFILE
	@$(MAKE) --no-print-directory install
	$(PY) -m paperlib reproduce --stage models

searches: check-data  ## run (or reuse) the searches of PROFILE
	@$(MAKE) --no-print-directory install
	$(PY) -m paperlib reproduce --stage searches

notebooks: check-data  ## execute the notebooks with papermill; figures, tables and MANIFEST.json
	@$(MAKE) --no-print-directory install
	$(PY) -m paperlib reproduce --stage notebooks

reproduce: check-data  ## everything: models, searches, notebooks, figures (cached; PROFILE=quick)
	@$(MAKE) --no-print-directory install
	$(PY) -m paperlib reproduce

test: test-unit test-notebooks  ## the test suite: pytest, then nbval over the notebooks (smoke)

test-env:  ## print the environment the tests run in (their own data, checkpoints, results, figures)
	@echo $(TEST_ENV)

$(CURDIR)/results/test/synthetic-data: | $(STAMP)
	$(PY) -m paperlib data --synthetic $@

test-unit: $(STAMP) | $(TEST_DATA)
	$(TEST_ENV) $(PY) -m pytest tests

test-notebooks: $(STAMP) | $(TEST_DATA)
	$(TEST_ENV) $(PY) -m pytest --nbval-lax --nbval-kernel-name $(KERNEL) notebooks

benchmarks: $(STAMP)  ## print the speed figures (energy, privacy, search, attacks)
	$(PY) benchmarks/bench_energy.py
	$(PY) benchmarks/bench_privacy.py
	$(PY) benchmarks/bench_search.py
	$(PY) benchmarks/bench_attacks.py

lab: $(STAMP)  ## open JupyterLab on the notebooks
	$(VENV)/bin/jupyter lab notebooks

clean-results:  ## delete results/ (searches, executed notebooks, other profiles' figures, test roots)
	rm -rf results

clean: clean-results  ## delete the venv, results and caches (not the data, checkpoints or figures/)
	rm -rf $(VENV) .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
