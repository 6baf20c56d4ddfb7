"""The DVC stage scripts and the MLflow Project run the same stage functions: with the same
parameters and seed they train the same weights, each in fresh processes, and print what the
user needs to read (no TensorFlow start-up notices)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import mlflow
import numpy as np
import pytest
import yaml

from rnnkeras.pipeline.stages import paths
from tests.pipeline.tiny_params import classification_params

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run(*command: str, cwd: Path, **variables: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    # The stages' own defaults decide what TensorFlow prints (tests/conftest.py sets others).
    for name in (
        "MLFLOW_TRACKING_URI",
        "MLFLOW_RUN_ID",
        "MLFLOW_EXPERIMENT_ID",
        "TF_CPP_MIN_LOG_LEVEL",
    ):
        env.pop(name, None)
    env.update(variables)
    done = subprocess.run(
        [sys.executable, *command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    assert "oneDNN" not in output, output
    assert not re.search(r"^[IWE]0000 ", output, re.MULTILINE), output


def project(root: Path, csv: Path) -> Path:
    root.mkdir()
    params = classification_params(csv, epochs=2, dropout=0.2, depth=2)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root


def test_the_dvc_stages_and_the_mlflow_project_train_the_same_weights(tmp_path, tiny_vowels_csv):
    dvc_route = project(tmp_path / "dvc", tiny_vowels_csv)
    for stage in ("prepare", "validate", "train"):
        run(str(REPO / "pipelines" / f"{stage}.py"), cwd=dvc_route)
    mlflow_route = project(tmp_path / "mlflow", tiny_vowels_csv)
    # As `mlflow run` does: the run exists before the entry point starts (so MLflow does not
    # draw a random run name in the training process, as it does on the DVC route).
    store = f"sqlite:///{mlflow_route / 'mlflow.db'}"
    client = mlflow.MlflowClient(store)
    run_id = client.create_run(client.create_experiment("routes")).info.run_id
    run(
        "-m",
        "rnnkeras.pipeline.mlflow_project",
        "train",
        cwd=mlflow_route,
        MLFLOW_TRACKING_URI=store,
        MLFLOW_RUN_ID=run_id,
    )
    work = mlflow_route / "mlproject" / "runs" / run_id

    expected = keras.models.load_model(dvc_route / paths.MODEL).get_weights()
    received = keras.models.load_model(work / paths.MODEL).get_weights()
    assert len(expected) == len(received)
    for a, b in zip(expected, received, strict=True):
        np.testing.assert_array_equal(a, b)
