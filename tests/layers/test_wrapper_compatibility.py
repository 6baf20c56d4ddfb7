"""Our wrappers next to Keras': `Bidirectional.states`, Keras' `Bidirectional` in a `StackedRNN`.

References are Keras built-ins with the same weights, run on their own.
"""

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from tests.layers import harness

X = harness.inputs(np.random.default_rng(5), batch=2, timesteps=5)
MASK = harness.padding_mask([5, 3], timesteps=5)


def test_bidirectional_states_of_a_stateful_layer_match_keras(rng):
    ours = rl.Bidirectional(rl.LSTM(4, stateful=True))
    builtin = keras.layers.Bidirectional(keras.layers.LSTM(4, stateful=True))
    builtin(X)
    harness.randomize(builtin, rng)
    ours(X)
    ours.set_weights(builtin.get_weights())
    ours.reset_states(), builtin.reset_states()
    ours(X), builtin(X)
    assert len(ours.states) == len(builtin.states) == 4
    harness.assert_outputs_close(list(ours.states), list(builtin.states))
    ours.reset_states()
    assert all(not np.any(state) for state in harness.as_list(list(ours.states)))


def test_bidirectional_states_without_statefulness_are_none_as_in_keras():
    ours, builtin = rl.Bidirectional(rl.GRU(4)), keras.layers.Bidirectional(keras.layers.GRU(4))
    ours(X), builtin(X)
    assert ours.states is None and builtin.states is None


def keras_bidirectional_stack(return_sequences, return_state):
    return rl.StackedRNN(
        [keras.layers.Bidirectional(keras.layers.LSTM(4)), rl.GRU(4)],
        residual=False,
        return_sequences=return_sequences,
        return_state=return_state,
    )


@pytest.mark.parametrize("return_state", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
def test_stacked_rnn_runs_keras_bidirectional_as_the_same_layers_in_sequence(
    return_sequences, return_state, masked, rng
):
    mask = MASK if masked else None
    stack = keras_bidirectional_stack(return_sequences, return_state)
    stack(X)
    harness.randomize(stack, rng)
    weights = stack.get_weights()
    bottom = keras.layers.Bidirectional(
        keras.layers.LSTM(4, return_sequences=True, return_state=return_state)
    )
    top = keras.layers.GRU(4, return_sequences=return_sequences, return_state=return_state)
    hidden = bottom(X, mask=mask)
    bottom_states = hidden[1:] if return_state else []
    hidden = hidden[0] if return_state else hidden
    top(hidden)
    bottom.set_weights(weights[:6])
    top.set_weights(weights[6:])
    hidden = bottom(X, mask=mask)
    if return_state:
        hidden, *bottom_states = hidden
    expected = top(hidden, mask=mask)
    if return_state:
        expected = [expected[0], *bottom_states, *expected[1:]]
    harness.assert_outputs_close(stack(X, mask=mask), expected)
