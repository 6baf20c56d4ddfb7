"""Shared machinery of the rnnkeras recurrent cells.

A cell splits one time step into two parts:

- `project_inputs(x)`: the input-to-hidden product `x @ kernel (+ bias)`;
- `step(projected, states, recurrent_mask)`: everything that depends on the
  previous state, with one matrix product `h @ recurrent_kernel` for all gates.

`call` (one step, as `keras.layers.RNN` uses it) is the composition of both.
Our layers compose them the same way inside their loop, adding what a plain
cell call cannot carry: the dropout masks drawn once per sequence and the
gradient-flow probe (`state_perturbation`).
"""

from keras import (
    activations,
    backend,
    constraints,
    dtype_policies,
    initializers,
    layers,
    ops,
    regularizers,
)
from keras import random as keras_random

from rnnkeras.layers.keras_internals import DropoutRNNCell


def check_units(units, owner: str) -> int:
    """Returns `units` if it is a positive integer.

    Args:
        units: The value the user passed as `units`.
        owner: How the error names the layer or cell, e.g. `"LSTM layer 'lstm'"`.

    Raises:
        ValueError: If `units` is not a positive `int` (`True` is refused too).
    """
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise ValueError(
            f"{owner} expects `units` to be a positive integer. Received: units={units!r}"
        )
    return units


def check_rate(rate, name: str, owner: str) -> float:
    """Returns a dropout rate as a float if it lies in `[0, 1)`.

    Args:
        rate: The value the user passed.
        name: The argument's name as the user wrote it (`dropout`, `recurrent_dropout`).
        owner: How the error names the layer or cell.

    Raises:
        ValueError: If `rate` is not a number in `[0, 1)`.
    """
    if not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
        raise ValueError(f"{owner} expects `{name}` in [0, 1). Received: {name}={rate!r}")
    return float(rate)


def check_float_dtype(dtype, owner: str):
    """Returns `dtype` if its policy computes and stores floats.

    A recurrent layer multiplies by weights and applies `tanh`/`sigmoid`: an
    integer, boolean, complex or string policy could only fail later, inside the
    backend, with an error that names neither the layer nor the argument.

    Args:
        dtype: The `dtype` the user passed (a name, a policy or `None` for the
            global policy).
        owner: How the error names the layer or cell.

    Raises:
        ValueError: If the policy's compute or variable dtype is not floating-point.
    """
    policy = dtype_policies.get(dtype)
    if not all(
        backend.is_float_dtype(kind) for kind in (policy.compute_dtype, policy.variable_dtype)
    ):
        raise ValueError(
            f"{owner} expects a floating-point `dtype` (e.g. 'float32', 'float16' or "
            f"'mixed_float16'). Received: dtype={dtype!r}"
        )
    return dtype


class RecurrentCell(layers.Layer, DropoutRNNCell):
    """Base class of our cells: weights, dropout masks and serialization.

    Subclasses set `gates` (how many `units`-wide blocks the kernels hold),
    implement `step` and, if their bias is not `(gates * units,)`,
    `build_bias` and `input_bias`/`recurrent_bias`.
    """

    gates = 1

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        check_float_dtype(kwargs.get("dtype"), owner)
        self.units = check_units(units, owner)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = check_rate(dropout, "dropout", owner)
        self.recurrent_dropout = check_rate(recurrent_dropout, "recurrent_dropout", owner)
        self.seed = seed
        self.seed_generator = keras_random.SeedGenerator(seed=seed)
        self.output_size = self.units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' needs a known feature dimension "
                f"(last axis). Received: input_shape={tuple(input_shape)}"
            )
        width = self.gates * self.units
        self.kernel = self.add_weight(
            shape=(input_dim, width),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        # It multiplies h_{t-1}, the previous output (narrower than `units`
        # in a projection LSTM).
        self.recurrent_kernel = self.add_weight(
            shape=(self.output_size, width),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = self.build_bias() if self.use_bias else None

    def build_bias(self):
        """Creates the bias; the default is one vector over all gates."""
        return self.add_weight(
            shape=(self.gates * self.units,),
            name="bias",
            initializer=self.bias_initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )

    def input_bias(self):
        """The bias added to the input projection (`None` without bias)."""
        return self.bias

    def project_inputs(self, inputs):
        """Input-to-hidden product of one step: `(batch, features)` to `(batch, gates * units)`."""
        projected = ops.matmul(inputs, self.kernel)
        bias = self.input_bias() if self.use_bias else None
        return projected if bias is None else projected + bias

    def step(self, projected, states, recurrent_mask=None):
        """One time step from the projected input; returns `(output, new_states)`."""
        raise NotImplementedError

    def call(self, inputs, states, training=False):
        if not isinstance(states, (list, tuple)):
            states = [states]
        if training and self.dropout > 0:
            inputs = inputs * self.get_dropout_mask(inputs)
        recurrent_mask = None
        if training and self.recurrent_dropout > 0:
            recurrent_mask = self.get_recurrent_dropout_mask(states[0])
        return self.step(self.project_inputs(inputs), list(states), recurrent_mask)

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in sizes]

    def get_config(self):
        config = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}
