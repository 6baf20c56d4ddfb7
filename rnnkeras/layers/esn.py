"""The leaky-integrator echo state network: a fixed random reservoir, only a readout learns.

`h_t = (1 - leaky) * h_{t-1} + leaky * act(x_t W_in + h_{t-1} W + b)`, with
`W_in`, `W` and `b` drawn once and never trained (Jaeger, Lukoševičius,
Popovici & Siewert, 2007, "Optimization and applications of echo state
networks with leaky-integrator neurons", Neural Networks 20(3)). Names,
arguments and the reservoir scaling follow TensorFlow Addons' `ESNCell`.
"""

import math

import keras
import numpy as np
from keras import activations, initializers, layers, ops
from keras import random as keras_random

from rnnkeras.layers.cell import check_float_dtype, check_units
from rnnkeras.layers.recurrent import RecurrentLayer, cell_property, describe_layer


def _seeded(initializer, seed):
    """`initializer` with `seed` if it takes one and was given none (else unchanged)."""
    config = initializer.get_config()
    if seed is None or "seed" not in config or config["seed"] is not None:
        return initializer
    return type(initializer).from_config({**config, "seed": seed})


def scale_reservoir(weights: np.ndarray, spectral_radius: float, use_norm2: bool) -> np.ndarray:
    """Scales a reservoir matrix to `spectral_radius`, as TensorFlow Addons' `ESNCell` does.

    Without `use_norm2`, the largest eigenvalue magnitude of the result equals
    `spectral_radius`. With it, the Frobenius norm (TFA's "norm 2",
    `sqrt(sum(W ** 2))`) does instead: it bounds the spectral radius from above
    and needs no eigenvalues. An all-zero matrix stays zero.

    Args:
        weights: Square matrix `(units, units)`.
        spectral_radius: The target, a positive float.
        use_norm2: Scale the Frobenius norm instead of the spectral radius.

    Returns:
        The scaled matrix, float64.

    Example:

    >>> import numpy as np
    >>> w = scale_reservoir(np.array([[0.0, 2.0], [2.0, 0.0]]), 0.5, use_norm2=False)
    >>> round(float(np.max(np.abs(np.linalg.eigvals(w)))), 6)
    0.5
    """
    weights = np.asarray(weights, dtype=np.float64)
    if use_norm2:
        size = float(np.sqrt(np.sum(weights**2)))
    else:
        size = float(np.max(np.abs(np.linalg.eigvals(weights))))
    return weights if size == 0.0 else weights * (spectral_radius / size)


def _check_fraction(value, name: str, owner: str, low_open: bool) -> float:
    valid = isinstance(value, (int, float)) and not isinstance(value, bool)
    valid = valid and (0 < value <= 1 if low_open else 0 <= value <= 1)
    if not valid:
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"{owner} expects `{name}` in {interval}. Received: {name}={value!r}")
    return float(value)


def check_reservoir_arguments(connectivity, leaky, spectral_radius, use_norm2, owner: str):
    """Returns `(connectivity, leaky, spectral_radius)` as floats once they are valid.

    Raises:
        ValueError: If `connectivity` lies outside `[0, 1]`, `leaky` outside
            `(0, 1]`, `spectral_radius` is not a positive finite number or
            `use_norm2` is not a bool.
    """
    connectivity = _check_fraction(connectivity, "connectivity", owner, low_open=False)
    leaky = _check_fraction(leaky, "leaky", owner, low_open=True)
    if (
        isinstance(spectral_radius, bool)
        or not isinstance(spectral_radius, (int, float))
        or not math.isfinite(spectral_radius)
        or spectral_radius <= 0
    ):
        raise ValueError(
            f"{owner} expects `spectral_radius` to be a positive finite number. "
            f"Received: spectral_radius={spectral_radius!r}"
        )
    if not isinstance(use_norm2, bool):
        raise ValueError(
            f"{owner} expects `use_norm2` to be True or False. Received: use_norm2={use_norm2!r}"
        )
    return connectivity, leaky, float(spectral_radius)


