"""Gated Recurrent Unit (Cho et al., 2014), in both Keras bias layouts."""

import keras
from keras import activations, ops

from rnnkeras.layers.cell import RecurrentCell
from rnnkeras.layers.recurrent import RecurrentLayer, cell_property


@keras.saving.register_keras_serializable(package="rnnkeras")
class GRUCell(RecurrentCell):
    """GRU cell with the gate order and weight layout of ``keras.layers.GRUCell``.

    Gates are stored side by side in the order update, reset, candidate:
    ``kernel (features, 3 * units)``, ``recurrent_kernel (units, 3 * units)``.
    With ``reset_after=True`` (the cuDNN-compatible variant, and the Keras
    default) the reset gate multiplies the recurrent product and the bias has
    shape ``(2, 3 * units)`` (input bias, recurrent bias); with
    ``reset_after=False`` (the original paper) it multiplies the state before
    the product and the bias is ``(3 * units,)``.

    Args:
        units: Positive integer, size of the hidden state.
        activation: Activation of the candidate state. Default ``"tanh"``.
        recurrent_activation: Activation of the gates. Default ``"sigmoid"``.
        reset_after: Where the reset gate applies (see above). Default ``True``.
        use_bias, initializers, regularizers, constraints, dropout,
            recurrent_dropout, seed: As in ``SimpleRNNCell``.

    Call arguments:
        inputs: ``(batch, features)`` input of one time step.
        states: List holding the previous state ``(batch, units)``.
        training: Whether dropout applies.

    Example:

    >>> import numpy as np, keras
    >>> rnn = keras.layers.RNN(GRUCell(4, reset_after=False))
    >>> rnn(np.ones((2, 5, 3), "float32")).shape
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
    """GRU layer, a drop-in for ``keras.layers.GRU`` (same arguments and weights).

    On a TensorFlow GPU with the cuDNN-compatible configuration (tanh, sigmoid,
    ``reset_after=True``, no recurrent dropout, no unroll, bias, right-padded
    masks) it runs the same fused kernel as the Keras built-in; elsewhere it
    runs rnnkeras' loop.

    Args:
        units: Positive integer, size of the hidden state.
        activation, recurrent_activation, reset_after, use_bias, initializers,
            regularizers, constraints, dropout, recurrent_dropout, seed: As in
            ``GRUCell``.
        activity_regularizer: Regularizer of the layer's output.
        return_sequences, return_state, go_backwards, stateful, unroll: As in
            ``keras.layers.GRU``.
        use_cudnn: ``"auto"``, ``True`` or ``False``, as in ``LSTM``.

    Call arguments:
        sequences: ``(batch, timesteps, features)``.
        initial_state: Optional list with one ``(batch, units)`` tensor.
        mask: Optional ``(batch, timesteps)`` boolean mask.
        training: Whether dropout applies.

    Example:

    >>> import numpy as np
    >>> GRU(4, go_backwards=True)(np.ones((2, 5, 3), "float32")).shape
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
