"""Traced functions with a known batch size but a free number of time steps.

A regression test: the loop once took the batch size for the number of steps
when only the time axis was unknown at trace time.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from weights_and_outputs import randomize

from rnnkeras import layers as rl


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_free_time_axis_with_fixed_batch_matches_keras(name, return_sequences, rng):
    ours = getattr(rl, name)(4, return_sequences=return_sequences)
    builtin = getattr(keras.layers, name)(4, return_sequences=return_sequences)
    ours.build((3, None, 3))
    builtin.build((3, None, 3))
    randomize(builtin, rng)
    ours.set_weights(builtin.get_weights())
    signature = [tf.TensorSpec((3, None, 3), tf.float32)]
    traced = tf.function(lambda x: ours(x), input_signature=signature)
    for timesteps in (7, 12):
        x = rng.normal(size=(3, timesteps, 3)).astype("float32")
        np.testing.assert_allclose(traced(x), builtin(x), atol=1e-5)
