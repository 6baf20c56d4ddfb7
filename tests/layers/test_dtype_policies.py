"""Dtype policies through the wrappers: outputs, states and variables as in Keras.

The reference is the Keras built-in with the same weights: `keras.layers.Bidirectional`
for our `Bidirectional`; the same Keras layers called one after another for
`StackedRNN`. Half-precision results are compared with a half-precision tolerance.
"""

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from tests.layers import harness

X = harness.inputs(np.random.default_rng(11), batch=2, timesteps=5)
POLICIES = ["float16", "bfloat16", "mixed_float16", "mixed_bfloat16"]
HALF_ATOL = 3e-2


def dtypes(outputs):
    return [keras.backend.standardize_dtype(o.dtype) for o in outputs]


def variable_dtypes(layer):
    return sorted(keras.backend.standardize_dtype(v.dtype) for v in layer.weights)


def assert_same_results(ours, builtin):
    ours, builtin = harness.as_list(ours), harness.as_list(builtin)
    assert [o.dtype for o in ours] == [b.dtype for b in builtin]
    for got, expected in zip(ours, builtin, strict=True):
        np.testing.assert_allclose(
            got.astype("float32"), expected.astype("float32"), atol=HALF_ATOL
        )


@pytest.fixture
def global_policy():
    """Sets a global policy for one test and restores float32 afterwards."""
    yield keras.config.set_dtype_policy
    keras.config.set_dtype_policy("float32")


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_bidirectional_dtype_argument_follows_keras(policy, name):
    kwargs = {"return_sequences": True, "return_state": True}
    ours = rl.Bidirectional(getattr(rl, name)(4, **kwargs), dtype=policy)
    builtin = keras.layers.Bidirectional(getattr(keras.layers, name)(4, **kwargs), dtype=policy)
    builtin_out = builtin(X)
    ours(X)
    ours.set_weights(builtin.get_weights())
    ours_out = ours(X)
    assert dtypes(ours_out) == dtypes(builtin_out)
    assert dtypes(ours_out)[0] == keras.dtype_policies.get(policy).compute_dtype
    assert variable_dtypes(ours) == variable_dtypes(builtin)
    assert_same_results(ours_out, builtin_out)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_bidirectional_under_global_mixed_precision_follows_keras(policy, global_policy):
    global_policy(policy)
    kwargs = {"return_sequences": True, "return_state": True}
    ours = rl.Bidirectional(rl.LSTM(4, **kwargs), merge_mode="sum")
    builtin = keras.layers.Bidirectional(keras.layers.LSTM(4, **kwargs), merge_mode="sum")
    builtin_out = builtin(X)
    ours(X)
    ours.set_weights(builtin.get_weights())
    ours_out = ours(X)
    assert dtypes(ours_out) == dtypes(builtin_out)
    assert set(variable_dtypes(ours)) == {"float32"}
    assert_same_results(ours_out, builtin_out)


def keras_stack(x, residual):
    """The reference stack: Keras built-ins called in sequence, residual added by hand."""
    layers = [
        keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True, return_state=True)),
        keras.layers.GRU(8, return_sequences=True, return_state=True),
    ]
    bottom, *bottom_states = layers[0](x)
    top, *top_states = layers[1](bottom)
    if residual:
        top = top + bottom
    return layers, [top, *bottom_states, *top_states]


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("residual", [False, True], ids=["plain", "residual"])
def test_stacked_rnn_under_global_mixed_precision_follows_keras(policy, residual, global_policy):
    global_policy(policy)
    builtins, expected = keras_stack(X, residual)
    stack = rl.StackedRNN(
        [rl.Bidirectional(rl.LSTM(4)), rl.GRU(8)],
        residual=residual,
        return_sequences=True,
        return_state=True,
    )
    stack(X)
    stack.set_weights([w for layer in builtins for w in layer.get_weights()])
    got = stack(X)
    assert dtypes(got) == dtypes(expected)
    assert dtypes(got)[0] == keras.dtype_policies.get(policy).compute_dtype
    assert set(variable_dtypes(stack)) == {"float32"}
    assert_same_results(got, expected)


@pytest.mark.parametrize("policy", POLICIES)
def test_stacked_rnn_dtype_argument_sets_its_output_dtype(policy):
    # As `keras.layers.Bidirectional` does: the wrapper's policy decides the
    # output dtype, the layers inside keep their own variables and states.
    stack = rl.StackedRNN([rl.LSTM(4), rl.GRU(4)], residual=True, dtype=policy)
    output = stack(X)
    assert dtypes([output]) == [keras.dtype_policies.get(policy).compute_dtype]
    assert set(variable_dtypes(stack)) == {"float32"}
