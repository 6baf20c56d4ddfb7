# Two commands on a fresh machine: `make run` (the pipeline) and `make test` (the suite).
# Each creates .venv and installs the project into it first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS ?= mlops,edge,jax,torch,dev,scale

export DVC_NO_ANALYTICS := 1
export GX_ANALYTICS_ENABLED := false
export MLFLOW_DISABLE_TELEMETRY := true
export TF_CPP_MIN_LOG_LEVEL := 3
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install install-gpu run baseline test test-fast lint bench serve tracking-server sweep clean

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

# A shared MLflow tracking server on a real PostgreSQL, on loopback, until Ctrl-C (docs/scale.md).
# Then `MLFLOW_TRACKING_URI=http://127.0.0.1:$(TRACKING_PORT) make run` records into it.
TRACKING_FOLDER ?= tracking
TRACKING_PORT ?= 5000
tracking-server: install
	$(BIN)/python -m rnnkeras.pipeline.tracking.server --folder $(TRACKING_FOLDER) --port $(TRACKING_PORT)

# A sweep of queued DVC experiments over cell type and units, run by parallel workers, then
# compared (docs/scale.md, 'Sweeps'). A worker that went idle while tasks were still queued
# is started again (treeverse/dvc#10562).
SWEEP_CELLS ?= lstm,gru
SWEEP_UNITS ?= 32,64
SWEEP_JOBS ?= 2
sweep: install
	$(BIN)/dvc exp run --queue -S train.cell=$(SWEEP_CELLS) -S train.units=$(SWEEP_UNITS)
	$(BIN)/dvc queue start -j $(SWEEP_JOBS)
	@while $(BIN)/dvc queue status | grep -qE ' (Queued|Running)$$'; do \
	  sleep 10; \
	  status=$$($(BIN)/dvc queue status); \
	  if echo "$$status" | grep -q 'Worker status: 0 active' && echo "$$status" | grep -q ' Queued$$'; then \
	    $(BIN)/dvc queue start -j $(SWEEP_JOBS); \
	  fi; \
	done
	$(BIN)/dvc queue status
	$(BIN)/dvc exp show --only-changed --drop 'Created|State|Executor'

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
