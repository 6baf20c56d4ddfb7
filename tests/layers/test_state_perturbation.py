"""The time-step probe `state_perturbation` used by the gradient-flow monitor.

A perturbation p of shape (batch, timesteps, units) is added to the hidden state
after input t (input order, also with go_backwards) before it is emitted and fed
to the next step; its gradient is the total BPTT gradient reaching h_t.
"""

import numpy as np
import pytest
import tensorflow as tf

from rnnkeras import layers as rl
from tests.layers import harness
from tests.layers.rnn_reference import gru_reset_before_step, lstm_step, run_loop, simple_rnn_step

LAYER_CASES = [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {"reset_after": False})]


def build_random(layer, rng):
    layer.build((None, harness.TIMESTEPS, harness.FEATURES))
    harness.randomize(layer, rng, scale=0.6)
    return layer


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_zero_perturbation_leaves_outputs_unchanged(name, go_backwards, rng):
    layer = build_random(
        getattr(rl, name)(
            harness.UNITS, return_sequences=True, return_state=True, go_backwards=go_backwards
        ),
        rng,
    )
    assert layer.state_perturbation is None
    x = harness.inputs(rng)
    expected = harness.as_list(layer(x))
    layer.state_perturbation = tf.zeros((harness.BATCH, harness.TIMESTEPS, harness.UNITS))
    harness.assert_outputs_close(layer(x), expected, atol=1e-6)
    layer.state_perturbation = None
    harness.assert_outputs_close(layer(x), expected, atol=1e-6)


def reference_step(name, weights):
    bias = weights[2] if len(weights) == 3 else None
    if name == "SimpleRNN":
        return simple_rnn_step(weights[0], weights[1], bias)
    if name == "LSTM":
        return lstm_step(weights[0], weights[1], bias)
    return gru_reset_before_step(weights[0], weights[1], bias)


def perturbed(step):
    """Wraps a reference step so that it reads [x_t, p_t] and adds p_t to h (not c)."""

    def wrapped(x_and_p, states):
        x_t, p_t = x_and_p[:, : harness.FEATURES], x_and_p[:, harness.FEATURES :]
        _, new_states = step(x_t, states)
        h = new_states[0] + p_t
        return h, [h, *new_states[1:]]

    return wrapped


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("case", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_perturbation_is_added_to_h_and_fed_forward_like_numpy(case, go_backwards, rng):
    name, kwargs = case
    layer = getattr(rl, name)(
        harness.UNITS, return_sequences=True, return_state=True, go_backwards=go_backwards, **kwargs
    )
    layer.build((None, harness.TIMESTEPS, harness.FEATURES))
    weights = harness.randomize(layer, rng, scale=0.6)
    x = harness.inputs(rng)
    p = rng.normal(0.0, 0.5, size=(harness.BATCH, harness.TIMESTEPS, harness.UNITS)).astype(
        "float32"
    )
    layer.state_perturbation = tf.constant(p)
    got = layer(x)
    layer.state_perturbation = None
    state_count = 2 if name == "LSTM" else 1
    outputs, states = run_loop(
        perturbed(reference_step(name, weights)),
        np.concatenate([x, p], axis=-1),
        [np.zeros((harness.BATCH, harness.UNITS))] * state_count,
        go_backwards=go_backwards,
    )
    harness.assert_outputs_close(got, [outputs, *states])


def perturbation_gradient(layer, x, loss_fn):
    perturbation = tf.Variable(tf.zeros((x.shape[0], x.shape[1], layer.units)))
    layer.state_perturbation = perturbation
    try:
        with tf.GradientTape() as tape:
            loss = loss_fn(layer(x))
        return tape.gradient(loss, perturbation).numpy()
    finally:
        layer.state_perturbation = None


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("w", [0.5, 1.0, 1.5])
def test_linear_rnn_gradient_is_power_of_recurrent_weight(w, go_backwards, rng):
    """h_t = w h_{t-1} + x_t and loss = h_T give d loss / d p_t = w ** (steps after t)."""
    layer = rl.SimpleRNN(1, activation="linear", use_bias=False, go_backwards=go_backwards)
    layer.build((None, harness.TIMESTEPS, 1))
    layer.set_weights([np.ones((1, 1), "float32"), np.full((1, 1), w, "float32")])
    x = rng.normal(size=(2, harness.TIMESTEPS, 1)).astype("float32")
    gradient = perturbation_gradient(layer, x, tf.reduce_sum)
    t = np.arange(harness.TIMESTEPS)
    steps_after = t if go_backwards else harness.TIMESTEPS - 1 - t
    expected = np.broadcast_to((w**steps_after)[None, :, None], gradient.shape)
    np.testing.assert_allclose(gradient, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_gradient_matches_finite_differences(name, rng):
    layer = build_random(getattr(rl, name)(harness.UNITS), rng)
    x = harness.inputs(rng)
    readout = tf.constant(rng.normal(size=(harness.UNITS,)).astype("float32"))

    def loss_fn(output):
        return tf.reduce_sum(output * readout)

    gradient = perturbation_gradient(layer, x, loss_fn)
    np.testing.assert_allclose(
        gradient[:, -1], np.broadcast_to(readout.numpy(), (harness.BATCH, harness.UNITS)), rtol=1e-5
    )
    for t in (0, harness.TIMESTEPS // 2):
        direction = np.zeros((harness.BATCH, harness.TIMESTEPS, harness.UNITS), "float32")
        direction[:, t] = rng.normal(size=(harness.BATCH, harness.UNITS))
        eps = 1e-2
        losses = []
        for sign in (1.0, -1.0):
            layer.state_perturbation = tf.constant(sign * eps * direction)
            losses.append(float(loss_fn(layer(x))))
        layer.state_perturbation = None
        finite_difference = (losses[0] - losses[1]) / (2 * eps)
        np.testing.assert_allclose(
            np.sum(gradient * direction), finite_difference, rtol=2e-2, atol=1e-4
        )


def test_probe_reaches_layers_inside_bidirectional_and_stacked(rng):
    bidirectional = rl.Bidirectional(rl.LSTM(harness.UNITS, return_sequences=True))
    stacked = rl.StackedRNN([rl.GRU(harness.UNITS), rl.SimpleRNN(harness.UNITS)])
    x = harness.inputs(rng)
    for wrapper, inner_layers in (
        (bidirectional, [bidirectional.forward_layer, bidirectional.backward_layer]),
        (stacked, stacked.rnn_layers),
    ):
        wrapper(x)
        harness.randomize(wrapper, rng)
        baseline = np.asarray(wrapper(x))
        for inner in inner_layers:
            assert inner.state_perturbation is None
            inner.state_perturbation = tf.zeros((harness.BATCH, harness.TIMESTEPS, harness.UNITS))
            np.testing.assert_allclose(np.asarray(wrapper(x)), baseline, atol=1e-6)
            inner.state_perturbation = tf.ones((harness.BATCH, harness.TIMESTEPS, harness.UNITS))
            assert not np.allclose(np.asarray(wrapper(x)), baseline, atol=1e-3)
            inner.state_perturbation = None
