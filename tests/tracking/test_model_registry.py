"""The served model: signature, loading without Keras classes, the champion alias."""

from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from rnnkeras import layers, tracking


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
    spec = served.metadata.signature.inputs.to_dict()[0]["tensor-spec"]
    assert spec == {"dtype": "float32", "shape": (-1, 10, 2)}

    local = Path(
        mlflow.artifacts.download_artifacts(result["model_uri"], dst_path=str(tmp_path / "m"))
    )
    mlmodel = (local / "MLmodel").read_text()
    assert "loader_module: mlflow.tensorflow" in mlmodel
    assert "model_type: tf2-module" in mlmodel
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
    assert served.metadata.signature.inputs.to_dict()[0]["tensor-spec"]["shape"] == (-1, -1, 3)
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


def champion(version, tags):
    return SimpleNamespace(version=str(version), tags=tags)


@pytest.mark.parametrize(
    ("holder", "value", "greater_is_better", "promoted", "reason"),
    [
        (None, 0.8, True, True, "no version held"),
        (
            champion(2, {"rnnkeras.metric_name": "acc", "rnnkeras.metric_value": "0.7"}),
            0.8,
            True,
            True,
            "beats",
        ),
        (
            champion(2, {"rnnkeras.metric_name": "acc", "rnnkeras.metric_value": "0.9"}),
            0.8,
            True,
            False,
            "does not beat",
        ),
        (
            champion(2, {"rnnkeras.metric_name": "mae", "rnnkeras.metric_value": "0.1"}),
            0.8,
            True,
            False,
            "cannot be compared",
        ),
        (champion(2, {}), 0.8, True, False, "cannot be compared"),
        (None, float("nan"), True, False, "not a finite number"),
    ],
)
def test_champion_decision(holder, value, greater_is_better, promoted, reason):
    decision = tracking._champion_decision(holder, "acc", value, greater_is_better, "champion")
    assert decision[0] is promoted
    assert reason in decision[1]


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
