"""Every `.tflite` file gives the same output for the same input on every invoke, with no reset.

Android, iOS and microcontroller apps set the input, invoke and read the output;
they do not call `reset_all_variables()`. A fused LSTM whose initial state was a
constant variable tensor started each invoke from the previous one's final state.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnkeras import layers as rl
from rnnkeras.export import TFLiteModel, export_tflite, tflite, tflite_lstm_op, write_export_report
from rnnkeras.export.flatbuffer import state_carried_between_invokes
from rnnkeras.export.runtime import interpreter_class
from rnnkeras.export.tflite_lstm_op import lstm_interface_function
from tests.export import export_models
from tests.layers import harness

FUSED = "UNIDIRECTIONAL_SEQUENCE_LSTM"


def _stacked_from_the_issue() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, export_models.FEATURES), name="frames")
    hidden = rl.LSTM(6, return_sequences=True)(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(rl.LSTM(6)(hidden)))


def _seq2seq() -> keras.Model:
    """A decoder LSTM started from states computed by the model."""
    keras.utils.set_random_seed(0)
    source = keras.Input((export_models.TIMESTEPS, export_models.FEATURES), name="source")
    h = keras.layers.Dense(6, activation="tanh")(keras.layers.Flatten()(source))
    c = keras.layers.Dense(6)(keras.layers.Flatten()(source))
    decoded = rl.LSTM(6, return_sequences=True, name="decoder")(source, initial_state=[h, c])
    return keras.Model(source, keras.layers.Dense(3)(decoded))


def _shared_state() -> keras.Model:
    """One computed tensor as both states of two decoders."""
    keras.utils.set_random_seed(0)
    source = keras.Input((export_models.TIMESTEPS, export_models.FEATURES), name="source")
    state = keras.layers.Dense(6, activation="tanh")(keras.layers.Flatten()(source))
    first = rl.LSTM(6, return_sequences=True)(source, initial_state=[state, state])
    second = rl.LSTM(6)(first, initial_state=[state, state])
    return keras.Model(source, keras.layers.Dense(3)(second))


MODELS = {
    "stacked": (_stacked_from_the_issue, {}),
    "bidirectional_masked": (
        lambda: export_models.classifier(
            export_models.cores()["bidirectional_lstm"](), masked=True
        ),
        {"right_padded": True},
    ),
    "keras_lstm": (
        lambda: export_models.classifier(keras.layers.LSTM(5, return_sequences=False)),
        {},
    ),
    "stacked_residual_masked": (
        lambda: export_models.classifier(export_models.cores()["stacked_residual"](), masked=True),
        {"right_padded": True},
    ),
    "initial_state": (_seq2seq, {}),
    "shared_state": (_shared_state, {}),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("stable")


def _plain_invokes(path, x: np.ndarray) -> list[np.ndarray]:
    """Set input, invoke, read: what a device app does, never resetting."""
    interpreter_type, _ = interpreter_class()
    interpreter = interpreter_type(model_path=str(path))
    interpreter.allocate_tensors()
    (detail,), (output,) = interpreter.get_input_details(), interpreter.get_output_details()
    outputs = []
    for sample in x:
        interpreter.set_tensor(detail["index"], sample[None])
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(output["index"])[0])
    return outputs


@pytest.mark.parametrize("name", list(MODELS))
def test_float_file_is_invoke_stable_and_keeps_the_fused_op(folder, name):
    factory, options = MODELS[name]
    model = factory()
    export = export_tflite(
        model, folder / f"{name}.tflite", sequence_length=export_models.TIMESTEPS, **options
    )
    fused = [path for path, form in export.forms.items() if form.form == "fused"]
    assert fused and export.operators[FUSED] == len(fused)
    x = export_models.padded_inputs(4)
    expected = model.predict(x, verbose=0)
    # The same input three times, then other inputs: each equals Keras.
    repeated = _plain_invokes(export.path, np.stack([x[-1]] * 3 + list(x)))
    for output, reference in zip(repeated, [expected[-1]] * 3 + list(expected), strict=True):
        assert np.abs(output - reference).max() <= 1e-5
    runner = TFLiteModel(export.path, input_names=export.inputs)
    assert runner.invoke_stability(x) == {"plain_interpreter": True, "signature_runner": True}
    signature = runner.interpreter.get_signature_runner()
    for _ in range(3):
        (served,) = signature(**{export.inputs[0]: x[:1]}).values()
        assert np.abs(served - expected[:1]).max() <= 1e-5
    assert state_carried_between_invokes(export.path.read_bytes()) == []


@pytest.mark.parametrize("quantize", ["float16", "dynamic", "int8"])
def test_quantized_files_are_invoke_stable(folder, quantize):
    model = export_models.classifier(export_models.cores()["bidirectional_lstm"](), masked=True)
    export = export_tflite(
        model,
        folder / f"bidirectional_{quantize}.tflite",
        sequence_length=export_models.TIMESTEPS,
        quantize=quantize,
        representative_data=export_models.padded_inputs(24),
        right_padded=True,
    )
    assert export.operators[FUSED] == 2
    runner = TFLiteModel(export.path, input_names=export.inputs)
    assert runner.invoke_stability(export_models.padded_inputs(2)) == {
        "plain_interpreter": True,
        "signature_runner": True,
    }


def test_detector_finds_a_state_carried_between_invokes(tmp_path):
    """A fused LSTM fed constant zero states: the file the converter writes by default."""
    function = lstm_interface_function(go_backwards=False)
    rng = np.random.default_rng(0)
    weights = [tf.constant(rng.normal(size=shape), tf.float32) for shape in [(3, 8), (2, 8), (8,)]]

    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec((1, 4, 3), tf.float32)])
        def __call__(self, x):
            zeros = tf.fill((1, 2), -0.0)
            return function(x, zeros, zeros + 0.0, *weights)[1]

    module = Module()
    tf.saved_model.save(module, str(tmp_path), signatures=module.__call__.get_concrete_function())
    content = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path)).convert()
    carried = state_carried_between_invokes(content)
    assert len(carried) == 2, carried
    path = tmp_path / "carried.tflite"
    path.write_bytes(content)
    x = harness.inputs(rng, 1, 4, 3)
    stability = TFLiteModel(path).invoke_stability(x)
    assert stability == {"plain_interpreter": False, "signature_runner": False}


@pytest.fixture
def constant_states(monkeypatch):
    """The export as it was: the fused op's initial states are constants, loaded once."""
    monkeypatch.setattr(tflite_lstm_op, "_written_each_call", lambda state, sequences, salt: state)


def test_export_refuses_a_file_that_carries_state(tmp_path, constant_states):
    with pytest.raises(RuntimeError, match="keeps state from one invoke to the next"):
        export_tflite(
            _stacked_from_the_issue(),
            tmp_path / "m.tflite",
            sequence_length=export_models.TIMESTEPS,
        )
    assert not list(tmp_path.iterdir())


def test_report_fails_a_file_that_drifts(tmp_path, constant_states, monkeypatch):
    monkeypatch.setattr(tflite, "state_carried_between_invokes", lambda content: [])
    model = _stacked_from_the_issue()
    drifting = export_tflite(
        model, tmp_path / "drift.tflite", sequence_length=export_models.TIMESTEPS
    )
    with pytest.raises(ValueError, match="drift.tflite"):
        write_export_report(
            model,
            tmp_path / "export.json",
            export_models.padded_inputs(4),
            tflite=[drifting],
            latency_runs=3,
        )
    report = json.loads((tmp_path / "export.json").read_text())
    assert report["passed"] is False
    assert report["tflite"][0]["invoke_stable"]["plain_interpreter"] is False
    assert "| False |" in (tmp_path / "export.md").read_text()
