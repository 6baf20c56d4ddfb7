"""The MLflow Project: defaults equal params.yaml, overrides are typed, a real `mlflow run`."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rnnkeras.pipeline import mlflow_project
from rnnkeras.pipeline.params import load_params
from tests.pipeline import projects

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("entry", ["main", "train"])
def test_defaults_are_the_values_in_params_yaml(entry):
    params = load_params(ROOT / "params.yaml")
    overrides = projects.mlproject_overrides(entry, {})
    assert mlflow_project.apply_overrides(params, overrides) == params
    exposed = {key.split(".")[1] for key in overrides if key.startswith("train.")}
    assert exposed == set(params["train"]), "every train parameter is an MLproject parameter"


@pytest.mark.parametrize(
    ("entry", "user"), [("evaluate", {"run_id": "r"}), ("export", {"run_id": "r"})]
)
def test_later_entry_points_default_to_params_yaml_too(entry, user):
    params = load_params(ROOT / "params.yaml")
    assert (
        mlflow_project.apply_overrides(params, projects.mlproject_overrides(entry, user)) == params
    )


def test_a_parameter_reaches_the_params_file_with_its_type():
    params = load_params(ROOT / "params.yaml")
    user = {"cell": "gru", "units": 8, "bidirectional": "true", "learning_rate": 0.01}
    changed = mlflow_project.apply_overrides(params, projects.mlproject_overrides("main", user))
    assert changed["train"]["cell"] == "gru"
    assert changed["train"]["units"] == 8
    assert changed["train"]["bidirectional"] is True
    assert changed["train"]["learning_rate"] == 0.01
    assert params["train"]["cell"] != "gru" or params["train"]["units"] != 8


PARAMS = {
    "train": {"cell": "lstm", "units": 64, "lr": 0.003, "bi": False},
    "export": {"q": ["none"]},
}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"train.units": "8"}, {"units": 8}),
        ({"train.lr": "1"}, {"lr": 1.0}),
        ({"train.bi": "true"}, {"bi": True}),
        ({"train.cell": "123"}, {"cell": "123"}),
    ],
)
def test_overrides_take_the_type_of_the_value_they_replace(overrides, expected):
    result = mlflow_project.apply_overrides(PARAMS, overrides)
    assert result["train"] == {**PARAMS["train"], **expected}
    assert PARAMS["train"]["units"] == 64


def test_list_override():
    assert mlflow_project.apply_overrides(PARAMS, {"export.q": "[none, int8]"})["export"] == {
        "q": ["none", "int8"]
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"train.units": "many"}, r"`train.units` is a int .* Received: train.units='many'"),
        ({"train.bi": "1"}, r"`train.bi` is a bool"),
        ({"train.lr": "fast"}, r"`train.lr` is a float"),
        ({"train.celll": "gru"}, r"Received: key='train.celll'"),
        ({"nope.cell": "gru"}, r"Received: key='nope.cell'"),
    ],
)
def test_wrong_overrides_are_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        mlflow_project.apply_overrides(PARAMS, overrides)


def test_evaluate_needs_the_run_whose_model_it_scores(tmp_path):
    with pytest.raises(ValueError, match="pass its id with --run-id"):
        mlflow_project.run_entry_point("evaluate", {}, tmp_path)
    with pytest.raises(ValueError, match="No work folder for that run"):
        mlflow_project.run_entry_point("export", {}, tmp_path, run_id="missing")


def test_command_line_reports_errors_as_exit_code(capsys):
    assert mlflow_project.main(["train", "--set", "train.units=many", "--root", str(ROOT)]) == 1
    assert "train.units" in capsys.readouterr().err


@pytest.mark.slow
def test_mlflow_run_records_a_run_like_the_pipeline(tmp_path):
    """`mlflow run mlproject -P cell=gru --env-manager local` from the repository root."""
    import mlflow

    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "GX_ANALYTICS_ENABLED": "false",
    }
    env.pop("MLFLOW_RUN_ID", None)
    tiny = {
        "cell": "gru",
        "units": "4",
        "epochs": "2",
        "batch_size": "64",
        "gradient_flow_every": "2",
        "registered_model": "mlproject-test",
        "quantize": "[none]",
    }
    command = [str(Path(sys.executable).parent / "mlflow"), "run", "mlproject"]
    command += [arg for name, value in tiny.items() for arg in ("-P", f"{name}={value}")]
    command += ["--env-manager", "local", "--experiment-name", "mlproject-test"]
    completed = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    output = completed.stdout + completed.stderr
    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    runs = mlflow.search_runs(experiment_names=["mlproject-test"], output_format="list")
    work = ROOT / "mlproject" / "runs" / runs[0].info.run_id if runs else None
    try:
        assert completed.returncode == 0, output[-3000:]
        assert len(runs) == 1
        run = runs[0]
        assert run.info.status == "FINISHED"
        assert run.data.params["train.cell"] == "gru"
        assert run.data.params["train.units"] == "4"
        assert run.data.params["seed"] == "42"
        assert run.data.tags["mlflow.project.entryPoint"] == "main"
        assert run.data.tags["version.keras"]
        assert run.data.tags["git.dirty"] in ("true", "false")
        client = mlflow.MlflowClient()
        assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [0, 1]
        assert "test.accuracy" in run.data.metrics or "test.mae" in run.data.metrics
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"training", "validation", "gradient_flow", "evaluation", "export"} <= artifacts
        flow = {a.path for a in client.list_artifacts(run.info.run_id, "gradient_flow")}
        assert "gradient_flow/gradient_flow.json" in flow
        assert any(path.endswith(".png") for path in flow)
        exported = {a.path for a in client.list_artifacts(run.info.run_id, "export")}
        assert "export/model_float32.tflite" in exported
        champion = client.get_model_version_by_alias("mlproject-test", "champion")
        assert champion.run_id == run.info.run_id
        recorded = yaml.safe_load((work / "params.yaml").read_text())
        assert recorded["train"]["cell"] == "gru"
        assert json.loads((work / "reports" / "mlflow_run.json").read_text())["run_id"] == (
            run.info.run_id
        )
        assert not (ROOT / "mlproject" / "mlflow.db").exists()
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
