"""The vanilla (Elman) recurrent cell and layer: ``h_t = act(x_t W + h_{t-1} U + b)``."""

import keras
from keras import ops

from rnnkeras.layers.cell import RecurrentCell
from rnnkeras.layers.recurrent import RecurrentLayer, cell_property


@keras.saving.register_keras_serializable(package="rnnkeras")
class SimpleRNNCell(RecurrentCell):
    """Cell of a fully connected RNN whose output is fed back as its state.

    Same arguments and weight layout as ``keras.layers.SimpleRNNCell``
    (``kernel (features, units)``, ``recurrent_kernel (units, units)``,
    ``bias (units,)``), so weights swap both ways with the Keras built-in.

    Args:
        units: Positive integer, size of the hidden state.
        activation: Activation of the new state. Default: ``"tanh"``.
        use_bias: Whether to add a bias vector. Default: ``True``.
        kernel_initializer, recurrent_initializer, bias_initializer: Initializers.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: Regularizers.
        kernel_constraint, recurrent_constraint, bias_constraint: Constraints.
        dropout: Fraction of the inputs dropped during training, in ``[0, 1)``.
        recurrent_dropout: Fraction of the previous state dropped during training.
        seed: Seed of the dropout masks.

    Call arguments:
        inputs: ``(batch, features)`` input of one time step.
        states: List holding the previous state ``(batch, units)``.
        training: Whether dropout applies.

    Example:

    >>> import numpy as np, keras
    >>> rnn = keras.layers.RNN(SimpleRNNCell(4))
    >>> rnn(np.ones((2, 5, 3), "float32")).shape
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
    """Fully connected RNN layer, a drop-in for ``keras.layers.SimpleRNN``.

    Args:
        units: Positive integer, size of the hidden state.
        activation, use_bias, initializers, regularizers, constraints, dropout,
            recurrent_dropout, seed: As in ``SimpleRNNCell``.
        activity_regularizer: Regularizer of the layer's output.
        return_sequences: Return the output at every step (default: last only).
        return_state: Also return the final state.
        go_backwards: Read the sequence from the end; outputs come reversed.
        stateful: Carry the final state of batch ``i`` into the next batch.
        unroll: Unroll the loop in the graph (short, fixed-length sequences).

    Call arguments:
        sequences: ``(batch, timesteps, features)``.
        initial_state: Optional list with one ``(batch, units)`` tensor.
        mask: Optional ``(batch, timesteps)`` boolean mask.
        training: Whether dropout applies.

    Example:

    >>> import numpy as np
    >>> layer = SimpleRNN(4, return_sequences=True)
    >>> layer(np.ones((2, 5, 3), "float32")).shape
    (2, 5, 4)
    """

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
