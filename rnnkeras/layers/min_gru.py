"""minGRU (Feng et al., 2024): a GRU whose gate ignores the state, trained by a parallel scan."""

import keras
from keras import ops

from rnnkeras.layers.cell import check_rate
from rnnkeras.layers.min_rnn import MinRNNCell, MinRNNLayer, g
from rnnkeras.layers.recurrent import describe_layer


@keras.saving.register_keras_serializable(package="rnnkeras")
class MinGRUCell(MinRNNCell):
    """minGRU cell: `h_t = (1 - z_t) * h_{t-1} + z_t * g(x_t @ W_h + b_h)`.

    Feng et al. (2024, "Were RNNs All We Needed?", arXiv 2410.01201), section 3.1:
    the update gate reads the input only, `z_t = sigmoid(x_t @ W_z + b_z)`, and
    there is no reset gate; `g` is the paper's positive activation
    (`rnnkeras.layers.min_rnn.g`). `kernel (features, 2 * units)` holds `W_z`,
    then `W_h`.

    Args:
        units: Positive integer, the size of the state `h` and of the output.
        use_bias: Whether to add `bias`. Default: `True`.
        kernel_initializer: Initializer of `kernel`, the input weights
            `(features, 2 * units)`: the update gate `z`, then the candidate.
            Default: `"glorot_uniform"`.
        bias_initializer: Initializer of `bias`, `(2 * units,)`. Default: `"zeros"`.
        kernel_regularizer: Regularizer of `kernel`; its penalty is added to
            `losses`. Default: `None`.
        bias_regularizer: Regularizer of `bias`. Default: `None`.
        kernel_constraint: Constraint the optimizer applies to `kernel` after
            each update. Default: `None`.
        bias_constraint: Constraint applied to `bias`. Default: `None`.
        dropout: Fraction of the input features dropped while training, a float
            in `[0, 1)`; one mask per sequence, reused at every step. (There is
            no recurrent dropout: no state enters a gate.) Default: `0.0`.
        seed: Integer seed of the dropout mask. Default: `None`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...); the
            `dtype` policy must be floating-point.

    Call arguments:
        inputs: One time step, `(batch, features)`.
        states: List holding the previous state `(batch, units)`.
        training: Whether dropout applies.

    Returns:
        `(h_t, [h_t])`, each `(batch, units)`.

    Raises:
        ValueError: At construction, if `units` is not a positive integer,
            `dropout` lies outside `[0, 1)` or the `dtype` policy is not
            floating-point; when built, if the feature size is unknown.

    Example:

    >>> import numpy as np, keras
    >>> rnn = keras.layers.RNN(MinGRUCell(4), stateful=True)
    >>> tuple(rnn(np.ones((2, 5, 3), "float32")).shape)
    (2, 4)
    """

    gates = 2

    def coefficients(self, projected):
        gate, candidate = ops.split(projected, 2, axis=-1)
        # sigmoid(-k) is 1 - sigmoid(k) without the cancellation near z = 1.
        return ops.sigmoid(-gate), ops.sigmoid(gate) * g(candidate)


@keras.saving.register_keras_serializable(package="rnnkeras")
class MinGRU(MinRNNLayer):
    """minGRU layer: trains in parallel over time, streams step by step, same results.

    Runs `MinGRUCell` over the time axis:
    `z_t = sigmoid(x_t @ W_z + b_z)`, `h_t = (1 - z_t) * h_{t-1} + z_t * g(x_t @ W_h + b_h)`
    (Feng et al., 2024, "Were RNNs All We Needed?"). As no gate reads `h_{t-1}`,
    the whole sequence is one linear recurrence, computed by a parallel scan
    (`rnnkeras.layers.parallel_scan`) in training and whole-sequence inference;
    with `unroll=True`, or when the number of steps is unknown while tracing, the
    step loop runs instead. Both agree to float32 rounding. Stack layers with
    `StackedRNN(..., residual=True)` as the paper does. `streaming_model()`
    gives the one-step model `(x_t, h_{t-1}) -> h_t` for edge devices.

    Args:
        units: Positive integer, the size of the state `h` and of the output.
        use_bias: Whether to add `bias`. Default: `True`.
        kernel_initializer: Initializer of `kernel`, the input weights
            `(features, 2 * units)`: the update gate `z`, then the candidate.
            Default: `"glorot_uniform"`.
        bias_initializer: Initializer of `bias`, `(2 * units,)`. Default: `"zeros"`.
        kernel_regularizer: Regularizer of `kernel`; its penalty is added to
            `losses`. Default: `None`.
        bias_regularizer: Regularizer of `bias`. Default: `None`.
        kernel_constraint: Constraint the optimizer applies to `kernel` after
            each update. Default: `None`.
        bias_constraint: Constraint applied to `bias`. Default: `None`.
        dropout: Fraction of the input features dropped while training, a float
            in `[0, 1)`; one mask per sequence, reused at every step. (There is
            no recurrent dropout: no state enters a gate.) Default: `0.0`.
        seed: Integer seed of the dropout mask. Default: `None`.
        activity_regularizer: Regularizer of the layer's output. Default: `None`.
        return_sequences: Return every step's output, `(batch, timesteps, units)`,
            instead of the last one. Default: `False`.
        return_state: Also return the final state. Default: `False`.
        go_backwards: Read the sequence from its last step to its first (outputs
            come in that order). Default: `False`.
        stateful: Start each batch from the previous batch's final state;
            `reset_states()` starts over. Default: `False`.
        unroll: Run the step loop unrolled instead of the parallel scan (short
            sequences, or a TFLite form with one copy of the step per time step).
            Default: `False`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...); the
            `dtype` policy must be floating-point.

    Call arguments:
        sequences: `(batch, timesteps, features)`.
        initial_state: Optional list with one `(batch, units)` tensor.
        mask: Optional boolean `(batch, timesteps)`; a masked step keeps the state
            and repeats the previous output (right or left padding alike).
        training: Whether dropout applies.

    Returns:
        `(batch, units)`, or `(batch, timesteps, units)` with `return_sequences`;
        with `return_state`, the list `[output, h]`.

    Raises:
        ValueError: At construction, if `units` is not a positive integer,
            `dropout` lies outside `[0, 1)` or the `dtype` policy is not
            floating-point; when called, if the input is not of rank 3, has no
            time step or an unknown feature size, or `initial_state` is not one
            `(batch, units)` tensor.

    Example:

    >>> import numpy as np
    >>> tuple(MinGRU(4, return_sequences=True)(np.ones((2, 5, 3), "float32")).shape)
    (2, 5, 4)
    """

    def __init__(
        self,
        units,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        **kwargs,
    ):
        # Checked here as well, so that the error names the layer the user built.
        check_rate(dropout, "dropout", describe_layer(type(self), kwargs))
        super().__init__(MinGRUCell, "min_gru_cell", locals(), **kwargs)
