"""End to end, one run per task dataset: `dvc exp run -S prepare.dataset=<name>` in a temporary
git copy of the project, with tiny model parameters (`tiny_params.py`) on the whole dataset."""

import json

import pytest

from tests.pipeline import projects

pytestmark = pytest.mark.slow

# dataset -> (its plot, the metric keys its evaluate writes, settings that keep it small)
TASKS = {
    "digits": ("confusion_matrix.png", {"accuracy", "baseline_accuracy", "confusion"}, []),
    "anomaly": (
        "anomalies.png",
        {"precision", "recall", "f1", "baseline_f1", "threshold", "baseline_threshold"},
        ["-S", "+prepare.window=12"],  # the tiny params leave window out: "+" adds it
    ),
}


@pytest.mark.parametrize("dataset", sorted(TASKS))
def test_one_parameter_switches_the_pipeline_to_the_task(tmp_path, dataset):
    root = projects.dvc_project(tmp_path / "project")
    plot, keys, small = TASKS[dataset]
    result = projects.dvc(root, "exp", "run", "-S", f"prepare.dataset={dataset}", *small)
    assert result.returncode == 0, result.stdout + result.stderr
    metrics = json.loads((root / "metrics" / "evaluate.json").read_text())
    assert metrics["dataset"] == dataset and keys <= set(metrics)
    if dataset == "digits":
        assert metrics["test_size"] == round(0.2 * 1797)  # the tiny params' test_fraction
        assert metrics["accuracy"] > metrics["baseline_accuracy"]
    else:
        assert metrics["anomalies"] == 12 and metrics["events"] == 1
    plots = projects.dvc(root, "plots", "show", "--json")
    assert plots.returncode == 0, plots.stderr
    assert f"reports/plots/{plot}" in json.loads(plots.stdout)["data"]
    registry = json.loads((root / "reports" / "registry.json").read_text())
    assert registry["model_uri"].startswith(f"models:/tests-{dataset}/")
    assert json.loads((root / "reports" / "export.json").read_text())["passed"]
