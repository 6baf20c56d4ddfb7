"""The served model: signature, loading without Keras classes, the champion alias."""

from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from rnnkeras import layers
from rnnkeras.pipeline import tracking
from rnnkeras.pipeline.tracking import registry


def forecaster(window=10, features=2):
    keras.utils.set_random_seed(3)
    core = layers.StackedRNN(
        [layers.Bidirectional(layers.GRU(4, return_sequences=True)), layers.LSTM(3)]
    )
    return keras.Sequential([keras.Input((window, features)), core, keras.layers.Dense(1)])


def test_logged_model_predicts_like_keras_and_needs_no_keras_classes(store, tmp_path):
    import mlflow

    model = forecaster()
    windows = np.random.default_rng(0).normal(size=(6, 10, 2)).astype("float32")
    with tracking.start_training_run({}, 0, tmp_path / "run.json"):
        result = tracking.log_and_register_model(
            model, windows[:2], "co2-forecaster", "test.mae", 0.3, greater_is_better=False
        )
    assert result["version"] == 1 and result["promoted"]

    served = mlflow.pyfunc.load_model("models:/co2-forecaster@champion")
    np.testing.assert_allclose(
        served.predict(windows), model.predict(windows, verbose=0), atol=1e-6
    )
    assert served.metadata.metadata == {"input_shape": [-1, 10, 2], "input_dtype": "float32"}

    local = Path(
        mlflow.artifacts.download_artifacts(result["model_uri"], dst_path=str(tmp_path / "m"))
    )
    mlmodel = (local / "MLmodel").read_text()
    assert "loader_module: mlflow.pyfunc.loaders.code_model" in mlmodel
    assert (local / "artifacts" / "saved_model" / "saved_model.pb").exists()
    assert not list(local.rglob("*.keras"))
    for name in ("MLmodel", "requirements.txt", "conda.yaml", "python_env.yaml"):
        assert "rnnkeras" not in (local / name).read_text()
    assert (local / "serving_input_example.json").exists()


def test_variable_length_model_accepts_any_number_of_steps(store, tmp_path):
    import mlflow

    keras.utils.set_random_seed(4)
    model = keras.Sequential(
        [
            keras.Input((None, 3)),
            keras.layers.Masking(0.0),
            layers.LSTM(4),
            keras.layers.Dense(9, activation="softmax"),
        ]
    )
    padded = np.random.default_rng(1).normal(size=(3, 7, 3)).astype("float32")
    padded[0, 5:] = 0.0
    with tracking.start_training_run({}, 0, tmp_path / "run.json"):
        result = tracking.log_and_register_model(
            model, padded, "vowels", "test.accuracy", 0.9, greater_is_better=True
        )
    served = mlflow.pyfunc.load_model(result["model_uri"])
    assert served.metadata.metadata["input_shape"] == [-1, -1, 3]
    longer = np.concatenate([padded, padded[:, :5]], axis=1)
    for batch in (padded, longer):
        eager = keras.ops.convert_to_numpy(model(batch))
        np.testing.assert_allclose(served.predict(batch), eager, atol=1e-6)


def test_alias_moves_only_to_a_better_model(store, tmp_path):
    import mlflow

    model = forecaster(window=4, features=1)
    example = np.zeros((1, 4, 1), "float32")
    client = mlflow.MlflowClient()
    outcomes = []
    with tracking.start_training_run({}, 0, tmp_path / "run.json"):
        for mae in (0.5, 0.7, 0.5, 0.2):
            result = tracking.log_and_register_model(
                model, example, "m", "test.mae", mae, greater_is_better=False
            )
            holder = client.get_model_version_by_alias("m", "champion").version
            outcomes.append((result["version"], result["promoted"], int(holder)))
    assert outcomes == [(1, True, 1), (2, False, 1), (3, False, 1), (4, True, 4)]
    assert result["previous_version"] == 1
    assert "0.2 beats 0.5 of version 1" in result["reason"]
    tags = client.get_model_version("m", "2").tags
    assert tags["rnnkeras.metric_name"] == "test.mae"
    assert float(tags["rnnkeras.metric_value"]) == 0.7


def version(number, name="acc", value=None, greater_is_better=True):
    tags = {"rnnkeras.metric_name": name, "rnnkeras.greater_is_better": str(greater_is_better)}
    if value is not None:
        tags["rnnkeras.metric_value"] = repr(value)
    return SimpleNamespace(version=str(number), tags={k: v.lower() for k, v in tags.items()})


@pytest.mark.parametrize(
    ("holder", "versions", "greater_is_better", "best", "reason"),
    [
        (None, [version(1, value=0.8)], True, 1, "version 1 has the best acc=0.8"),
        (version(1, value=0.7), [version(1, value=0.7), version(2, value=0.8)], True, 2, "best"),
        (version(1, value=0.9), [version(1, value=0.9), version(2, value=0.8)], True, 1, "best"),
        (None, [version(1, value=0.5), version(2, value=0.5)], True, 1, "best"),
        (
            None,
            [
                version(1, value=0.5, greater_is_better=False),
                version(2, value=0.2, greater_is_better=False),
            ],
            False,
            2,
            "best acc=0.2",
        ),
        (version(1, "mae", 0.1), [version(2, value=0.8)], True, None, "cannot be compared"),
        (version(1), [version(2, value=0.8)], True, None, "cannot be compared"),
        (None, [version(1, value=0.9, greater_is_better=False)], True, None, "no version has"),
        (None, [version(1, value=float("nan"))], True, None, "no version has a finite acc"),
        (None, [version(1, "mae", 0.1), version(2, value=0.3)], True, 2, "best acc=0.3"),
    ],
)
def test_champion_decision_picks_the_best_comparable_version(
    holder, versions, greater_is_better, best, reason
):
    decision = registry._champion_decision(holder, versions, "acc", greater_is_better, "champion")
    assert decision[0] == best
    assert reason in decision[1]


def test_a_model_that_scored_nan_is_registered_but_not_promoted(store, tmp_path):
    model = forecaster(window=4, features=1)
    example = np.zeros((1, 4, 1), "float32")
    with tracking.start_training_run({}, 0, tmp_path / "run.json"):
        first = tracking.log_and_register_model(model, example, "m", "test.mae", 0.5, False)
        nan = tracking.log_and_register_model(model, example, "m", "test.mae", np.nan, False)
    assert first["promoted"] and not nan["promoted"] and nan["version"] == 2
    assert "not a finite number" in nan["reason"]


def test_wrongly_shaped_example_is_refused_before_anything_is_logged(store, tmp_path):
    import mlflow

    expected = pytest.raises(ValueError, match=r"Received: input_example.shape=\(2, 5, 2\)")
    with tracking.start_training_run({}, 0, tmp_path / "run.json"), expected:
        tracking.log_and_register_model(
            forecaster(), np.zeros((2, 5, 2)), "m", "mae", 0.1, greater_is_better=False
        )
    assert mlflow.MlflowClient().search_registered_models() == []


def test_models_with_two_inputs_are_refused(store, tmp_path):
    a, b = keras.Input((4, 1)), keras.Input((4, 1))
    model = keras.Model([a, b], keras.layers.Dense(1)(keras.layers.concatenate([a, b])))
    expected = pytest.raises(ValueError, match="one input tensor")
    with tracking.start_training_run({}, 0, tmp_path / "run.json"), expected:
        tracking.log_and_register_model(model, np.zeros((1, 4, 1)), "m", "mae", 0.1, False)
