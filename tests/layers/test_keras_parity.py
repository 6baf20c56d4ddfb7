"""Parity with the Keras built-ins: same weight layout, weights copied both ways.

Each case builds our layer and the built-in of the same name with the same
arguments, gives one of them random weights, copies them to the other with
`set_weights(get_weights())` and compares every output and final state.
"""

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from tests.layers import harness

DIRECTIONS = ["builtin_to_ours", "ours_to_builtin"]


def make_pair(name, **kwargs):
    return getattr(rl, name)(harness.UNITS, **kwargs), getattr(keras.layers, name)(
        harness.UNITS, **kwargs
    )


def copy_weights(ours, builtin, direction, rng):
    source, target = (builtin, ours) if direction == "builtin_to_ours" else (ours, builtin)
    harness.randomize(source, rng)
    target.set_weights(source.get_weights())


OPTION_CASES = [
    ("SimpleRNN", {}),
    ("SimpleRNN", {"return_sequences": True, "return_state": True}),
    ("SimpleRNN", {"go_backwards": True, "return_sequences": True, "activation": "relu"}),
    ("SimpleRNN", {"unroll": True, "use_bias": False, "return_state": True}),
    ("LSTM", {}),
    ("LSTM", {"return_sequences": True, "return_state": True}),
    ("LSTM", {"go_backwards": True, "return_state": True}),
    ("LSTM", {"unroll": True, "return_sequences": True, "return_state": True}),
    ("LSTM", {"unroll": True, "go_backwards": True, "return_sequences": True}),
    (
        "LSTM",
        {"activation": "relu", "recurrent_activation": "hard_sigmoid", "return_sequences": True},
    ),
    ("LSTM", {"use_bias": False, "return_state": True}),
    ("LSTM", {"unit_forget_bias": False, "return_state": True}),
    ("GRU", {"reset_after": True, "return_sequences": True, "return_state": True}),
    ("GRU", {"reset_after": False, "return_sequences": True, "return_state": True}),
    ("GRU", {"reset_after": False, "go_backwards": True, "unroll": True, "return_state": True}),
    ("GRU", {"reset_after": True, "go_backwards": True, "return_sequences": True}),
    (
        "GRU",
        {
            "activation": "softsign",
            "recurrent_activation": "hard_sigmoid",
            "return_sequences": True,
        },
    ),
    ("GRU", {"use_bias": False, "reset_after": True, "return_state": True}),
    ("GRU", {"use_bias": False, "reset_after": False, "unroll": True}),
]


def case_id(case):
    name, kwargs = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items()) if kwargs else name


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("case", OPTION_CASES, ids=[case_id(c) for c in OPTION_CASES])
def test_options_match_builtin(case, direction, rng):
    name, kwargs = case
    ours, builtin = make_pair(name, **kwargs)
    x = harness.inputs(rng)
    ours(x), builtin(x)
    copy_weights(ours, builtin, direction, rng)
    harness.assert_outputs_close(ours(x), builtin(x))


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize(
    "case",
    [
        ("SimpleRNN", {"return_sequences": True, "return_state": True}),
        ("LSTM", {"go_backwards": True, "return_sequences": True, "return_state": True}),
        ("GRU", {"reset_after": True, "return_sequences": True, "return_state": True}),
        ("GRU", {"reset_after": False, "go_backwards": True, "return_state": True}),
        ("LSTM", {"unroll": True, "return_sequences": True, "return_state": True}),
    ],
    ids=case_id,
)
def test_masking_layer_upstream_matches_builtin(case, direction, rng):
    name, kwargs = case
    ours, builtin = make_pair(name, **kwargs)
    x = harness.inputs(rng) * harness.padding_mask()[:, :, None]
    masking = keras.layers.Masking(0.0)
    sequences = keras.Input((harness.TIMESTEPS, harness.FEATURES))
    ours_model = keras.Model(sequences, ours(masking(sequences)))
    builtin_model = keras.Model(sequences, builtin(masking(sequences)))
    copy_weights(ours, builtin, direction, rng)
    harness.assert_outputs_close(ours_model(x), builtin_model(x))


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize(
    "case",
    [
        ("SimpleRNN", {"go_backwards": True, "return_sequences": True}),
        ("LSTM", {"return_sequences": True, "return_state": True}),
        ("GRU", {"reset_after": False, "return_sequences": True, "return_state": True}),
        ("GRU", {"reset_after": True, "go_backwards": True, "return_state": True}),
    ],
    ids=case_id,
)
def test_embedding_mask_zero_upstream_matches_builtin(case, direction, rng):
    name, kwargs = case
    ours, builtin = make_pair(name, **kwargs)
    tokens = rng.integers(1, 10, size=(harness.BATCH, harness.TIMESTEPS)) * harness.padding_mask()
    embedding = keras.layers.Embedding(10, harness.FEATURES, mask_zero=True)
    token_input = keras.Input((harness.TIMESTEPS,), dtype="int32")
    ours_model = keras.Model(token_input, ours(embedding(token_input)))
    builtin_model = keras.Model(token_input, builtin(embedding(token_input)))
    copy_weights(ours, builtin, direction, rng)
    harness.assert_outputs_close(ours_model(tokens), builtin_model(tokens))


