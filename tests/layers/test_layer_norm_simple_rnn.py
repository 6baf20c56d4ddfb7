"""`LayerNormSimpleRNN` as a `tfa.rnn.LayerNormSimpleRNNCell` user meets it.

Its equations are checked against NumPy in `test_layer_norm_cells.py`; here its
TensorFlow Addons argument names (`layernorm_epsilon`, `gamma_*`), weight order
and the behaviour TensorFlow Addons' own tests checked (regularizers, constraints).
"""

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from tests.layers import harness
from tests.layers import layer_norm_reference as ref


def test_weights_come_in_tensorflow_addons_order():
    layer = rl.LayerNormSimpleRNN(harness.UNITS)
    layer.build((None, harness.TIMESTEPS, harness.FEATURES))
    names = [weight.name for weight in layer.weights]
    assert names == [name.replace("/", "_") for name in ref.TFA_SIMPLE_RNN_WEIGHTS]


def test_tensorflow_addons_arguments_reach_the_gain():
    # TFA's test_regularizers_layernorm_rnn and test_constraints_layernorm_rnn.
    constraint = keras.constraints.MaxNorm(0.01)
    layer = rl.LayerNormSimpleRNN(
        5,
        kernel_regularizer="l1",
        recurrent_regularizer="l1",
        bias_regularizer="l2",
        gamma_regularizer="l2",
        gamma_constraint=constraint,
        gamma_initializer="zeros",
        layernorm_epsilon=1e-6,
    )
    layer.build((None, None, 2))
    assert len(layer.losses) == 4
    assert layer.cell.layernorm_gamma.constraint is constraint
    assert layer.layernorm_epsilon == 1e-6
    # A zero gain leaves only the bias (zeros): every output is tanh(0).
    np.testing.assert_array_equal(harness.to_numpy(layer(np.ones((2, 3, 2), "float32"))), 0.0)
    config = layer.get_config()
    assert rl.LayerNormSimpleRNN.from_config(config).get_config() == config


def test_without_bias_the_output_is_a_normalized_sum(rng):
    layer = rl.LayerNormSimpleRNN(harness.UNITS, use_bias=False, activation=None)
    output = harness.to_numpy(layer(harness.inputs(rng)))
    assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel", "layernorm_gamma"]
    np.testing.assert_allclose(output.mean(axis=-1), 0.0, atol=1e-5)


@pytest.mark.parametrize("epsilon", [0, -1e-5, "small"])
@pytest.mark.parametrize("kind", ["layer", "cell"])
def test_layernorm_epsilon_must_be_positive(kind, epsilon):
    build = rl.LayerNormSimpleRNN if kind == "layer" else rl.LayerNormSimpleRNNCell
    with pytest.raises(ValueError) as error:
        build(4, layernorm_epsilon=epsilon, name="encoder")
    message = str(error.value)
    owner = (
        "LayerNormSimpleRNN layer 'encoder'"
        if kind == "layer"
        else "LayerNormSimpleRNNCell 'encoder'"
    )
    assert message.startswith(f"{owner} expects `layernorm_epsilon` to be a positive"), message
    assert message.endswith(f"Received: layernorm_epsilon={epsilon!r}"), message


def test_non_float_dtype_is_refused():
    with pytest.raises(ValueError, match="LayerNormSimpleRNN layer 'encoder' expects a floating"):
        rl.LayerNormSimpleRNN(4, dtype="int32", name="encoder")
