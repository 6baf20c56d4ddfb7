"""The stages' MLflow runs as a pipeline user meets them: a killed and resumed training, an
export rerun with fewer files, an evaluate after the training run was deleted."""

import json
import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from rnnkeras.pipeline.stages import evaluate, export, paths, prepare, validate
from tests.pipeline import projects
from tests.pipeline.tiny_params import classification_params

EPOCHS = 40
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project trained for 40 epochs by a train stage that was killed after epoch 3."""
    root = tmp_path_factory.mktemp("runs") / "project"
    root.mkdir()
    projects.write_tiny_vowels(root / "vowels.csv")
    params = classification_params(root / "vowels.csv", epochs=EPOCHS)
    params["export"]["quantize"] = ["none", "float16"]
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        prepare.run(params, root)
        assert validate.run(params, root) == 0

    state = root / paths.CHECKPOINTS / "state.json"
    killed = projects.train_process(root)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and killed.poll() is None:
        if state.exists() and json.loads(state.read_text())["epoch"] >= 3:
            break
        time.sleep(0.05)
    assert killed.poll() is None, "training ended before it could be killed"
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    resumed = projects.train_process(root)
    output, _ = resumed.communicate(timeout=900)
    assert resumed.returncode == 0, output
    assert "Resuming training from the checkpoint" in output
    return root, params


@pytest.fixture
def client(project, monkeypatch):
    import mlflow

    root, _ = project
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    yield mlflow.MlflowClient(uri)
    while mlflow.active_run() is not None:
        mlflow.end_run()


def training_run_id(root: Path) -> str:
    return json.loads((root / paths.MLFLOW_RUN).read_text())["run_id"]


def test_a_killed_and_resumed_training_is_one_finished_run(project, client):
    root, _ = project
    run_id = training_run_id(root)
    experiment = client.get_experiment_by_name("tests").experiment_id
    statuses = {run.info.run_id: run.info.status for run in client.search_runs([experiment])}
    assert statuses == {run_id: "FINISHED"}
    steps = {m.step for m in client.get_metric_history(run_id, "loss")}
    assert steps == set(range(EPOCHS))
    assert client.get_run(run_id).data.tags["rnnkeras.resumed"] == "true"
    assert pd.read_csv(root / paths.HISTORY)["epoch"].tolist() == list(range(1, EPOCHS + 1))


def test_an_export_rerun_with_fewer_files_records_a_child_run(project, client):
    root, params = project
    run_id = training_run_id(root)
    export.run(params, root)
    fewer = {**params, "export": {**params["export"], "quantize": ["none"]}}
    export.run(fewer, root)

    training = client.get_run(run_id)
    assert training.data.params["export.quantize"] == '["none", "float16"]'
    first = {a.path for a in client.list_artifacts(run_id, "export")}
    assert {"export/model_float32.tflite", "export/model_float16.tflite"} <= first
    (child,) = client.search_runs(
        [training.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'"
    )
    assert child.data.tags["rnnkeras.stage"] == "export"
    assert child.data.params["export.quantize"] == '["none"]'
    again = {a.path for a in client.list_artifacts(child.info.run_id, "export")}
    assert "export/model_float32.tflite" in again
    assert "export/model_float16.tflite" not in again
    assert not (root / paths.EXPORT / "model_float16.tflite").exists()


def test_evaluate_after_the_training_run_was_deleted_records_a_new_run(project, client):
    root, params = project
    run_id = training_run_id(root)
    client.delete_run(run_id)
    with pytest.warns(UserWarning, match=f"MLflow run {run_id} .* is deleted in"):
        evaluate.run(params, root)
    registry = json.loads((root / paths.REGISTRY).read_text())
    recorded = client.get_run(registry["run_id"])
    assert registry["run_id"] != run_id
    assert recorded.data.tags["rnnkeras.missing_train_run"] == run_id
    assert recorded.info.status == "FINISHED" and "test.accuracy" in recorded.data.metrics
