"""Runs: where they are stored, what a training run records, reopening it."""

import json
import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest

from rnnkeras.pipeline import tracking, training


def git(folder, *args):
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


def test_default_store_is_an_absolute_sqlite_file_in_the_project(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path)
    uri = tracking.configure("project")
    assert uri == f"sqlite:///{tmp_path / 'project' / 'mlflow.db'}"
    assert Path(uri.removeprefix("sqlite:///")).is_absolute()


def test_configure_of_another_project_is_not_held_back_by_the_first(tmp_path, monkeypatch):
    import os

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    first = tracking.configure(tmp_path / "a")
    assert os.environ["MLFLOW_TRACKING_URI"] == first  # MLflow exports it for subprocesses
    assert tracking.configure(tmp_path / "b") == f"sqlite:///{tmp_path / 'b' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mine.db'}")
    assert tracking.configure(tmp_path / "c") == f"sqlite:///{tmp_path / 'mine.db'}"
    assert tracking.configure(tmp_path / "d") == f"sqlite:///{tmp_path / 'mine.db'}"


def test_tracking_uri_variable_wins_over_the_project_store(tmp_path, monkeypatch):
    import mlflow

    other = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", other)
    assert tracking.configure(tmp_path / "project") == other
    assert mlflow.get_tracking_uri() == other


def test_experiment_artifacts_sit_beside_the_database_whatever_the_cwd(
    store, tmp_path, monkeypatch
):
    import mlflow

    monkeypatch.chdir(tmp_path)
    experiment = mlflow.get_experiment(tracking.experiment_id("a"))
    assert experiment.artifact_location == (store / "mlartifacts").as_uri()
    assert tracking.experiment_id("a") == experiment.experiment_id


def test_artifact_location_is_left_to_a_tracking_server():
    assert tracking.artifact_location("http://127.0.0.1:5000") is None


def test_git_state_reports_commit_and_dirty_tracked_files_but_not_dvc_lock(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "code.py").write_text("a = 1\n")
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\n")
    git(tmp_path, "add", "code.py", "dvc.lock")
    git(tmp_path, "commit", "-q", "-m", "first")
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()

    (tmp_path / "untracked.txt").write_text("x")
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    assert tracking.git_state(tmp_path) == {"commit": head, "dirty": "false", "dirty_paths": ""}

    (tmp_path / "code.py").write_text("a = 2\n")
    assert tracking.git_state(tmp_path) == {
        "commit": head,
        "dirty": "true",
        "dirty_paths": "code.py",
    }


def test_git_state_is_empty_outside_a_repository(tmp_path):
    assert tracking.git_state(tmp_path) == {}


def test_training_run_records_params_seed_versions_and_git(store, tmp_path, monkeypatch):
    import mlflow

    git(tmp_path, "init", "-q")
    (tmp_path / "params.yaml").write_text("x: 1\n")
    git(tmp_path, "add", "params.yaml")
    git(tmp_path, "commit", "-q", "-m", "first")
    monkeypatch.chdir(tmp_path)
    params = {
        "mlflow": {"experiment": "co2"},
        "train": {"cell": "gru", "units": 16, "lr": 0.001, "clip": None},
        "data": {"features": ["co2", "month"]},
    }
    run_file = tmp_path / "reports" / "mlflow_run.json"
    with tracking.start_training_run(params, 1234, run_file) as run:
        pass

    recorded = mlflow.get_run(run.info.run_id)
    assert recorded.info.status == "FINISHED"
    assert mlflow.get_experiment(recorded.info.experiment_id).name == "co2"
    assert recorded.data.params == {
        "mlflow.experiment": "co2",
        "train.cell": "gru",
        "train.units": "16",
        "train.lr": "0.001",
        "train.clip": "None",
        "data.features": '["co2", "month"]',
        "seed": "1234",
    }
    tags = recorded.data.tags
    assert tags["version.keras"] == keras.__version__
    assert tags["version.numpy"] == np.__version__
    assert tags["version.mlflow"] == mlflow.__version__
    assert len(tags["mlflow.source.git.commit"]) == 40
    assert tags["git.dirty"] == "false"
    assert json.loads(run_file.read_text())["run_id"] == run.info.run_id


def test_experiment_defaults_to_rnnkeras(store, tmp_path):
    import mlflow

    with tracking.start_training_run({}, 0, tmp_path / "run.json") as run:
        pass
    assert mlflow.get_experiment(run.info.experiment_id).name == tracking.DEFAULT_EXPERIMENT


