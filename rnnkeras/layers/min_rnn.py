"""What `MinGRU` and `MinLSTM` share: the activation `g`, the cell base and the parallel loop.

Feng et al. (2024, "Were RNNs All We Needed?", arXiv 2410.01201) drop the
previous state from the gates of GRU and LSTM, so each step is
`h_t = a_t * h_{t-1} + b_t` with `a_t`, `b_t` computed from `x_t` alone. A cell
here therefore has one input kernel and no recurrent kernel; its
`coefficients(projected)` gives `(a_t, b_t)` for one step or for a whole
sequence at once, and both modes use it:

- step by step (`step`, the cell inside `keras.layers.RNN`, streaming with
  `stateful=True`, `unroll=True`, export as a loop);
- in parallel over time (`MinRNNLayer.inner_loop`, through
  `rnnkeras.layers.parallel_scan.linear_recurrence`).

The paper's candidate activation `g` keeps the candidate state positive, which
its log-space scan (Heinsen, 2023) needs. Our scan works on `a_t`, `b_t` directly
(no logarithms, so any sign of `h_0` is fine), and keeps `g` so that weights and
results match the paper's models.

Example:

>>> import numpy as np
>>> import keras
>>> [round(v, 4) for v in keras.ops.convert_to_numpy(g(np.array([-1.0, 0.0, 2.0]))).tolist()]
[0.2689, 0.5, 2.5]
"""

import keras
from keras import constraints, initializers, layers, ops, regularizers, tree
from keras import random as keras_random

from rnnkeras.layers.cell import check_float_dtype, check_rate, check_units
from rnnkeras.layers.keras_internals import DropoutRNNCell
from rnnkeras.layers.parallel_scan import linear_recurrence
from rnnkeras.layers.recurrent import RecurrentLayer


def g(x):
    """The paper's candidate activation: `x + 0.5` for `x >= 0`, `sigmoid(x)` below.

    Continuous at 0 (both sides give 0.5), positive everywhere, and linear for
    large inputs, so the state does not saturate (Feng et al., 2024, appendix B).
    """
    return ops.where(x >= 0, x + 0.5, ops.sigmoid(x))


class MinRNNCell(layers.Layer, DropoutRNNCell):
    """Base of `MinGRUCell` and `MinLSTMCell`: one input kernel, input dropout, config.

    Subclasses set `gates` (how many `units`-wide blocks the kernel holds) and
    implement `coefficients`.
    """

    gates = 1

    def __init__(
        self,
        units,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        check_float_dtype(kwargs.get("dtype"), owner)
        self.units = check_units(units, owner)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = check_rate(dropout, "dropout", owner)
        # No state enters a gate, so there is no recurrent product to drop from.
        self.recurrent_dropout = 0.0
        self.seed = seed
        self.seed_generator = keras_random.SeedGenerator(seed=seed)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' needs a known feature dimension "
                f"(last axis). Received: input_shape={tuple(input_shape)}"
            )
        self.kernel = self.add_weight(
            shape=(input_dim, self.gates * self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.gates * self.units,),
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def project_inputs(self, inputs):
        """`inputs @ kernel (+ bias)`, for one step `(batch, features)` or a whole sequence."""
        projected = ops.matmul(inputs, self.kernel)
        return projected if self.bias is None else projected + self.bias

    def coefficients(self, projected):
        """`(a_t, b_t)` of `h_t = a_t * h_{t-1} + b_t` from the projected input."""
        raise NotImplementedError

    def step(self, projected, states, recurrent_mask=None):
        """One step from the projected input; `recurrent_mask` is always `None` here."""
        decay, update = self.coefficients(projected)
        h = decay * states[0] + update
        return h, [h]

    def call(self, inputs, states, training=False):
        if not isinstance(states, (list, tuple)):
            states = [states]
        if training and self.dropout > 0:
            inputs = inputs * self.get_dropout_mask(inputs)
        return self.step(self.project_inputs(inputs), list(states))

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        config = {
            "units": self.units,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


class MinRNNLayer(RecurrentLayer):
    """Base of `MinGRU` and `MinLSTM`: runs the whole sequence as one parallel scan.

    The step loop of `RecurrentLayer` runs instead with `unroll=True` and when
    the number of time steps is not known when the call is traced; both give
    the same results.
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if tree.is_nested(mask):
            mask = mask[0]
        if self.unroll or sequences.shape[1] is None:
            return self._loop(sequences, initial_state, mask, training)
        return self._parallel(sequences, initial_state, mask, training)

    def _parallel(self, sequences, initial_state, mask, training):
        cell = self.cell
        perturbation = self._checked_perturbation(sequences)
        inputs = self._dropped_inputs(sequences, training)
        if self.go_backwards:
            inputs = ops.flip(inputs, axis=1)
            mask = None if mask is None else ops.flip(mask, axis=1)
            perturbation = None if perturbation is None else ops.flip(perturbation, axis=1)
        decay, update = cell.coefficients(cell.project_inputs(inputs))
        if perturbation is not None:
            update = update + perturbation
        if mask is not None:
            # A padded step is the identity step: the state carries over.
            real = ops.expand_dims(ops.cast(mask, "bool"), -1)
            decay = ops.where(real, decay, ops.ones_like(decay))
            update = ops.where(real, update, ops.zeros_like(update))
        states = linear_recurrence(decay, update, initial_state[0])
        outputs = states
        if mask is not None:
            # As in Keras' loop, a masked step repeats the previous output, or
            # outputs zeros with zero_output_for_mask. Before the first real step
            # the backends differ: JAX's loop repeats the state (h_0), TensorFlow's
            # and PyTorch's output zeros; the scan follows the backend's loop.
            shown = real
            if not self.zero_output_for_mask:
                shown = ops.cumsum(ops.cast(real, "int32"), axis=1) > 0
                if keras.backend.backend() == "jax":
                    shown = ops.ones_like(real)
            outputs = ops.where(shown, states, ops.zeros_like(states))
        return outputs[:, -1], outputs, [states[:, -1]]

    def streaming_model(self) -> keras.Model:
        """A model that runs one step per call, `(x_t, h_{t-1}) -> h_t`, with this layer's weights.

        The edge form of the layer: the caller keeps `h` between calls and feeds
        one input vector at a time; `rnnkeras.export.export_tflite` writes it
        as a file without a loop or a state inside (one step per invoke). The
        weights are copied, so later training of this layer does not reach it.

        Returns:
            A `keras.Model` with inputs `[x_t (batch, 1, features), h (batch, units)]`
            and output `h_t (batch, units)`.

        Raises:
            ValueError: If the layer is not built yet (its feature size is unknown).
        """
        if not self.built:
            raise ValueError(
                f"{self._describe()} must be built (called once) before "
                f"`streaming_model`, so its feature size is known. Received: built=False"
            )
        features = self.cell.kernel.shape[0]
        config = self.get_config()
        config.update(
            name=f"{self.name}_step",
            return_sequences=False,
            return_state=False,
            go_backwards=False,
            stateful=False,
            unroll=True,
        )
        step = type(self).from_config(config)
        step_input = keras.Input((1, features), name="x_t")
        state = keras.Input((self.cell.units,), name="h_previous")
        output = step(step_input, initial_state=[state])
        step.set_weights(self.get_weights())
        return keras.Model([step_input, state], output, name=f"{self.name}_step")
