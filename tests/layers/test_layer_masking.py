"""Masking: padding never reaches the state, and a padded batch equals its sequences run alone."""

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from tests.layers.harness import (
    FEATURES,
    LENGTHS,
    TIMESTEPS,
    UNITS,
    as_list,
    assert_outputs_close,
    inputs,
    padding_mask,
    randomize,
    to_numpy,
)

LAYER_CASES = [
    ("SimpleRNN", {}),
    ("LSTM", {}),
    ("GRU", {"reset_after": True}),
    ("GRU", {"reset_after": False}),
]
LAYER_IDS = [f"{name}-{kwargs}" for name, kwargs in LAYER_CASES]


def padded_batch(rng, padding="garbage"):
    x = inputs(rng, batch=len(LENGTHS))
    mask = padding_mask()
    fill = rng.normal(3.0, 2.0, size=x.shape).astype("float32") if padding == "garbage" else 0.0
    return np.where(mask[:, :, None], x, fill), mask


def build_random(layer, rng):
    layer.build((None, TIMESTEPS, FEATURES))
    randomize(layer, rng, scale=0.6)
    return layer


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("case", LAYER_CASES, ids=LAYER_IDS)
def test_mixed_lengths_equal_sequences_run_alone(case, go_backwards, rng):
    name, kwargs = case
    layer = build_random(
        getattr(rl, name)(UNITS, return_state=True, go_backwards=go_backwards, **kwargs), rng
    )
    x, mask = padded_batch(rng)
    batch_result = as_list(layer(x, mask=mask))
    for i, length in enumerate(LENGTHS):
        alone = as_list(layer(x[i : i + 1, :length]))
        assert_outputs_close([r[i : i + 1] for r in batch_result], alone)


@pytest.mark.parametrize("case", LAYER_CASES, ids=LAYER_IDS)
def test_padded_values_do_not_change_final_state(case, rng):
    name, kwargs = case
    layer = build_random(getattr(rl, name)(UNITS, return_state=True, **kwargs), rng)
    x, mask = padded_batch(rng)
    zero_padded = np.where(mask[:, :, None], x, 0.0)
    with_garbage = as_list(layer(x, mask=mask))
    assert_outputs_close(with_garbage, layer(zero_padded, mask=mask))
    unmasked = as_list(layer(x))
    assert not np.allclose(unmasked[1][1], with_garbage[1][1], atol=1e-3), (
        "the padded values should matter without a mask; the test input is too weak"
    )


@pytest.mark.parametrize("case", LAYER_CASES, ids=LAYER_IDS)
def test_masking_layer_upstream_equals_sequences_run_alone(case, rng):
    name, kwargs = case
    layer = getattr(rl, name)(UNITS, return_sequences=True, return_state=True, **kwargs)
    sequences = keras.Input((None, FEATURES))
    model = keras.Model(sequences, layer(keras.layers.Masking(0.0)(sequences)))
    randomize(layer, rng, scale=0.6)
    x, _ = padded_batch(rng, padding="zeros")
    batch_result = as_list(model(x))
    for i, length in enumerate(LENGTHS):
        alone = as_list(layer(x[i : i + 1, :length]))
        np.testing.assert_allclose(batch_result[0][i, :length], alone[0][0], rtol=0, atol=1e-5)
        assert_outputs_close([s[i : i + 1] for s in batch_result[1:]], alone[1:])


def test_embedding_mask_zero_equals_sequences_run_alone(rng):
    embedding = keras.layers.Embedding(12, FEATURES, mask_zero=True)
    layer = rl.LSTM(UNITS, return_state=True)
    tokens = keras.Input((None,), dtype="int32")
    model = keras.Model(tokens, layer(embedding(tokens)))
    randomize(layer, rng, scale=0.6)
    ids = rng.integers(1, 12, size=(len(LENGTHS), TIMESTEPS))
    ids = ids * padding_mask()
    batch_result = as_list(model(ids))
    for i, length in enumerate(LENGTHS):
        alone = as_list(model(ids[i : i + 1, :length]))
        assert_outputs_close([r[i : i + 1] for r in batch_result], alone)


@pytest.mark.parametrize("merge_mode", ["concat", "sum"])
@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_bidirectional_mixed_lengths_equal_sequences_run_alone(name, merge_mode, rng):
    layer = build_random(
        rl.Bidirectional(
            getattr(rl, name)(UNITS, return_sequences=True, return_state=True),
            merge_mode=merge_mode,
        ),
        rng,
    )
    x, mask = padded_batch(rng)
    batch_result = as_list(layer(x, mask=mask))
    for i, length in enumerate(LENGTHS):
        alone = as_list(layer(x[i : i + 1, :length]))
        np.testing.assert_allclose(batch_result[0][i, :length], alone[0][0], rtol=0, atol=1e-5)
        assert_outputs_close([s[i : i + 1] for s in batch_result[1:]], alone[1:])


def test_bidirectional_last_output_equals_sequences_run_alone(rng):
    layer = build_random(rl.Bidirectional(rl.SimpleRNN(UNITS)), rng)
    x, mask = padded_batch(rng)
    batch_result = to_numpy(layer(x, mask=mask))
    for i, length in enumerate(LENGTHS):
        assert_outputs_close(batch_result[i : i + 1], layer(x[i : i + 1, :length]))
