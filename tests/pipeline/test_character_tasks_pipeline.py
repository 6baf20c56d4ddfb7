"""End to end: `dvc exp run -S prepare.dataset=tagging` and `=text` in a temporary git copy.

The whole bundled data with a tiny model (GRU, 8 units, one epoch, float32 TFLite only): every
stage runs, the served model answers text with text, the export keeps parity. Whether the
models beat their baselines is measured at full size (README), not here.
"""

import json

import pytest

from tests.pipeline import projects

pytestmark = pytest.mark.slow

TINY = (
    "train.epochs=1",
    "train.units=8",
    "train.cell=gru",
    "train.batch_size=128",
    "export.quantize=[none]",
)


@pytest.mark.parametrize("dataset", ["tagging", "text"])
def test_character_task_runs_every_stage_and_serves_text(tmp_path, dataset):
    import mlflow

    from rnnkeras.pipeline import tracking

    root = projects.dvc_project(tmp_path / "project")
    overrides = [f"prepare.dataset={dataset}", *TINY]
    if dataset == "tagging":
        overrides.append("train.bidirectional=true")
    else:  # train.text's own settings replace the generic ones
        overrides += ["++train.text.units=8", "++train.text.epochs=1"]
    run = projects.dvc(root, "exp", "run", *(a for o in overrides for a in ("-S", o)))
    assert run.returncode == 0, run.stdout + run.stderr

    metrics = json.loads((root / "metrics/evaluate.json").read_text())
    assert metrics["task"] == dataset
    plots = json.loads(projects.dvc(root, "plots", "show", "--json").stdout)["data"]
    header = (root / "reports/predictions.csv").read_text().splitlines()[0]
    if dataset == "tagging":
        assert metrics["test_size"] == 484 and metrics["steps"] > 10000
        assert 0.0 <= metrics["macro_f1"] <= 1.0 and metrics["baseline_tag"] == "name"
        assert header == "sequence_id,text,actual,predicted"
        assert "reports/plots/confusion_matrix.png" in plots
    else:
        assert metrics["characters"] == 365 * 100 and 2 <= metrics["baseline_order"] <= 7
        assert metrics["baseline_bits_per_character"] < 3.5  # the n-gram on English prose
        assert metrics["perplexity"] == pytest.approx(2 ** metrics["bits_per_character"])
        assert header == "temperature,prompt,sample"
        assert "reports/plots/bits_per_character.png" in plots
    assert json.loads((root / "reports/export.json").read_text())["passed"]

    registry = json.loads((root / "reports/registry.json").read_text())
    assert registry["model_uri"].startswith(f"models:/tests-{dataset}/")
    tracking.configure(root)
    served = mlflow.pyfunc.load_model(registry["model_uri"])
    answers = served.predict(["def f(x):", "x = 1  # one"])
    if dataset == "tagging":
        assert [len(a) for a in answers] == [9, 12] and set("".join(answers)) <= set("_nko0s#")
    else:
        assert [len(a) for a in answers] == [80, 80]
