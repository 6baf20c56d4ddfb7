"""DVC's queue on our DVC version: `dvc exp run --queue` with `-S` values, `dvc queue start -j 2`.

Four experiments for two workers, so that each worker must pick up further tasks (users saw
queues stop after one or two experiments: treeverse/dvc#8165, #10562). The stage is a
one-line script, so the test measures the queue, not training; the pipeline's own runs in a
queue are tested in tests/tracking/test_dvc_experiments.py, and what parallel workers need from
the MLflow store in test_parallel_store.py.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipeline import projects

pytestmark = pytest.mark.slow

UNITS = [4, 6, 8, 10]
SCRIPT = """import json, yaml
units = yaml.safe_load(open("params.yaml"))["train"]["units"]
json.dump({"score": 2 * units}, open("metrics.json", "w"))
"""
PIPELINE = """stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train.units]
    metrics:
      - metrics.json:
          cache: false
"""


def dvc(root: Path, *args: str) -> str:
    result = projects.dvc(root, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_two_workers_run_every_queued_experiment(tmp_path):
    root = tmp_path / "sweep"
    root.mkdir()
    (root / "train.py").write_text(SCRIPT)
    (root / "dvc.yaml").write_text(PIPELINE)
    (root / "params.yaml").write_text("train:\n  units: 1\n")
    projects.git(root, "init", "-q")
    dvc(root, "init", "-q")
    projects.git(root, "add", "-A")
    projects.git(root, "commit", "-q", "-m", "sweep")

    dvc(root, "exp", "run", "--queue", "-S", f"train.units={','.join(map(str, UNITS))}")
    assert dvc(root, "queue", "status").count("Queued") == len(UNITS)
    # Not through a pipe: the workers it leaves running would hold it open until they end.
    started = subprocess.run(
        [str(Path(sys.executable).parent / "dvc"), "queue", "start", "-j", "2"],
        cwd=root,
        env=projects.environment(root),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
    )
    assert started.returncode == 0
    try:
        deadline = time.monotonic() + 300
        status = dvc(root, "queue", "status")
        while ("Queued" in status or "Running" in status) and time.monotonic() < deadline:
            time.sleep(2)
            status = dvc(root, "queue", "status")
    finally:
        projects.dvc(root, "queue", "stop", "--kill")  # no worker outlives the test
    assert status.count("Success") == len(UNITS), status

    shown = json.loads(dvc(root, "exp", "show", "--json"))
    results = sorted(
        (
            run["data"]["params"]["params.yaml"]["data"]["train"]["units"],
            run["data"]["metrics"]["metrics.json"]["data"]["score"],
        )
        for commit in shown
        for experiment in commit.get("experiments") or []
        for run in experiment["revs"]
    )
    assert results == [(units, 2 * units) for units in UNITS]
