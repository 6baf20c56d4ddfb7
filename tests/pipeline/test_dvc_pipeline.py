"""End to end: `dvc repro` in a temporary git copy of the project, with tiny parameters."""

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.pipeline import projects

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = projects.dvc_project(tmp_path_factory.mktemp("pipeline") / "project")
    tiny = root / "inputs" / "vowels.csv"
    result = projects.dvc(root, "repro")
    assert result.returncode == 0, result.stdout + result.stderr
    return root, tiny, result


def test_repro_runs_every_stage_and_writes_the_outputs(pipeline):
    root, _, result = pipeline
    for stage in ("prepare", "validate", "train", "evaluate", "export"):
        assert f"Running stage '{stage}'" in result.stdout
    for name in (
        "models/model.keras",
        "metrics/evaluate.json",
        "reports/validation.md",
        "reports/train_history.csv",
        "reports/plots/confusion_matrix.png",
        "data/validated/test.npz",
        "mlflow.db",
    ):
        assert (root / name).exists(), name
    metrics = projects.dvc(root, "metrics", "show", "--json")
    assert metrics.returncode == 0 and '"accuracy"' in metrics.stdout, metrics.stderr
    plots = projects.dvc(root, "plots", "show", "--json")
    assert plots.returncode == 0, plots.stderr
    assert set(json.loads(plots.stdout)["data"]) == {
        "loss per epoch",
        "reports/train_history.png",
        "reports/plots/confusion_matrix.png",
    }


def test_a_second_repro_does_nothing(pipeline):
    root, _, _ = pipeline
    again = projects.dvc(root, "repro")
    assert again.returncode == 0, again.stderr
    assert "Data and pipelines are up to date." in again.stdout
    assert "Running stage" not in again.stdout


def test_a_train_parameter_marks_only_train_as_changed(pipeline):
    root, _, _ = pipeline
    params = yaml.safe_load((root / "params.yaml").read_text())
    original = (root / "params.yaml").read_text()
    params["train"]["cell"] = "simple"
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        status = projects.dvc(root, "status", "--json")
        assert status.returncode == 0, status.stderr
        assert set(yaml.safe_load(status.stdout)) == {"train"}
    finally:
        (root / "params.yaml").write_text(original)


def corrupt_rows(text: str, change) -> str:
    from io import StringIO

    table = pd.read_csv(StringIO(text), dtype=str)
    table = change(table)
    return table.to_csv(index=False)


def with_null(table):
    table.loc[20, "lpc_04"] = None
    return table


def with_text(table):
    table.loc[21, "lpc_08"] = "twelve"
    return table


def with_backwards_time(table):
    table.loc[5, "time_step"] = "1"
    return table


CORRUPTIONS = {
    "null": (
        lambda text: corrupt_rows(text, with_null),
        "column 'lpc_04': cells must not be empty: 1 bad row(s), e.g. line 22",
    ),
    "text": (
        lambda text: corrupt_rows(text, with_text),
        "column 'lpc_08': values must be numbers (ASCII digits, e.g. -1.5e3): 1 bad row(s), "
        "e.g. line 23 (sequence 2): 'twelve'",
    ),
    "missing column": (
        lambda text: corrupt_rows(text, lambda t: t.drop(columns="lpc_11")),
        "column 'lpc_11' is missing from the file",
    ),
    "empty file": (lambda text: "", "the table needs at least 50 rows: found 0"),
    "non-increasing time step": (
        lambda text: corrupt_rows(text, with_backwards_time),
        "column 'time_step': time steps must strictly increase within a sequence: "
        "1 bad row(s), e.g. line 7 (sequence 1)",
    ),
}


@pytest.fixture(scope="module")
def corrupted_runs(pipeline):
    """`dvc repro` on each corrupted input, in copies of the finished project, concurrently."""
    from concurrent.futures import ThreadPoolExecutor

    root, tiny, _ = pipeline
    good = tiny.read_text()
    copies = {}
    for index, (kind, (corrupt, _)) in enumerate(CORRUPTIONS.items()):
        copy = root.parent / f"corrupted_{index}"
        shutil.copytree(root, copy, symlinks=True)
        (copy / tiny.relative_to(root)).write_text(corrupt(good))
        copies[kind] = copy
    with ThreadPoolExecutor(max_workers=len(copies)) as pool:
        results = dict(
            zip(
                copies,
                pool.map(lambda copy: projects.dvc(copy, "repro"), copies.values()),
                strict=True,
            )
        )
    return {kind: (copies[kind], results[kind]) for kind in copies}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_corrupted_input_stops_at_validate_and_keeps_the_model(pipeline, corrupted_runs, kind):
    root, _, _ = pipeline
    copy, result = corrupted_runs[kind]
    message = CORRUPTIONS[kind][1]
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Running stage 'validate'" in output and "Running stage 'train'" not in output
    assert f"inputs/vowels.csv: {message}" in output, output
    for name in ("models/model.keras", "metrics/evaluate.json", "export/model_float32.tflite"):
        assert digest(copy / name) == digest(root / name), name
    assert "FAILED" in (copy / "reports/validation.md").read_text()


def test_the_first_result_is_kept_as_the_baseline_experiment(pipeline):
    """`make run` saves its first result as the experiment `baseline`; a later `dvc exp run`
    neither overwrites it nor leaves `dvc metrics diff` without an old value."""
    root, _, _ = pipeline
    copy = root.parent / "baseline"
    shutil.copytree(root, copy, symlinks=True)
    # A fresh MLflow store: the copied one points at the original folder (a moved project).
    (copy / "mlflow.db").unlink()
    shutil.rmtree(copy / "mlartifacts", ignore_errors=True)
    make = ["make", "-f", str(REPO / "Makefile"), "baseline", f"BIN={Path(sys.executable).parent}"]

    def save() -> str:
        result = subprocess.run(
            make, cwd=copy, env=projects.environment(copy), capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    assert "Experiment has been saved as: baseline" in save()
    assert "kept as it is" in save()
    first = json.loads((copy / "metrics/evaluate.json").read_text())

    run = projects.dvc(copy, "exp", "run", "-S", "train.learning_rate=0.03")
    assert run.returncode == 0, run.stdout + run.stderr
    diff = projects.dvc(copy, "metrics", "diff", "baseline", "--json")
    assert diff.returncode == 0, diff.stderr
    accuracy = json.loads(diff.stdout)["metrics/evaluate.json"]["accuracy"]
    assert accuracy["old"] == first["accuracy"] and accuracy["new"] is not None
    shown = projects.dvc(copy, "exp", "show", "--json")
    assert shown.returncode == 0 and '"baseline"' in shown.stdout, shown.stderr
