"""LSTM with peephole connections (Gers, Schraudolph & Schmidhuber, 2002).

The gates also read the cell state through diagonal weights: the input and
forget gates see `c_{t-1}`, the output gate sees `c_t`. Semantics, weight
names and order are those of Keras 2's `tf.keras.experimental.PeepholeLSTMCell`,
so its users can migrate (see `docs/cells.md`).
"""

import keras
from keras import ops

from rnnkeras.layers.lstm import LSTMCell, check_layer_proj_size
from rnnkeras.layers.recurrent import RecurrentLayer, cell_property

PEEPHOLE_WEIGHTS = (
    "input_gate_peephole_weights",
    "forget_gate_peephole_weights",
    "output_gate_peephole_weights",
)


@keras.saving.register_keras_serializable(package="rnnkeras")
class PeepholeLSTMCell(LSTMCell):
    """LSTM cell whose gates also read the cell state (peephole connections).

    Gers, Schraudolph & Schmidhuber (2002), "Learning Precise Timing with LSTM
    Recurrent Networks", as Keras 2's `tf.keras.experimental.PeepholeLSTMCell`
    computes it. With `z = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias`
    split into `z_i, z_f, z_g, z_o` (the `LSTMCell` layout):

    - `i = σ(z_i + w_i ⊙ c_{t-1})`, `f = σ(z_f + w_f ⊙ c_{t-1})`;
    - `c_t = f ⊙ c_{t-1} + i ⊙ act(z_g)`;
    - `o = σ(z_o + w_o ⊙ c_t)` (the output gate sees the new cell state);
    - `h_t = o ⊙ act(c_t)`, then `h_t @ projection_kernel` with `proj_size`.

    `w_i, w_f, w_o` are the weights `input_gate_peephole_weights`,
    `forget_gate_peephole_weights`, `output_gate_peephole_weights`, each
    `(units,)`, created after `kernel`, `recurrent_kernel`, `bias` (and
    `projection_kernel`) and initialized by `kernel_initializer`, as in Keras 2
    (which gives them no regularizer or constraint either), so `get_weights()`
    of a Keras 2 cell loads with `set_weights()`.

    Args:
        units: Positive integer, the size of the cell state `c` and, without
            `proj_size`, of the hidden state `h` and the output.
        activation: Activation of the cell candidate and of `c_t` before the
            output gate; `None` means linear. Default: `"tanh"`.
        recurrent_activation: Activation `σ` of the three gates.
            Default: `"sigmoid"`.
        unit_forget_bias: Start the forget-gate part of `bias` at one
            (Jozefowicz et al., 2015); only with `use_bias=True`. Default: `True`.
        proj_size: `None`, or an integer in `[1, units)`: `h` is then projected
            to `proj_size` entries (Sak, Senior & Beaufays, 2014, whose LSTMP
            has peepholes too); see `LSTMCell`. Default: `None`.
        use_bias: Whether to add `bias` `(4 * units,)`. Default: `True`.
        kernel_initializer: Initializer of `kernel` `(features, 4 * units)`, of
            the peephole weights and of `projection_kernel`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`
            `(output size, 4 * units)`. Default: `"orthogonal"`.
        bias_initializer: Initializer of `bias`. Default: `"zeros"`.
        kernel_regularizer: Regularizer of `kernel` (and `projection_kernel`).
            Default: `None`.
        recurrent_regularizer: Regularizer of `recurrent_kernel`. Default: `None`.
        bias_regularizer: Regularizer of `bias`. Default: `None`.
        kernel_constraint: Constraint on `kernel` (and `projection_kernel`).
            Default: `None`.
        recurrent_constraint: Constraint on `recurrent_kernel`. Default: `None`.
        bias_constraint: Constraint on `bias`. Default: `None`.
        dropout: Fraction of the input features dropped while training, in
            `[0, 1)`. Default: `0.0`.
        recurrent_dropout: Fraction of `h_{t-1}` dropped while training, in
            `[0, 1)` (never `c`, which the peepholes read). Default: `0.0`.
        seed: Integer seed of the dropout masks. Default: `None`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...); the `dtype`
            policy must be floating-point.

    Call arguments:
        inputs: One time step, `(batch, features)`.
        states: `[h, c]`, `(batch, output size)` and `(batch, units)`.
        training: Whether dropout applies.

    Returns:
        `(h_t, [h_t, c_t])`.

    Raises:
        ValueError: At construction, if `units` is not a positive integer,
            `proj_size` is not `None` or an integer in `[1, units)`, a dropout
            rate lies outside `[0, 1)` or the `dtype` policy is not
            floating-point; when built, if the feature size is unknown.

    Example:

    >>> import numpy as np, keras
    >>> cell = PeepholeLSTMCell(4)
    >>> output = keras.layers.RNN(cell)(np.ones((2, 5, 3), "float32"))
    >>> tuple(output.shape), tuple(cell.input_gate_peephole_weights.shape)
    ((2, 4), (4,))
    """

    def build(self, input_shape):
        super().build(input_shape)
        for name in PEEPHOLE_WEIGHTS:
            setattr(
                self,
                name,
                self.add_weight(
                    shape=(self.units,), name=name, initializer=self.kernel_initializer
                ),
            )

    def step(self, projected, states, recurrent_mask=None):
        h_previous, c_previous = states
        if recurrent_mask is not None:
            h_previous = h_previous * recurrent_mask
        z = projected + ops.matmul(h_previous, self.recurrent_kernel)
        z_input, z_forget, z_cell, z_output = ops.split(z, 4, axis=-1)
        sigma = self.recurrent_activation
        i = sigma(z_input + self.input_gate_peephole_weights * c_previous)
        f = sigma(z_forget + self.forget_gate_peephole_weights * c_previous)
        c = f * c_previous + i * self.activation(z_cell)
        return self.hidden_state(z_output + self.output_gate_peephole_weights * c, c)


