"""A layer-normalized GRU built the way TensorFlow Addons built its layer-normalized LSTM:
input and recurrent projections normalized apart, then the bias (Ba, Kiros & Hinton, 2016)."""

import keras
from keras import activations, initializers, ops

from rnnkeras.layers.cell import RecurrentCell
from rnnkeras.layers.layer_norm import add_norm_weights, check_epsilon, layer_normalize
from rnnkeras.layers.recurrent import RecurrentLayer, cell_property, describe_layer


@keras.saving.register_keras_serializable(package="rnnkeras")
class LayerNormGRUCell(RecurrentCell):
    """GRU cell with layer normalization, derived from `tfa.rnn.LayerNormLSTMCell`'s recipe.

    TensorFlow Addons had no layer-normalized GRU. This one applies layer
    normalization (Ba, Kiros & Hinton, 2016, arXiv:1607.06450) where its
    LSTM did: the input projection and the recurrent projection are each
    normalized over all `3 * units` gate columns, with their own `gamma` and
    `beta`, before the bias and the nonlinearities. With
    `x̂ = LN_k(x_t @ kernel) + bias` and `ĥ = LN_r(h_{t-1} @ recurrent_kernel)`,
    split into update, reset and candidate parts (Keras' gate order `z, r, n`):
    `z = σ(x̂_z + ĥ_z)`, `r = σ(x̂_r + ĥ_r)`, `n = act(x̂_n + r * ĥ_n)`,
    `h_t = z * h_{t-1} + (1 - z) * n` (Cho et al., 2014). The reset gate applies
    after the recurrent product, as in Keras' default `reset_after=True`,
    so one normalized recurrent product serves all three parts; `LN_r`'s shift
    plays the part of Keras' separate recurrent bias, so `bias` is one vector.
    The state is not normalized: a GRU has no cell state apart from its
    output, and TensorFlow Addons' LSTM normalized only its cell state.
    Weights, in order: `kernel (features, 3 * units)`,
    `recurrent_kernel (units, 3 * units)`, `bias (3 * units,)`,
    `kernel_norm_gamma`, `kernel_norm_beta`, `recurrent_norm_gamma`,
    `recurrent_norm_beta` (each `(3 * units,)`).

    Args:
        units: Positive integer, the size of the state `h` and of the output.
        activation: Activation of the candidate `n`; `None` means linear.
            Default: `"tanh"`.
        recurrent_activation: Activation of the update and reset gates.
            Default: `"sigmoid"`.
        norm_gamma_initializer: Initializer of the two normalization gains.
            Default: `"ones"`.
        norm_beta_initializer: Initializer of the two normalization shifts.
            Default: `"zeros"`.
        norm_epsilon: Positive number added to each variance before the square
            root. Default: `1e-3`, as TensorFlow Addons' LSTM.
        use_bias: Whether to add `bias` after the normalizations. Default: `True`.
        kernel_initializer: Initializer of `kernel`, the input weights
            `(features, 3 * units)`. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`, the
            state-to-gates weights `(units, 3 * units)`. Default: `"orthogonal"`.
        bias_initializer: Initializer of `bias` `(3 * units,)`. Default: `"zeros"`.
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
        recurrent_dropout: Fraction of the previous state `h_{t-1}` dropped
            before the recurrent product while training, in `[0, 1)` (the
            carried `z * h_{t-1}` term is never dropped). Default: `0.0`.
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
            `norm_epsilon` is not a positive number, `dropout` or
            `recurrent_dropout` lies outside `[0, 1)` or the `dtype` policy is
            not floating-point; when built, if the feature size (last axis of
            the input) is unknown.

    Example:

    >>> import numpy as np, keras
    >>> rnn = keras.layers.RNN(LayerNormGRUCell(4))
    >>> tuple(rnn(np.ones((2, 5, 3), "float32")).shape)
    (2, 4)
    """

    gates = 3

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        norm_gamma_initializer="ones",
        norm_beta_initializer="zeros",
        norm_epsilon=1e-3,
        **kwargs,
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.norm_gamma_initializer = initializers.get(norm_gamma_initializer)
        self.norm_beta_initializer = initializers.get(norm_beta_initializer)
        self.norm_epsilon = check_epsilon(
            norm_epsilon, "norm_epsilon", f"{type(self).__name__} '{self.name}'"
        )
        self.state_size = self.units

    def build(self, input_shape):
        super().build(input_shape)
        gamma, beta = self.norm_gamma_initializer, self.norm_beta_initializer
        self.kernel_norm_gamma, self.kernel_norm_beta = add_norm_weights(
            self, "kernel_norm", 3 * self.units, gamma, beta
        )
        self.recurrent_norm_gamma, self.recurrent_norm_beta = add_norm_weights(
            self, "recurrent_norm", 3 * self.units, gamma, beta
        )

    def project_inputs(self, inputs):
        projected = layer_normalize(
            ops.matmul(inputs, self.kernel),
            self.kernel_norm_gamma,
            self.kernel_norm_beta,
            self.norm_epsilon,
        )
        return projected + self.bias if self.use_bias else projected

    def step(self, projected, states, recurrent_mask=None):
        h_previous = states[0]
        h_dropped = h_previous if recurrent_mask is None else h_previous * recurrent_mask
        recurrent = layer_normalize(
            ops.matmul(h_dropped, self.recurrent_kernel),
            self.recurrent_norm_gamma,
            self.recurrent_norm_beta,
            self.norm_epsilon,
        )
        x_update, x_reset, x_candidate = ops.split(projected, 3, axis=-1)
        h_update, h_reset, h_candidate = ops.split(recurrent, 3, axis=-1)
        update = self.recurrent_activation(x_update + h_update)
        reset = self.recurrent_activation(x_reset + h_reset)
        candidate = self.activation(x_candidate + reset * h_candidate)
        h = update * h_previous + (1.0 - update) * candidate
        return h, [h]

    def get_config(self):
        config = {
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "norm_gamma_initializer": initializers.serialize(self.norm_gamma_initializer),
            "norm_beta_initializer": initializers.serialize(self.norm_beta_initializer),
            "norm_epsilon": self.norm_epsilon,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="rnnkeras")
