"""Dropout and recurrent dropout: active only in training, finite, one mask per sequence."""

import numpy as np
import pytest

from rnnkeras import layers as rl
from tests.layers import harness


def assert_dropout_behaviour(layer, reference, x):
    """`layer` has dropout, `reference` is the same layer without it and with the same weights."""
    x_train = [harness.to_numpy(o) for o in harness.as_list(layer(x, training=True))]
    for output in x_train:
        assert np.all(np.isfinite(output))
    inference = harness.as_list(layer(x, training=False))
    assert not np.allclose(x_train[0], inference[0], atol=1e-4), (
        "training=True did not drop anything"
    )
    harness.assert_outputs_close(inference, reference(x, training=False))
    harness.assert_outputs_close(layer(x), reference(x))
    second = harness.as_list(layer(x, training=True))
    assert not np.allclose(second[0], x_train[0], atol=1e-4), (
        "two training calls used the same masks"
    )


DROPOUT_CASES = [
    ("SimpleRNN", {"dropout": 0.5}),
    ("SimpleRNN", {"recurrent_dropout": 0.5}),
    ("LSTM", {"dropout": 0.5}),
    ("LSTM", {"recurrent_dropout": 0.5}),
    ("GRU", {"dropout": 0.4, "recurrent_dropout": 0.4}),
    ("GRU", {"recurrent_dropout": 0.5, "reset_after": False}),
]


@pytest.mark.parametrize("case", DROPOUT_CASES, ids=[f"{n}-{k}" for n, k in DROPOUT_CASES])
def test_dropout_only_in_training(case, rng):
    name, kwargs = case
    rates = {key: kwargs[key] for key in ("dropout", "recurrent_dropout") if key in kwargs}
    other = {key: value for key, value in kwargs.items() if key not in rates}
    options = {"return_sequences": True, "return_state": True, **other}
    layer = getattr(rl, name)(harness.UNITS, seed=1, **rates, **options)
    reference = getattr(rl, name)(harness.UNITS, **options)
    x = harness.inputs(rng)
    layer(x), reference(x)
    harness.randomize(layer, rng)
    reference.set_weights(layer.get_weights())
    assert_dropout_behaviour(layer, reference, x)


def test_bidirectional_dropout_only_in_training(rng):
    layer = rl.Bidirectional(
        rl.LSTM(harness.UNITS, dropout=0.5, recurrent_dropout=0.3, return_sequences=True)
    )
    reference = rl.Bidirectional(rl.LSTM(harness.UNITS, return_sequences=True))
    x = harness.inputs(rng)
    layer(x), reference(x)
    harness.randomize(layer, rng)
    reference.set_weights(layer.get_weights())
    assert_dropout_behaviour(layer, reference, x)


def test_stacked_dropout_between_layers_only_in_training(rng):
    layer = rl.StackedRNN(
        [rl.GRU(harness.UNITS), rl.LSTM(harness.UNITS)], dropout=0.5, return_sequences=True
    )
    reference = rl.StackedRNN(
        [rl.GRU(harness.UNITS), rl.LSTM(harness.UNITS)], return_sequences=True
    )
    x = harness.inputs(rng)
    layer(x), reference(x)
    harness.randomize(layer, rng)
    reference.set_weights(layer.get_weights())
    assert_dropout_behaviour(layer, reference, x)


def test_input_dropout_mask_is_shared_by_all_time_steps():
    """With an identity kernel and no recurrence the output is the dropped input itself."""
    rate = 0.5
    layer = rl.SimpleRNN(
        harness.FEATURES, activation="linear", use_bias=False, dropout=rate, return_sequences=True
    )
    layer.build((None, harness.TIMESTEPS, harness.FEATURES))
    layer.set_weights(
        [
            np.eye(harness.FEATURES, dtype="float32"),
            np.zeros((harness.FEATURES, harness.FEATURES), "float32"),
        ]
    )
    x = np.ones((64, harness.TIMESTEPS, harness.FEATURES), "float32")
    output = harness.to_numpy(layer(x, training=True))
    np.testing.assert_allclose(np.unique(np.round(output, 5)), [0.0, 1.0 / (1.0 - rate)])
    np.testing.assert_array_equal(output, np.broadcast_to(output[:, :1], output.shape))
    kept = np.mean(output > 0)
    assert 0.35 < kept < 0.65, f"kept fraction {kept} for rate {rate}"
