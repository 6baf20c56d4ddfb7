"""StackedRNN equals its layers run one after the other (Keras built-ins as the reference)."""

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from tests.layers import harness

MASK = harness.padding_mask()


def ours_and_builtins():
    ours = [
        rl.LSTM(harness.UNITS),
        rl.GRU(harness.UNITS, reset_after=False),
        rl.SimpleRNN(harness.UNITS),
    ]
    builtins = [
        keras.layers.LSTM(harness.UNITS, return_sequences=True, return_state=True),
        keras.layers.GRU(
            harness.UNITS, reset_after=False, return_sequences=True, return_state=True
        ),
        keras.layers.SimpleRNN(harness.UNITS, return_sequences=True, return_state=True),
    ]
    return ours, builtins


def run_chain(builtins, x, residual, return_sequences, mask=None, initial_state=None):
    """The stack by hand: layer l reads layer l-1's sequence, plus a skip from l >= 1."""
    states, per_layer_initial = [], [None, None, None]
    if initial_state is not None:
        per_layer_initial = [initial_state[0:2], initial_state[2:3], initial_state[3:4]]
    sequence = x
    for index, layer in enumerate(builtins):
        output, *final = layer(sequence, mask=mask, initial_state=per_layer_initial[index])
        output = harness.to_numpy(output)
        if residual and index > 0:
            output = output + sequence
        states.extend(harness.to_numpy(s) for s in final)
        sequence = output
    # Without sequences the top layer has no skip: its output is its final h.
    last = sequence if return_sequences else states[-1]
    return last, states


def build_pair(rng, residual, return_sequences, return_state, x):
    layers, builtins = ours_and_builtins()
    stacked = rl.StackedRNN(
        layers, residual=residual, return_sequences=return_sequences, return_state=return_state
    )
    stacked(x)
    for builtin in builtins:
        builtin(
            x
            if builtin is builtins[0]
            else np.zeros((harness.BATCH, harness.TIMESTEPS, harness.UNITS), "float32")
        )
    harness.randomize(stacked, rng)
    weights = stacked.get_weights()
    start = 0
    for builtin in builtins:
        count = len(builtin.get_weights())
        builtin.set_weights(weights[start : start + count])
        start += count
    assert start == len(weights)
    return stacked, builtins


@pytest.mark.parametrize("return_state", [False, True])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("residual", [False, True])
def test_equals_layers_run_in_sequence(residual, return_sequences, return_state, rng):
    x = harness.inputs(rng)
    stacked, builtins = build_pair(rng, residual, return_sequences, return_state, x)
    last, states = run_chain(builtins, x, residual, return_sequences)
    expected = [last, *states] if return_state else [last]
    harness.assert_outputs_close(stacked(x), expected)
    masked_last, masked_states = run_chain(builtins, x, residual, return_sequences, mask=MASK)
    masked_expected = [masked_last, *masked_states] if return_state else [masked_last]
    harness.assert_outputs_close(stacked(x, mask=MASK), masked_expected)


def test_initial_state_is_split_bottom_first(rng):
    x = harness.inputs(rng)
    stacked, builtins = build_pair(rng, True, True, True, x)
    states = [rng.normal(size=(harness.BATCH, harness.UNITS)).astype("float32") for _ in range(4)]
    last, final_states = run_chain(builtins, x, True, True, initial_state=states)
    harness.assert_outputs_close(stacked(x, initial_state=states), [last, *final_states])


def test_wrapper_sets_return_sequences_of_every_layer_including_bidirectional():
    layers = [rl.GRU(4), rl.Bidirectional(rl.LSTM(2)), rl.SimpleRNN(3)]
    stacked = rl.StackedRNN(layers, return_sequences=True)
    assert stacked.rnn_layers == layers
    assert all(layer.return_sequences for layer in stacked.rnn_layers)
    output = stacked(np.zeros((harness.BATCH, harness.TIMESTEPS, harness.FEATURES), "float32"))
    assert tuple(output.shape) == (harness.BATCH, harness.TIMESTEPS, 3)
    assert len(stacked.trainable_weights) == 3 + 6 + 3


