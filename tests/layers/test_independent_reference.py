"""Our layers against references that are not Keras: PyTorch modules and NumPy loops.

PyTorch weights are drawn at random and mapped into the Keras layout by
`rnn_reference` (gate order, two bias vectors); the NumPy loops follow the
textbook equations, so a layout or equation bug shared with Keras still fails here.
"""

import numpy as np
import pytest
import torch

from rnnkeras import layers as rl
from tests.layers import harness
from tests.layers.rnn_reference import (
    gru_reset_before_step,
    keras_weights_from_torch_gru,
    keras_weights_from_torch_lstm,
    keras_weights_from_torch_rnn,
    lstm_step,
    randomize_torch,
    run_loop,
    simple_rnn_step,
)


def run_torch(module, x, initial_state=None):
    with torch.no_grad():
        output, state = module(torch.from_numpy(x), initial_state)
    if isinstance(state, tuple):
        return output.numpy(), [s.numpy()[0] for s in state]
    return output.numpy(), [state.numpy()[0]]


def torch_initial_state(rng, count):
    states = [
        torch.from_numpy(rng.normal(size=(1, harness.BATCH, harness.UNITS)).astype("float32"))
        for _ in range(count)
    ]
    return tuple(states) if count == 2 else states[0]


TORCH_CASES = [
    ("SimpleRNN", {"nonlinearity": "tanh"}, {}),
    ("SimpleRNN", {"nonlinearity": "relu"}, {"activation": "relu"}),
    ("SimpleRNN", {"nonlinearity": "tanh", "bias": False}, {"use_bias": False}),
    ("LSTM", {}, {}),
    ("LSTM", {"bias": False}, {"use_bias": False}),
    ("GRU", {}, {"reset_after": True}),
    ("GRU", {"bias": False}, {"reset_after": True, "use_bias": False}),
]
TORCH_MODULES = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}
TO_KERAS = {
    "SimpleRNN": keras_weights_from_torch_rnn,
    "LSTM": keras_weights_from_torch_lstm,
    "GRU": keras_weights_from_torch_gru,
}


def make_from_torch(name, torch_kwargs, keras_kwargs, rng, **options):
    module = TORCH_MODULES[name](harness.FEATURES, harness.UNITS, batch_first=True, **torch_kwargs)
    randomize_torch(module, rng)
    layer = getattr(rl, name)(
        harness.UNITS, return_sequences=True, return_state=True, **keras_kwargs, **options
    )
    layer.build((None, harness.TIMESTEPS, harness.FEATURES))
    layer.set_weights(TO_KERAS[name](module))
    return module, layer


@pytest.mark.parametrize("unroll", [False, True])
@pytest.mark.parametrize(
    "case", TORCH_CASES, ids=[f"{c[0]}-{'-'.join(map(str, c[2].items()))}" for c in TORCH_CASES]
)
def test_matches_torch(case, unroll, rng):
    name, torch_kwargs, keras_kwargs = case
    module, layer = make_from_torch(name, torch_kwargs, keras_kwargs, rng, unroll=unroll)
    x = harness.inputs(rng)
    torch_output, torch_states = run_torch(module, x)
    harness.assert_outputs_close(layer(x), [torch_output, *torch_states])


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_initial_state_matches_torch(name, rng):
    module, layer = make_from_torch(name, {}, {}, rng)
    x = harness.inputs(rng)
    h0 = torch_initial_state(rng, 2 if name == "LSTM" else 1)
    torch_output, torch_states = run_torch(module, x, h0)
    keras_states = [s.numpy()[0] for s in (h0 if isinstance(h0, tuple) else (h0,))]
    harness.assert_outputs_close(
        layer(x, initial_state=keras_states), [torch_output, *torch_states]
    )


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_go_backwards_matches_torch_on_reversed_input(name, rng):
    module, layer = make_from_torch(name, {}, {}, rng, go_backwards=True)
    x = harness.inputs(rng)
    torch_output, torch_states = run_torch(module, np.ascontiguousarray(x[:, ::-1]))
    harness.assert_outputs_close(layer(x), [torch_output, *torch_states])


def test_bidirectional_lstm_matches_torch(rng):
    module = torch.nn.LSTM(harness.FEATURES, harness.UNITS, batch_first=True, bidirectional=True)
    randomize_torch(module, rng)
    layer = rl.Bidirectional(rl.LSTM(harness.UNITS, return_sequences=True))
    layer.build((None, harness.TIMESTEPS, harness.FEATURES))
    layer.set_weights(
        keras_weights_from_torch_lstm(module) + keras_weights_from_torch_lstm(module, "_l0_reverse")
    )
    x = harness.inputs(rng)
    torch_output, _ = run_torch(module, x)
    harness.assert_outputs_close(layer(x), torch_output)


