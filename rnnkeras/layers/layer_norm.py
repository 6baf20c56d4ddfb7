"""Layer normalization inside a recurrence (Ba, Kiros & Hinton, 2016), shared by our three
layer-normalized cells (`LayerNormSimpleRNNCell`, `LayerNormLSTMCell`, `LayerNormGRUCell`).

Each normalized tensor is standardized over its last axis, per sample and per
time step, then scaled by a gain `gamma` and, where the cell has one, shifted by
`beta`: `gamma * (v - mean(v)) / sqrt(var(v) + epsilon) + beta`, the formula of
`keras.layers.LayerNormalization` (biased variance, `epsilon` inside the square
root), which TensorFlow Addons' cells used.

Example:

>>> import numpy as np, keras
>>> v = keras.ops.convert_to_tensor([[1.0, 2.0, 3.0]])
>>> normalized = layer_normalize(v, np.ones(3, "float32"), None, 1e-3)
>>> np.round(keras.ops.convert_to_numpy(normalized), 3)
array([[-1.224,  0.   ,  1.224]], dtype=float32)
"""

import numbers

from keras import constraints, initializers, ops, regularizers


def layer_normalize(values, gamma, beta, epsilon: float):
    """`gamma * (values - mean) / sqrt(variance + epsilon) (+ beta)` over the last axis.

    Args:
        values: `(batch, width)`.
        gamma: The gain, `(width,)`.
        beta: The shift, `(width,)`, or `None` for none.
        epsilon: Added to the variance before the square root.

    Returns:
        A tensor like `values`.
    """
    mean, variance = ops.moments(values, axes=[-1], keepdims=True)
    normalized = (values - mean) * ops.rsqrt(variance + epsilon) * gamma
    return normalized if beta is None else normalized + beta


def check_epsilon(epsilon, name: str, owner: str) -> float:
    """Returns `epsilon` as a float if it is a positive number.

    Args:
        epsilon: The value the user passed.
        name: The argument's name as the user wrote it (`norm_epsilon`, `layernorm_epsilon`).
        owner: How the error names the cell, e.g. `"LayerNormLSTMCell 'cell'"`.

    Raises:
        ValueError: If `epsilon` is not a real number above zero (`True` is refused too).
    """
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not epsilon > 0:
        raise ValueError(
            f"{owner} expects `{name}` to be a positive number. Received: {name}={epsilon!r}"
        )
    return float(epsilon)


def add_norm_weights(
    cell,
    prefix: str,
    width: int,
    gamma_initializer,
    beta_initializer=None,
    gamma_regularizer=None,
    gamma_constraint=None,
):
    """Creates the gain `<prefix>_gamma` and, with a `beta_initializer`, the shift `<prefix>_beta`.

    Args:
        cell: The cell that owns the weights (they are created in this order).
        prefix: What is normalized, e.g. `"kernel_norm"` (TensorFlow Addons' sublayer names).
        width: Size of the normalized axis.
        gamma_initializer: Initializer of the gain.
        beta_initializer: Initializer of the shift; `None` creates no shift.
        gamma_regularizer: Regularizer of the gain.
        gamma_constraint: Constraint of the gain.

    Returns:
        `(gamma, beta)`, `beta` being `None` without a shift.
    """
    gamma = cell.add_weight(
        shape=(width,),
        name=f"{prefix}_gamma",
        initializer=initializers.get(gamma_initializer),
        regularizer=regularizers.get(gamma_regularizer),
        constraint=constraints.get(gamma_constraint),
    )
    if beta_initializer is None:
        return gamma, None
    beta = cell.add_weight(
        shape=(width,), name=f"{prefix}_beta", initializer=initializers.get(beta_initializer)
    )
    return gamma, beta
