"""Traced functions with a known batch size but a free number of time steps.

A regression test: the loop once took the batch size for the number of steps
when only the time axis was unknown at trace time.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnkeras import layers as rl
from tests.layers import harness


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_free_time_axis_with_fixed_batch_matches_keras(name, return_sequences, rng):
    ours = getattr(rl, name)(4, return_sequences=return_sequences)
    builtin = getattr(keras.layers, name)(4, return_sequences=return_sequences)
    ours.build((3, None, 3))
    builtin.build((3, None, 3))
    harness.randomize(builtin, rng)
    ours.set_weights(builtin.get_weights())
    signature = [tf.TensorSpec((3, None, 3), tf.float32)]
    traced = tf.function(lambda x: ours(x), input_signature=signature)
    for timesteps in (7, 12):
        x = rng.normal(size=(3, timesteps, 3)).astype("float32")
        np.testing.assert_allclose(traced(x), builtin(x), atol=1e-5)


def test_state_perturbation_is_accepted_with_an_unknown_batch_size(rng):
    layer = rl.GRU(4, return_sequences=True)
    layer.build((None, 5, 3))
    signature = [tf.TensorSpec((None, 5, 3)), tf.TensorSpec((None, 5, 4))]

    @tf.function(input_signature=signature)
    def perturbed(x, perturbation):
        layer.state_perturbation = perturbation
        try:
            return layer(x)
        finally:
            layer.state_perturbation = None

    x = rng.normal(size=(2, 5, 3)).astype("float32")
    np.testing.assert_allclose(perturbed(x, np.zeros((2, 5, 4), "float32")), layer(x), atol=1e-6)
    shifted = perturbed(x, np.full((2, 5, 4), 0.5, "float32"))
    assert not np.allclose(shifted, layer(x), atol=1e-3)