def test_run_inside_mlflow_run_uses_the_project_run(store, tmp_path, monkeypatch):
    import mlflow

    project_run = mlflow.MlflowClient().create_run(tracking.experiment_id("projects"))
    monkeypatch.setenv("MLFLOW_RUN_ID", project_run.info.run_id)
    with tracking.start_training_run({"train": {"cell": "lstm"}}, 3, tmp_path / "run.json") as run:
        pass
    assert run.info.run_id == project_run.info.run_id
    assert mlflow.get_run(project_run.info.run_id).data.params["train.cell"] == "lstm"


def test_failed_training_marks_the_run_failed(store, tmp_path):
    import mlflow

    with (
        pytest.raises(RuntimeError),
        tracking.start_training_run({}, 0, tmp_path / "run.json") as run,
    ):
        raise RuntimeError("diverged")
    assert mlflow.get_run(run.info.run_id).info.status == "FAILED"


def test_resume_run_reopens_the_training_run(store, tmp_path):
    import mlflow

    run_file = tmp_path / "run.json"
    with tracking.start_training_run({}, 0, run_file) as train:
        pass
    with tracking.resume_run(run_file) as evaluate:
        tracking.log_metrics({"test": {"mae": 0.25, "rmse": 0.5}, "baseline": {"mae": 1.0}})
    assert evaluate.info.run_id == train.info.run_id
    assert mlflow.get_run(train.info.run_id).data.metrics == {
        "test.mae": 0.25,
        "test.rmse": 0.5,
        "baseline.mae": 1.0,
    }


def test_resume_run_of_a_vanished_run_records_a_new_one(store, tmp_path):
    import mlflow

    run_file = tmp_path / "run.json"
    run_file.write_text(json.dumps({"run_id": "0" * 32, "experiment_name": "co2"}))
    with pytest.warns(UserWarning, match="not in"), tracking.resume_run(run_file) as run:
        tracking.log_metrics({"mae": 1.5})
    recorded = mlflow.get_run(run.info.run_id)
    assert recorded.data.tags["rnnkeras.missing_train_run"] == "0" * 32
    assert recorded.data.metrics == {"mae": 1.5}
    assert mlflow.get_experiment(recorded.info.experiment_id).name == "co2"


@pytest.mark.parametrize("content", [None, "not json", '{"id": 1}'])
def test_resume_run_explains_a_missing_or_wrong_run_file(store, tmp_path, content):
    run_file = tmp_path / "run.json"
    if content is not None:
        run_file.write_text(content)
    expected = pytest.raises(ValueError, match="Run the train stage first. Received: run_file=")
    with expected, tracking.resume_run(run_file):
        pass


class AddsLogs(keras.callbacks.Callback):
    """Stands in for the clipping callbacks, which add their statistics to the logs."""

    def on_epoch_end(self, epoch, logs=None):
        logs["grad_norm"] = np.float32(10.0 + epoch)
        logs["clipped_fraction"] = keras.ops.convert_to_tensor(0.5)
        logs["note"] = "not a number"


def test_epoch_callback_logs_every_numeric_value_per_epoch(store, tmp_path):
    import mlflow

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
    with tracking.start_training_run({}, 0, tmp_path / "run.json") as run:
        history = model.fit(
            x,
            y,
            validation_data=(x, y),
            epochs=3,
            verbose=0,
            callbacks=[AddsLogs(), training.epoch_metrics_callback()],
        )
    client = mlflow.MlflowClient()
    logged = mlflow.get_run(run.info.run_id).data.metrics
    assert set(logged) == {"loss", "mae", "val_loss", "val_mae", "grad_norm", "clipped_fraction"}
    loss = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in loss] == [0, 1, 2]
    np.testing.assert_allclose([m.value for m in loss], history.history["loss"], rtol=1e-6)
    grad_norm = client.get_metric_history(run.info.run_id, "grad_norm")
    assert [m.value for m in grad_norm] == [10.0, 11.0, 12.0]


def test_epoch_callback_refuses_to_train_without_a_run(store):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="needs an active MLflow run"):
        model.fit(
            np.ones((2, 3)),
            np.ones((2, 1)),
            verbose=0,
            callbacks=[training.epoch_metrics_callback()],
        )


def test_log_metrics_names_the_value_that_is_not_a_number(store, tmp_path):
    expected = pytest.raises(ValueError, match=r"Received: test.label='cat'")
    with tracking.start_training_run({}, 0, tmp_path / "run.json"), expected:
        tracking.log_metrics({"test": {"label": "cat"}})


