"""`train.backend`: the train stage runs on TensorFlow, JAX or PyTorch; evaluate, export and the
served model on TensorFlow, from whichever backend's `.keras` file.

The slow tests run the whole pipeline on tiny data: `dvc exp run -S train.backend=...` once per
non-default backend (DVC runs each stage script in a fresh process), and PyTorch once more
through the MLflow Project's `main` entry point (one process, which hands evaluate and export to
TensorFlow processes).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import mlflow
import numpy as np
import pytest
import yaml

from rnnkeras.pipeline import mlflow_project
from rnnkeras.pipeline.params import load_params
from rnnkeras.pipeline.stages import keras_backend, paths, train
from tests.pipeline import projects
from tests.pipeline.tiny_params import classification_params

REPO = Path(__file__).resolve().parents[2]
OTHER_BACKEND = "jax" if keras.backend.backend() != "jax" else "torch"


def environment(**variables: str) -> dict[str, str]:
    """The test's environment for a stage process, without the test suite's `KERAS_BACKEND`."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for name in ("KERAS_BACKEND", "MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID"):
        env.pop(name, None)
    env.update(variables)
    return env


def python(*args: str, cwd: Path, **variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=environment(**variables),
        capture_output=True,
        text=True,
        timeout=600,
    )


def write_project(root: Path, csv: Path, **train_section) -> dict:
    params = classification_params(csv, epochs=2, units=4, **train_section)
    root.mkdir(exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return params


def test_train_refuses_a_keras_backend_variable_that_contradicts_train_backend(project):
    write_project(project, project / "unused.csv", backend="jax")
    done = python(str(REPO / "pipelines" / "train.py"), cwd=project, KERAS_BACKEND="torch")
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "train.backend in params.yaml says 'jax' but the environment sets KERAS_BACKEND='torch'"
    ) in done.stderr
    assert done.stderr.strip().endswith("Received: train.backend='jax'")
    assert sorted(path.name for path in project.iterdir()) == ["params.yaml"]


def test_a_stage_refuses_a_process_whose_keras_runs_another_backend(project):
    params = classification_params(project / "unused.csv", backend=OTHER_BACKEND)
    with pytest.raises(ValueError, match=f"Received: train.backend='{OTHER_BACKEND}'$") as caught:
        train.run(params, project)
    assert f"already imported Keras with the {keras.backend.backend()} backend" in str(caught.value)
    assert keras_backend.needs_own_process("train", params)
    assert not keras_backend.needs_own_process("prepare", params)
    assert keras_backend.needs_own_process("export", params) == (
        keras.backend.backend() != "tensorflow"
    )


@pytest.mark.parametrize(("stage", "expected"), [("train", "torch"), ("export", "tensorflow")])
def test_a_stage_selects_its_backend_before_keras_is_imported(tmp_path, stage, expected):
    """Train follows `train.backend`; export uses TensorFlow even if the environment says JAX."""
    code = (
        "from rnnkeras.pipeline.stages import keras_backend\n"
        f"keras_backend.select_backend({stage!r}, {{'train': {{'backend': 'torch'}}}})\n"
        "import keras\n"
        "print(keras.backend.backend())\n"
    )
    variables = {"KERAS_BACKEND": "jax"} if stage == "export" else {}
    done = python("-c", code, cwd=tmp_path, **variables)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == expected


def test_a_backend_whose_package_is_missing_is_named_with_its_extra(monkeypatch):
    monkeypatch.delitem(sys.modules, "keras")
    monkeypatch.setenv("KERAS_BACKEND", "")
    monkeypatch.setattr(keras_backend.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        ValueError, match=r"pip install 'rnnkeras\[jax\]'. Received: train.backend='jax'"
    ):
        keras_backend.select_backend("train", {"train": {"backend": "jax"}})
    assert os.environ["KERAS_BACKEND"] == ""


def served_predictions(model_uri: str, tracking_uri: str, x: np.ndarray) -> np.ndarray:
    mlflow.set_tracking_uri(tracking_uri)
    return np.asarray(mlflow.pyfunc.load_model(model_uri).predict(x))


