# Two commands on a fresh machine: `make run` (the pipeline) and `make test` (the suite).
# Each creates .venv and installs the project into it first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS ?= mlops,edge,jax,torch,dev

export DVC_NO_ANALYTICS := 1
export GX_ANALYTICS_ENABLED := false
export MLFLOW_DISABLE_TELEMETRY := true
export TF_CPP_MIN_LOG_LEVEL := 3
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install install-gpu run baseline test test-fast lint bench serve clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip setuptools wheel
	$(BIN)/pip install -e ".[$(EXTRAS)]"
	touch $(STAMP)

# CUDA build of TensorFlow instead of tensorflow-cpu (never both): install as usual,
# remove tensorflow-cpu, then put the CUDA build of the same release in its place.
install-gpu: install
	$(BIN)/pip uninstall -y tensorflow-cpu
	$(BIN)/pip install --force-reinstall --no-deps "tensorflow==2.21.*"
	$(BIN)/pip install "tensorflow[and-cuda]==2.21.*"

run: install
	$(BIN)/dvc repro
	@$(MAKE) --no-print-directory baseline BIN=$(BIN)

# The first result of the current commit becomes the DVC experiment `baseline`, so that
# `dvc exp run` results can be compared with it and never overwrite it (docs/pipeline.md).
# Only in a git repository with a commit (DVC experiments live in git refs).
baseline:
	@if ! git rev-parse --verify -q HEAD >/dev/null 2>&1; then \
	  echo "baseline: not a git repository with a commit; no DVC experiment saved"; \
	elif $(BIN)/dvc exp list --name-only | grep -qx baseline; then \
	  echo "baseline: the experiment 'baseline' of this commit exists; kept as it is"; \
	else \
	  $(BIN)/dvc exp save --name baseline; \
	fi

# Two workers (CI has two cores), each running whole files, so module fixtures run once.
test: install
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test-fast: install
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not slow"

lint: install
	$(BIN)/ruff format --check rnnkeras tests bench pipelines
	$(BIN)/ruff check rnnkeras tests bench pipelines

bench: install
	$(BIN)/python bench/layers.py

# Serve the registered champion over HTTP on loopback (see docs/mlflow.md).
SERVE_MODEL ?= models:/rnnkeras@champion
SERVE_PORT ?= 5001
serve: install
	MLFLOW_TRACKING_URI=$${MLFLOW_TRACKING_URI:-sqlite:///$(CURDIR)/mlflow.db} \
	$(BIN)/mlflow models serve -m "$(SERVE_MODEL)" --env-manager local -h 127.0.0.1 -p $(SERVE_PORT)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