def test_log_artifacts_keeps_folder_names(store, tmp_path):
    import mlflow

    flow = tmp_path / "gradient_flow"
    flow.mkdir()
    (flow / "records.json").write_text("[]")
    (flow / "norms.png").write_bytes(b"\x89PNG")
    report = tmp_path / "validation.json"
    report.write_text("{}")
    with tracking.start_training_run({}, 0, tmp_path / "run.json") as run:
        tracking.log_artifacts([flow, report], "reports")
        tracking.log_artifacts(str(report))
    local = Path(
        mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=str(tmp_path / "dl"))
    )
    files = sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file())
    assert files == [
        "reports/gradient_flow/norms.png",
        "reports/gradient_flow/records.json",
        "reports/validation.json",
        "validation.json",
    ]
    assert (local / "reports/gradient_flow/norms.png").read_bytes() == b"\x89PNG"


def test_log_artifacts_names_missing_paths(store, tmp_path):
    expected = pytest.raises(ValueError, match="do not exist.*nope.png")
    with tracking.start_training_run({}, 0, tmp_path / "run.json"), expected:
        tracking.log_artifacts([tmp_path / "run.json", tmp_path / "nope.png"])


def test_logging_without_a_run_is_an_error_not_a_new_run(store):
    import mlflow

    with pytest.raises(ValueError, match="active MLflow run"):
        tracking.log_metrics({"mae": 1.0})
    assert mlflow.active_run() is None


def test_flatten_nested_params():
    assert tracking.flatten({"a": {"b": {"c": 1}}, "d": [1, 2]}) == {"a.b.c": 1, "d": [1, 2]}


