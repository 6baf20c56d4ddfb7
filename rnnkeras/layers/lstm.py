"""Long Short-Term Memory (Hochreiter & Schmidhuber, 1997), with a forget gate
(Gers et al., 2000) whose bias starts at one (Jozefowicz et al., 2015)."""

import keras
from keras import activations, initializers, ops

from rnnkeras.layers.cell import RecurrentCell
from rnnkeras.layers.recurrent import RecurrentLayer, cell_property


@keras.saving.register_keras_serializable(package="rnnkeras")
class LSTMCell(RecurrentCell):
    """LSTM cell with the gate order and weight layout of ``keras.layers.LSTMCell``.

    The kernels hold the gates side by side in the order input, forget, cell,
    output: ``kernel (features, 4 * units)``, ``recurrent_kernel
    (units, 4 * units)``, ``bias (4 * units,)``. One step is one matrix product
    ``h_{t-1} @ recurrent_kernel`` added to the precomputed input projection.

    Args:
        units: Positive integer, size of the hidden and cell states.
        activation: Activation of the cell candidate and output. Default ``"tanh"``.
        recurrent_activation: Activation of the gates. Default ``"sigmoid"``.
        unit_forget_bias: Start the forget-gate bias at one (and the rest at
            ``bias_initializer``). Default ``True``.
        use_bias, initializers, regularizers, constraints, dropout,
            recurrent_dropout, seed: As in ``SimpleRNNCell``.

    Call arguments:
        inputs: ``(batch, features)`` input of one time step.
        states: ``[h, c]``, each ``(batch, units)``.
        training: Whether dropout applies.

    Example:

    >>> import numpy as np, keras
    >>> rnn = keras.layers.RNN(LSTMCell(4), return_state=True)
    >>> output, h, c = rnn(np.ones((2, 5, 3), "float32"))
    >>> output.shape, c.shape
    ((2, 4), (2, 4))
    """

    gates = 4

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        unit_forget_bias=True,
        **kwargs,
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [self.units, self.units]

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
        h = self.recurrent_activation(z_output) * self.activation(c)
        return h, [h, c]

    def get_config(self):
        config = {
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="rnnkeras")
class LSTM(RecurrentLayer):
    """LSTM layer, a drop-in for ``keras.layers.LSTM`` (same arguments and weights).

    On a TensorFlow GPU with the cuDNN-compatible configuration (tanh, sigmoid,
    no recurrent dropout, no unroll, bias, right-padded masks) it runs the same
    fused kernel as the Keras built-in; elsewhere it runs rnnkeras' loop, which
    computes the input projection for all time steps in one product. See
    ``rnnkeras.layers.fused.fused_kernel_blockers`` for the decision.

    Args:
        units: Positive integer, size of the hidden and cell states.
        activation, recurrent_activation, use_bias, unit_forget_bias,
            initializers, regularizers, constraints, dropout,
            recurrent_dropout, seed: As in ``LSTMCell``.
        activity_regularizer: Regularizer of the layer's output.
        return_sequences, return_state, go_backwards, stateful, unroll: As in
            ``keras.layers.LSTM``.
        use_cudnn: ``"auto"`` (fused kernel when possible), ``True`` (require it)
            or ``False`` (never).

    Call arguments:
        sequences: ``(batch, timesteps, features)``.
        initial_state: Optional ``[h, c]``.
        mask: Optional ``(batch, timesteps)`` boolean mask.
        training: Whether dropout applies.

    Example:

    >>> import numpy as np
    >>> output, h, c = LSTM(4, return_state=True)(np.ones((2, 5, 3), "float32"))
    >>> output.shape, h.shape, c.shape
    ((2, 4), (2, 4), (2, 4))
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
        **kwargs,
    ):
        super().__init__(LSTMCell, "lstm_cell", locals(), **kwargs)

    activation = cell_property("activation")
    recurrent_activation = cell_property("recurrent_activation")
    unit_forget_bias = cell_property("unit_forget_bias")