class LayerNormGRU(RecurrentLayer):
    """Layer-normalized GRU layer: `LayerNormGRUCell` run over the time axis.

    A GRU (Cho et al., 2014) with layer normalization (Ba, Kiros & Hinton, 2016)
    placed as TensorFlow Addons placed it in its LSTM, which had no GRU
    counterpart: each step computes `x̂ = LN_k(x_t @ kernel) + bias` and
    `ĥ = LN_r(h_{t-1} @ recurrent_kernel)`, split into update, reset and
    candidate parts, then `z = σ(x̂_z + ĥ_z)`, `r = σ(x̂_r + ĥ_r)`,
    `n = act(x̂_n + r * ĥ_n)` and `h_t = z * h_{t-1} + (1 - z) * n`; each `LN`
    standardizes over all `3 * units` columns with its own `gamma` and `beta`.
    Weights, in order: `kernel (features, 3 * units)`,
    `recurrent_kernel (units, 3 * units)`, `bias (3 * units,)`,
    `kernel_norm_gamma`, `kernel_norm_beta`, `recurrent_norm_gamma`,
    `recurrent_norm_beta` (each `(3 * units,)`). It has no fused (cuDNN) kernel:
    `rnnkeras.layers.kernel_dispatch` says so, and the layer runs its own loop
    (XLA-compiled for inference on TensorFlow; a `WHILE` loop or unrolled in
    TFLite).

    Args:
        units: Positive integer, the size of the state `h` and of the output.
        activation: Activation of the candidate state; `None` means linear.
            Default: `"tanh"`.
        recurrent_activation: Activation of the update and reset gates.
            Default: `"sigmoid"`.
        use_bias: Whether to add `bias` after the normalizations. Default: `True`.
        kernel_initializer: Initializer of `kernel`, the input weights
            `(features, 3 * units)`. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`, the
            state-to-gates weights `(units, 3 * units)`. Default: `"orthogonal"`.
        bias_initializer: Initializer of `bias` `(3 * units,)`. Default: `"zeros"`.
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
        recurrent_dropout: Fraction of the previous state `h_{t-1}` dropped
            before the recurrent product while training, in `[0, 1)`; one mask
            per sequence. Default: `0.0`.
        norm_gamma_initializer: Initializer of the two normalization gains.
            Default: `"ones"`.
        norm_beta_initializer: Initializer of the two normalization shifts.
            Default: `"zeros"`.
        norm_epsilon: Positive number added to each variance before the square
            root. Default: `1e-3`.
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
            `norm_epsilon` is not a positive number, `dropout` or
            `recurrent_dropout` lies outside `[0, 1)` or the `dtype` policy is
            not floating-point. When called, if the input is not of rank 3, has
            no time step or an unknown feature size, or if `initial_state` is
            not one `(batch, units)` tensor.

    Example:

    >>> import numpy as np
    >>> layer = LayerNormGRU(4, return_sequences=True)
    >>> tuple(layer(np.ones((2, 5, 3), "float32")).shape)
    (2, 5, 4)
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
        super().__init__(LayerNormGRUCell, "layer_norm_gru_cell", locals(), **kwargs)

    activation = cell_property("activation")
    recurrent_activation = cell_property("recurrent_activation")
    norm_gamma_initializer = cell_property("norm_gamma_initializer")
    norm_beta_initializer = cell_property("norm_beta_initializer")
    norm_epsilon = cell_property("norm_epsilon")