def test_a_dvc_experiment_copy_records_into_the_project_store(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    project = tmp_path / "project"
    for copy in (".dvc/tmp/exps/tmpk3j2", ".dvc/tmp/exps/run/tmpq9", ".dvc/tmp/exps/tmpk/sub"):
        (project / copy).mkdir(parents=True)
        assert tracking.store_folder(project / copy) == project
        assert tracking.configure(project / copy) == f"sqlite:///{project / 'mlflow.db'}"
    assert tracking.store_folder(project / ".dvc") == project / ".dvc"
    assert tracking.store_folder(project) == project


def test_a_relative_sqlite_uri_in_a_dvc_experiment_copy_names_the_project_store(
    tmp_path, monkeypatch
):
    project = tmp_path / "project"
    copy = project / ".dvc" / "tmp" / "exps" / "tmpk3j2"
    copy.mkdir(parents=True)
    monkeypatch.chdir(copy)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    assert tracking.configure(".") == f"sqlite:///{project / 'mlflow.db'}"
    monkeypatch.chdir(project)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///runs/other.db")
    assert tracking.configure(".") == f"sqlite:///{project / 'runs' / 'other.db'}"


def test_resume_run_of_a_deleted_run_records_a_new_one(store, tmp_path):
    import mlflow

    run_file = tmp_path / "run.json"
    with tracking.start_training_run({"mlflow": {"experiment": "co2"}}, 0, run_file) as train:
        pass
    mlflow.MlflowClient().delete_run(train.info.run_id)
    with pytest.warns(UserWarning, match="deleted in"), tracking.resume_run(run_file) as run:
        tracking.log_metrics({"mae": 1.5})
    recorded = mlflow.get_run(run.info.run_id)
    assert run.info.run_id != train.info.run_id
    assert recorded.info.status == "FINISHED"
    assert recorded.data.tags["rnnkeras.missing_train_run"] == train.info.run_id
    assert recorded.data.metrics == {"mae": 1.5}
    assert mlflow.get_experiment(recorded.info.experiment_id).name == "co2"
    assert mlflow.get_run(train.info.run_id).info.lifecycle_stage == "deleted"


def test_resume_run_of_a_deleted_experiment_restores_it(store, tmp_path):
    import mlflow

    run_file = tmp_path / "run.json"
    with tracking.start_training_run({"mlflow": {"experiment": "co2"}}, 0, run_file) as train:
        pass
    mlflow.MlflowClient().delete_experiment(train.info.experiment_id)
    expected = pytest.warns(UserWarning, match="'co2'.*was deleted; restoring it")
    with expected, tracking.resume_run(run_file) as run:
        tracking.log_metrics({"mae": 1.5})
    assert run.info.run_id == train.info.run_id
    recorded = mlflow.get_run(train.info.run_id)
    assert recorded.info.lifecycle_stage == "active" and recorded.data.metrics == {"mae": 1.5}
    assert mlflow.get_experiment(train.info.experiment_id).lifecycle_stage == "active"


def test_a_rerun_of_a_later_stage_records_into_a_child_run(store, tmp_path):
    import mlflow

    run_file = tmp_path / "run.json"
    both = {"export": {"quantize": ["none", "float16"]}}
    with tracking.start_training_run({"train": {"units": 4}, **both}, 0, run_file) as train:
        pass
    files = tmp_path / "export"
    files.mkdir()
    for name in ("model_float32.tflite", "model_float16.tflite"):
        (files / name).write_bytes(b"tflite")
    with tracking.resume_run(run_file, "export", both) as first:
        tracking.log_artifacts(sorted(files.iterdir()), "export")
    (files / "model_float16.tflite").unlink()
    only_none = {"export": {"quantize": ["none"]}}
    with tracking.resume_run(run_file, "export", only_none) as second:
        tracking.log_artifacts(sorted(files.iterdir()), "export")
    with tracking.resume_run(run_file, "export", only_none) as third:
        pass

    client = mlflow.MlflowClient()
    assert first.info.run_id == train.info.run_id
    exported = {a.path for a in client.list_artifacts(train.info.run_id, "export")}
    assert exported == {"export/model_float32.tflite", "export/model_float16.tflite"}
    assert mlflow.get_run(train.info.run_id).data.params["export.quantize"] == '["none", "float16"]'
    for rerun in (second, third):
        child = mlflow.get_run(rerun.info.run_id)
        assert rerun.info.run_id != train.info.run_id
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == train.info.run_id
        assert child.data.tags["rnnkeras.training_run"] == train.info.run_id
        assert child.data.tags["mlflow.runName"] == "export"
        assert child.data.params == {"export.quantize": '["none"]'}
    children = {a.path for a in client.list_artifacts(second.info.run_id, "export")}
    assert children == {"export/model_float32.tflite"}


def test_a_rerun_under_mlflow_run_makes_the_project_run_the_child(store, tmp_path, monkeypatch):
    import mlflow

    run_file = tmp_path / "run.json"
    with tracking.start_training_run({}, 0, run_file) as train:
        pass
    with tracking.resume_run(run_file, "export", {"export": {"quantize": ["none"]}}):
        pass
    project_run = mlflow.MlflowClient().create_run(train.info.experiment_id)
    monkeypatch.setenv("MLFLOW_RUN_ID", project_run.info.run_id)
    with tracking.resume_run(run_file, "export", {"export": {"quantize": ["int8"]}}) as rerun:
        pass
    assert rerun.info.run_id == project_run.info.run_id
    child = mlflow.get_run(rerun.info.run_id)
    assert child.data.tags["mlflow.parentRunId"] == train.info.run_id
    assert child.data.tags["rnnkeras.stage"] == "export"
    assert child.data.params == {"export.quantize": '["int8"]'}
    params = mlflow.get_run(train.info.run_id).data.params
    assert params == {"seed": "0", "export.quantize": '["none"]'}


def test_a_stage_records_into_the_training_run_once(store, tmp_path):
    import mlflow

    run_file = tmp_path / "run.json"
    registry = {"mlflow": {"registered_model": "m", "alias": "champion"}}
    with tracking.start_training_run({}, 0, run_file) as train:
        pass
    with tracking.resume_run(run_file, "evaluate", registry) as first:
        pass
    with tracking.resume_run(run_file, "export", {"export": {"quantize": ["none"]}}) as other:
        pass
    with tracking.resume_run(run_file, "evaluate", registry) as again:
        pass
    assert first.info.run_id == other.info.run_id == train.info.run_id
    assert again.info.run_id != train.info.run_id
    params = mlflow.get_run(train.info.run_id).data.params
    assert params["mlflow.registered_model"] == "m" and params["export.quantize"] == '["none"]'


def test_a_moved_project_is_refused_with_what_to_do(store, tmp_path, monkeypatch):
    with tracking.start_training_run({}, 0, tmp_path / "run.json"):
        pass
    moved = tmp_path / "renamed"
    store.rename(moved)
    monkeypatch.chdir(tmp_path)
    expected = rf"made in {store}.*ln -s {moved} {store}.*Received: tracking_uri=sqlite:///{moved}"
    with pytest.raises(ValueError, match=expected):
        tracking.configure(moved)
    assert not store.exists()

    store.symlink_to(moved)
    assert tracking.configure(moved) == f"sqlite:///{moved / 'mlflow.db'}"


def test_a_copied_project_is_refused_too(store, tmp_path, monkeypatch):
    import shutil

    with tracking.start_training_run({}, 0, tmp_path / "run.json"):
        pass
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    with pytest.raises(ValueError, match="moved or copied"):
        tracking.configure(copy)
    assert tracking.configure(store) == f"sqlite:///{store / 'mlflow.db'}"
