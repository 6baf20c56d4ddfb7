"""What the evaluate stage writes for each task kind (`Task.score`), without a model."""

import numpy as np
import pytest

from rnnkeras.pipeline import evaluation, tasks


def forecasting_split():
    meta = {"task": "forecasting", "dataset": "demo", "target": "ppm"}
    test = {
        "x": np.zeros((2, 4, 1)),
        "y": np.array([[1.0, 2.0], [0.0, -1.0]]),  # changes from the last value
        "last_value": np.array([10.0, 20.0]),
        "time_step": np.array([5, 6]),
    }
    return meta, test


def test_forecasts_are_scored_and_tabled_as_values_not_changes(tmp_path):
    meta, test = forecasting_split()
    scored = tasks.get("forecasting").score(
        meta, test, np.array([[1.0, 1.0], [0.5, -1.0]]), {"y": np.zeros((3, 2))}
    )
    result = evaluation.described(scored, meta, len(test["x"]))
    assert result.predictions_csv.splitlines() == [
        "time_step,step,actual,predicted,baseline",
        "5,1,11.0,11.0,10.0",
        "6,2,12.0,11.0,10.0",
        "6,1,20.0,20.5,20.0",
        "7,2,19.0,19.0,20.0",
    ]
    assert result.metrics["mae"] == pytest.approx(0.375)
    assert result.metrics["baseline_mae"] == pytest.approx(1.0)
    assert {k: result.metrics[k] for k in ("task", "dataset", "test_size")} == {
        "task": "forecasting",
        "dataset": "demo",
        "test_size": 2,
    }
    assert (result.headline, result.greater_is_better) == ("mae", False)
    assert result.summary() == "test mae 0.3750 (baseline 1.0000)"
    plot = result.write_plots(tmp_path)
    assert plot == tmp_path / "predicted_vs_actual.png" and plot.stat().st_size > 0


def test_classes_are_scored_against_the_majority_of_the_training_split(tmp_path):
    meta = {"task": "classification", "dataset": "vowels", "classes": ["a", "b, c"]}
    test = {"x": np.zeros((3, 2, 1)), "y": np.array([0, 1, 1]), "sequence_id": np.array([4, 5, 6])}
    probabilities = np.array([[0.9, 0.1], [0.4, 0.6], [0.75, 0.25]])
    result = tasks.get("classification").score(
        meta, test, probabilities, {"y": np.array([0, 0, 1])}
    )
    assert result.predictions_csv.splitlines() == [
        "sequence_id,actual,predicted,probability",
        "4,a,a,0.9000",
        '5,"b, c","b, c",0.6000',
        '6,"b, c",a,0.7500',
    ]
    assert result.metrics["accuracy"] == pytest.approx(2 / 3)
    assert result.metrics["baseline_accuracy"] == pytest.approx(1 / 3)
    assert result.metrics["confusion"] == [[1, 0], [1, 1]]
    assert (result.headline, result.greater_is_better) == ("accuracy", True)
    plot = result.write_plots(tmp_path)
    assert plot == tmp_path / "confusion_matrix.png" and plot.stat().st_size > 0


def test_an_unknown_task_kind_is_named_with_the_known_ones():
    with pytest.raises(
        ValueError, match=r"expected one of \[.*'forecasting'.*\]. Received: task='nope'"
    ):
        tasks.get("nope")
