"""The fusable LSTM function computes exactly what our LSTM computes (TensorFlow, no conversion)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnkeras import layers as rl
from rnnkeras.export.tflite_lstm_op import fused_lstm_call, fusion_blockers, lstm_interface_function
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
