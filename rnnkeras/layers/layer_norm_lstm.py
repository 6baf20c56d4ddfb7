"""The layer-normalized LSTM of TensorFlow Addons (Ba, Kiros & Hinton, 2016): input and
recurrent projections normalized apart, then the bias, and a normalized cell state."""

import keras
from keras import activations, initializers, ops

from rnnkeras.layers.cell import RecurrentCell
from rnnkeras.layers.layer_norm import add_norm_weights, check_epsilon, layer_normalize
from rnnkeras.layers.recurrent import RecurrentLayer, cell_property, describe_layer


@keras.saving.register_keras_serializable(package="rnnkeras")
class LayerNormLSTMCell(RecurrentCell):
    """LSTM cell with layer normalization, the equations of `tfa.rnn.LayerNormLSTMCell`.

    Layer normalization (Ba, Kiros & Hinton, 2016, "Layer Normalization",
    arXiv:1607.06450) applied as TensorFlow Addons did, before the
    nonlinearities. With `LN_k`, `LN_r` over all `4 * units` gate columns and
    `LN_c` over the units, each `LN(v) = gamma * (v - mean(v)) / sqrt(var(v) +
    norm_epsilon) + beta` with its own `gamma` and `beta`, one step computes
    `z = LN_k(x_t @ kernel) + LN_r(h_{t-1} @ recurrent_kernel) + bias`, splits
    `z` into `i, f, g, o` (Keras' gate order), then
    `c_t = LN_c(σ(f) * c_{t-1} + σ(i) * act(g))` and `h_t = σ(o) * act(c_t)`;
    the normalized `c_t` is the state carried on. `σ = recurrent_activation`,
    `act = activation`. Weights, in TensorFlow Addons' order (so `set_weights`
    takes its cell's `get_weights()`): `kernel (features, 4 * units)`,
    `recurrent_kernel (units, 4 * units)`, `bias (4 * units,)`,
    `kernel_norm_gamma`, `kernel_norm_beta (4 * units,)`,
    `recurrent_norm_gamma`, `recurrent_norm_beta (4 * units,)`,
    `state_norm_gamma`, `state_norm_beta (units,)`.

    Args:
        units: Positive integer, the size of the hidden state `h`, of the cell
            state `c` and of the output.
        activation: Activation of the cell candidate `g` and of `c_t` before the
            output gate; `None` means linear. Default: `"tanh"`.
        recurrent_activation: Activation of the input, forget and output gates.
            Default: `"sigmoid"`.
        unit_forget_bias: Start the forget-gate part of `bias` at one and the rest
            at `bias_initializer` (Jozefowicz et al., 2015); only with
            `use_bias=True`. Default: `True`.
        norm_gamma_initializer: Initializer of the three normalization gains.
            Default: `"ones"`.
        norm_beta_initializer: Initializer of the three normalization shifts.
            Default: `"zeros"`.
        norm_epsilon: Positive number added to each variance before the square
            root. Default: `1e-3` (TensorFlow Addons' default).
        use_bias: Whether to add `bias` after the normalizations. Default: `True`.
        kernel_initializer: Initializer of `kernel`, the input weights
            `(features, 4 * units)`. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`, the
            state-to-gates weights `(units, 4 * units)`. Default: `"orthogonal"`.
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
        states: `[h, c]`, each `(batch, units)`.
        training: Whether dropout applies. Inside `keras.layers.RNN` the dropout
            masks are drawn once per sequence and reused at every step.

    Returns:
        `(h_t, [h_t, c_t])`, each `(batch, units)`.

    Raises:
        ValueError: At construction, if `units` is not a positive integer,
            `norm_epsilon` is not a positive number, `dropout` or
            `recurrent_dropout` lies outside `[0, 1)` or the `dtype` policy is
            not floating-point; when built, if the feature size (last axis of
            the input) is unknown.

    Example:

    >>> import numpy as np, keras
    >>> rnn = keras.layers.RNN(LayerNormLSTMCell(4), return_state=True)
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
        norm_gamma_initializer="ones",
        norm_beta_initializer="zeros",
        norm_epsilon=1e-3,
        **kwargs,
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias
        self.norm_gamma_initializer = initializers.get(norm_gamma_initializer)
        self.norm_beta_initializer = initializers.get(norm_beta_initializer)
        self.norm_epsilon = check_epsilon(
            norm_epsilon, "norm_epsilon", f"{type(self).__name__} '{self.name}'"
        )
        self.state_size = [self.units, self.units]

    def build(self, input_shape):
        super().build(input_shape)
        gamma, beta = self.norm_gamma_initializer, self.norm_beta_initializer
        # Created in TensorFlow Addons' order: kernel_norm, recurrent_norm, state_norm.
        self.kernel_norm_gamma, self.kernel_norm_beta = add_norm_weights(
            self, "kernel_norm", 4 * self.units, gamma, beta
        )
        self.recurrent_norm_gamma, self.recurrent_norm_beta = add_norm_weights(
            self, "recurrent_norm", 4 * self.units, gamma, beta
        )
        self.state_norm_gamma, self.state_norm_beta = add_norm_weights(
            self, "state_norm", self.units, gamma, beta
        )

    def build_bias(self):
        initializer = self.bias_initializer
        if self.unit_forget_bias:
            base, units = self.bias_initializer, self.units

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

    def project_inputs(self, inputs):
        projected = layer_normalize(
            ops.matmul(inputs, self.kernel),
            self.kernel_norm_gamma,
            self.kernel_norm_beta,
            self.norm_epsilon,
        )
        # Adding the bias here rather than after the recurrent term is the same sum.
        return projected + self.bias if self.use_bias else projected

    def step(self, projected, states, recurrent_mask=None):
        h_previous, c_previous = states
        if recurrent_mask is not None:
            h_previous = h_previous * recurrent_mask
        z = projected + layer_normalize(
            ops.matmul(h_previous, self.recurrent_kernel),
            self.recurrent_norm_gamma,
            self.recurrent_norm_beta,
            self.norm_epsilon,
        )
        z_input, z_forget, z_cell, z_output = ops.split(z, 4, axis=-1)
        c = self.recurrent_activation(z_forget) * c_previous + self.recurrent_activation(
            z_input
        ) * self.activation(z_cell)
        c = layer_normalize(c, self.state_norm_gamma, self.state_norm_beta, self.norm_epsilon)
        h = self.recurrent_activation(z_output) * self.activation(c)
        return h, [h, c]

    def get_config(self):
        config = {
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
            "norm_gamma_initializer": initializers.serialize(self.norm_gamma_initializer),
            "norm_beta_initializer": initializers.serialize(self.norm_beta_initializer),
            "norm_epsilon": self.norm_epsilon,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="rnnkeras")
class LayerNormLSTM(RecurrentLayer):
    """Layer-normalized LSTM layer: `LayerNormLSTMCell` run over the time axis.

    What `keras.layers.RNN(tfa.rnn.LayerNormLSTMCell(...))` computed, as one layer
    with the features of our other layers (masks, states, `stateful`,
    `Bidirectional`, `StackedRNN`, the gradient-flow monitor's time-step probe,
    TFLite export as a `WHILE` loop or unrolled). Each step (Ba, Kiros & Hinton,
    2016, with TensorFlow Addons' placement) computes
    `z = LN_k(x_t @ kernel) + LN_r(h_{t-1} @ recurrent_kernel) + bias` over the
    gates `i, f, g, o`, `c_t = LN_c(σ(f) * c_{t-1} + σ(i) * act(g))` and
    `h_t = σ(o) * act(c_t)`, each `LN` standardizing over its whole width and
    applying its own `gamma` and `beta`. Weights, in TensorFlow Addons' order:
    `kernel (features, 4 * units)`, `recurrent_kernel (units, 4 * units)`,
    `bias (4 * units,)`, `kernel_norm_gamma`, `kernel_norm_beta`,
    `recurrent_norm_gamma`, `recurrent_norm_beta (4 * units,)`,
    `state_norm_gamma`, `state_norm_beta (units,)`.

    It has no fused (cuDNN) kernel, and TFLite's fused LSTM op normalizes
    differently (per gate, after adding the two projections), so it never
    becomes that op: `rnnkeras.layers.kernel_dispatch` lists why, and the layer
    runs its own loop (XLA-compiled for inference on TensorFlow).

    Args:
        units: Positive integer, the size of the hidden state `h`, of the cell
            state `c` and of the output.
        activation: Activation of the cell candidate and of `c_t` before the
            output gate; `None` means linear. Default: `"tanh"`.
        recurrent_activation: Activation of the input, forget and output gates.
            Default: `"sigmoid"`.
        use_bias: Whether to add `bias` after the normalizations. Default: `True`.
        kernel_initializer: Initializer of `kernel`, the input weights
            `(features, 4 * units)`. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`, the
            state-to-gates weights `(units, 4 * units)`. Default: `"orthogonal"`.
        bias_initializer: Initializer of `bias` `(4 * units,)`. Default: `"zeros"`.
        unit_forget_bias: Start the forget-gate part of `bias` at one and the rest
            at `bias_initializer` (Jozefowicz et al., 2015); only with
            `use_bias=True`. Default: `True`.
        kernel_regularizer: Regularizer of `kernel`, e.g. `"l2"`; its penalty is
            added to `losses`. Default: `None`.
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
        recurrent_dropout: Fraction of the previous hidden state `h_{t-1}`
            dropped while training, in `[0, 1)`; one mask per sequence.
            Default: `0.0`.
        norm_gamma_initializer: Initializer of the three normalization gains.
            Default: `"ones"`.
        norm_beta_initializer: Initializer of the three normalization shifts.
            Default: `"zeros"`.
        norm_epsilon: Positive number added to each variance before the square
            root. Default: `1e-3`.
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
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...); the
            `dtype` policy must be floating-point.

    Call arguments:
        sequences: `(batch, timesteps, features)`.
        initial_state: Optional `[h, c]`, each `(batch, units)`.
        mask: Optional boolean `(batch, timesteps)`; a masked step keeps the
            states and repeats the previous output.
        training: Whether dropout applies.

    Returns:
        The output, `(batch, units)` or with `return_sequences`
        `(batch, timesteps, units)`; with `return_state`, the list
        `[output, h, c]`.

    Raises:
        ValueError: At construction, if `units` is not a positive integer,
            `norm_epsilon` is not a positive number, `dropout` or
            `recurrent_dropout` lies outside `[0, 1)` or the `dtype` policy is
            not floating-point. When called, if the input is not of rank 3, has
            no time step or an unknown feature size, or if `initial_state` is
            not two `(batch, units)` tensors.

    Example:

    >>> import numpy as np
    >>> output, h, c = LayerNormLSTM(4, return_state=True)(np.ones((2, 5, 3), "float32"))
    >>> tuple(output.shape), tuple(h.shape), tuple(c.shape)
    ((2, 4), (2, 4), (2, 4))
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
        norm_gamma_initializer="ones",
        norm_beta_initializer="zeros",
        norm_epsilon=1e-3,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        **kwargs,
    ):
        # Checked here too, so that the error names the layer rather than its cell.
        check_epsilon(norm_epsilon, "norm_epsilon", describe_layer(type(self), kwargs))
        super().__init__(LayerNormLSTMCell, "layer_norm_lstm_cell", locals(), **kwargs)

    activation = cell_property("activation")
    recurrent_activation = cell_property("recurrent_activation")
    unit_forget_bias = cell_property("unit_forget_bias")
    norm_gamma_initializer = cell_property("norm_gamma_initializer")
    norm_beta_initializer = cell_property("norm_beta_initializer")
    norm_epsilon = cell_property("norm_epsilon")
