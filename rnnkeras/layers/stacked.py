"""`StackedRNN`: a deep RNN, several recurrent layers applied in sequence."""

import keras
from keras import ops

import rnnkeras.layers.sublayers as sublayers
from rnnkeras.layers.cell import check_float_dtype, check_rate
from rnnkeras.layers.recurrent import check_timesteps


def _set_outputs(layer, return_sequences: bool, return_state: bool) -> None:
    """Sets what a layer of the stack returns, through to both directions of a wrapper.

    Our `Bidirectional` forwards these attributes itself; `keras.layers.Bidirectional`
    keeps them as plain attributes that its directions never read, so they are set
    on each direction here, with the zero outputs at masked steps that Keras'
    wrapper sets up in its constructor.
    """
    layer.return_sequences = return_sequences
    layer.return_state = return_state
    if isinstance(layer, keras.layers.Bidirectional):
        for direction in sublayers.children(layer):
            direction.return_sequences = return_sequences
            direction.return_state = return_state
            if getattr(direction, "zero_output_for_mask", None) is not None:
                direction.zero_output_for_mask = return_sequences


@keras.saving.register_keras_serializable(package="rnnkeras")
class StackedRNN(keras.layers.Layer):
    """A deep RNN: each recurrent layer reads the output sequence of the one below.

    Stacking recurrent layers gives each time step a deeper transformation
    (Graves et al., 2013, "Speech Recognition with Deep Recurrent Neural
    Networks"). Every layer but the last returns its full sequence; the last one
    follows this wrapper's `return_sequences`. With `residual=True`, layer
    `l > 0` adds its input to its output (Wu et al., 2016, "Google's Neural
    Machine Translation System"), which keeps gradients alive in deep stacks.
    Where a layer changes the width (e.g. `Bidirectional(LSTM(64))`, 128 wide,
    under `GRU(64)`), its input is first multiplied by a learned `(in, out)`
    matrix, `residual_projection_<l>` (He et al., 2016, projection shortcuts).
    A residual link needs a sequence on both sides, so with
    `return_sequences=False` the top layer has none. The wrapper's dtype policy
    sets its outputs' dtype; the layers keep their own variables and states.

    Args:
        layers: Non-empty list of recurrent layer instances (`SimpleRNN`,
            `LSTM`, `GRU`, `Bidirectional`, or Keras ones), bottom first. The
            wrapper sets their `return_sequences` and `return_state`.
        residual: Add residual connections from layer 1 upwards.
            Default: `False`.
        dropout: Dropout rate applied between layers (not after the last), a
            float in `[0, 1)`. Default: `0.0`.
        return_sequences: Return the top layer's full sequence,
            `(batch, timesteps, units)`, instead of its last output.
            Default: `False`.
        return_state: Also return every layer's final states, bottom first.
            Default: `False`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...); the
            `dtype` policy must be floating-point.

    Call arguments:
        sequences: `(batch, timesteps, features)`.
        initial_state: Optional flat list with the initial states of every
            layer, bottom first.
        mask: Optional boolean `(batch, timesteps)`, passed to every layer.
        training: Whether dropout applies.

    Returns:
        The top layer's output, followed, with `return_state`, by every layer's
        final states, bottom first.

    Raises:
        ValueError: At construction, if `layers` is empty or holds a layer
            without `return_sequences`, `dropout` lies outside `[0, 1)` or the
            `dtype` policy is not floating-point. When called, if the input has
            no time step or `initial_state` holds the wrong number of states.

    Example:

    >>> import numpy as np
    >>> from rnnkeras.layers import GRU, LSTM
    >>> deep = StackedRNN([LSTM(8), GRU(8), GRU(8)], residual=True, dropout=0.1)
    >>> tuple(deep(np.ones((2, 5, 3), "float32")).shape)
    (2, 8)
    """

    def __init__(
        self,
        layers,
        residual=False,
        dropout=0.0,
        return_sequences=False,
        return_state=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_float_dtype(kwargs.get("dtype"), f"StackedRNN '{self.name}'")
        if not isinstance(layers, (list, tuple)) or not layers:
            raise ValueError(
                f"StackedRNN '{self.name}' expects a non-empty list of recurrent layers. "
                f"Received: layers={layers!r}"
            )
        for index, layer in enumerate(layers):
            if not hasattr(layer, "return_sequences") or not hasattr(layer, "return_state"):
                raise ValueError(
                    f"StackedRNN '{self.name}' expects recurrent layers (with "
                    f"`return_sequences`). Received: layers[{index}]={layer!r}"
                )
        self.rnn_layers = list(layers)
        self.residual = residual
        self.dropout = check_rate(dropout, "dropout", f"StackedRNN '{self.name}'")
        self.return_sequences = return_sequences
        self.return_state = return_state
        for layer in self.rnn_layers[:-1]:
            _set_outputs(layer, return_sequences=True, return_state=return_state)
        _set_outputs(self.rnn_layers[-1], return_sequences, return_state)
        self.dropouts = [
            keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
            for _ in self.rnn_layers[:-1]
        ]
        self.supports_masking = True

    def _state_counts(self):
        """How many states each layer of the stack takes and returns (both directions of a
        bidirectional one)."""
        return [
            sum(len(recurrent.state_size) for _, recurrent in sublayers.recurrent_layers(layer))
            for layer in self.rnn_layers
        ]

    def _has_residual(self, index: int) -> bool:
        layer = self.rnn_layers[index]
        return self.residual and index > 0 and layer.return_sequences

    def build(self, sequences_shape, initial_state_shape=None):
        shape = tuple(sequences_shape)
        check_timesteps(shape, f"StackedRNN '{self.name}'")
        projections = []
        for index, layer in enumerate(self.rnn_layers):
            if not layer.built:
                layer.build(shape)
            output_shape = layer.compute_output_shape(shape)
            if self.return_state:
                output_shape = output_shape[0]
            output_shape = tuple(output_shape)
            projection = None
            if self._has_residual(index) and output_shape[-1] != shape[-1]:
                # A residual link across a change of width adds a learned linear
                # projection of the input (He et al., 2016, "Deep Residual
                # Learning", projection shortcuts); equal widths keep the identity.
                projection = keras.layers.Dense(
                    output_shape[-1],
                    use_bias=False,
                    name=f"residual_projection_{index}",
                    dtype=self.dtype_policy,
                )
                projection.build(shape)
            projections.append(projection)
            shape = output_shape
        self.residual_projections = projections

    def _split_initial_state(self, initial_state):
        counts = self._state_counts()
        if initial_state is None:
            return [None] * len(counts)
        states = list(initial_state)
        if len(states) != sum(counts):
            raise ValueError(
                f"StackedRNN '{self.name}' expects {sum(counts)} initial states "
                f"({counts} per layer, bottom first). Received: {len(states)} initial states"
            )
        split, start = [], 0
        for count in counts:
            split.append(states[start : start + count])
            start += count
        return split

    def call(self, sequences, initial_state=None, mask=None, training=None):
        check_timesteps(sequences.shape, f"StackedRNN '{self.name}'")
        per_layer_states = self._split_initial_state(initial_state)
        outputs, final_states = sequences, []
        for index, (layer, states) in enumerate(
            zip(self.rnn_layers, per_layer_states, strict=True)
        ):
            result = layer(outputs, initial_state=states, mask=mask, training=training)
            if self.return_state:
                final_states.extend(result[1:])
                result = result[0]
            # The wrapper's dtype policy decides the outputs' dtype (the layers
            # keep their own variables and states), as `keras.layers.Bidirectional` does.
            result = ops.cast(result, self.compute_dtype)
            if self._has_residual(index):
                projection = self.residual_projections[index]
                result = result + (outputs if projection is None else projection(outputs))
            if index < len(self.dropouts):
                result = self.dropouts[index](result, training=training)
            outputs = result
        if self.return_state:
            return [outputs, *final_states]
        return outputs

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shape = tuple(sequences_shape)
        state_shapes = []
        for layer in self.rnn_layers:
            result = layer.compute_output_shape(shape)
            if self.return_state:
                state_shapes.extend(result[1:])
                result = result[0]
            shape = tuple(result)
        return [shape, *state_shapes] if self.return_state else shape

    def compute_mask(self, _, mask=None):
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask, *[None] * sum(self._state_counts())]
        return output_mask

    def reset_states(self):
        """Resets the states of every stateful layer in the stack."""
        for layer in self.rnn_layers:
            if getattr(layer, "stateful", False):
                layer.reset_states()

    reset_state = reset_states

    def get_config(self):
        config = {
            "layers": [keras.saving.serialize_keras_object(layer) for layer in self.rnn_layers],
            "residual": self.residual,
            "dropout": self.dropout,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
        }
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layers"] = [
            keras.saving.deserialize_keras_object(layer, custom_objects=custom_objects)
            for layer in config["layers"]
        ]
        return cls(**config)