def test_bidirectional_gru_matches_torch(rng):
    module = torch.nn.GRU(harness.FEATURES, harness.UNITS, batch_first=True, bidirectional=True)
    randomize_torch(module, rng)
    layer = rl.Bidirectional(rl.GRU(harness.UNITS, return_sequences=True, return_state=True))
    layer.build((None, harness.TIMESTEPS, harness.FEATURES))
    layer.set_weights(
        keras_weights_from_torch_gru(module) + keras_weights_from_torch_gru(module, "_l0_reverse")
    )
    x = harness.inputs(rng)
    with torch.no_grad():
        torch_output, torch_state = module(torch.from_numpy(x))
    harness.assert_outputs_close(
        layer(x), [torch_output.numpy(), torch_state[0].numpy(), torch_state[1].numpy()]
    )


@pytest.mark.parametrize(
    "options", [{}, {"go_backwards": True}, {"use_bias": False}, {"unroll": True}], ids=str
)
def test_gru_reset_after_false_matches_numpy(options, rng):
    layer = rl.GRU(
        harness.UNITS, reset_after=False, return_sequences=True, return_state=True, **options
    )
    layer.build((None, harness.TIMESTEPS, harness.FEATURES))
    weights = harness.randomize(layer, rng, scale=0.6)
    bias = weights[2] if len(weights) == 3 else None
    assert weights[0].shape == (harness.FEATURES, 3 * harness.UNITS)
    if bias is not None:
        assert bias.shape == (3 * harness.UNITS,)
    x = harness.inputs(rng)
    step = gru_reset_before_step(weights[0], weights[1], bias)
    outputs, states = run_loop(
        step,
        x,
        [np.zeros((harness.BATCH, harness.UNITS))],
        go_backwards=options.get("go_backwards", False),
    )
    harness.assert_outputs_close(layer(x), [outputs, *states])


@pytest.mark.parametrize(
    "options, activation",
    [
        ({}, np.tanh),
        ({"activation": "relu"}, lambda v: np.maximum(v, 0.0)),
        ({"use_bias": False}, np.tanh),
    ],
    ids=["tanh", "relu", "no_bias"],
)
def test_simple_rnn_matches_numpy(options, activation, rng):
    layer = rl.SimpleRNN(harness.UNITS, return_sequences=True, return_state=True, **options)
    layer.build((None, harness.TIMESTEPS, harness.FEATURES))
    weights = harness.randomize(layer, rng, scale=0.6)
    bias = weights[2] if len(weights) == 3 else None
    x = harness.inputs(rng)
    outputs, states = run_loop(
        simple_rnn_step(weights[0], weights[1], bias, activation),
        x,
        [np.zeros((harness.BATCH, harness.UNITS))],
    )
    harness.assert_outputs_close(layer(x), [outputs, *states])


def test_lstm_matches_numpy(rng):
    layer = rl.LSTM(harness.UNITS, return_sequences=True, return_state=True)
    layer.build((None, harness.TIMESTEPS, harness.FEATURES))
    weights = harness.randomize(layer, rng, scale=0.6)
    x = harness.inputs(rng)
    zeros = np.zeros((harness.BATCH, harness.UNITS))
    outputs, states = run_loop(lstm_step(*weights), x, [zeros, zeros])
    harness.assert_outputs_close(layer(x), [outputs, *states])


MASK = harness.padding_mask()


def masked_reference(name, weights):
    bias = weights[2] if len(weights) == 3 else None
    if name == "SimpleRNN":
        return simple_rnn_step(weights[0], weights[1], bias), 1
    if name == "LSTM":
        return lstm_step(weights[0], weights[1], bias), 2
    return gru_reset_before_step(weights[0], weights[1], bias), 1


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_masking_semantics_match_numpy(name, go_backwards, rng):
    """Masked steps keep the state and repeat the last output (Keras' convention)."""
    extra = {"reset_after": False} if name == "GRU" else {}
    layer = getattr(rl, name)(
        harness.UNITS, return_sequences=True, return_state=True, go_backwards=go_backwards, **extra
    )
    layer.build((None, harness.TIMESTEPS, harness.FEATURES))
    weights = harness.randomize(layer, rng, scale=0.6)
    x = harness.inputs(rng)
    step, state_count = masked_reference(name, weights)
    zeros = [np.zeros((harness.BATCH, harness.UNITS))] * state_count
    outputs, states = run_loop(step, x, zeros, mask=MASK, go_backwards=go_backwards)
    harness.assert_outputs_close(layer(x, mask=MASK), [outputs, *states])
