"""Long Short-Term Memory (Hochreiter & Schmidhuber, 1997), with a forget gate
(Gers et al., 2000) whose bias starts at one (Jozefowicz et al., 2015) and an
optional projection of the hidden state (Sak, Senior & Beaufays, 2014)."""

import keras
from keras import activations, initializers, ops

from rnnkeras.layers.cell import RecurrentCell, check_units
from rnnkeras.layers.recurrent import RecurrentLayer, cell_property, describe_layer


def check_proj_size(proj_size, units: int, owner: str):
    """Returns `proj_size` if it is `None` or an integer in `[1, units)`.

    Args:
        proj_size: The value the user passed as `proj_size`.
        units: The cell's `units`; a projection is narrower, as in PyTorch.
        owner: How the error names the layer or cell.

    Raises:
        ValueError: If `proj_size` is neither `None` nor an integer with
            `0 < proj_size < units` (`True` is refused too).
    """
    if proj_size is None:
        return None
    if isinstance(proj_size, bool) or not isinstance(proj_size, int) or not 0 < proj_size < units:
        raise ValueError(
            f"{owner} expects `proj_size` to be None or an integer in [1, units={units}). "
            f"Received: proj_size={proj_size!r}"
        )
    return proj_size


def check_layer_proj_size(layer_class: type, units, proj_size, kwargs: dict) -> None:
    """`check_proj_size` for a layer under construction (after checking `units`).

    Raises:
        ValueError: If `units` or `proj_size` is invalid; the message names the layer.
    """
    owner = describe_layer(layer_class, kwargs)
    check_proj_size(proj_size, check_units(units, owner), owner)


