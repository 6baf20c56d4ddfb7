"""`LayerNormGRU`: the documented weight order and the choices of its derivation.

TensorFlow Addons had no layer-normalized GRU; ours normalizes the input and the
recurrent projections apart, as its LSTM did (equations checked against NumPy in
`test_layer_norm_cells.py`). Here: the weights, reset-after semantics, errors.
"""

import numpy as np
import pytest

from rnnkeras import layers as rl
from tests.layers import harness
from tests.layers import layer_norm_reference as ref


def test_weights_come_in_the_documented_order():
    layer = rl.LayerNormGRU(harness.UNITS)
    layer.build((None, harness.TIMESTEPS, harness.FEATURES))
    names = [weight.name for weight in layer.weights]
    assert names == [
        "kernel",
        "recurrent_kernel",
        "bias",
        "kernel_norm_gamma",
        "kernel_norm_beta",
        "recurrent_norm_gamma",
        "recurrent_norm_beta",
    ]
    assert [tuple(w.shape) for w in layer.weights] == ref.weight_shapes(
        "gru", harness.FEATURES, harness.UNITS
    )


def test_reset_gate_scales_the_normalized_recurrent_candidate(rng):
    """A reset-before GRU would differ: with r = 0 the candidate ignores h_{t-1} entirely."""
    cell = rl.LayerNormGRUCell(harness.UNITS)
    cell.build((None, harness.FEATURES))
    weights = ref.random_weights("gru", rng, harness.FEATURES, harness.UNITS)
    # Reset-gate bias -40: r = 0, so n = tanh(x̂_n) whatever h_{t-1} is.
    weights[2][harness.UNITS : 2 * harness.UNITS] = -40.0
    cell.set_weights(weights)
    x = rng.normal(size=(harness.BATCH, harness.FEATURES)).astype("float32")
    h = rng.normal(size=(harness.BATCH, harness.UNITS)).astype("float32")
    got = harness.to_numpy(cell(x, [h])[0])
    expected, _ = ref.gru_step(weights)(x.astype("float64"), [h.astype("float64")])
    harness.assert_outputs_close(got, expected.astype("float32"))


@pytest.mark.parametrize("epsilon", [0, -1.0, None])
@pytest.mark.parametrize("kind", ["layer", "cell"])
def test_norm_epsilon_must_be_positive(kind, epsilon):
    build = rl.LayerNormGRU if kind == "layer" else rl.LayerNormGRUCell
    with pytest.raises(ValueError) as error:
        build(4, norm_epsilon=epsilon, name="encoder")
    message = str(error.value)
    owner = "LayerNormGRU layer 'encoder'" if kind == "layer" else "LayerNormGRUCell 'encoder'"
    assert message.startswith(f"{owner} expects `norm_epsilon` to be a positive number"), message
    assert message.endswith(f"Received: norm_epsilon={epsilon!r}"), message


def test_units_are_checked():
    with pytest.raises(ValueError, match=r"LayerNormGRU layer 'encoder' expects `units`"):
        rl.LayerNormGRU(0, name="encoder")
    with pytest.raises(ValueError, match=r"Received: units=2.5"):
        rl.LayerNormGRUCell(2.5)


def test_initial_state_is_one_tensor():
    layer = rl.LayerNormGRU(4, name="encoder")
    with pytest.raises(ValueError, match="LayerNormGRU layer 'encoder' expects `initial_state`"):
        layer(np.zeros((2, 5, 3), "float32"), initial_state=[np.zeros((2, 4), "float32")] * 2)
