"""The fusable LSTM function computes exactly what our LSTM computes (TensorFlow, no conversion)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnkeras import layers as rl
from rnnkeras.export import TFLiteModel, export_tflite
from rnnkeras.export.tflite_lstm_op import (
    FUSED_OP,
    fused_lstm_call,
    fusion_blockers,
    lstm_interface_function,
)
from tests.export import export_models


def _built(layer, x):
    keras.utils.set_random_seed(1)
    layer(x)
    # Non-zero biases so every gate term is exercised.
    layer.cell.bias.assign(np.random.default_rng(2).normal(size=layer.cell.bias.shape))
    return layer


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_unmasked_call_matches_the_layer(go_backwards, return_sequences):
    x = export_models.padded_inputs()
    layer = _built(rl.LSTM(5, go_backwards=go_backwards, return_sequences=return_sequences), x)
    fused = fused_lstm_call(layer, tf.constant(x), None, None)
    np.testing.assert_allclose(fused.numpy(), layer(x).numpy(), atol=1e-6)


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
def test_right_padded_mask_matches_the_masked_layer(
    go_backwards, return_sequences, zero_output_for_mask
):
    x = export_models.padded_inputs()
    mask = np.any(x != 0, axis=-1)
    mask[0] = False  # one row that is all padding
    layer = _built(
        rl.LSTM(
            5,
            go_backwards=go_backwards,
            return_sequences=return_sequences,
            zero_output_for_mask=zero_output_for_mask,
        ),
        x,
    )
    expected = layer(x, mask=mask).numpy()
    fused = fused_lstm_call(layer, tf.constant(x), None, tf.constant(mask)).numpy()
    np.testing.assert_allclose(fused, expected, atol=1e-6)


def test_initial_state_is_used():
    x = export_models.padded_inputs()
    layer = _built(rl.LSTM(5, return_sequences=True), x)
    rng = np.random.default_rng(3)
    state = [rng.normal(size=(len(x), 5)).astype("float32") for _ in range(2)]
    expected = layer(x, initial_state=state).numpy()
    fused = fused_lstm_call(layer, tf.constant(x), [tf.constant(s) for s in state], None)
    np.testing.assert_allclose(fused.numpy(), expected, atol=1e-6)


def test_interface_function_declares_the_keras_lstm_interface():
    function = lstm_interface_function(go_backwards=True)
    arguments = [(2, 4, 3), (2, 5), (2, 5), (3, 20), (5, 20), (20,)]
    concrete = function.get_concrete_function(*[tf.TensorSpec(shape) for shape in arguments])
    attributes = concrete.function_def.attr
    assert attributes["api_implements"].s.decode().startswith("lstm_")
    assert attributes["go_backwards"].b is True and attributes["time_major"].b is False
    assert attributes["api_preferred_device"].s == b"CPU"
    outputs = concrete(*[tf.ones(shape) for shape in arguments])
    assert [tuple(o.shape) for o in outputs] == [(2, 5), (2, 4, 5), (2, 5), (2, 5), ()]


def test_blockers_name_every_reason():
    layer = rl.LSTM(4, activation="relu", return_state=True)
    layer(np.zeros((1, 3, 2), "float32"))
    reasons = " ".join(fusion_blockers(layer, mask=tf.ones((1, 3), bool), right_padded=False))
    assert "activation is not tanh" in reasons
    assert "return_state=True" in reasons
    assert "masked input" in reasons
    assert fusion_blockers(rl.LSTM(4), mask=None, right_padded=False) == []


# Peephole (Gers et al., 2002) and projection (Sak et al., 2014) LSTMs: the
# interface function carries their extra weights, the converted op receives them.
CELL_STATE_VARIANTS = {
    "peephole": lambda **kw: rl.PeepholeLSTM(5, **kw),
    "projection": lambda **kw: rl.LSTM(5, proj_size=3, **kw),
    "peephole+projection": lambda **kw: rl.PeepholeLSTM(5, proj_size=2, **kw),
}


def _randomized(layer, x, seed=4):
    layer(x)
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        weight.assign(rng.normal(0.0, 0.5, weight.shape))
    return layer


@pytest.mark.parametrize("variant", list(CELL_STATE_VARIANTS))
def test_peephole_and_projection_calls_match_the_layer(variant):
    x = export_models.padded_inputs(4)
    mask = np.any(x != 0, axis=-1)
    layer = _randomized(CELL_STATE_VARIANTS[variant](return_sequences=True, go_backwards=True), x)
    assert fusion_blockers(layer, tf.constant(mask), right_padded=True) == []
    state = [np.full((len(x), size), 0.3, "float32") for size in layer.cell.state_size]
    expected = layer(x, initial_state=state, mask=mask).numpy()
    fused = fused_lstm_call(
        layer, tf.constant(x), [tf.constant(s) for s in state], tf.constant(mask)
    )
    np.testing.assert_allclose(fused.numpy(), expected, atol=1e-6)


def test_quantized_files_keep_peephole_and_projection_lstms_as_loops():
    for make in CELL_STATE_VARIANTS.values():
        reasons = " ".join(fusion_blockers(make(), None, right_padded=False, float_file=False))
        assert "in a quantized file" in reasons
    assert fusion_blockers(rl.LSTM(4), None, right_padded=False, float_file=False) == []


def _peephole_projection_model():
    keras.utils.set_random_seed(5)
    inputs = keras.Input((export_models.TIMESTEPS, export_models.FEATURES))
    hidden = rl.Bidirectional(
        rl.PeepholeLSTM(5, proj_size=3, return_sequences=True), name="peephole"
    )(inputs)
    outputs = rl.LSTM(4, proj_size=2, name="projection")(hidden)
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(6)
    for weight in model.weights:
        weight.assign(rng.normal(0.0, 0.5, weight.shape))
    return model


@pytest.mark.slow
@pytest.mark.parametrize("form", ["auto", "while"])
def test_peephole_and_projection_lstms_export_with_parity(form, tmp_path):
    model = _peephole_projection_model()
    export = export_tflite(model, tmp_path / f"{form}.tflite", batch_size=2, form=form)
    fused = [path for path, layer in export.forms.items() if layer.form == "fused"]
    assert len(fused) == (3 if form == "auto" else 0), export.forms
    assert export.operators.get(FUSED_OP, 0) == len(fused)
    assert not [name for name in export.operators if name.startswith("CUSTOM")]
    x = export_models.padded_inputs(4)
    (output,) = TFLiteModel(export.path, input_names=export.inputs).predict(x)
    assert np.abs(output - model.predict(x, verbose=0)).max() <= 1e-5
