"""Model builders for the pipeline's task kinds (`rnnkeras.pipeline.tasks`), from `rnnkeras.layers`.

* `build_forecaster` — many-to-one forecasting: a window of past values predicts the next
  `horizon` values of one target feature (as changes from its last value).
* `build_classifier` — variable-length sequence classification: zero-padded sequences are
  masked, so padding never enters the recurrent state.

Scaling is inside the models (statistics from the training split): the classifier reads
the CSV's values as they are, the forecaster reads them relative to the window's last step.
"""

import keras

from rnnkeras import layers as rnn_layers

CELLS = {
    "simple": rnn_layers.SimpleRNN,
    "lstm": rnn_layers.LSTM,
    "gru": rnn_layers.GRU,
    "peephole_lstm": rnn_layers.PeepholeLSTM,
    "layer_norm_lstm": rnn_layers.LayerNormLSTM,
    "layer_norm_gru": rnn_layers.LayerNormGRU,
    "layer_norm_simple_rnn": rnn_layers.LayerNormSimpleRNN,
    "indrnn": rnn_layers.IndRNN,
    "esn": rnn_layers.ESN,
    "mingru": rnn_layers.MinGRU,
    "minlstm": rnn_layers.MinLSTM,
}
"""`train.cell` names and the `rnnkeras.layers` class each builds (its default arguments)."""


def recurrent_core(
    cell: str = "lstm",
    units: int = 64,
    depth: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    residual: bool = False,
) -> keras.layers.Layer:
    """The recurrent part of a model: one layer, or a `StackedRNN` of `depth` layers.

    Args:
        cell: a key of `CELLS`: `"simple"`, `"lstm"`, `"gru"`, `"peephole_lstm"`,
            `"layer_norm_lstm"`, `"layer_norm_gru"`, `"layer_norm_simple_rnn"`, `"indrnn"`,
            `"esn"` (only the layers above it learn), `"mingru"` or `"minlstm"`.
        units: units per recurrent layer (per direction when bidirectional).
        depth: number of stacked recurrent layers.
        bidirectional: wrap every layer in `Bidirectional` (outputs concatenated).
        dropout: dropout rate between stacked layers.
        residual: residual links between stacked layers (from the second layer up).

    Returns:
        A layer mapping `(batch, timesteps, features)` to `(batch, units)` (or
        `(batch, 2 * units)` when bidirectional).

    Example:

    >>> import numpy as np
    >>> core = recurrent_core("gru", units=8, depth=2, bidirectional=True)
    >>> tuple(core(np.zeros((3, 5, 2), "float32")).shape)
    (3, 16)
    """
    if cell not in CELLS:
        raise ValueError(f"recurrent_core expects cell in {sorted(CELLS)}. Received: cell={cell!r}")
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"recurrent_core expects depth >= 1. Received: depth={depth!r}")
    if not isinstance(units, int) or units < 1:
        raise ValueError(f"recurrent_core expects units >= 1. Received: units={units!r}")

    def layer(index: int, return_sequences: bool) -> keras.layers.Layer:
        recurrent = CELLS[cell](units, return_sequences=return_sequences, name=f"{cell}_{index}")
        if bidirectional:
            return rnn_layers.Bidirectional(recurrent, name=f"bidirectional_{index}")
        return recurrent

    if depth == 1:
        return layer(0, return_sequences=False)
    return rnn_layers.StackedRNN(
        [layer(i, return_sequences=i < depth - 1) for i in range(depth)],
        residual=residual,
        dropout=dropout,
        name="stacked_rnn",
    )