def test_residual_with_bidirectional_inside(rng):
    x = harness.inputs(rng)
    stacked = rl.StackedRNN(
        [
            rl.GRU(4),
            rl.Bidirectional(rl.LSTM(2, return_sequences=True)),
            rl.Bidirectional(rl.GRU(2, return_sequences=True), merge_mode="concat"),
        ],
        residual=True,
        return_sequences=True,
    )
    stacked(x)
    harness.randomize(stacked, rng)
    bottom, middle, top = stacked.rnn_layers
    h1 = harness.to_numpy(bottom(x))
    h2 = harness.to_numpy(middle(h1)) + h1
    h3 = harness.to_numpy(top(h2)) + h2
    harness.assert_outputs_close(stacked(x), h3)


@pytest.mark.parametrize("residual", [False, True])
def test_config_round_trip(residual, rng):
    stacked = rl.StackedRNN(
        [
            rl.LSTM(harness.UNITS, recurrent_activation="hard_sigmoid"),
            rl.GRU(harness.UNITS, reset_after=False),
        ],
        residual=residual,
        dropout=0.25,
        return_sequences=True,
        return_state=True,
        name="deep",
    )
    x = harness.inputs(rng)
    stacked(x)
    harness.randomize(stacked, rng)
    config = stacked.get_config()
    restored = rl.StackedRNN.from_config(config)
    assert restored.get_config() == config
    assert [type(layer) for layer in restored.rnn_layers] == [rl.LSTM, rl.GRU]
    assert restored.residual == residual and restored.dropout == 0.25
    restored(x)
    restored.set_weights(stacked.get_weights())
    harness.assert_outputs_close(restored(x), stacked(x))
    rebuilt = keras.layers.deserialize(keras.layers.serialize(stacked))
    assert isinstance(rebuilt, rl.StackedRNN)
    assert rebuilt.get_config() == config


def test_single_layer_stack_equals_the_layer(rng):
    x = harness.inputs(rng)
    stacked = rl.StackedRNN([rl.LSTM(harness.UNITS)], residual=True)
    stacked(x)
    harness.randomize(stacked, rng)
    alone = rl.LSTM(harness.UNITS)
    alone(x)
    alone.set_weights(stacked.get_weights())
    harness.assert_outputs_close(stacked(x), alone(x))
    assert harness.as_list(stacked(x))[0].shape == (harness.BATCH, harness.UNITS)


def test_return_state_with_bidirectional_on_top(rng):
    stacked = rl.StackedRNN([rl.GRU(4), rl.Bidirectional(rl.LSTM(2))], return_state=True)
    result = harness.as_list(stacked(harness.inputs(rng)))
    assert [r.shape for r in result] == [(harness.BATCH, 4)] + [(harness.BATCH, 4)] + [
        (harness.BATCH, 2)
    ] * 4


def test_residual_across_a_width_change_adds_a_learned_projection(rng, tmp_path):
    # The README's first stack, small: widths 3 -> 8 (bidirectional) -> 4 -> 4.
    x = harness.inputs(rng)
    stacked = rl.StackedRNN(
        [rl.Bidirectional(rl.LSTM(4)), rl.GRU(4), rl.GRU(4)],
        residual=True,
        return_sequences=True,
    )
    stacked(x)
    harness.randomize(stacked, rng)
    projections = [p for p in stacked.residual_projections if p is not None]
    assert [tuple(p.kernel.shape) for p in projections] == [(8, 4)]
    # By hand, with Keras built-ins holding the same weights and NumPy for the projection.
    weights = stacked.get_weights()
    builtins = [
        keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True)),
        keras.layers.GRU(4, return_sequences=True),
        keras.layers.GRU(4, return_sequences=True),
    ]
    h1 = builtins[0](x)
    h2 = builtins[1](h1)
    builtins[2](h2)
    start = 0
    for builtin in builtins:
        count = len(builtin.get_weights())
        builtin.set_weights(weights[start : start + count])
        start += count
    (projection_kernel,) = weights[start:]
    h1 = harness.to_numpy(builtins[0](x))
    h2 = harness.to_numpy(builtins[1](h1)) + h1 @ projection_kernel
    h3 = harness.to_numpy(builtins[2](h2)) + h2
    harness.assert_outputs_close(stacked(x), h3)
    # The projection is saved and loaded with the model.
    model = keras.Sequential([keras.Input((None, harness.FEATURES)), stacked])
    model.save(tmp_path / "residual.keras")
    restored = keras.saving.load_model(tmp_path / "residual.keras")
    harness.assert_outputs_close(restored(x), h3)
