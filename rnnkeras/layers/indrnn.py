"""The independently recurrent network: `h_t = act(x_t W + u * h_{t-1} + b)`, `u` a vector.

Li, Li, Cook, Zhu & Gao (CVPR 2018), "Independently Recurrent Neural Network
(IndRNN): Building A Longer and Deeper RNN". Each unit sees only its own previous
state, so bounding `|u_n|` bounds the gradient over `T` steps (section 3.1).
"""

import math

import keras
from keras import constraints, initializers, ops

from rnnkeras.layers.cell import RecurrentCell
from rnnkeras.layers.recurrent import RecurrentLayer, cell_property, describe_layer

# The paper's bound on the gradient growth over T steps with ReLU (section 3.1).
PAPER_GAMMA = 2.0


def recurrent_range(timesteps: int, gamma: float = PAPER_GAMMA) -> tuple[float, float]:
    """The paper's range `[gamma ** (-1 / T), gamma ** (1 / T)]` of `|u|` for `T` steps.

    With ReLU, `|u_n| <= gamma ** (1 / T)` keeps a gradient from growing by more
    than `gamma` over `T` steps; `|u_n| >= gamma ** (-1 / T)` keeps it from
    shrinking below `1 / gamma`, which the paper uses to initialize the last
    layer of a long-memory task (Li et al., 2018, section 3.1).

    Args:
        timesteps: The sequence length `T`, a positive integer.
        gamma: The largest gradient growth allowed over `T` steps, > 1.
            Default: `2.0` (the paper's choice).

    Returns:
        `(low, high)`, e.g. `(0.5 ** (1 / T), 2 ** (1 / T))`.

    Raises:
        ValueError: If `timesteps` is not a positive integer or `gamma <= 1`.

    Example:

    >>> [round(bound, 4) for bound in recurrent_range(100)]
    [0.9931, 1.007]
    """
    if isinstance(timesteps, bool) or not isinstance(timesteps, int) or timesteps <= 0:
        raise ValueError(
            f"recurrent_range expects `timesteps` to be a positive integer. "
            f"Received: timesteps={timesteps!r}"
        )
    if not isinstance(gamma, (int, float)) or not gamma > 1:
        raise ValueError(f"recurrent_range expects `gamma` > 1. Received: gamma={gamma!r}")
    return gamma ** (-1.0 / timesteps), gamma ** (1.0 / timesteps)


@keras.saving.register_keras_serializable(package="rnnkeras")
class IndRNNRecurrentConstraint(constraints.Constraint):
    """Keeps every recurrent weight's magnitude in `[min_abs, max_abs]`, sign unchanged.

    The paper's regulation of IndRNN's recurrent weights (Li et al., 2018,
    section 3.1), applied by the optimizer after each update like any Keras
    constraint: `u <- sign(u) * clip(|u|, min_abs, max_abs)`.

    Args:
        max_abs: Largest allowed `|u|`, a positive float (e.g.
            `recurrent_range(T)[1]`).
        min_abs: Smallest allowed `|u|`, in `[0, max_abs]`. Default: `0.0`.

    Raises:
        ValueError: If `max_abs <= 0` or `min_abs` lies outside `[0, max_abs]`.

    Example:

    >>> import numpy as np
    >>> clip = IndRNNRecurrentConstraint(1.0, min_abs=0.5)
    >>> np.asarray(clip(np.array([-2.0, 0.1, 0.7], "float32"))).tolist()
    [-1.0, 0.5, 0.699999988079071]
    """

    def __init__(self, max_abs: float, min_abs: float = 0.0):
        if not isinstance(max_abs, (int, float)) or not math.isfinite(max_abs) or max_abs <= 0:
            raise ValueError(
                f"IndRNNRecurrentConstraint expects a positive finite `max_abs`. "
                f"Received: max_abs={max_abs!r}"
            )
        if not isinstance(min_abs, (int, float)) or not 0 <= min_abs <= max_abs:
            raise ValueError(
                f"IndRNNRecurrentConstraint expects `min_abs` in [0, max_abs={max_abs}]. "
                f"Received: min_abs={min_abs!r}"
            )
        self.max_abs = float(max_abs)
        self.min_abs = float(min_abs)

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        # sign(0) is 0: a weight at exactly zero is lifted to +min_abs.
        sign = ops.where(w < 0, -1.0, 1.0)
        return ops.cast(sign, w.dtype) * ops.clip(ops.abs(w), self.min_abs, self.max_abs)

    def get_config(self):
        return {"max_abs": self.max_abs, "min_abs": self.min_abs}