@keras.saving.register_keras_serializable(package="rnnkeras")
class LSTMCell(RecurrentCell):
    """LSTM cell with the gate order and weight layout of `keras.layers.LSTMCell`.

    Long Short-Term Memory (Hochreiter & Schmidhuber, 1997) with a forget gate
    (Gers et al., 2000). One step computes, for the previous `h` and `c`,
    `z = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias` (one product for all
    four gates), splits `z` into the input, forget, cell and output parts
    `i, f, g, o`, then `c_t = σ(f) * c_{t-1} + σ(i) * act(g)` and
    `h_t = σ(o) * act(c_t)`, with `σ = recurrent_activation` and
    `act = activation`. The kernels hold the gates side by side in that order:
    `kernel (features, 4 * units)`, `recurrent_kernel (units, 4 * units)`,
    `bias (4 * units,)`, so weights swap both ways with the Keras built-in.

    With `proj_size=P` (Sak, Senior & Beaufays, 2014, "Long Short-Term Memory
    Recurrent Neural Network Architectures for Large Scale Acoustic
    Modeling"), `h_t = (σ(o) * act(c_t)) @ projection_kernel`, with
    `projection_kernel (units, P)`: `h`, the output and the rows of
    `recurrent_kernel (P, 4 * units)` shrink to `P` while `c` keeps `units`,
    as in `torch.nn.LSTM(proj_size=P)` (its `weight_hr_l0` is
    `projection_kernel` transposed).

    Args:
        units: Positive integer, the size of the cell state `c` and, without
            `proj_size`, of the hidden state `h` and of the output.
        activation: Activation of the cell candidate `g` and of `c_t` before the
            output gate; `None` means linear. Default: `"tanh"`.
        recurrent_activation: Activation of the input, forget and output gates.
            Default: `"sigmoid"`.
        unit_forget_bias: Start the forget-gate part of `bias` at one and the rest
            at `bias_initializer`, as Jozefowicz et al. (2015) recommend (only
            with `use_bias=True`). Default: `True`.
        proj_size: `None` (no projection), or an integer in `[1, units)`, the
            size of the projected `h` and of the output. `projection_kernel` is
            created after the other weights and uses `kernel_initializer`,
            `kernel_regularizer` and `kernel_constraint`. Default: `None`.
        use_bias: Whether to add `bias`. Default: `True`.
        kernel_initializer: Initializer of `kernel`, the input weights
            `(features, 4 * units)`. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`, the
            state-to-gates weights `(units or proj_size, 4 * units)`.
            Default: `"orthogonal"`.
        bias_initializer: Initializer of `bias` `(4 * units,)`. Default: `"zeros"`.
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
        recurrent_dropout: Fraction of the previous hidden state `h_{t-1}`
            dropped while training, in `[0, 1)` (the cell state is never
            dropped). Default: `0.0`.
        seed: Integer seed of the dropout masks. Default: `None`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...); the
            `dtype` policy must be floating-point.

    Call arguments:
        inputs: One time step, `(batch, features)`.
        states: `[h, c]`, `(batch, units)` each (`h` is `(batch, proj_size)`
            with a projection).
        training: Whether dropout applies. Inside `keras.layers.RNN` the dropout
            masks are drawn once per sequence and reused at every step.

    Returns:
        `(h_t, [h_t, c_t])`, shaped as the states.

    Raises:
        ValueError: At construction, if `units` is not a positive integer,
            `proj_size` is not `None` or an integer in `[1, units)`, `dropout`
            or `recurrent_dropout` lies outside `[0, 1)` or the `dtype` policy
            is not floating-point; when built, if the feature size (last axis of
            the input) is unknown.

    Example:

    >>> import numpy as np, keras
    >>> rnn = keras.layers.RNN(LSTMCell(4), return_state=True)
    >>> output, h, c = rnn(np.ones((2, 5, 3), "float32"))
    >>> tuple(output.shape), tuple(c.shape)
    ((2, 4), (2, 4))
    """

    gates = 4

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        unit_forget_bias=True,
        proj_size=None,
        **kwargs,
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias
        self.proj_size = check_proj_size(
            proj_size, self.units, f"{type(self).__name__} '{self.name}'"
        )
        # With a projection, h (the output and the recurrent input) has
        # proj_size entries while the cell state c keeps units.
        self.output_size = self.units if proj_size is None else proj_size
        self.state_size = [self.output_size, self.units]

    def build(self, input_shape):
        super().build(input_shape)
        if self.proj_size is not None:
            # As torch.nn.LSTM's weight_hr, transposed to the Keras (in, out) layout.
            self.projection_kernel = self.add_weight(
                shape=(self.units, self.proj_size),
                name="projection_kernel",
                initializer=self.kernel_initializer,
                regularizer=self.kernel_regularizer,
                constraint=self.kernel_constraint,
            )

    def build_bias(self):
        initializer = self.bias_initializer
        if self.unit_forget_bias:
            base = self.bias_initializer
            units = self.units

            def initializer(_, *args, **kwargs):
                return ops.concatenate(
                    [
                        base((units,), *args, **kwargs),
                        initializers.get("ones")((units,), *args, **kwargs),
                        base((2 * units,), *args, **kwargs),
                    ]
                )

        return self.add_weight(
            shape=(4 * self.units,),
            name="bias",
            initializer=initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )

    def step(self, projected, states, recurrent_mask=None):
        h_previous, c_previous = states
        if recurrent_mask is not None:
            h_previous = h_previous * recurrent_mask
        z = projected + ops.matmul(h_previous, self.recurrent_kernel)
        z_input, z_forget, z_cell, z_output = ops.split(z, 4, axis=-1)
        c = self.recurrent_activation(z_forget) * c_previous + self.recurrent_activation(
            z_input
        ) * self.activation(z_cell)
        return self.hidden_state(z_output, c)

    def hidden_state(self, z_output, c):
        """`h_t = σ(o) * act(c_t)`, projected by `projection_kernel` when `proj_size` is set.

        Returns:
            `(h_t, [h_t, c_t])`.
        """
        h = self.recurrent_activation(z_output) * self.activation(c)
        if self.proj_size is not None:
            h = ops.matmul(h, self.projection_kernel)
        return h, [h, c]

    def get_config(self):
        config = {
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }
        # Left out when unset, so configs (and .keras files) without a
        # projection stay exactly those of earlier versions and of Keras.
        if self.proj_size is not None:
            config["proj_size"] = self.proj_size
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="rnnkeras")
class LSTM(RecurrentLayer):
    """LSTM layer, a drop-in for `keras.layers.LSTM` (same arguments and weights).

    Runs `LSTMCell` over the time axis from zero states: Long Short-Term Memory
    (Hochreiter & Schmidhuber, 1997) with a forget gate (Gers et al., 2000); see
    `LSTMCell` for the equations. The weights keep the Keras layout, gates side
    by side in the order input, forget, cell, output: `kernel
    (features, 4 * units)`, `recurrent_kernel (units, 4 * units)`,
    `bias (4 * units,)`, so a model, a config or weights move between this layer
    and the Keras built-in unchanged.

    `proj_size=P` adds a projection of the hidden state (Sak, Senior &
    Beaufays, 2014): `h_t = (σ(o) * tanh(c_t)) @ projection_kernel
    (units, P)`, so `h`, the output and the rows of `recurrent_kernel` have
    `P` entries while `c` keeps `units`; it computes what
    `torch.nn.LSTM(proj_size=P)` computes (weights map as in `LSTMCell`).
    Without it (the default) the layer, its weights and its config are
    exactly those of earlier versions.

    On a GPU, with the cuDNN-compatible configuration (`tanh`, `sigmoid`, a
    bias, no recurrent dropout, no `unroll`, no `proj_size`, and no mask except
    a right-padded one on TensorFlow), it runs the same fused kernel as the Keras built-in.
    On the PyTorch backend it otherwise runs PyTorch's own fused kernel, the one behind
    `torch.nn.LSTM` (with `tanh`, `sigmoid`, no `unroll`, no recurrent dropout while
    training; it takes `proj_size` and right-padded masks). Everywhere else it runs
    rnnkeras' own loop, which on TensorFlow runs compiled by XLA for inference inside a
    compiled function (`predict`, a `tf.function`). `rnnkeras.layers.kernel_dispatch`
    makes these decisions (`fused_kernel_blockers`, `torch_kernel_blockers`,
    `xla_loop_blockers`) and lists why a path does not apply.

    Args:
        units: Positive integer, the size of the cell state `c` and, without
            `proj_size`, of the hidden state `h` and of the output.
        activation: Activation of the cell candidate and of `c_t` before the
            output gate; `None` means linear. Default: `"tanh"`.
        recurrent_activation: Activation of the input, forget and output gates.
            Default: `"sigmoid"`.
        use_bias: Whether to add `bias`. Default: `True`.
        kernel_initializer: Initializer of `kernel`, the input weights
            `(features, 4 * units)` (and of `projection_kernel`).
            Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`, the
            state-to-gates weights `(units or proj_size, 4 * units)`.
            Default: `"orthogonal"`.
        bias_initializer: Initializer of `bias` `(4 * units,)`. Default: `"zeros"`.
        unit_forget_bias: Start the forget-gate part of `bias` at one and the rest
            at `bias_initializer` (Jozefowicz et al., 2015); only with
            `use_bias=True`. Default: `True`.
        kernel_regularizer: Regularizer of `kernel`, e.g. `"l2"` or
            `keras.regularizers.L2(1e-4)`; its penalty is added to `losses` and so
            to the training loss; it applies to `projection_kernel` too.
            Default: `None`.
        recurrent_regularizer: Regularizer of `recurrent_kernel`. Default: `None`.
        bias_regularizer: Regularizer of `bias`. Default: `None`.
        activity_regularizer: Regularizer of the layer's (first) output; Keras
            divides its penalty by the batch size. Default: `None`.
        kernel_constraint: Constraint the optimizer applies to `kernel` (and
            `projection_kernel`) after each update, e.g. `"non_neg"`.
            Default: `None`.
        recurrent_constraint: Constraint applied to `recurrent_kernel`.
            Default: `None`.
        bias_constraint: Constraint applied to `bias`. Default: `None`.
        dropout: Fraction of the input features dropped while training, a float
            in `[0, 1)`; one mask per sequence, reused at every step.
            Default: `0.0`.
        recurrent_dropout: Fraction of the previous hidden state `h_{t-1}`
            dropped while training, in `[0, 1)`; one mask per sequence (the
            variational dropout of Gal & Ghahramani, 2016). Any value above zero
            rules out the fused kernel. Default: `0.0`.
        seed: Integer seed of the dropout masks. Default: `None`.
        return_sequences: Return the output of every step,
            `(batch, timesteps, units)`, instead of the last one,
            `(batch, units)`. Default: `False`.
        return_state: Also return the final states `h` and `c` after the output.
            Default: `False`.
        go_backwards: Read the sequence from its last step to its first; with
            `return_sequences` the outputs come in that reversed order.
            Default: `False`.
        stateful: Start each batch from the final states of the previous one
            (sample `i` continues sample `i`); needs a fixed batch size, and
            `reset_states()` starts over. Default: `False`.
        unroll: Unroll the loop into the graph instead of a symbolic loop:
            faster for short sequences, more memory; needs a known number of
            time steps. Default: `False`.
        use_cudnn: `"auto"` runs the fused kernel whenever it can, `True`
            requires it (a call that cannot use it raises), `False` never uses
            it and keeps the loop out of XLA and PyTorch's own kernel too (the
            plain loop, which export asks for). Default: `"auto"`.
        proj_size: `None` (no projection), or an integer in `[1, units)`: the
            size of the projected hidden state and of the output. Rules out the
            fused (cuDNN) kernel: none of Keras' backend LSTM kernels takes
            projection weights; PyTorch's own kernel does. Default: `None`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...); the
            `dtype` policy must be floating-point.

    Call arguments:
        sequences: `(batch, timesteps, features)`.
        initial_state: Optional `[h, c]`, `(batch, proj_size or units)` and
            `(batch, units)`.
        mask: Optional boolean `(batch, timesteps)`; a masked step keeps the
            states and repeats the previous output.
        training: Whether dropout applies.

    Returns:
        The output, `(batch, width)` or with `return_sequences`
        `(batch, timesteps, width)`, where `width` is `proj_size` if set, else
        `units`; with `return_state`, the list `[output, h, c]`.

    Raises:
        ValueError: At construction, if `units` is not a positive integer,
            `proj_size` is not `None` or an integer in `[1, units)`, `dropout`
            or `recurrent_dropout` lies outside `[0, 1)`, the `dtype` policy is
            not floating-point or `use_cudnn` is not `"auto"`, `True` or
            `False`. When called, if the input is not of rank 3, has no time
            step or an unknown feature size, if `initial_state` does not match
            the state sizes, or if `use_cudnn=True` and the fused kernel cannot
            run (the message lists the reasons).

    Example:

    >>> import numpy as np
    >>> output, h, c = LSTM(4, return_state=True)(np.ones((2, 5, 3), "float32"))
    >>> tuple(output.shape), tuple(h.shape), tuple(c.shape)
    ((2, 4), (2, 4), (2, 4))
    >>> output, h, c = LSTM(4, proj_size=2, return_state=True)(np.ones((2, 5, 3), "float32"))
    >>> tuple(output.shape), tuple(h.shape), tuple(c.shape)
    ((2, 2), (2, 2), (2, 4))
    """

    fused_kernel = "lstm"

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
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
        use_cudnn="auto",
        proj_size=None,
        **kwargs,
    ):
        # Checked here so that the error names the layer, not its cell.
        check_layer_proj_size(type(self), units, proj_size, kwargs)
        super().__init__(LSTMCell, "lstm_cell", locals(), **kwargs)

    activation = cell_property("activation")
    recurrent_activation = cell_property("recurrent_activation")
    unit_forget_bias = cell_property("unit_forget_bias")
    proj_size = cell_property("proj_size")
