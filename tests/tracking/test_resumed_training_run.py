"""A training killed mid-run and resumed from its checkpoint continues its MLflow run."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rnnkeras.pipeline import tracking

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

# Starts the training run of a checkpoint, logs epochs 0-2, and dies as `kill -9` leaves it.
KILLED_TRAINING = """
import os, signal, sys
import mlflow
from rnnkeras.pipeline import tracking

root = sys.argv[1]
tracking.configure(root)
with tracking.start_training_run(
    {"train": {"epochs": 12}}, 0, root + "/run.json",
    checkpoint_dir=root + "/checkpoints", setup=sys.argv[2],
) as run:
    for epoch in range(3):
        mlflow.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
    print(run.info.run_id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def killed_training(root: Path, setup: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-c", KILLED_TRAINING, str(root), setup],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    return done.stdout.split()[-1]


def runs_in(experiment_name):
    import mlflow

    return mlflow.search_runs(experiment_names=[experiment_name], output_format="list")


def test_a_resumed_training_continues_the_killed_run(store):
    import mlflow

    killed = killed_training(store, setup="abc")
    assert mlflow.get_run(killed).info.status == "RUNNING"

    with tracking.start_training_run(
        {"train": {"epochs": 12}},
        0,
        store / "run.json",
        checkpoint_dir=store / "checkpoints",
        setup="abc",
    ) as resumed:
        for epoch in range(3, 12):
            mlflow.log_metric("loss", 1.0 / (epoch + 1), step=epoch)

    assert resumed.info.run_id == killed
    run = mlflow.get_run(killed)
    assert run.info.status == "FINISHED"
    assert run.data.tags["rnnkeras.resumed"] == "true"
    loss = mlflow.MlflowClient().get_metric_history(killed, "loss")
    assert sorted(m.step for m in loss) == list(range(12))
    assert [r.info.run_id for r in runs_in(tracking.DEFAULT_EXPERIMENT)] == [killed]
    assert json.loads((store / "run.json").read_text())["run_id"] == killed
    assert not (store / "checkpoints" / "mlflow_run.json").exists()


def test_a_killed_run_whose_checkpoint_is_not_resumed_is_ended_as_killed(store):
    import mlflow

    killed = killed_training(store, setup="old")
    with tracking.start_training_run(
        {"train": {"epochs": 12}},
        0,
        store / "run.json",
        checkpoint_dir=store / "checkpoints",
        setup="new",
    ) as fresh:
        pass
    assert fresh.info.run_id != killed
    assert mlflow.get_run(killed).info.status == "KILLED"
    statuses = {r.info.run_id: r.info.status for r in runs_in(tracking.DEFAULT_EXPERIMENT)}
    assert statuses == {killed: "KILLED", fresh.info.run_id: "FINISHED"}
