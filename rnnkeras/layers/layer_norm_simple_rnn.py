"""The layer-normalized Elman cell and layer of TensorFlow Addons:
`h_t = act(LN(x_t W + h_{t-1} U) + b)` (Ba, Kiros & Hinton, 2016)."""

import keras
from keras import constraints, initializers, ops, regularizers

from rnnkeras.layers.cell import RecurrentCell
from rnnkeras.layers.layer_norm import add_norm_weights, check_epsilon, layer_normalize
from rnnkeras.layers.recurrent import RecurrentLayer, cell_property, describe_layer


@keras.saving.register_keras_serializable(package="rnnkeras")
class LayerNormSimpleRNNCell(RecurrentCell):
    """Elman cell whose pre-activation is layer-normalized, as `tfa.rnn.LayerNormSimpleRNNCell`.

    Layer normalization (Ba, Kiros & Hinton, 2016, "Layer Normalization",
    arXiv:1607.06450) with TensorFlow Addons' equations: the sum of the input
    and recurrent products is normalized over the units, scaled by `gamma`
    (no shift: the bias shifts it), and only then biased and activated,
    `h_t = act(gamma * norm(x_t @ kernel + h_{t-1} @ recurrent_kernel) + bias)`,
    with `norm(v) = (v - mean(v)) / sqrt(var(v) + layernorm_epsilon)`. The
    arguments keep TensorFlow Addons' names (`layernorm_epsilon`,
    `gamma_initializer`, ...) and its weight order, `kernel (features, units)`,
    `recurrent_kernel (units, units)`, `bias (units,)`, `layernorm_gamma
    (units,)`, so `set_weights` takes a TensorFlow Addons cell's `get_weights()`.
    Use it inside `keras.layers.RNN`, or use the `LayerNormSimpleRNN` layer.

    Args:
        units: Positive integer, the size of the state `h` and of the output.
        activation: Activation of the new state (name or callable); `None`
            means linear. Default: `"tanh"`.
        use_bias: Whether to add `bias` after the normalization. Default: `True`.
        layernorm_epsilon: Positive number added to the variance before the
            square root. Default: `1e-5` (TensorFlow Addons' default).
        kernel_initializer: Initializer of `kernel`, the input weights
            `(features, units)`. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`, the
            state-to-state weights `(units, units)`. Default: `"orthogonal"`.
        bias_initializer: Initializer of `bias` `(units,)`. Default: `"zeros"`.
        gamma_initializer: Initializer of the normalization gain
            `layernorm_gamma (units,)`. Default: `"ones"`.
        kernel_regularizer: Regularizer of `kernel`; its penalty is added to
            `losses`. Default: `None`.
        recurrent_regularizer: Regularizer of `recurrent_kernel`. Default: `None`.
        bias_regularizer: Regularizer of `bias`. Default: `None`.
        gamma_regularizer: Regularizer of `layernorm_gamma`. Default: `None`.
        kernel_constraint: Constraint the optimizer applies to `kernel` after
            each update. Default: `None`.
        recurrent_constraint: Constraint applied to `recurrent_kernel`.
            Default: `None`.
        bias_constraint: Constraint applied to `bias`. Default: `None`.
        gamma_constraint: Constraint applied to `layernorm_gamma`. Default: `None`.
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
            `layernorm_epsilon` is not a positive number, `dropout` or
            `recurrent_dropout` lies outside `[0, 1)` or the `dtype` policy is
            not floating-point; when built, if the feature size (last axis of
            the input) is unknown.

    Example:

    >>> import numpy as np, keras
    >>> rnn = keras.layers.RNN(LayerNormSimpleRNNCell(4))
    >>> tuple(rnn(np.ones((2, 5, 3), "float32")).shape)
    (2, 4)
    """

    gates = 1

    def __init__(
        self,
        units,
        activation="tanh",
        layernorm_epsilon=1e-5,
        gamma_initializer="ones",
        gamma_regularizer=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.layernorm_epsilon = check_epsilon(
            layernorm_epsilon, "layernorm_epsilon", f"{type(self).__name__} '{self.name}'"
        )
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.state_size = self.units

    def build(self, input_shape):
        super().build(input_shape)
        self.layernorm_gamma, _ = add_norm_weights(
            self,
            "layernorm",
            self.units,
            self.gamma_initializer,
            gamma_regularizer=self.gamma_regularizer,
            gamma_constraint=self.gamma_constraint,
        )

    def input_bias(self):
        # The bias comes after the normalization (`step`), which would remove it here.
        return None

    def step(self, projected, states, recurrent_mask=None):
        previous = states[0]
        if recurrent_mask is not None:
            previous = previous * recurrent_mask
        net = projected + ops.matmul(previous, self.recurrent_kernel)
        net = layer_normalize(net, self.layernorm_gamma, None, self.layernorm_epsilon)
        if self.use_bias:
            net = net + self.bias
        output = self.activation(net)
        return output, [output]

    def get_config(self):
        config = {
            "layernorm_epsilon": self.layernorm_epsilon,
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="rnnkeras")
class LayerNormSimpleRNN(RecurrentLayer):
    """Layer-normalized fully connected RNN: `LayerNormSimpleRNNCell` run over the time axis.

    What `keras.layers.RNN(tfa.rnn.LayerNormSimpleRNNCell(...))` computed, as one
    layer with the features of our other layers (masks, states, `stateful`,
    `Bidirectional`, `StackedRNN`, the gradient-flow monitor's time-step probe,
    TFLite export as a `WHILE` loop or unrolled). Each step computes
    `h_t = act(gamma * norm(x_t @ kernel + h_{t-1} @ recurrent_kernel) + bias)`,
    `norm` standardizing over the units (Ba, Kiros & Hinton, 2016). The weights,
    in order: `kernel (features, units)`, `recurrent_kernel (units, units)`,
    `bias (units,)`, `layernorm_gamma (units,)`, TensorFlow Addons' order. It
    has no fused (cuDNN) kernel: `rnnkeras.layers.kernel_dispatch` says so and
    runs its own loop (XLA-compiled for inference on TensorFlow).

    Args:
        units: Positive integer, the size of the state `h` and of the output.
        activation: Activation of the new state (name or callable); `None`
            means linear. Default: `"tanh"`.
        use_bias: Whether to add `bias` after the normalization. Default: `True`.
        layernorm_epsilon: Positive number added to the variance before the
            square root. Default: `1e-5`.
        kernel_initializer: Initializer of `kernel`, the input weights
            `(features, units)`. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`, the
            state-to-state weights `(units, units)`. Default: `"orthogonal"`.
        bias_initializer: Initializer of `bias` `(units,)`. Default: `"zeros"`.
        gamma_initializer: Initializer of the normalization gain
            `layernorm_gamma (units,)`. Default: `"ones"`.
        kernel_regularizer: Regularizer of `kernel`, e.g. `"l2"`; its penalty is
            added to `losses`. Default: `None`.
        recurrent_regularizer: Regularizer of `recurrent_kernel`. Default: `None`.
        bias_regularizer: Regularizer of `bias`. Default: `None`.
        gamma_regularizer: Regularizer of `layernorm_gamma`. Default: `None`.
        activity_regularizer: Regularizer of the layer's (first) output; Keras
            divides its penalty by the batch size. Default: `None`.
        kernel_constraint: Constraint the optimizer applies to `kernel` after
            each update. Default: `None`.
        recurrent_constraint: Constraint applied to `recurrent_kernel`.
            Default: `None`.
        bias_constraint: Constraint applied to `bias`. Default: `None`.
        gamma_constraint: Constraint applied to `layernorm_gamma`. Default: `None`.
        dropout: Fraction of the input features dropped while training, a float
            in `[0, 1)`; one mask per sequence, reused at every step.
            Default: `0.0`.
        recurrent_dropout: Fraction of the previous state `h_{t-1}` dropped while
            training, in `[0, 1)`; one mask per sequence. Default: `0.0`.
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
            `layernorm_epsilon` is not a positive number, `dropout` or
            `recurrent_dropout` lies outside `[0, 1)` or the `dtype` policy is
            not floating-point. When called, if the input is not of rank 3, has
            no time step or an unknown feature size, or if `initial_state` is
            not one `(batch, units)` tensor.

    Example:

    >>> import numpy as np
    >>> layer = LayerNormSimpleRNN(4, return_sequences=True)
    >>> tuple(layer(np.ones((2, 5, 3), "float32")).shape)
    (2, 5, 4)
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        layernorm_epsilon=1e-5,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        gamma_initializer="ones",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        gamma_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        gamma_constraint=None,
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
        # Checked here too, so that the error names the layer rather than its cell.
        check_epsilon(layernorm_epsilon, "layernorm_epsilon", describe_layer(type(self), kwargs))
        super().__init__(LayerNormSimpleRNNCell, "layer_norm_simple_rnn_cell", locals(), **kwargs)

    activation = cell_property("activation")
    layernorm_epsilon = cell_property("layernorm_epsilon")
    gamma_initializer = cell_property("gamma_initializer")
    gamma_regularizer = cell_property("gamma_regularizer")
    gamma_constraint = cell_property("gamma_constraint")