def trained_backend_predictions(root: Path, backend: str, x: np.ndarray) -> np.ndarray:
    """The model's outputs on the backend that trained it, in a process of that backend."""
    np.save(root / "x.npy", x)
    code = (
        "import numpy as np, rnnkeras\n"
        f"model = rnnkeras.load_model({str(root / paths.MODEL)!r}, compile=False)\n"
        f"np.save({str(root / 'y.npy')!r}, model.predict(np.load({str(root / 'x.npy')!r}), verbose=0))\n"
    )
    done = python("-c", code, cwd=root, KERAS_BACKEND=backend)
    assert done.returncode == 0, done.stderr[-3000:]
    return np.load(root / "y.npy")


def check_run(root: Path, backend: str) -> None:
    """MLflow records the backend, the export report passes, the served model predicts."""
    from rnnkeras.pipeline.data import load_arrays

    record = json.loads((root / paths.MLFLOW_RUN).read_text())
    run = mlflow.MlflowClient(record["tracking_uri"]).get_run(record["run_id"])
    assert run.data.params["train.backend"] == backend
    assert run.data.tags["keras.backend"] == backend
    # JAX compiles the training step with XLA by default (8-18x faster); torch runs eagerly.
    assert run.data.tags["keras.jit_compile"] == ("true" if backend == "jax" else "false")
    assert json.loads((root / paths.EXPORT_REPORT).read_text())["passed"] is True
    assert (root / paths.EXPORT / "saved_model").is_dir()
    assert (root / paths.EXPORT / "model_float32.tflite").is_file()

    test = load_arrays(root / paths.VALIDATED, "test")
    registry = json.loads((root / paths.REGISTRY).read_text())
    served = served_predictions(registry["model_uri"], record["tracking_uri"], test["x"])
    expected = trained_backend_predictions(root, backend, test["x"])
    assert served.shape == (len(test["x"]), 9)
    np.testing.assert_allclose(served, expected, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_dvc_exp_run_trains_on_the_backend_and_serves_on_tensorflow(tmp_path, backend):
    """`dvc exp run -S train.backend=...` in a git copy of the project runs every stage."""
    root = projects.dvc_project(tmp_path / backend)
    env = projects.environment(root)
    # The suite's own KERAS_BACKEND would contradict train.backend (an error by design).
    env.pop("KERAS_BACKEND", None)
    set_ = ["-S", f"train.backend={backend}", "-S", "train.units=4"]
    done = projects.dvc(root, "exp", "run", *set_, env=env)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    for stage in ("prepare", "validate", "train", "evaluate", "export"):
        assert f"Running stage '{stage}'" in done.stdout, done.stdout[-3000:]
    assert load_params(root / "params.yaml")["train"]["backend"] == backend
    check_run(root, backend)


@pytest.mark.slow
def test_the_mlflow_project_trains_on_torch_and_serves_on_tensorflow(tmp_path, tiny_vowels_csv):
    root = tmp_path / "torch"
    write_project(root, tiny_vowels_csv)
    store = f"sqlite:///{root / 'mlflow.db'}"
    client = mlflow.MlflowClient(store)
    # As `mlflow run` does: the run exists before the entry point starts.
    run_id = client.create_run(client.create_experiment("backends")).info.run_id
    done = python(
        "-m",
        "rnnkeras.pipeline.mlflow_project",
        "main",
        "--set",
        "train.backend=torch",
        cwd=root,
        MLFLOW_TRACKING_URI=store,
        MLFLOW_RUN_ID=run_id,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    check_run(root / "mlproject" / "runs" / run_id, "torch")


@pytest.mark.parametrize("entry", ["main", "train"])
def test_the_mlflow_project_takes_the_backend_as_a_parameter(entry):
    """`mlflow run mlproject -P backend=jax` sets `train.backend`."""
    params = load_params(REPO / "params.yaml")
    overrides = projects.mlproject_overrides(entry, {"backend": "jax"})
    assert mlflow_project.apply_overrides(params, overrides)["train"]["backend"] == "jax"
