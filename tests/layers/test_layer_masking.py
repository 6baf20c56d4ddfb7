"""Masking: padding never reaches the state, and a padded batch equals its sequences run alone."""

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from tests.layers import harness

LAYER_CASES = [
    ("SimpleRNN", {}),
    ("LSTM", {}),
    ("GRU", {"reset_after": True}),
    ("GRU", {"reset_after": False}),
]
LAYER_IDS = [f"{name}-{kwargs}" for name, kwargs in LAYER_CASES]


def padded_batch(rng, padding="garbage"):
    x = harness.inputs(rng, batch=len(harness.LENGTHS))
    mask = harness.padding_mask()
    fill = rng.normal(3.0, 2.0, size=x.shape).astype("float32") if padding == "garbage" else 0.0
    return np.where(mask[:, :, None], x, fill), mask


def build_random(layer, rng):
    layer.build((None, harness.TIMESTEPS, harness.FEATURES))
    harness.randomize(layer, rng, scale=0.6)
    return layer


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("case", LAYER_CASES, ids=LAYER_IDS)
def test_mixed_lengths_equal_sequences_run_alone(case, go_backwards, rng):
    name, kwargs = case
    layer = build_random(
        getattr(rl, name)(harness.UNITS, return_state=True, go_backwards=go_backwards, **kwargs),
        rng,
    )
    x, mask = padded_batch(rng)
    batch_result = harness.as_list(layer(x, mask=mask))
    for i, length in enumerate(harness.LENGTHS):
        alone = harness.as_list(layer(x[i : i + 1, :length]))
        harness.assert_outputs_close([r[i : i + 1] for r in batch_result], alone)


@pytest.mark.parametrize("case", LAYER_CASES, ids=LAYER_IDS)
def test_padded_values_do_not_change_final_state(case, rng):
    name, kwargs = case
    layer = build_random(getattr(rl, name)(harness.UNITS, return_state=True, **kwargs), rng)
    x, mask = padded_batch(rng)
    zero_padded = np.where(mask[:, :, None], x, 0.0)
    with_garbage = harness.as_list(layer(x, mask=mask))
    harness.assert_outputs_close(with_garbage, layer(zero_padded, mask=mask))
    unmasked = harness.as_list(layer(x))
    assert not np.allclose(unmasked[1][1], with_garbage[1][1], atol=1e-3), (
        "the padded values should matter without a mask; the test input is too weak"
    )


@pytest.mark.parametrize("case", LAYER_CASES, ids=LAYER_IDS)
def test_masking_layer_upstream_equals_sequences_run_alone(case, rng):
    name, kwargs = case
    layer = getattr(rl, name)(harness.UNITS, return_sequences=True, return_state=True, **kwargs)
    sequences = keras.Input((None, harness.FEATURES))
    model = keras.Model(sequences, layer(keras.layers.Masking(0.0)(sequences)))
    harness.randomize(layer, rng, scale=0.6)
    x, _ = padded_batch(rng, padding="zeros")
    batch_result = harness.as_list(model(x))
    for i, length in enumerate(harness.LENGTHS):
        alone = harness.as_list(layer(x[i : i + 1, :length]))
        np.testing.assert_allclose(batch_result[0][i, :length], alone[0][0], rtol=0, atol=1e-5)
        harness.assert_outputs_close([s[i : i + 1] for s in batch_result[1:]], alone[1:])


def test_embedding_mask_zero_equals_sequences_run_alone(rng):
    embedding = keras.layers.Embedding(12, harness.FEATURES, mask_zero=True)
    layer = rl.LSTM(harness.UNITS, return_state=True)
    tokens = keras.Input((None,), dtype="int32")
    model = keras.Model(tokens, layer(embedding(tokens)))
    harness.randomize(layer, rng, scale=0.6)
    ids = rng.integers(1, 12, size=(len(harness.LENGTHS), harness.TIMESTEPS))
    ids = ids * harness.padding_mask()
    batch_result = harness.as_list(model(ids))
    for i, length in enumerate(harness.LENGTHS):
        alone = harness.as_list(model(ids[i : i + 1, :length]))
        harness.assert_outputs_close([r[i : i + 1] for r in batch_result], alone)


@pytest.mark.parametrize("merge_mode", ["concat", "sum"])
@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_bidirectional_mixed_lengths_equal_sequences_run_alone(name, merge_mode, rng):
    layer = build_random(
        rl.Bidirectional(
            getattr(rl, name)(harness.UNITS, return_sequences=True, return_state=True),
            merge_mode=merge_mode,
        ),
        rng,
    )
    x, mask = padded_batch(rng)
    batch_result = harness.as_list(layer(x, mask=mask))
    for i, length in enumerate(harness.LENGTHS):
        alone = harness.as_list(layer(x[i : i + 1, :length]))
        np.testing.assert_allclose(batch_result[0][i, :length], alone[0][0], rtol=0, atol=1e-5)
        harness.assert_outputs_close([s[i : i + 1] for s in batch_result[1:]], alone[1:])


def test_bidirectional_last_output_equals_sequences_run_alone(rng):
    layer = build_random(rl.Bidirectional(rl.SimpleRNN(harness.UNITS)), rng)
    x, mask = padded_batch(rng)
    batch_result = harness.to_numpy(layer(x, mask=mask))
    for i, length in enumerate(harness.LENGTHS):
        harness.assert_outputs_close(batch_result[i : i + 1], layer(x[i : i + 1, :length]))