def check_bound_arguments(recurrent_max, timesteps, recurrent_constraint, owner: str):
    """Returns the bound on `|u|` that `recurrent_max` and `timesteps` give (or `None`).

    Raises:
        ValueError: If `recurrent_max` is not a positive finite number, `timesteps`
            not a positive integer, or either comes with a `recurrent_constraint`.
    """
    if timesteps is not None and (
        isinstance(timesteps, bool) or not isinstance(timesteps, int) or timesteps <= 0
    ):
        raise ValueError(
            f"{owner} expects `timesteps` to be a positive integer or None. "
            f"Received: timesteps={timesteps!r}"
        )
    if recurrent_max is not None and (
        isinstance(recurrent_max, bool)
        or not isinstance(recurrent_max, (int, float))
        or not math.isfinite(recurrent_max)
        or recurrent_max <= 0
    ):
        raise ValueError(
            f"{owner} expects `recurrent_max` to be a positive finite number or None. "
            f"Received: recurrent_max={recurrent_max!r}"
        )
    if (recurrent_max is not None or timesteps is not None) and recurrent_constraint is not None:
        raise ValueError(
            f"{owner} expects either `recurrent_max`/`timesteps` or a "
            f"`recurrent_constraint`, not both. Received: recurrent_max={recurrent_max!r}, "
            f"timesteps={timesteps!r}, recurrent_constraint={recurrent_constraint!r}"
        )
    if recurrent_max is None:
        return None if timesteps is None else recurrent_range(timesteps)[1]
    return float(recurrent_max)


