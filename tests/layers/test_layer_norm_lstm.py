"""`LayerNormLSTM` as a `tfa.rnn.LayerNormLSTMCell` user meets it: names, weight order, values.

The equations are checked against NumPy in `test_layer_norm_cells.py`; here the
golden values come from TensorFlow Addons' own test (`layer_norm_lstm_cell_test.py`,
`test_cell_output`), and its weight order from the names that test asserts.
"""

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from tests.layers import harness
from tests.layers import layer_norm_reference as ref


def test_weights_come_in_tensorflow_addons_order():
    layer = rl.LayerNormLSTM(harness.UNITS)
    layer.build((None, harness.TIMESTEPS, harness.FEATURES))
    names = [weight.name for weight in layer.weights]
    assert names == [name.replace("/", "_") for name in ref.TFA_LSTM_WEIGHTS]


def test_tensorflow_addons_golden_values():
    # TFA's test: units=2, every kernel and the bias 0.5 (the forget bias 1),
    # norm_epsilon=1e-12, x = ones(1, 3), h = [0.2, 0.3], c = [0, 0.1].
    half = keras.initializers.Constant(0.5)
    cell = rl.LayerNormLSTMCell(
        2,
        kernel_initializer=half,
        recurrent_initializer=half,
        bias_initializer=half,
        norm_epsilon=1e-12,
    )
    h, (h_state, c) = cell(
        np.ones((1, 3), "float32"),
        [np.array([[0.2, 0.3]], "float32"), np.array([[0.0, 0.1]], "float32")],
    )
    np.testing.assert_allclose(harness.to_numpy(h), [[-0.47406167, 0.47406143]], atol=1e-5)
    np.testing.assert_allclose(harness.to_numpy(h_state), [[-0.47406167, 0.47406143]], atol=1e-5)
    np.testing.assert_allclose(harness.to_numpy(c), [[-1.0, 1.0]], atol=1e-5)


def test_carried_cell_state_is_normalized(rng):
    _, _, c = rl.LayerNormLSTM(harness.UNITS, return_state=True)(harness.inputs(rng))
    c = harness.to_numpy(c)
    # Default gamma = 1 and beta = 0: zero mean, unit variance (up to norm_epsilon).
    np.testing.assert_allclose(c.mean(axis=-1), 0.0, atol=1e-5)
    assert np.all(np.abs(c.var(axis=-1) - 1.0) < 0.05), c.var(axis=-1)


def test_tensorflow_addons_arguments_round_trip():
    arguments = {
        "norm_gamma_initializer": "he_normal",
        "norm_beta_initializer": "ones",
        "norm_epsilon": 1e-4,
        "unit_forget_bias": False,
    }
    config = rl.LayerNormLSTMCell(3, **arguments).get_config()
    assert config["norm_epsilon"] == 1e-4 and config["unit_forget_bias"] is False
    layer = rl.LayerNormLSTM(3, **arguments)
    assert rl.LayerNormLSTM.from_config(layer.get_config()).get_config() == layer.get_config()
    assert isinstance(layer.norm_gamma_initializer, keras.initializers.HeNormal)


@pytest.mark.parametrize("epsilon", [0, -1e-3, "1e-3", True])
@pytest.mark.parametrize("kind", ["layer", "cell"])
def test_norm_epsilon_must_be_positive(kind, epsilon):
    build = rl.LayerNormLSTM if kind == "layer" else rl.LayerNormLSTMCell
    with pytest.raises(ValueError) as error:
        build(4, norm_epsilon=epsilon, name="encoder")
    message = str(error.value)
    owner = "LayerNormLSTM layer 'encoder'" if kind == "layer" else "LayerNormLSTMCell 'encoder'"
    assert message.startswith(f"{owner} expects `norm_epsilon` to be a positive number"), message
    assert message.endswith(f"Received: norm_epsilon={epsilon!r}"), message


def test_initial_state_needs_h_and_c():
    layer = rl.LayerNormLSTM(4, name="encoder")
    with pytest.raises(ValueError, match="LayerNormLSTM layer 'encoder' expects `initial_state`"):
        layer(np.zeros((2, 5, 3), "float32"), initial_state=[np.zeros((2, 4), "float32")])
