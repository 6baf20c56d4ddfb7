"""The recurrent part every architecture shares: one layer, a `Bidirectional` one, or a stack."""

import keras

from rnnkeras import layers as rnn_layers

RECURRENT_LAYERS = {
    "simple_rnn": rnn_layers.SimpleRNN,
    "lstm": rnn_layers.LSTM,
    "gru": rnn_layers.GRU,
}


def recurrent_class(rnn, owner: str) -> type:
    """The layer class named by `rnn` (a key of `RECURRENT_LAYERS`, or a layer class).

    Args:
        rnn: `"simple_rnn"`, `"lstm"`, `"gru"`, or a recurrent layer class taking
            `units`, `return_sequences`, `return_state` and `name` (any of
            `rnnkeras.layers`' recurrent layers).
        owner: How the error names the caller, e.g. `"sequence_classifier"`.

    Raises:
        ValueError: If `rnn` is neither a known name nor a `keras.layers.RNN` subclass.
    """
    if isinstance(rnn, str) and rnn in RECURRENT_LAYERS:
        return RECURRENT_LAYERS[rnn]
    if isinstance(rnn, type) and issubclass(rnn, keras.layers.RNN):
        return rnn
    raise ValueError(
        f"{owner} expects `rnn` in {sorted(RECURRENT_LAYERS)} or a recurrent layer class. "
        f"Received: rnn={rnn!r}"
    )


def check_positive(value, name: str, owner: str) -> int:
    """Returns `value` if it is a positive integer, else raises a `ValueError` naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{owner} expects `{name}` to be a positive integer. Received: {name}={value!r}"
        )
    return value


def state_sizes(layer) -> list[int]:
    """The sizes of the states a recurrent layer, `Bidirectional` or `StackedRNN` returns.

    The order is the one of `return_state` and `initial_state`: bottom layer
    first, forward direction before backward, `h` before `c`.
    """
    if isinstance(layer, rnn_layers.StackedRNN):
        return [size for inner in layer.rnn_layers for size in state_sizes(inner)]
    if hasattr(layer, "forward_layer"):
        return state_sizes(layer.forward_layer) + state_sizes(layer.backward_layer)
    sizes = layer.cell.state_size
    return list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]


def recurrent_stack(
    rnn="lstm",
    units: int = 8,
    depth: int = 1,
    bidirectional: bool = False,
    return_sequences: bool = False,
    return_state: bool = False,
    dropout: float = 0.0,
    residual: bool = False,
    name: str = "encoder",
    owner: str = "recurrent_stack",
) -> keras.layers.Layer:
    """One recurrent layer, optionally `Bidirectional`, or a `StackedRNN` of `depth` of them.

    Args:
        rnn: `"simple_rnn"`, `"lstm"`, `"gru"` or a recurrent layer class of
            `rnnkeras.layers`. Default: `"lstm"`.
        units: Units per layer (per direction when bidirectional). Default: `8`.
        depth: Number of stacked layers (Graves et al., 2013). Default: `1`.
        bidirectional: Wrap every layer in `Bidirectional` (Schuster & Paliwal,
            1997), outputs concatenated. Default: `False`.
        return_sequences: Return every step, `(batch, timesteps, width)`.
            Default: `False`.
        return_state: Also return the final states (see `state_sizes`).
            Default: `False`.
        dropout: Dropout between stacked layers, in `[0, 1)`. Default: `0.0`.
        residual: Residual links between stacked layers. Default: `False`.
        name: Name of the returned layer. Default: `"encoder"`.
        owner: How errors name the caller.

    Returns:
        A layer from `(batch, timesteps, features)` to `(batch, width)` (or the
        sequence), `width = units`, doubled when bidirectional.

    Raises:
        ValueError: If `rnn` is unknown or `units` or `depth` is not a positive integer.

    Example:

    >>> import numpy as np
    >>> stack = recurrent_stack("gru", units=4, depth=2, bidirectional=True)
    >>> tuple(stack(np.zeros((2, 5, 3), "float32")).shape)
    (2, 8)
    """
    layer_class = recurrent_class(rnn, owner)
    check_positive(units, "units", owner)
    check_positive(depth, "depth", owner)

    def layer(layer_name: str) -> keras.layers.Layer:
        recurrent = layer_class(
            units,
            return_sequences=return_sequences,
            return_state=return_state,
            name=f"{layer_name}_rnn" if bidirectional else layer_name,
        )
        if bidirectional:
            return rnn_layers.Bidirectional(recurrent, name=layer_name)
        return recurrent

    if depth == 1:
        return layer(name)
    return rnn_layers.StackedRNN(
        [layer(f"{name}_{index}") for index in range(depth)],
        residual=residual,
        dropout=dropout,
        return_sequences=return_sequences,
        return_state=return_state,
        name=name,
    )