@keras.saving.register_keras_serializable(package="rnnkeras")
class IndRNNCell(RecurrentCell):
    """Cell of an independently recurrent network (IndRNN).

    One step computes `h_t = activation(x_t @ kernel + recurrent_kernel * h_{t-1}
    + bias)`, where `recurrent_kernel` is a vector `u` of `units` weights and `*`
    is elementwise: each unit sees only its own previous state (Li et al., CVPR
    2018, "Independently Recurrent Neural Network (IndRNN): Building A Longer
    and Deeper RNN"). With ReLU, bounding `|u_n| <= 2 ** (1 / T)` keeps
    gradients over `T` steps from exploding while `u_n` near 1 keeps them from
    vanishing (section 3.1); `recurrent_max` or `timesteps` set that bound,
    applied as `IndRNNRecurrentConstraint` after every optimizer update. Use it
    inside `keras.layers.RNN`, or use the `IndRNN` layer, which runs the same cell.

    Args:
        units: Positive integer, the size of the state `h` and of the output.
        activation: Activation of the new state (name or callable); `None`
            means linear. Default: `"relu"` (the paper's).
        use_bias: Whether to add `bias`. Default: `True`.
        kernel_initializer: Initializer of `kernel` `(features, units)`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel` `(units,)`.
            Default `None`: uniform in `[0, recurrent_max]`, or in `[0, 1]`
            without a bound (as the paper's and the reference implementations'
            code do). For a long-memory last layer the paper draws `|u|` from
            `recurrent_range(T)`, e.g. `keras.initializers.RandomUniform(*recurrent_range(T))`.
        bias_initializer: Initializer of `bias` `(units,)`. Default: `"zeros"`.
        kernel_regularizer: Regularizer of `kernel`. Default: `None`.
        recurrent_regularizer: Regularizer of `recurrent_kernel`. Default: `None`.
        bias_regularizer: Regularizer of `bias`. Default: `None`.
        kernel_constraint: Constraint applied to `kernel`. Default: `None`.
        recurrent_constraint: Constraint applied to `recurrent_kernel`, e.g.
            `IndRNNRecurrentConstraint(max_abs, min_abs)`; not together with
            `recurrent_max`/`timesteps`. Default: `None`.
        bias_constraint: Constraint applied to `bias`. Default: `None`.
        recurrent_max: Largest allowed `|u_n|` (the paper's `gamma ** (1 / T)`),
            a positive float, or `None` for no bound. Default: `None`.
        timesteps: The sequence length `T` the bound is set for: without
            `recurrent_max`, the bound becomes `2 ** (1 / T)` (the paper's
            choice with ReLU). Default: `None`.
        dropout: Fraction of the input features dropped while training, in
            `[0, 1)`. Default: `0.0`.
        recurrent_dropout: Fraction of `h_{t-1}` dropped while training, in
            `[0, 1)`. Default: `0.0`.
        seed: Integer seed of the dropout masks. Default: `None`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...); the
            `dtype` policy must be floating-point.

    Call arguments:
        inputs: One time step, `(batch, features)`.
        states: List holding the previous state `(batch, units)`.
        training: Whether dropout applies.

    Returns:
        `(output, [new_state])`, both `(batch, units)` (the same tensor).

    Raises:
        ValueError: At construction, if `units` is not a positive integer,
            `recurrent_max` is not a positive number, `timesteps` not a positive
            integer, `recurrent_max`/`timesteps` come with a
            `recurrent_constraint`, a dropout rate lies outside `[0, 1)` or the
            `dtype` policy is not floating-point; when built, if the feature size
            is unknown.

    Example:

    >>> import numpy as np, keras
    >>> rnn = keras.layers.RNN(IndRNNCell(4, timesteps=5))
    >>> tuple(rnn(np.ones((2, 5, 3), "float32")).shape)
    (2, 4)
    """

    gates = 1

    def __init__(
        self,
        units,
        activation="relu",
        recurrent_initializer=None,
        recurrent_constraint=None,
        recurrent_max=None,
        timesteps=None,
        **kwargs,
    ):
        super().__init__(units, activation=activation, **kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.recurrent_max = check_bound_arguments(
            recurrent_max, timesteps, recurrent_constraint, owner
        )
        self.given_recurrent_max = recurrent_max
        self.timesteps = timesteps
        # What the user passed is what `get_config` writes back; the bound and
        # the default initializer are derived from `recurrent_max` again on load.
        self.given_recurrent_initializer = initializers.get(recurrent_initializer)
        self.given_recurrent_constraint = constraints.get(recurrent_constraint)
        high = 1.0 if self.recurrent_max is None else self.recurrent_max
        self.recurrent_initializer = self.given_recurrent_initializer or (
            initializers.RandomUniform(0.0, high, seed=self.seed)
        )
        self.recurrent_constraint = self.given_recurrent_constraint or (
            None if self.recurrent_max is None else IndRNNRecurrentConstraint(self.recurrent_max)
        )
        self.state_size = self.units

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
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        # One recurrent weight per unit: the paper's `u`, a vector, not a matrix.
        self.recurrent_kernel = self.add_weight(
            shape=(self.units,),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = self.build_bias() if self.use_bias else None

    def step(self, projected, states, recurrent_mask=None):
        previous = states[0]
        if recurrent_mask is not None:
            previous = previous * recurrent_mask
        output = self.activation(projected + self.recurrent_kernel * previous)
        return output, [output]

    def get_config(self):
        config = super().get_config()
        config["recurrent_initializer"] = initializers.serialize(self.given_recurrent_initializer)
        config["recurrent_constraint"] = constraints.serialize(self.given_recurrent_constraint)
        config["recurrent_max"] = self.given_recurrent_max
        config["timesteps"] = self.timesteps
        return config


@keras.saving.register_keras_serializable(package="rnnkeras")
class IndRNN(RecurrentLayer):
    """Independently recurrent layer (IndRNN): each unit sees only its own previous state.

    Runs `IndRNNCell` over the time axis: `h_t = activation(x_t @ kernel +
    recurrent_kernel * h_{t-1} + bias)` with a recurrent weight vector `u`
    (Li et al., CVPR 2018, "Independently Recurrent Neural Network (IndRNN):
    Building A Longer and Deeper RNN"). With ReLU and `|u_n| <= 2 ** (1 / T)`
    (`timesteps=T` or `recurrent_max`), gradients neither explode nor vanish over
    thousands of steps (the paper trains the adding problem at T = 5,000), and
    since ReLU does not saturate, IndRNNs stack deep: use
    `StackedRNN([IndRNN(...), IndRNN(...), ...], residual=True)` for the paper's
    deep and residual IndRNN. Weights: `kernel (features, units)`,
    `recurrent_kernel (units,)`, `bias (units,)`. No fused (cuDNN) kernel
    exists for it; on TensorFlow, inference in a compiled function runs the loop
    compiled by XLA (`rnnkeras.layers.kernel_dispatch.xla_loop_blockers`).

    Args:
        units: Positive integer, the size of the state `h` and of the output.
        activation: Activation of the new state (name or callable); `None`
            means linear. Default: `"relu"` (the paper's).
        use_bias: Whether to add `bias`. Default: `True`.
        kernel_initializer: Initializer of `kernel` `(features, units)`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel` `(units,)`.
            Default `None`: uniform in `[0, recurrent_max]`, or in `[0, 1]`
            without a bound. For a long-memory last layer the paper draws `|u|`
            from `recurrent_range(T)`:
            `keras.initializers.RandomUniform(*recurrent_range(T))`.
        bias_initializer: Initializer of `bias` `(units,)`. Default: `"zeros"`.
        kernel_regularizer: Regularizer of `kernel`. Default: `None`.
        recurrent_regularizer: Regularizer of `recurrent_kernel`. Default: `None`.
        bias_regularizer: Regularizer of `bias`. Default: `None`.
        activity_regularizer: Regularizer of the layer's (first) output.
            Default: `None`.
        kernel_constraint: Constraint applied to `kernel`. Default: `None`.
        recurrent_constraint: Constraint applied to `recurrent_kernel`, e.g.
            `IndRNNRecurrentConstraint(max_abs, min_abs)`; not together with
            `recurrent_max`/`timesteps`. Default: `None`.
        bias_constraint: Constraint applied to `bias`. Default: `None`.
        recurrent_max: Largest allowed `|u_n|` after each optimizer update (the
            paper's `gamma ** (1 / T)`), or `None` for no bound. Default: `None`.
        timesteps: The sequence length `T` the bound is set for: without
            `recurrent_max`, the bound is `2 ** (1 / T)`. Default: `None`.
        dropout: Fraction of the input features dropped while training, in
            `[0, 1)`; one mask per sequence. Default: `0.0`.
        recurrent_dropout: Fraction of `h_{t-1}` dropped while training, in
            `[0, 1)`; one mask per sequence. Default: `0.0`.
        seed: Integer seed of the dropout masks and of the default recurrent
            initializer. Default: `None`.
        return_sequences: Return every step's output `(batch, timesteps, units)`
            instead of the last one `(batch, units)`. Default: `False`.
        return_state: Also return the final state. Default: `False`.
        go_backwards: Read the sequence from its last step to its first.
            Default: `False`.
        stateful: Start each batch from the previous batch's final state;
            `reset_states()` starts over. Default: `False`.
        unroll: Unroll the loop instead of a symbolic loop. Default: `False`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...); the
            `dtype` policy must be floating-point.

    Call arguments:
        sequences: `(batch, timesteps, features)`.
        initial_state: Optional list with one `(batch, units)` tensor.
        mask: Optional boolean `(batch, timesteps)`; a masked step keeps the
            state and repeats the previous output.
        training: Whether dropout applies.

    Returns:
        The output, `(batch, units)` or with `return_sequences`
        `(batch, timesteps, units)`; with `return_state`, the list `[output, h]`.

    Raises:
        ValueError: At construction, for the arguments `IndRNNCell` refuses; when
            called, if the input is not of rank 3, has no time step or an unknown
            feature size, or if `initial_state` is not one `(batch, units)` tensor.

    Example:

    >>> import numpy as np
    >>> layer = IndRNN(4, timesteps=5, return_sequences=True)
    >>> tuple(layer(np.ones((2, 5, 3), "float32")).shape)
    (2, 5, 4)
    """

    def __init__(
        self,
        units,
        activation="relu",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer=None,
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        recurrent_max=None,
        timesteps=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        **kwargs,
    ):
        # Checked here too, so that the error names the layer the user built.
        check_bound_arguments(
            recurrent_max, timesteps, recurrent_constraint, describe_layer(type(self), kwargs)
        )
        super().__init__(IndRNNCell, "indrnn_cell", locals(), **kwargs)

    activation = cell_property("activation")
    recurrent_max = cell_property("recurrent_max")
    timesteps = cell_property("timesteps")