def initial_states(name, rng):
    count = 2 if name == "LSTM" else 1
    return [rng.normal(size=(harness.BATCH, harness.UNITS)).astype("float32") for _ in range(count)]


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize(
    "case",
    [
        ("SimpleRNN", {"return_sequences": True, "return_state": True}),
        ("LSTM", {"return_sequences": True, "return_state": True}),
        ("LSTM", {"go_backwards": True, "unroll": True, "return_state": True}),
        ("GRU", {"reset_after": True, "return_state": True}),
        ("GRU", {"reset_after": False, "return_sequences": True, "return_state": True}),
    ],
    ids=case_id,
)
def test_initial_state_matches_builtin(case, direction, rng):
    name, kwargs = case
    ours, builtin = make_pair(name, **kwargs)
    x, states = harness.inputs(rng), initial_states(name, rng)
    ours(x, initial_state=states), builtin(x, initial_state=states)
    copy_weights(ours, builtin, direction, rng)
    ours_out = ours(x, initial_state=states)
    harness.assert_outputs_close(ours_out, builtin(x, initial_state=states))
    without_state = ours(x)
    assert not np.allclose(
        harness.to_numpy(ours_out[1]), harness.to_numpy(without_state[1]), atol=1e-3
    ), "initial_state had no effect on the final state"


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize(
    "case",
    [
        ("LSTM", {"return_sequences": True, "return_state": True}),
        ("GRU", {"go_backwards": True, "return_state": True}),
    ],
    ids=case_id,
)
def test_initial_state_with_mask_matches_builtin(case, direction, rng):
    name, kwargs = case
    ours, builtin = make_pair(name, **kwargs)
    x, states, mask = harness.inputs(rng), initial_states(name, rng), harness.padding_mask()
    ours(x), builtin(x)
    copy_weights(ours, builtin, direction, rng)
    harness.assert_outputs_close(
        ours(x, initial_state=states, mask=mask), builtin(x, initial_state=states, mask=mask)
    )


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize(
    "case",
    [
        ("SimpleRNN", {"return_sequences": True}),
        ("LSTM", {"return_state": True}),
        ("GRU", {"reset_after": False, "return_sequences": True, "return_state": True}),
        ("GRU", {"reset_after": True, "go_backwards": True}),
    ],
    ids=case_id,
)
def test_stateful_matches_builtin_across_calls_and_reset(case, direction, rng):
    name, kwargs = case
    ours, builtin = make_pair(name, stateful=True, **kwargs)
    first, second = harness.inputs(rng), harness.inputs(rng)
    ours(first), builtin(first)
    copy_weights(ours, builtin, direction, rng)
    ours.reset_states()
    builtin.reset_states()

    ours_first = ours(first)
    harness.assert_outputs_close(ours_first, builtin(first))
    ours_second = ours(second)
    harness.assert_outputs_close(ours_second, builtin(second))

    stateless = getattr(rl, name)(harness.UNITS, **kwargs)
    stateless(second)
    stateless.set_weights(ours.get_weights())
    assert not np.allclose(
        harness.as_list(ours_second)[0], harness.as_list(stateless(second))[0], atol=1e-3
    ), "the second call of a stateful layer ignored the state left by the first call"

    ours.reset_states()
    builtin.reset_states()
    harness.assert_outputs_close(ours(first), ours_first)
    harness.assert_outputs_close(builtin(first), ours_first)


@pytest.mark.parametrize("unit_forget_bias", [True, False])
def test_unit_forget_bias_initializes_like_builtin(unit_forget_bias):
    ours, builtin = make_pair("LSTM", unit_forget_bias=unit_forget_bias, bias_initializer="zeros")
    x = np.zeros((2, harness.TIMESTEPS, harness.FEATURES), "float32")
    ours(x), builtin(x)
    bias = ours.get_weights()[2]
    expected = np.zeros(4 * harness.UNITS, "float32")
    if unit_forget_bias:
        expected[harness.UNITS : 2 * harness.UNITS] = 1.0
    np.testing.assert_array_equal(bias, expected)
    np.testing.assert_array_equal(builtin.get_weights()[2], expected)


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_weight_shapes_match_builtin(name):
    for kwargs in ({}, {"use_bias": False}) + (({"reset_after": False},) if name == "GRU" else ()):
        ours, builtin = make_pair(name, **kwargs)
        x = np.zeros((2, harness.TIMESTEPS, harness.FEATURES), "float32")
        ours(x), builtin(x)
        assert [w.shape for w in ours.get_weights()] == [w.shape for w in builtin.get_weights()]
