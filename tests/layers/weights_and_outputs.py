"""Small helpers shared by the layer tests: random weights and output comparison."""

import keras
import numpy as np

ATOL = 1e-5


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
    got, expected = as_list(got), as_list(expected)
    assert len(got) == len(expected), f"{len(got)} outputs, expected {len(expected)}"
    for index, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert g.shape == e.shape, f"output {index}: shape {g.shape}, expected {e.shape}"
        np.testing.assert_allclose(g, e, rtol=0, atol=atol, err_msg=f"output {index}")