@keras.saving.register_keras_serializable(package="rnnkeras")
class ESNCell(layers.Layer):
    """Cell of a leaky-integrator echo state network (ESN); its weights never train.

    One step computes `h_t = (1 - leaky) * h_{t-1} + leaky * activation(x_t @
    kernel + h_{t-1} @ recurrent_kernel + bias)` (Jaeger, Lukoševičius, Popovici
    & Siewert, 2007, "Optimization and applications of echo state networks with
    leaky-integrator neurons"). `kernel`, `recurrent_kernel` and `bias` are drawn
    once when the cell is built and are non-trainable: an echo state network
    learns only its readout (e.g. a `Dense` layer on the states). The reservoir
    `recurrent_kernel` is `recurrent_initializer`'s draw with each entry kept
    with probability `connectivity`, then scaled so that its spectral radius
    (largest eigenvalue magnitude) is `spectral_radius`, below 1 for the echo
    state property in the usual setting. Arguments, defaults and semantics are
    those of TensorFlow Addons' `tfa.rnn.ESNCell` (see `docs/cells.md` for the
    migration); TFA's `get_weights()` order is `[recurrent_kernel, kernel, bias]`,
    ours `[kernel, recurrent_kernel, bias]`.

    Args:
        units: Positive integer, the reservoir size (state and output).
        connectivity: Probability that a reservoir connection exists, in
            `[0, 1]`. Default: `0.1`.
        leaky: Leaking rate `a` in `(0, 1]`; `1` is a plain (non-leaky) ESN.
            Default: `1.0`.
        spectral_radius: The reservoir's spectral radius after scaling, a
            positive float. Default: `0.9`.
        use_norm2: Scale the reservoir's Frobenius norm (TFA's "norm 2", an upper
            bound of the spectral radius) to `spectral_radius` instead of its
            eigenvalues; cheaper for big reservoirs, smaller spectral radius.
            Default: `False`.
        use_bias: Whether to add the (fixed) `bias`. Default: `True`.
        activation: Activation of the reservoir (name or callable).
            Default: `"tanh"`.
        kernel_initializer: Initializer of the input weights `kernel`
            `(features, units)`. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of the reservoir before the sparsity
            mask and the scaling, `(units, units)`. Default: `"glorot_uniform"`.
        bias_initializer: Initializer of `bias` `(units,)`. Default: `"zeros"`.
        seed: Integer seed of the reservoir: with a seed, the connectivity mask
            and every initializer given without its own seed draw from it, so
            the same seed gives the same reservoir. Default: `None` (Keras'
            global seed, `keras.utils.set_random_seed`).
        **kwargs: Base layer arguments (`name`, `dtype`, ...); the `dtype` policy
            must be floating-point.

    Call arguments:
        inputs: One time step, `(batch, features)`.
        states: List holding the previous state `(batch, units)`.
        training: Unused (an ESN has no dropout).

    Returns:
        `(output, [new_state])`, both `(batch, units)` (the same tensor).

    Raises:
        ValueError: At construction, if `units` is not a positive integer,
            `connectivity` lies outside `[0, 1]`, `leaky` outside `(0, 1]`,
            `spectral_radius` is not a positive number, `use_norm2` is not a
            bool or the `dtype` policy is not floating-point; when built, if the
            feature size is unknown.

    Example:

    >>> import numpy as np, keras
    >>> rnn = keras.layers.RNN(ESNCell(6, leaky=0.5, seed=1))
    >>> tuple(rnn(np.ones((2, 5, 3), "float32")).shape), len(rnn.trainable_weights)
    ((2, 6), 0)
    """

    # An ESN has no dropout; `RecurrentLayer` reads these rates from every cell.
    dropout = 0.0
    recurrent_dropout = 0.0

    def __init__(
        self,
        units,
        connectivity=0.1,
        leaky=1.0,
        spectral_radius=0.9,
        use_norm2=False,
        use_bias=True,
        activation="tanh",
        kernel_initializer="glorot_uniform",
        recurrent_initializer="glorot_uniform",
        bias_initializer="zeros",
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
        self.seed = seed
        self.seed_generator = keras_random.SeedGenerator(seed=seed)
        self.connectivity, self.leaky, self.spectral_radius = check_reservoir_arguments(
            connectivity, leaky, spectral_radius, use_norm2, owner
        )
        self.use_norm2 = use_norm2
        self.state_size = self.units
        self.output_size = self.units

    def _offset_seed(self, offset: int):
        return None if self.seed is None else self.seed + offset

    def _reservoir_initializer(self, shape, dtype=None):
        dense = _seeded(self.recurrent_initializer, self._offset_seed(1))(shape, dtype=dtype)
        draw = keras_random.uniform(shape, seed=self.seed_generator)
        sparse = ops.convert_to_numpy(dense) * (ops.convert_to_numpy(draw) < self.connectivity)
        # The eigenvalues are computed once, at build, in float64 (NumPy works the
        # same on every backend; TFA used tf.linalg.eig).
        scaled = scale_reservoir(sparse, self.spectral_radius, self.use_norm2)
        return ops.convert_to_tensor(scaled, dtype=dtype)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' needs a known feature dimension "
                f"(last axis). Received: input_shape={tuple(input_shape)}"
            )
        self.kernel = self.add_weight(
            shape=(input_dim, self.units),
            name="kernel",
            initializer=_seeded(self.kernel_initializer, self._offset_seed(0)),
            trainable=False,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units),
            name="recurrent_kernel",
            initializer=self._reservoir_initializer,
            trainable=False,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,),
                name="bias",
                initializer=_seeded(self.bias_initializer, self._offset_seed(2)),
                trainable=False,
            )

    def project_inputs(self, inputs):
        """Input-to-reservoir product of one step, `(batch, features)` to `(batch, units)`."""
        projected = ops.matmul(inputs, self.kernel)
        return projected if self.bias is None else projected + self.bias

    def step(self, projected, states, recurrent_mask=None):
        """One step from the projected input; returns `(output, [new_state])`."""
        previous = states[0]
        update = self.activation(projected + ops.matmul(previous, self.recurrent_kernel))
        output = (1.0 - self.leaky) * previous + self.leaky * update
        return output, [output]

    def call(self, inputs, states, training=False):
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        return self.step(self.project_inputs(inputs), states)

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        config = {
            "units": self.units,
            "connectivity": self.connectivity,
            "leaky": self.leaky,
            "spectral_radius": self.spectral_radius,
            "use_norm2": self.use_norm2,
            "use_bias": self.use_bias,
            "activation": activations.serialize(self.activation),
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="rnnkeras")
class ESN(RecurrentLayer):
    """Echo state network layer: a fixed random leaky-integrator reservoir.

    Runs `ESNCell` over the time axis: `h_t = (1 - leaky) * h_{t-1} + leaky *
    activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`, from zeros
    (Jaeger, Lukoševičius, Popovici & Siewert, 2007, "Optimization and
    applications of echo state networks with leaky-integrator neurons"). Its
    weights are drawn once and never trained, so in a model only the layers
    after it (the readout) learn: put a `Dense` on top, or collect the states
    (`return_sequences=True`) and fit a linear readout by least squares. The
    reservoir keeps each connection with probability `connectivity` and is
    scaled to `spectral_radius`. Arguments and semantics are those of
    TensorFlow Addons' `tfa.layers.ESN` (see `docs/cells.md`).

    Args:
        units: Positive integer, the reservoir size (state and output).
        connectivity: Probability that a reservoir connection exists, in
            `[0, 1]`. Default: `0.1`.
        leaky: Leaking rate `a` in `(0, 1]`; `1` is a plain (non-leaky) ESN.
            Default: `1.0`.
        spectral_radius: The reservoir's spectral radius after scaling, a
            positive float. Default: `0.9`.
        use_norm2: Scale the reservoir's Frobenius norm (an upper bound of the
            spectral radius) instead of its eigenvalues. Default: `False`.
        use_bias: Whether to add the (fixed) `bias`. Default: `True`.
        activation: Activation of the reservoir (name or callable).
            Default: `"tanh"`.
        kernel_initializer: Initializer of the input weights `kernel`
            `(features, units)`. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of the reservoir before the sparsity
            mask and the scaling. Default: `"glorot_uniform"`.
        bias_initializer: Initializer of `bias` `(units,)`. Default: `"zeros"`.
        seed: Integer seed of the reservoir (mask and unseeded initializers):
            the same seed gives the same reservoir. Default: `None`.
        activity_regularizer: Regularizer of the layer's (first) output.
            Default: `None`.
        return_sequences: Return every step's state `(batch, timesteps, units)`
            instead of the last one `(batch, units)`. Default: `False`.
        return_state: Also return the final state. Default: `False`.
        go_backwards: Read the sequence from its last step to its first.
            Default: `False`.
        stateful: Start each batch from the previous batch's final state;
            `reset_states()` starts over. Default: `False`.
        unroll: Unroll the loop instead of a symbolic loop. Default: `False`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...); the `dtype` policy
            must be floating-point.

    Call arguments:
        sequences: `(batch, timesteps, features)`.
        initial_state: Optional list with one `(batch, units)` tensor.
        mask: Optional boolean `(batch, timesteps)`; a masked step keeps the
            state and repeats the previous output.
        training: Unused (an ESN has no dropout).

    Returns:
        The output, `(batch, units)` or with `return_sequences`
        `(batch, timesteps, units)`; with `return_state`, the list `[output, h]`.

    Raises:
        ValueError: At construction, for the arguments `ESNCell` refuses; when
            called, if the input is not of rank 3, has no time step or an unknown
            feature size, or if `initial_state` is not one `(batch, units)` tensor.

    Example:

    >>> import numpy as np, keras
    >>> model = keras.Sequential([keras.Input((5, 3)), ESN(20, seed=0), keras.layers.Dense(2)])
    >>> [w.name for w in model.trainable_weights]
    ['kernel', 'bias']
    """

    def __init__(
        self,
        units,
        connectivity=0.1,
        leaky=1.0,
        spectral_radius=0.9,
        use_norm2=False,
        use_bias=True,
        activation="tanh",
        kernel_initializer="glorot_uniform",
        recurrent_initializer="glorot_uniform",
        bias_initializer="zeros",
        seed=None,
        activity_regularizer=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        **kwargs,
    ):
        # Checked here too, so that the error names the layer the user built.
        check_reservoir_arguments(
            connectivity, leaky, spectral_radius, use_norm2, describe_layer(type(self), kwargs)
        )
        super().__init__(ESNCell, "esn_cell", locals(), **kwargs)

    activation = cell_property("activation")
    connectivity = cell_property("connectivity")
    leaky = cell_property("leaky")
    spectral_radius = cell_property("spectral_radius")
    use_norm2 = cell_property("use_norm2")
