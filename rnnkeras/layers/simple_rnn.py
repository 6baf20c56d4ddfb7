"""The vanilla (Elman) recurrent cell and layer: `h_t = act(x_t W + h_{t-1} U + b)`."""

import keras
from keras import ops

from rnnkeras.layers.cell import RecurrentCell
from rnnkeras.layers.recurrent import RecurrentLayer, cell_property


@keras.saving.register_keras_serializable(package="rnnkeras")
class SimpleRNNCell(RecurrentCell):
    """Cell of a fully connected RNN whose output is fed back as its state.

    One step computes `h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`,
    the Elman network (Elman, 1990, "Finding Structure in Time"). The weights have
    the layout of `keras.layers.SimpleRNNCell`: `kernel (features, units)`,
    `recurrent_kernel (units, units)`, `bias (units,)`, so `get_weights()` and
    `set_weights()` swap them both ways with the Keras built-in. Use it inside
    `keras.layers.RNN`, or use the `SimpleRNN` layer, which runs the same cell.

    Args:
        units: Positive integer, the size of the state `h` and of the output.
        activation: Activation of the new state (name or callable); `None`
            means linear. Default: `"tanh"`.
        use_bias: Whether to add `bias`. Default: `True`.
        kernel_initializer: Initializer of `kernel`, the input weights
            `(features, units)`. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`, the
            state-to-state weights `(units, units)`. Default: `"orthogonal"`.
        bias_initializer: Initializer of `bias` `(units,)`. Default: `"zeros"`.
        kernel_regularizer: Regularizer of `kernel`; its penalty is added to
            `losses`. Default: `None`.
        recurrent_regularizer: Regularizer of `recurrent_kernel`. Default: `None`.
        bias_regularizer: Regularizer of `bias`. Default: `None`.
        kernel_constraint: Constraint the optimizer applies to `kernel` after
            each update. Default: `None`.
        recurrent_constraint: Constraint applied to `recurrent_kernel`.
            Default: `None`.
        bias_constraint: Constraint applied to `bias`. Default: `None`.
        dropout: Fraction of the input features dropped while training, a float
            in `[0, 1)`. Default: `0.0`.
        recurrent_dropout: Fraction of the previous state `h_{t-1}` dropped while
            training, in `[0, 1)`. Default: `0.0`.
        seed: Integer seed of the dropout masks. Default: `None`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...); the
            `dtype` policy must be floating-point.

    Call arguments:
        inputs: One time step, `(batch, features)`.
        states: List holding the previous state `(batch, units)`.
        training: Whether dropout applies. Inside `keras.layers.RNN` the dropout
            masks are drawn once per sequence and reused at every step.

    Returns:
        `(output, [new_state])`, both `(batch, units)` (the same tensor).

    Raises:
        ValueError: At construction, if `units` is not a positive integer,
            `dropout` or `recurrent_dropout` lies outside `[0, 1)` or the `dtype`
            policy is not floating-point; when built, if the feature size (last
            axis of the input) is unknown.

    Example:

    >>> import numpy as np, keras
    >>> rnn = keras.layers.RNN(SimpleRNNCell(4))
    >>> tuple(rnn(np.ones((2, 5, 3), "float32")).shape)
    (2, 4)
    """

    gates = 1

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.state_size = self.units

    def step(self, projected, states, recurrent_mask=None):
        previous = states[0]
        if recurrent_mask is not None:
            previous = previous * recurrent_mask
        output = self.activation(projected + ops.matmul(previous, self.recurrent_kernel))
        return output, [output]


