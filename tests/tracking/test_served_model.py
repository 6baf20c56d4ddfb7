"""The model MLflow logs: its graph, and its answers to bad requests (without HTTP).

The replies are those of `mlflow models serve`'s `/invocations` route, called in-process;
`test_serving.py` checks the same over HTTP with a real server.
"""

import importlib
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from rnnkeras import layers as rl
from rnnkeras.layers import kernel_dispatch
from rnnkeras.pipeline import tracking

# The module, not the `rnn` function that `keras.src.backend.tensorflow` re-exports under its name.
keras_tf_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")

EXPECTED = (
    "inputs must be a non-empty batch of windows shaped (batch, 5, 2) holding float32 numbers"
)
WINDOW = [[0.1, 0.2]] * 5


def window_with(value: str) -> str:
    """A one-window body whose step 3, feature 0 is `value` as JSON text."""
    rows = [json.dumps(step) for step in WINDOW]
    rows[3] = f"[{value}, 0.2]"
    return '{"inputs": [[' + ", ".join(rows) + "]]}"


def strict_json(text: str) -> dict:
    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def reply(model, body: str) -> tuple[int, dict]:
    """What `mlflow models serve` answers to a POST of `body`: the route, minus HTTP."""
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc import scoring_server

    schema = model.metadata.get_input_schema()
    try:
        result = scoring_server.invocations(body, "application/json", model, schema)
    except MlflowException as error:  # as the server's exception handler answers it
        return error.get_http_status_code(), strict_json(error.serialize_as_json())
    return result.status, strict_json(result.response)


def cudnn_operations(graph_defs) -> list[str]:
    nodes = []
    for graph_def in graph_defs:
        nodes.extend(graph_def.node)
        for function in graph_def.library.function:
            nodes.extend(function.node_def)
    return sorted({node.op for node in nodes if node.op.startswith("Cudnn")})


def test_logged_graph_has_no_cudnn_kernel_with_a_gpu_visible(store, tmp_path, monkeypatch):
    import mlflow

    keras.utils.set_random_seed(0)
    inputs = keras.Input((6, 3))
    hidden = rl.Bidirectional(rl.LSTM(4, return_sequences=True))(inputs)
    hidden = rl.GRU(4, return_sequences=True)(hidden)
    hidden = keras.layers.LSTM(4, return_sequences=True)(hidden)
    hidden = keras.layers.GRU(4)(hidden)
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    x = np.random.default_rng(0).normal(size=(3, 6, 3)).astype("float32")
    expected = model.predict(x, verbose=0)

    # A GPU for both our dispatch and Keras' own: tracing now records cuDNN kernels.
    monkeypatch.setattr(kernel_dispatch, "gpu_available", lambda: True)
    monkeypatch.setattr(keras_tf_rnn, "_is_gpu_available", lambda: True)
    plain = tf.function(model).get_concrete_function(tf.TensorSpec((None, 6, 3))).graph
    assert cudnn_operations([plain.as_graph_def()])

    with tracking.start_training_run({}, 0, tmp_path / "run.json"):
        result = tracking.log_and_register_model(model, x[:2], "m", "test.mae", 0.1, False)
    local = Path(mlflow.artifacts.download_artifacts(result["model_uri"], dst_path=str(tmp_path)))
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((local / "artifacts" / "saved_model" / "saved_model.pb").read_bytes())
    assert cudnn_operations(graph.graph_def for graph in saved.meta_graphs) == []

    served = mlflow.pyfunc.load_model(result["model_uri"])
    np.testing.assert_allclose(served.predict(x), expected, atol=1e-5)


@pytest.fixture(scope="module")
def served(tmp_path_factory, empty_database):
    """A (5, 2)-window model, logged and loaded as the server loads it; and the Keras model."""
    import mlflow

    with pytest.MonkeyPatch.context() as patch:
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID"):
            patch.delenv(name, raising=False)
        project = tmp_path_factory.mktemp("served")
        shutil.copy(empty_database, project / "mlflow.db")
        tracking.configure(project)
        keras.utils.set_random_seed(1)
        model = keras.Sequential(
            [keras.Input((5, 2)), rl.GRU(3), keras.layers.Dense(4, activation="softmax")]
        )
        with tracking.start_training_run({}, 0, project / "run.json"):
            result = tracking.log_and_register_model(
                model, np.zeros((1, 5, 2)), "served", "test.accuracy", 0.5, True
            )
        yield mlflow.pyfunc.load_model(result["model_uri"]), model


def test_a_valid_batch_is_answered_in_strict_json(served):
    pyfunc, model = served
    x = np.random.default_rng(2).normal(size=(3, 5, 2))
    status, answer = reply(pyfunc, json.dumps({"inputs": x.tolist()}))
    assert status == 200
    expected = model.predict(x.astype("float32"), verbose=0)
    np.testing.assert_allclose(answer["predictions"], expected, atol=1e-6)
    assert pyfunc.metadata.metadata == {"input_shape": [-1, 5, 2], "input_dtype": "float32"}


NOT_FINITE = [
    ("null", "inputs[0][3][0]=null"),
    ("NaN", "inputs[0][3][0]=NaN"),
    ("1e309", "inputs[0][3][0]=Infinity"),
    ("-1e309", "inputs[0][3][0]=-Infinity"),
    ("1e39", "inputs[0][3][0]=1e+39"),  # finite in JSON, beyond float32
    ("1" + "0" * 400, "inputs[0][3][0]=1" + "0" * 400),
]


