"""The stage functions on tiny data, in a temporary project, without DVC."""

import json

import keras
import numpy as np
import pandas as pd
import pytest

from rnnkeras.pipeline.data import load_arrays, load_meta
from rnnkeras.pipeline.stages import evaluate, paths, prepare, train, validate
from tests.pipeline.tiny_params import classification_params, forecasting_params


def run_until_train(params, root):
    prepare.run(params, root)
    assert validate.run(params, root) == 0
    train.run(params, root)


def test_classification_stages_write_every_declared_output(project, tiny_vowels_csv):
    params = classification_params(tiny_vowels_csv, epochs=3)
    run_until_train(params, project)
    evaluate.run(params, project)
    for path in (
        paths.PREPARED_TABLE,
        paths.VALIDATION_REPORT,
        paths.VALIDATION_SUMMARY,
        paths.VALIDATED / "train.npz",
        paths.VALIDATED / "meta.json",
        paths.MODEL,
        paths.HISTORY,
        paths.HISTORY_PLOT,
        paths.MLFLOW_RUN,
        paths.METRICS,
        paths.PREDICTIONS,
        paths.PLOTS / "confusion_matrix.png",
        paths.REGISTRY,
    ):
        assert (project / path).exists(), path
    history = pd.read_csv(project / paths.HISTORY)
    assert history["epoch"].tolist() == [1, 2, 3]
    assert {"loss", "val_loss", "accuracy", "grad_norm", "clip_threshold"} <= set(history)
    metrics = json.loads((project / paths.METRICS).read_text())
    test = load_arrays(project / paths.VALIDATED, "test")
    model = keras.models.load_model(project / paths.MODEL)
    predicted = model.predict(test["x"], verbose=0).argmax(1)
    assert metrics["accuracy"] == pytest.approx(np.mean(predicted == test["y"]))
    assert metrics["baseline_accuracy"] == pytest.approx(2 / 18)  # 2 test utterances per speaker
    assert np.sum(metrics["confusion"]) == 18
    predictions = pd.read_csv(project / paths.PREDICTIONS)
    assert len(predictions) == 18
    registry = json.loads((project / paths.REGISTRY).read_text())
    assert registry["version"] == 1 and registry["promoted"]
    assert not list((project / paths.CHECKPOINTS).glob("model*.keras"))


def test_forecasting_stages_report_the_last_value_baseline(project, tiny_series_csv):
    params = forecasting_params(tiny_series_csv, epochs=2, cell="simple")
    run_until_train(params, project)
    evaluate.run(params, project)
    metrics = json.loads((project / paths.METRICS).read_text())
    test = load_arrays(project / paths.VALIDATED, "test")
    assert metrics["baseline_mae"] == pytest.approx(np.abs(test["y"]).mean(), rel=1e-6)
    model = keras.models.load_model(project / paths.MODEL)
    error = model.predict(test["x"], verbose=0) - test["y"]
    assert metrics["mae"] == pytest.approx(np.abs(error).mean(), rel=1e-5)
    assert len(metrics["mae_per_step"]) == 3
    predictions = pd.read_csv(project / paths.PREDICTIONS)
    assert len(predictions) == 3 * len(test["x"])
    assert (project / paths.PLOTS / "predicted_vs_actual.png").exists()
    assert load_meta(project / paths.VALIDATED)["window"] == 12


def test_training_twice_with_the_same_params_gives_the_same_weights(tmp_path, tiny_vowels_csv):
    import mlflow

    weights = []
    for name in ("first", "second"):
        root = tmp_path / name
        root.mkdir()
        params = classification_params(tiny_vowels_csv, epochs=2, dropout=0.2, depth=2)
        run_until_train(params, root)
        weights.append(keras.models.load_model(root / paths.MODEL).get_weights())
    assert mlflow.active_run() is None
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_failed_validation_keeps_the_validated_arrays(project, tiny_vowels_csv, capsys):
    params = classification_params(tiny_vowels_csv)
    prepare.run(params, project)
    assert validate.run(params, project) == 0
    before = (project / paths.VALIDATED / "train.npz").read_bytes()
    table = pd.read_csv(tiny_vowels_csv, dtype=str)
    table.loc[4, "lpc_09"] = "oops"
    table.to_csv(tiny_vowels_csv, index=False)
    prepare.run(params, project)
    assert validate.run(params, project) == 1
    error = capsys.readouterr().err
    assert "1 expectation(s) failed" in error
    assert f"{tiny_vowels_csv}: column 'lpc_09': values must be numbers" in error
    assert "line 6 (sequence 1): 'oops'" in error
    assert (project / paths.VALIDATED / "train.npz").read_bytes() == before
    report = json.loads((project / paths.VALIDATION_REPORT).read_text())
    assert not report["success"] and report["failures"]


def test_stage_entry_points_turn_bad_params_into_exit_code_1(project, capsys):
    (project / "params.yaml").write_text(
        "prepare: {dataset: weather}\nvalidate: {}\ntrain: {}\nevaluate: {}\nexport: {}\n"
    )
    assert prepare.main(["--root", str(project)]) == 1
    assert "prepare.dataset must be one of" in capsys.readouterr().err