@keras.saving.register_keras_serializable(package="rnnkeras")
class SimpleRNN(RecurrentLayer):
    """Fully connected RNN layer, a drop-in for `keras.layers.SimpleRNN`.

    Runs `SimpleRNNCell` over the time axis: `h_t = activation(x_t @ kernel +
    h_{t-1} @ recurrent_kernel + bias)`, starting from zeros (Elman, 1990,
    "Finding Structure in Time"). It takes the same arguments as the Keras layer
    and keeps the same weights (`kernel (features, units)`, `recurrent_kernel
    (units, units)`, `bias (units,)`), so a model, a config or weights move
    between the two unchanged.

    On the PyTorch backend, with `activation` `"tanh"` or `"relu"`, no
    `unroll` and no recurrent dropout while training, it runs PyTorch's own
    fused kernel, the one behind `torch.nn.RNN` (`torch._VF.rnn_tanh` /
    `rnn_relu`: ATen's fused CPU kernel, cuDNN on CUDA), with the weights mapped
    on the fly (`rnnkeras.layers.torch_kernels`); it takes `use_bias=False`,
    `go_backwards`, `stateful`, `initial_state`, input dropout and right-padded
    masks. On TensorFlow, inference inside a compiled function (`predict`, a
    `tf.function`) runs the loop compiled by XLA. Everywhere else it runs
    rnnkeras' own loop. `rnnkeras.layers.kernel_dispatch` makes these decisions
    (`torch_kernel_blockers`, `xla_loop_blockers`) and lists why a path does
    not apply.

    Args:
        units: Positive integer, the size of the state `h` and of the output.
        activation: Activation of the new state (name or callable); `None`
            means linear. Default: `"tanh"`.
        use_bias: Whether to add `bias`. Default: `True`.
        kernel_initializer: Initializer of `kernel`, the input weights
            `(features, units)`. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`, the
            state-to-state weights `(units, units)`. Default: `"orthogonal"`.
        bias_initializer: Initializer of `bias` `(units,)`. Default: `"zeros"`.
        kernel_regularizer: Regularizer of `kernel`; its penalty is added to
            `losses`. Default: `None`.
        recurrent_regularizer: Regularizer of `recurrent_kernel`. Default: `None`.
        bias_regularizer: Regularizer of `bias`. Default: `None`.
        activity_regularizer: Regularizer of the layer's (first) output; Keras
            divides its penalty by the batch size. Default: `None`.
        kernel_constraint: Constraint the optimizer applies to `kernel` after
            each update. Default: `None`.
        recurrent_constraint: Constraint applied to `recurrent_kernel`.
            Default: `None`.
        bias_constraint: Constraint applied to `bias`. Default: `None`.
        dropout: Fraction of the input features dropped while training, a float
            in `[0, 1)`; one mask per sequence, reused at every step.
            Default: `0.0`.
        recurrent_dropout: Fraction of the previous state `h_{t-1}` dropped while
            training, in `[0, 1)`; one mask per sequence (the variational
            dropout of Gal & Ghahramani, 2016). Default: `0.0`.
        seed: Integer seed of the dropout masks. Default: `None`.
        return_sequences: Return the output of every step,
            `(batch, timesteps, units)`, instead of the last one,
            `(batch, units)`. Default: `False`.
        return_state: Also return the final state after the output.
            Default: `False`.
        go_backwards: Read the sequence from its last step to its first; with
            `return_sequences` the outputs come in that reversed order.
            Default: `False`.
        stateful: Start each batch from the final state of the previous one
            (sample `i` continues sample `i`); needs a fixed batch size, and
            `reset_states()` starts over. Default: `False`.
        unroll: Unroll the loop into the graph instead of a symbolic loop:
            faster for short sequences, more memory; needs a known number of
            time steps. Default: `False`.
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
        `(batch, timesteps, units)`; with `return_state`, the list
        `[output, h]`.

    Raises:
        ValueError: At construction, if `units` is not a positive integer,
            `dropout` or `recurrent_dropout` lies outside `[0, 1)` or the `dtype`
            policy is not floating-point. When called, if the input is not of
            rank 3, has no time step or an unknown feature size, or if
            `initial_state` is not one `(batch, units)` tensor.

    Example:

    >>> import numpy as np
    >>> layer = SimpleRNN(4, return_sequences=True)
    >>> tuple(layer(np.ones((2, 5, 3), "float32")).shape)
    (2, 5, 4)
    """

    # Keras has no fused SimpleRNN kernel (so no `use_cudnn`); PyTorch has `nn.RNN`'s.
    torch_kernel = "simple_rnn"

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
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
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
        super().__init__(SimpleRNNCell, "simple_rnn_cell", locals(), **kwargs)

    activation = cell_property("activation")