@pytest.mark.parametrize("value, received", NOT_FINITE, ids=[v[:8] for v, _ in NOT_FINITE])
def test_a_value_the_model_cannot_use_is_a_400_naming_it(served, value, received):
    status, answer = reply(served[0], window_with(value))
    assert status == 400
    assert answer["message"].startswith(f"{EXPECTED}, each finite and from -3.403e+38 to")
    assert answer["message"].endswith(f"Received: {received} (1 such value(s))")


def test_every_null_is_counted_and_the_first_named(served):
    body = {"inputs": [WINDOW, [[None, None]] + WINDOW[1:]]}
    status, answer = reply(served[0], json.dumps(body))
    assert status == 400
    assert answer["message"].endswith("Received: inputs[1][0][0]=null (2 such value(s))")


NOT_NUMBERS = [
    ('"a"', 'Received: text, e.g. inputs[0][3][0]="a"'),
    ("{}", "Received: inputs[0][3][0]={} (1 value(s) that are not numbers)"),
]


@pytest.mark.parametrize("value, received", NOT_NUMBERS, ids=["text", "object"])
def test_a_value_that_is_not_a_number_is_a_400_naming_it(served, value, received):
    status, answer = reply(served[0], window_with(value))
    assert status == 400
    assert answer["message"] == f"{EXPECTED}. {received}"


SHAPES = [
    ("[]", "inputs=[]"),
    (json.dumps([WINDOW[:4]]), "inputs.shape=(1, 4, 2)"),
    (json.dumps([[[0.1, 0.2, 0.3]] * 5]), "inputs.shape=(1, 5, 3)"),
    (json.dumps(WINDOW), "inputs.shape=(5, 2)"),
    ("[[]]", "inputs.shape=(1, 0)"),
    ('{"a": [1]}', "an object with keys ['a']"),
]


@pytest.mark.parametrize("inputs, received", SHAPES, ids=lambda v: v[:12])
def test_a_wrong_shape_is_a_400_that_starts_with_the_expected_shape(served, inputs, received):
    status, answer = reply(served[0], '{"inputs": ' + inputs + "}")
    assert status == 400
    assert answer["message"] == f"{EXPECTED}. Received: {received}"


def test_a_ragged_batch_is_refused_by_mlflow_before_the_model(served):
    """MLflow's parser turns `inputs` into an array before the model sees it, so a ragged
    batch gets NumPy's words, which still name the cause."""
    ragged = json.dumps({"inputs": [WINDOW, WINDOW[:4]]})
    status, answer = reply(served[0], ragged)
    assert status == 400
    assert "inhomogeneous shape" in answer["message"]


def test_in_process_predict_checks_the_same(served):
    from mlflow.exceptions import MlflowException

    x = np.zeros((2, 5, 2), "float32")
    x[1, 2, 1] = np.nan
    with pytest.raises(MlflowException) as error:
        served[0].predict(x)
    assert str(error.value).startswith(EXPECTED)
    assert str(error.value).endswith("Received: inputs[1][2][1]=NaN (1 such value(s))")


def test_open_axes_take_any_size_and_integer_inputs_refuse_fractions():
    from rnnkeras.pipeline.tracking.served_model import InvalidInputs, check_inputs

    for steps in (1, 7):
        assert check_inputs(np.ones((2, steps, 3)), (None, None, 3), tf.float32).shape[1] == steps
    with pytest.raises(
        InvalidInputs, match=r"shaped \(batch, any, 3\) .* inputs.shape=\(2, 7, 2\)"
    ):
        check_inputs(np.ones((2, 7, 2)), (None, None, 3), tf.float32)
    assert check_inputs([[1, 2]], (None, 2), tf.int32).dtype == np.int32
    with pytest.raises(InvalidInputs, match=r"finite and whole .* inputs\[0\]\[1\]=2.5"):
        check_inputs([[1, 2.5]], (None, 2), tf.int32)


def test_mixed_precision_model_is_served_in_float32(store, tmp_path):
    import mlflow

    keras.utils.set_random_seed(5)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = keras.Sequential([keras.Input((5, 2)), rl.LSTM(4), keras.layers.Dense(3)])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    x = np.random.default_rng(3).normal(size=(4, 5, 2)).astype("float32")
    with tracking.start_training_run({}, 0, tmp_path / "run.json"):
        result = tracking.log_and_register_model(model, x[:1], "mixed", "test.mae", 0.1, False)
    served = mlflow.pyfunc.load_model(result["model_uri"])
    predictions = served.predict(x)
    assert predictions.dtype == np.float32
    assert served.metadata.signature.outputs.to_dict()[0]["tensor-spec"]["dtype"] == "float32"
    np.testing.assert_allclose(predictions, model.predict(x, verbose=0), atol=1e-2)


def test_predictions_that_overflow_are_a_400_not_invalid_json(store, tmp_path):
    import mlflow

    inputs = keras.Input((2, 1))
    summed = keras.layers.Dense(1, kernel_initializer="ones")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, summed)
    with tracking.start_training_run({}, 0, tmp_path / "run.json"):
        result = tracking.log_and_register_model(model, np.ones((1, 2, 1)), "sum", "mae", 1, False)
    served = mlflow.pyfunc.load_model(result["model_uri"])
    status, answer = reply(served, '{"inputs": [[[1], [2]], [[3e38], [3e38]]]}')
    assert status == 400
    assert answer["message"].startswith("The model's predictions must be finite numbers")
    assert answer["message"].endswith("Received: inputs rows [1] gave non-finite predictions")
