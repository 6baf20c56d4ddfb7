"""Gated Recurrent Unit (Cho et al., 2014), in both Keras bias layouts."""

import keras
from keras import activations, ops

from rnnkeras.layers.cell import RecurrentCell
from rnnkeras.layers.recurrent import RecurrentLayer, cell_property


@keras.saving.register_keras_serializable(package="rnnkeras")
class GRUCell(RecurrentCell):
    """GRU cell with the gate order and weight layout of `keras.layers.GRUCell`.

    Gated Recurrent Unit (Cho et al., 2014, "Learning Phrase Representations
    using RNN Encoder-Decoder"). One step computes the update gate `z`, the reset
    gate `r` and the candidate `n` from `x_t` and `h_{t-1}`, then
    `h_t = z * h_{t-1} + (1 - z) * n`. The kernels hold the gates side by side in
    the order update, reset, candidate: `kernel (features, 3 * units)`,
    `recurrent_kernel (units, 3 * units)`, so weights swap both ways with the
    Keras built-in.

    Args:
        units: Positive integer, the size of the state `h` and of the output.
        activation: Activation of the candidate state; `None` means linear.
            Default: `"tanh"`.
        recurrent_activation: Activation of the update and reset gates.
            Default: `"sigmoid"`.
        reset_after: Where the reset gate applies. `True` (the cuDNN variant and
            the Keras default): `n = act(x_t @ W_n + r * (h_{t-1} @ U_n + b_Un) + b_Wn)`,
            with two bias rows, `bias (2, 3 * units)` (input bias, recurrent
            bias). `False` (the paper's variant):
            `n = act(x_t @ W_n + (r * h_{t-1}) @ U_n + b_n)`, with
            `bias (3 * units,)`. Default: `True`.
        use_bias: Whether to add `bias`. Default: `True`.
        kernel_initializer: Initializer of `kernel`, the input weights
            `(features, 3 * units)`. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`, the
            state-to-gates weights `(units, 3 * units)`. Default: `"orthogonal"`.
        bias_initializer: Initializer of `bias`. Default: `"zeros"`.
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
        `(h_t, [h_t])`, each `(batch, units)`.

    Raises:
        ValueError: At construction, if `units` is not a positive integer,
            `dropout` or `recurrent_dropout` lies outside `[0, 1)` or the `dtype`
            policy is not floating-point; when built, if the feature size (last
            axis of the input) is unknown.

    Example:

    >>> import numpy as np, keras
    >>> rnn = keras.layers.RNN(GRUCell(4, reset_after=False))
    >>> tuple(rnn(np.ones((2, 5, 3), "float32")).shape)
    (2, 4)
    """

    gates = 3

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        reset_after=True,
        **kwargs,
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = reset_after
        self.state_size = self.units

    def build_bias(self):
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        return self.add_weight(
            shape=shape,
            name="bias",
            initializer=self.bias_initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )

    def input_bias(self):
        return self.bias[0] if self.reset_after else self.bias

    def step(self, projected, states, recurrent_mask=None):
        h_previous = states[0]
        h_dropped = h_previous if recurrent_mask is None else h_previous * recurrent_mask
        x_update, x_reset, x_candidate = ops.split(projected, 3, axis=-1)
        if self.reset_after:
            inner = ops.matmul(h_dropped, self.recurrent_kernel)
            if self.use_bias:
                inner = inner + self.bias[1]
            inner_update, inner_reset, inner_candidate = ops.split(inner, 3, axis=-1)
            update = self.recurrent_activation(x_update + inner_update)
            reset = self.recurrent_activation(x_reset + inner_reset)
            candidate = self.activation(x_candidate + reset * inner_candidate)
        else:
            gates_kernel = self.recurrent_kernel[:, : 2 * self.units]
            candidate_kernel = self.recurrent_kernel[:, 2 * self.units :]
            inner_update, inner_reset = ops.split(ops.matmul(h_dropped, gates_kernel), 2, axis=-1)
            update = self.recurrent_activation(x_update + inner_update)
            reset = self.recurrent_activation(x_reset + inner_reset)
            candidate = self.activation(
                x_candidate + ops.matmul(reset * h_dropped, candidate_kernel)
            )
        h = update * h_previous + (1.0 - update) * candidate
        return h, [h]

    def get_config(self):
        config = {
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="rnnkeras")
class GRU(RecurrentLayer):
    """GRU layer, a drop-in for `keras.layers.GRU` (same arguments and weights).

    Runs `GRUCell` over the time axis from a zero state: the Gated Recurrent Unit
    (Cho et al., 2014), in either of the two Keras bias layouts (`reset_after`);
    see `GRUCell` for the equations. The weights keep the Keras layout, gates side
    by side in the order update, reset, candidate: `kernel (features, 3 * units)`,
    `recurrent_kernel (units, 3 * units)`, `bias (2, 3 * units)` (or
    `(3 * units,)` with `reset_after=False`), so a model, a config or weights move
    between this layer and the Keras built-in unchanged.

    On a GPU, with the cuDNN-compatible configuration (`tanh`, `sigmoid`,
    `reset_after=True`, a bias, no recurrent dropout, no `unroll`, and no mask
    except a right-padded one on TensorFlow), it runs the same fused kernel as
    the Keras built-in. On the PyTorch backend it otherwise runs PyTorch's own fused
    kernel, the one behind `torch.nn.GRU` (with `tanh`, `sigmoid`, `reset_after=True`,
    no `unroll`, no recurrent dropout while training; it takes right-padded masks).
    Everywhere else it runs rnnkeras' own loop, which on TensorFlow runs compiled by
    XLA for inference inside a compiled function (`predict`, a `tf.function`).
    `rnnkeras.layers.kernel_dispatch` makes these decisions (`fused_kernel_blockers`,
    `torch_kernel_blockers`, `xla_loop_blockers`) and lists why a path does not apply.

    Args:
        units: Positive integer, the size of the state `h` and of the output.
        activation: Activation of the candidate state; `None` means linear.
            Default: `"tanh"`.
        recurrent_activation: Activation of the update and reset gates.
            Default: `"sigmoid"`.
        use_bias: Whether to add `bias`. Default: `True`.
        kernel_initializer: Initializer of `kernel`, the input weights
            `(features, 3 * units)`. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`, the
            state-to-gates weights `(units, 3 * units)`. Default: `"orthogonal"`.
        bias_initializer: Initializer of `bias`. Default: `"zeros"`.
        kernel_regularizer: Regularizer of `kernel`, e.g. `"l2"` or
            `keras.regularizers.L2(1e-4)`; its penalty is added to `losses` and so
            to the training loss. Default: `None`.
        recurrent_regularizer: Regularizer of `recurrent_kernel`. Default: `None`.
        bias_regularizer: Regularizer of `bias`. Default: `None`.
        activity_regularizer: Regularizer of the layer's (first) output; Keras
            divides its penalty by the batch size. Default: `None`.
        kernel_constraint: Constraint the optimizer applies to `kernel` after
            each update, e.g. `"non_neg"`. Default: `None`.
        recurrent_constraint: Constraint applied to `recurrent_kernel`.
            Default: `None`.
        bias_constraint: Constraint applied to `bias`. Default: `None`.
        dropout: Fraction of the input features dropped while training, a float
            in `[0, 1)`; one mask per sequence, reused at every step.
            Default: `0.0`.
        recurrent_dropout: Fraction of the previous state `h_{t-1}` dropped while
            training, in `[0, 1)`; one mask per sequence (the variational dropout
            of Gal & Ghahramani, 2016). Any value above zero rules out the fused
            kernel. Default: `0.0`.
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
        reset_after: Apply the reset gate after the recurrent product (`True`,
            the cuDNN variant, bias `(2, 3 * units)`) or before it (`False`, the
            paper's variant, bias `(3 * units,)`). Default: `True`.
        use_cudnn: `"auto"` runs the fused kernel whenever it can, `True`
            requires it (a call that cannot use it raises), `False` never uses
            it and keeps the loop out of XLA and PyTorch's own kernel too (the
            plain loop, which export asks for). Default: `"auto"`.
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
            `dropout` or `recurrent_dropout` lies outside `[0, 1)`, the `dtype`
            policy is not floating-point or `use_cudnn` is not `"auto"`, `True`
            or `False`. When called, if the input is not of rank 3, has no time
            step or an unknown feature size, if `initial_state` is not one
            `(batch, units)` tensor, or if `use_cudnn=True` and the fused kernel
            cannot run (the message lists the reasons).

    Example:

    >>> import numpy as np
    >>> tuple(GRU(4, go_backwards=True)(np.ones((2, 5, 3), "float32")).shape)
    (2, 4)
    """

    fused_kernel = "gru"

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
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
        reset_after=True,
        use_cudnn="auto",
        **kwargs,
    ):
        super().__init__(GRUCell, "gru_cell", locals(), **kwargs)

    activation = cell_property("activation")
    recurrent_activation = cell_property("recurrent_activation")
    reset_after = cell_property("reset_after")