@keras.saving.register_keras_serializable(package="rnnkeras")
class PeepholeLSTM(RecurrentLayer):
    """LSTM layer with peephole connections (Gers, Schraudolph & Schmidhuber, 2002).

    Runs `PeepholeLSTMCell` over the time axis: the input and forget gates
    also read `c_{t-1}`, the output gate reads `c_t`, through the diagonal
    weights `input_gate_peephole_weights`, `forget_gate_peephole_weights` and
    `output_gate_peephole_weights` `(units,)`; see `PeepholeLSTMCell` for the
    equations. It replaces Keras 2's
    `keras.layers.RNN(tf.keras.experimental.PeepholeLSTMCell(units))`.

    cuDNN's LSTM has no peephole weights, so this layer always runs rnnkeras'
    own loop (`rnnkeras.layers.kernel_dispatch` lists why); on TensorFlow that
    loop runs compiled by XLA for inference inside a compiled function.

    Args:
        units: Positive integer, the size of the cell state `c` and, without
            `proj_size`, of the hidden state `h` and the output.
        activation: Activation of the cell candidate and of `c_t` before the
            output gate; `None` means linear. Default: `"tanh"`.
        recurrent_activation: Activation of the three gates.
            Default: `"sigmoid"`.
        use_bias: Whether to add `bias` `(4 * units,)`. Default: `True`.
        kernel_initializer: Initializer of `kernel` `(features, 4 * units)`, of
            the peephole weights and of `projection_kernel`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`
            `(output size, 4 * units)`. Default: `"orthogonal"`.
        bias_initializer: Initializer of `bias`. Default: `"zeros"`.
        unit_forget_bias: Start the forget-gate part of `bias` at one
            (Jozefowicz et al., 2015); only with `use_bias=True`. Default: `True`.
        kernel_regularizer: Regularizer of `kernel` (and `projection_kernel`),
            e.g. `"l2"`; its penalty is added to `losses`. Default: `None`.
        recurrent_regularizer: Regularizer of `recurrent_kernel`. Default: `None`.
        bias_regularizer: Regularizer of `bias`. Default: `None`.
        activity_regularizer: Regularizer of the layer's (first) output.
            Default: `None`.
        kernel_constraint: Constraint on `kernel` (and `projection_kernel`)
            after each update. Default: `None`.
        recurrent_constraint: Constraint on `recurrent_kernel`. Default: `None`.
        bias_constraint: Constraint on `bias`. Default: `None`.
        dropout: Fraction of the input features dropped while training, in
            `[0, 1)`; one mask per sequence. Default: `0.0`.
        recurrent_dropout: Fraction of `h_{t-1}` dropped while training, in
            `[0, 1)`; one mask per sequence. Default: `0.0`.
        seed: Integer seed of the dropout masks. Default: `None`.
        return_sequences: Return every step's output,
            `(batch, timesteps, output size)`, instead of the last one.
            Default: `False`.
        return_state: Also return the final `h` and `c`. Default: `False`.
        go_backwards: Read the sequence from its last step. Default: `False`.
        stateful: Start each batch from the previous batch's final states;
            `reset_states()` starts over. Default: `False`.
        unroll: Unroll the loop (short sequences, known length).
            Default: `False`.
        proj_size: `None`, or an integer in `[1, units)`: the output and `h`
            are projected to `proj_size` entries (Sak, Senior & Beaufays,
            2014). Default: `None`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...).

    Call arguments:
        sequences: `(batch, timesteps, features)`.
        initial_state: Optional `[h, c]`, `(batch, output size)` and
            `(batch, units)`.
        mask: Optional boolean `(batch, timesteps)`; a masked step keeps the
            states and repeats the previous output.
        training: Whether dropout applies.

    Returns:
        The output, `(batch, output size)` or with `return_sequences`
        `(batch, timesteps, output size)`; with `return_state`, `[output, h, c]`.
        The output size is `proj_size` if set, else `units`.

    Raises:
        ValueError: At construction, if `units` is not a positive integer,
            `proj_size` is not `None` or an integer in `[1, units)`, a dropout
            rate lies outside `[0, 1)` or the `dtype` policy is not
            floating-point. When called, if the input is not of rank 3, has no
            time step or an unknown feature size, or if `initial_state` does
            not match the state sizes.

    Example:

    >>> import numpy as np
    >>> output, h, c = PeepholeLSTM(4, return_state=True)(np.ones((2, 5, 3), "float32"))
    >>> tuple(output.shape), tuple(c.shape)
    ((2, 4), (2, 4))
    """

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
        proj_size=None,
        **kwargs,
    ):
        # Checked here so that the error names the layer, not its cell.
        check_layer_proj_size(type(self), units, proj_size, kwargs)
        super().__init__(PeepholeLSTMCell, "peephole_lstm_cell", locals(), **kwargs)

    activation = cell_property("activation")
    recurrent_activation = cell_property("recurrent_activation")
    unit_forget_bias = cell_property("unit_forget_bias")
    proj_size = cell_property("proj_size")
