"""`Bidirectional`: run a recurrent layer forwards and backwards and merge."""

import copy

import keras
from keras import ops

from rnnkeras.layers.cell import check_float_dtype
from rnnkeras.layers.recurrent import check_timesteps

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _merge(forward, backward, merge_mode):
    if merge_mode == "concat":
        return ops.concatenate([forward, backward], axis=-1)
    if merge_mode == "sum":
        return forward + backward
    if merge_mode == "mul":
        return forward * backward
    if merge_mode == "ave":
        return (forward + backward) / 2
    return [forward, backward]


@keras.saving.register_keras_serializable(package="rnnkeras")
class Bidirectional(keras.layers.Layer):
    """Bidirectional wrapper for rnnkeras (or Keras) recurrent layers.

    A bidirectional RNN (Schuster & Paliwal, 1997, "Bidirectional Recurrent
    Neural Networks") runs one copy of `layer` forwards over the sequence and
    one backwards (a clone with `go_backwards` flipped, or `backward_layer`),
    then merges their outputs. With `return_sequences` the backward outputs are
    flipped back, so position `t` of both halves refers to input `t`. A mask
    reaches both directions, so padded steps never enter either state; with
    `return_sequences` their outputs are zero.

    It takes the arguments of `keras.layers.Bidirectional` and orders weights
    forward then backward as it does, so `set_weights` swaps them both ways.

    Args:
        layer: A recurrent layer instance (`rnnkeras.layers.LSTM`, `GRU`,
            `SimpleRNN`, or a Keras one) with `go_backwards` and
            `return_sequences`; it is cloned for the forward direction (and the
            backward one, unless `backward_layer` is given).
        merge_mode: How the two outputs combine: `"concat"` (width
            `2 * units`), `"sum"`, `"mul"`, `"ave"` (width `units`) or `None`
            (both returned as a list). Default: `"concat"`.
        backward_layer: Optional recurrent layer for the backward direction;
            its `go_backwards` must be the opposite of `layer`'s and its
            `return_sequences` and `return_state` the same. Default: `None`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...); the
            `dtype` policy must be floating-point.

    Call arguments:
        sequences: `(batch, timesteps, features)`.
        initial_state: Optional list: the forward states, then the backward
            states, each `(batch, units)`.
        mask: Optional boolean `(batch, timesteps)`.
        training: Whether dropout applies.

    Returns:
        The merged output (or `[forward, backward]` with `merge_mode=None`),
        followed, with `return_state`, by the forward then the backward final
        states.

    Raises:
        ValueError: At construction, if `merge_mode` is not one of the above,
            `layer` is not a recurrent layer, `backward_layer` does not match
            `layer` or the `dtype` policy is not floating-point. When called, if
            the input has no time step or `initial_state` does not hold the
            states of both directions.

    Example:

    >>> import numpy as np
    >>> from rnnkeras.layers import GRU
    >>> layer = Bidirectional(GRU(4, return_sequences=True), merge_mode="sum")
    >>> tuple(layer(np.ones((2, 5, 3), "float32")).shape)
    (2, 5, 4)
    """

    def __init__(self, layer, merge_mode="concat", backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        check_float_dtype(kwargs.get("dtype"), f"Bidirectional layer '{self.name}'")
        if merge_mode not in MERGE_MODES:
            raise ValueError(
                f"Bidirectional layer '{self.name}' expects `merge_mode` in "
                f"{MERGE_MODES}. Received: merge_mode={merge_mode!r}"
            )
        if not isinstance(layer, keras.layers.Layer) or not hasattr(layer, "go_backwards"):
            raise ValueError(
                f"Bidirectional layer '{self.name}' expects a recurrent layer with "
                f"`go_backwards` and `return_sequences`. Received: layer={layer!r}"
            )
        self.merge_mode = merge_mode
        self.forward_layer = self._clone(layer, go_backwards=layer.go_backwards, prefix="forward_")
        if backward_layer is None:
            self.backward_layer = self._clone(
                layer, go_backwards=not layer.go_backwards, prefix="backward_"
            )
        else:
            self._check_backward_layer(layer, backward_layer)
            self.backward_layer = backward_layer
        self._set_directions(
            return_sequences=layer.return_sequences, return_state=layer.return_state
        )
        self.stateful = getattr(layer, "stateful", False)
        self.supports_masking = True

    @property
    def return_sequences(self) -> bool:
        """Whether both directions return their full sequences (settable)."""
        return self.forward_layer.return_sequences

    @return_sequences.setter
    def return_sequences(self, value: bool) -> None:
        self._set_directions(return_sequences=value)

    @property
    def return_state(self) -> bool:
        """Whether both directions also return their final states (settable)."""
        return self.forward_layer.return_state

    @return_state.setter
    def return_state(self, value: bool) -> None:
        self._set_directions(return_state=value)

    def _set_directions(self, **settings) -> None:
        # Keras skips attribute assignments that do not change the value, so
        # the properties above cannot be relied on to run; this method can.
        for direction in (self.forward_layer, self.backward_layer):
            for name, value in settings.items():
                setattr(direction, name, value)
            if hasattr(direction, "zero_output_for_mask"):
                # Padded steps must read zero in both halves once the backward
                # half is flipped back into input order.
                direction.zero_output_for_mask = direction.return_sequences

    @staticmethod
    def _clone(layer, go_backwards, prefix):
        config = copy.deepcopy(layer.get_config())
        config["go_backwards"] = go_backwards
        config["name"] = prefix + layer.name.removeprefix("forward_").removeprefix("backward_")
        return layer.__class__.from_config(config)

    def _check_backward_layer(self, layer, backward_layer):
        mismatches = [
            f"{name}={getattr(backward_layer, name, None)!r} vs {getattr(layer, name)!r}"
            for name in ("return_sequences", "return_state")
            if getattr(backward_layer, name, None) != getattr(layer, name)
        ]
        if getattr(backward_layer, "go_backwards", None) == layer.go_backwards:
            mismatches.append("go_backwards must be the opposite of the forward layer's")
        if mismatches:
            raise ValueError(
                f"Bidirectional layer '{self.name}' needs a `backward_layer` matching "
                f"`layer`. Received mismatches: {mismatches}"
            )

    def build(self, sequences_shape, initial_state_shape=None):
        check_timesteps(sequences_shape, f"Bidirectional layer '{self.name}'")
        for direction in (self.forward_layer, self.backward_layer):
            if not direction.built:
                direction.build(sequences_shape)

    def _split_initial_state(self, initial_state):
        if initial_state is None:
            return None, None
        states = list(initial_state)
        forward_count = len(self.forward_layer.state_size)
        expected = forward_count + len(self.backward_layer.state_size)
        if len(states) != expected:
            raise ValueError(
                f"Bidirectional layer '{self.name}' expects {expected} initial states "
                f"(forward then backward). Received: {len(states)} initial states"
            )
        return states[:forward_count], states[forward_count:]

    def call(self, sequences, initial_state=None, mask=None, training=None):
        check_timesteps(sequences.shape, f"Bidirectional layer '{self.name}'")
        forward_state, backward_state = self._split_initial_state(initial_state)
        forward = self.forward_layer(
            sequences, initial_state=forward_state, mask=mask, training=training
        )
        backward = self.backward_layer(
            sequences, initial_state=backward_state, mask=mask, training=training
        )
        states = []
        if self.return_state:
            states = [*forward[1:], *backward[1:]]
            forward, backward = forward[0], backward[0]
        # The wrapper's dtype policy decides the merged output's dtype (the
        # directions keep their own), as in `keras.layers.Bidirectional`.
        forward = ops.cast(forward, self.compute_dtype)
        backward = ops.cast(backward, self.compute_dtype)
        if self.return_sequences:
            backward = ops.flip(backward, axis=1)
        output = _merge(forward, backward, self.merge_mode)
        if not self.return_state:
            return output
        outputs = output if self.merge_mode is None else [output]
        return [*outputs, *states]

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        forward_shape = self.forward_layer.compute_output_shape(sequences_shape)
        backward_shape = self.backward_layer.compute_output_shape(sequences_shape)
        states = []
        if self.return_state:
            states = [*forward_shape[1:], *backward_shape[1:]]
            forward_shape, backward_shape = forward_shape[0], backward_shape[0]
        if self.merge_mode == "concat":
            merged = [(*forward_shape[:-1], forward_shape[-1] + backward_shape[-1])]
        elif self.merge_mode is None:
            merged = [forward_shape, backward_shape]
        else:
            merged = [forward_shape]
        if not self.return_state and len(merged) == 1:
            return merged[0]
        return [*merged, *states] if self.return_state else merged

    def compute_mask(self, _, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        outputs = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            state_count = len(self.forward_layer.state_size) + len(self.backward_layer.state_size)
            return [*outputs, *[None] * state_count]
        return outputs if self.merge_mode is None else output_mask

    @property
    def states(self):
        """The forward then the backward states of a stateful layer, else `None`."""
        forward, backward = self.forward_layer.states, self.backward_layer.states
        if forward and backward:
            return (*forward, *backward)
        return None

    def reset_states(self):
        """Resets the states of both directions (stateful layers only)."""
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    reset_state = reset_states

    def get_config(self):
        config = {
            "layer": keras.saving.serialize_keras_object(self.forward_layer),
            "merge_mode": self.merge_mode,
            "backward_layer": keras.saving.serialize_keras_object(self.backward_layer),
        }
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(
            config["layer"], custom_objects=custom_objects
        )
        config["backward_layer"] = keras.saving.deserialize_keras_object(
            config["backward_layer"], custom_objects=custom_objects
        )
        return cls(**config)
