"""Every cell works inside `keras.layers.RNN` and matches our layer and the Keras cell."""

import keras
import pytest

from rnnkeras import layers as rl
from tests.layers import harness

MASK = harness.padding_mask()

CELL_CASES = [
    ("SimpleRNN", {}),
    ("LSTM", {}),
    ("GRU", {"reset_after": True}),
    ("GRU", {"reset_after": False}),
    ("LSTM", {"use_bias": False, "activation": "relu"}),
]
CELL_IDS = [f"{name}-{kwargs}" for name, kwargs in CELL_CASES]


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("case", CELL_CASES, ids=CELL_IDS)
def test_cell_in_keras_rnn_matches_our_layer(case, go_backwards, rng):
    name, kwargs = case
    options = {"return_sequences": True, "return_state": True, "go_backwards": go_backwards}
    wrapped = keras.layers.RNN(getattr(rl, name + "Cell")(harness.UNITS, **kwargs), **options)
    layer = getattr(rl, name)(harness.UNITS, **kwargs, **options)
    x = harness.inputs(rng)
    wrapped(x), layer(x)
    harness.randomize(layer, rng)
    wrapped.set_weights(layer.get_weights())
    harness.assert_outputs_close(wrapped(x), layer(x))
    harness.assert_outputs_close(wrapped(x, mask=MASK), layer(x, mask=MASK))


@pytest.mark.parametrize("case", CELL_CASES, ids=CELL_IDS)
def test_cell_matches_keras_cell(case, rng):
    name, kwargs = case
    ours = getattr(rl, name + "Cell")(harness.UNITS, **kwargs)
    builtin = getattr(keras.layers, name + "Cell")(harness.UNITS, **kwargs)
    assert ours.state_size == builtin.state_size
    assert ours.output_size == builtin.output_size
    ours_rnn = keras.layers.RNN(ours, return_sequences=True, return_state=True)
    builtin_rnn = keras.layers.RNN(builtin, return_sequences=True, return_state=True)
    x = harness.inputs(rng)
    ours_rnn(x), builtin_rnn(x)
    harness.randomize(builtin, rng)
    ours.set_weights(builtin.get_weights())
    harness.assert_outputs_close(ours_rnn(x), builtin_rnn(x))

    states = ours.get_initial_state(harness.BATCH)
    single_states = states if isinstance(states, (list, tuple)) else [states]
    assert [tuple(s.shape) for s in single_states] == [(harness.BATCH, harness.UNITS)] * len(
        single_states
    )
    step_output, new_states = ours(x[:, 0], states)
    builtin_output, builtin_states = builtin(x[:, 0], builtin.get_initial_state(harness.BATCH))
    harness.assert_outputs_close(step_output, builtin_output)
    harness.assert_outputs_close(new_states, builtin_states)


def test_stacked_cells_in_keras_rnn_match_keras_cells(rng):
    ours = keras.layers.RNN(
        [rl.LSTMCell(harness.UNITS), rl.GRUCell(3), rl.SimpleRNNCell(2)], return_state=True
    )
    builtin = keras.layers.RNN(
        [
            keras.layers.LSTMCell(harness.UNITS),
            keras.layers.GRUCell(3),
            keras.layers.SimpleRNNCell(2),
        ],
        return_state=True,
    )
    x = harness.inputs(rng)
    ours(x), builtin(x)
    harness.randomize(ours, rng)
    builtin.set_weights(ours.get_weights())
    harness.assert_outputs_close(ours(x, mask=MASK), builtin(x, mask=MASK))
