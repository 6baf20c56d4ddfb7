"""What every layer test shares: standard sizes, inputs, random weights, output checks.

`run_layer_contract` plays the part of Keras' `run_layer_test`
(`keras/src/testing/test_case.py`): one function that builds, calls, serializes
and freezes a layer and checks what a Keras layer promises at each step.
Test modules import it as `from tests.layers import harness`.
"""

import keras
import numpy as np

# Features differ from units so that a kernel `(FEATURES, n * UNITS)` cannot be
# confused with a recurrent kernel `(UNITS, n * UNITS)`.
BATCH, TIMESTEPS, FEATURES, UNITS = 4, 6, 3, 5
# One row per batch entry: a full row, a partial one, a single step, almost full.
LENGTHS = [6, 4, 1, 5]
ATOL = 1e-5


def inputs(rng, batch=BATCH, timesteps=TIMESTEPS, features=FEATURES):
    """Standard-normal float32 sequences `(batch, timesteps, features)`."""
    return rng.normal(size=(batch, timesteps, features)).astype("float32")


def padding_mask(lengths=LENGTHS, timesteps=TIMESTEPS):
    """A boolean mask `(len(lengths), timesteps)`: row `i` keeps its first `lengths[i]` steps."""
    return np.arange(timesteps)[None, :] < np.asarray(lengths)[:, None]


def randomize(layer, rng, scale=0.5):
    """Sets every weight of a built layer to N(0, scale^2) draws and returns them."""
    weights = [rng.normal(0.0, scale, size=w.shape).astype(np.float32) for w in layer.get_weights()]
    layer.set_weights(weights)
    return weights


def to_numpy(tensor):
    """A tensor of any backend as a NumPy array (also a PyTorch tensor that requires grad)."""
    return keras.ops.convert_to_numpy(tensor)


def as_list(outputs):
    """A layer's result (tensor or list/tuple of tensors) as a list of NumPy arrays."""
    if isinstance(outputs, (list, tuple)):
        return [to_numpy(o) for o in outputs]
    return [to_numpy(outputs)]


def assert_outputs_close(got, expected, atol=ATOL):
    """Same number of outputs, same shapes, values within `atol` (no relative slack)."""
    got, expected = as_list(got), as_list(expected)
    assert len(got) == len(expected), f"{len(got)} outputs, expected {len(expected)}"
    for index, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert g.shape == e.shape, f"output {index}: shape {g.shape}, expected {e.shape}"
        np.testing.assert_allclose(g, e, rtol=0, atol=atol, err_msg=f"output {index}")


def run_layer_contract(layer, x, *, output_width, weight_shapes):
    """Checks a fresh sequence-to-vector layer against the Keras layer contract.

    In order: its config round-trips through `from_config`; a symbolic call builds
    it with output `(None, output_width)`; its trainable weights have
    `weight_shapes` (in order) and it has no other weights; an eager call on `x`
    and `compute_output_shape` agree on `(batch, output_width)`; freezing it
    (`trainable = False`) moves every weight to `non_trainable_weights`.

    Args:
        layer: an unbuilt layer returning only its last output.
        x: eager inputs `(batch, timesteps, features)`.
        output_width: the size of the output's last axis.
        weight_shapes: the expected shapes of `layer.trainable_weights`.
    """
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    batch, _, features = x.shape
    symbolic = layer(keras.Input((None, features)))
    assert tuple(symbolic.shape) == (None, output_width)
    assert layer.built
    assert [tuple(w.shape) for w in layer.trainable_weights] == weight_shapes
    assert layer.non_trainable_weights == []
    output = layer(x)
    assert tuple(output.shape) == (batch, output_width)
    assert tuple(layer.compute_output_shape(x.shape)) == (batch, output_width)
    layer.trainable = False
    assert layer.trainable_weights == []
    assert len(layer.non_trainable_weights) == len(weight_shapes)