def build_forecaster(
    window: int,
    features: int,
    horizon: int,
    input_variance: list[float],
    target_scale: float,
    **core,
) -> keras.Model:
    """A forecaster of the next `horizon` changes of a target, from a window of past changes.

    It reads windows expressed relative to their last time step and predicts how far the
    target moves from its last value (see `rnnkeras.pipeline.tasks.forecasting`); a forecast in
    the data's units is `last value + prediction`. Working with changes keeps a trending
    series (like CO2) inside the range the network and a quantized TFLite file were
    calibrated on, and makes "no change" — the naive last-value baseline — the natural
    starting point.

    Args:
        window: input time steps.
        features: input features per step.
        horizon: predicted changes of the target.
        input_variance: per-feature variance of the relative training windows.
        target_scale: standard deviation of the target's change in training windows.
        **core: `recurrent_core` arguments (`cell`, `units`, `depth`, `bidirectional`,
            `dropout`, `residual`).

    Returns:
        An uncompiled `keras.Model` from `(batch, window, features)` to `(batch, horizon)`.

    Example:

    >>> import numpy as np
    >>> model = build_forecaster(8, 1, 2, input_variance=[1.0], target_scale=1.0, units=4)
    >>> tuple(model(np.zeros((1, 8, 1), "float32")).shape)
    (1, 2)
    """
    inputs = keras.Input((window, features), name="window")
    scaled = keras.layers.Normalization(
        mean=[0.0] * features, variance=list(input_variance), name="scale_inputs"
    )(inputs)
    hidden = recurrent_core(**core)(scaled)
    hidden = keras.layers.Dropout(core.get("dropout", 0.0), name="dropout")(hidden)
    change = keras.layers.Dense(horizon, name="change")(hidden)
    outputs = keras.layers.Rescaling(float(target_scale), name="change_in_units")(change)
    return keras.Model(inputs, outputs, name="forecaster")


def build_classifier(
    max_length: int,
    features: int,
    classes: int,
    input_mean: list[float],
    input_variance: list[float],
    masked: bool = True,
    **core,
) -> keras.Model:
    """A classifier of zero-padded variable-length sequences, masking the padding.

    Args:
        max_length: padded sequence length.
        features: features per time step.
        classes: number of classes.
        input_mean: per-feature mean over the real (unpadded) training frames.
        input_variance: per-feature variance over the same frames.
        masked: skip all-zero frames (the padding). `False` for sequences that all have
            `max_length` frames, where an all-zero frame is data (a blank image row).
        **core: `recurrent_core` arguments.

    Returns:
        An uncompiled `keras.Model` from `(batch, max_length, features)` (with `masked`,
        all-zero frames are padding) to class probabilities `(batch, classes)`.

    Example:

    >>> import numpy as np
    >>> model = build_classifier(6, 2, 3, [0.0, 0.0], [1.0, 1.0], cell="gru", units=4)
    >>> x = np.zeros((1, 6, 2), "float32"); x[0, :3] = 1.0
    >>> float(model(x).numpy().sum().round(5))
    1.0
    """
    inputs = keras.Input((max_length, features), name="frames")
    frames = keras.layers.Masking(mask_value=0.0, name="padding_mask")(inputs) if masked else inputs
    scaled = keras.layers.Normalization(
        mean=list(input_mean), variance=list(input_variance), name="scale_inputs"
    )(frames)
    hidden = recurrent_core(**core)(scaled)
    hidden = keras.layers.Dropout(core.get("dropout", 0.0), name="dropout")(hidden)
    outputs = keras.layers.Dense(classes, activation="softmax", name="class_probabilities")(hidden)
    return keras.Model(inputs, outputs, name="classifier")


CORE_PARAMS = ("cell", "units", "depth", "bidirectional", "dropout", "residual")
"""The `train` keys that shape the recurrent core (`recurrent_core`'s arguments)."""


def core_params(train: dict) -> dict:
    """The `recurrent_core` arguments in the `train` section of `params.yaml`.

    Example:

    >>> core_params({"cell": "gru", "units": 8, "epochs": 3})
    {'cell': 'gru', 'units': 8}
    """
    return {name: train[name] for name in CORE_PARAMS if name in train}
