"""Which models `rnnkeras.export` accepts, and the shapes it exports them at.

A model is exportable when every layer in it is one of ours (or the Keras
built-in of the same name) or a plain layer from `PLAIN_LAYERS`, which the
exported graph calls as they are. Anything else is refused up front with an
error that names the layer and lists what is supported, instead of failing
deep inside the TFLite converter.

Example:

>>> import keras
>>> from rnnkeras.layers import GRU
>>> model = keras.Sequential([keras.Input((None, 3)), GRU(4, name="gru"), keras.layers.Dense(1)])
>>> [path for path, _ in recurrent_layers(model)]
['gru']
>>> [spec.shape for spec in input_specs(model, sequence_length=12, batch_size=1)]
[TensorShape([1, 12, 3])]
"""

from collections.abc import Sequence

import keras
import tensorflow as tf

from rnnkeras import layers as rnn_layers
from rnnkeras.layers.sublayers import is_recurrent, walk

# The export modules that name layers by path take the library's walk from here.
from rnnkeras.layers.sublayers import recurrent_layers as recurrent_layers

PLAIN_LAYERS = (
    "InputLayer",
    "Dense",
    "EinsumDense",
    "Embedding",
    "Masking",
    "Dropout",
    "SpatialDropout1D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "Activation",
    "ReLU",
    "LeakyReLU",
    "Softmax",
    "Normalization",
    "Rescaling",
    "LayerNormalization",
    "BatchNormalization",
    "Flatten",
    "Reshape",
    "Permute",
    "RepeatVector",
    "Cropping1D",
    "ZeroPadding1D",
    "GlobalAveragePooling1D",
    "GlobalMaxPooling1D",
    "Concatenate",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "TimeDistributed",
    "Attention",
    "AdditiveAttention",
)
"""Keras layers exported as they are (`TimeDistributed` only around one of these)."""

RECURRENT_LAYERS = tuple(name for name in rnn_layers.__all__ if not name.endswith("Cell"))
"""Our recurrent layers and wrappers (every one exports; a cell inside `keras.layers.RNN` too)."""


def supported_layers_text() -> str:
    """The supported layers, as one sentence for error messages and docs."""
    return (
        f"recurrent: {', '.join(RECURRENT_LAYERS)} from rnnkeras.layers (SimpleRNN, LSTM, GRU "
        f"and Bidirectional also as keras.layers built-ins); other: {', '.join(PLAIN_LAYERS)}"
    )


def _plain_classes() -> tuple[type, ...]:
    return tuple(
        getattr(keras.layers, name) for name in PLAIN_LAYERS if hasattr(keras.layers, name)
    )


def is_lstm(layer) -> bool:
    """Whether `layer` is an LSTM with the Keras weight layout (ours or the built-in)."""
    return isinstance(layer, (rnn_layers.LSTM, keras.layers.LSTM))


def check_exportable(model: keras.Model) -> None:
    """Raises a `ValueError` naming the first layer `rnnkeras.export` cannot export.

    Args:
        model: A built Keras model.

    Raises:
        ValueError: For an unsupported layer type (with the supported list), or a
            `stateful` recurrent layer (its state between calls cannot live in a
            SavedModel signature or a TFLite file).
    """
    if not isinstance(model, keras.Model):
        raise ValueError(
            f"rnnkeras.export expects a keras.Model. Received: model={type(model).__name__}"
        )
    if not model.built or not model.inputs:
        raise ValueError(
            "rnnkeras.export expects a built model with known inputs (a functional or "
            f"Sequential model with an Input). Received: model={model.name!r}"
        )
    plain = _plain_classes()
    containers = (
        keras.Model,
        rnn_layers.Bidirectional,
        keras.layers.Bidirectional,
        rnn_layers.StackedRNN,
    )
    for path, layer in walk(model):
        if getattr(layer, "stateful", False):
            raise ValueError(
                f"rnnkeras.export cannot export the stateful layer '{path}': its state "
                "between calls has no place in a SavedModel signature or a TFLite file. "
                "Rebuild the model with stateful=False and copy the weights "
                f"(set_weights). Received: stateful={layer.stateful}"
            )
        if is_recurrent(layer) or isinstance(layer, containers + plain):
            continue
        raise ValueError(
            f"rnnkeras.export cannot export layer '{path}' of type "
            f"{type(layer).__name__}. Supported layers: {supported_layers_text()}. "
            "Replace the layer with a supported one, or move that step out of the model. "
            f"Received: layer={type(layer).__module__}.{type(layer).__name__}"
        )


def input_names(model: keras.Model) -> list[str]:
    """The names of the model's inputs: those of their `Input` layers (e.g. `"frames"`)."""
    return [tensor._keras_history.operation.name for tensor in model.inputs]


def _lengths_per_input(model: keras.Model, sequence_length) -> list[int | None]:
    count = len(model.inputs)
    if sequence_length is None or isinstance(sequence_length, int):
        return [sequence_length] * count
    lengths = list(sequence_length)
    if len(lengths) != count:
        raise ValueError(
            f"rnnkeras.export expects one sequence_length per model input ({count}). "
            f"Received: sequence_length={sequence_length!r}"
        )
    return lengths


def input_specs(
    model: keras.Model,
    sequence_length: int | Sequence[int] | None = None,
    batch_size: int | None = 1,
) -> list[tf.TensorSpec]:
    """The fixed input signature of an export: batch and time axes made concrete.

    Args:
        model: The model; its inputs are `(batch, timesteps, ...)`.
        sequence_length: Time steps of every input (or one value per input).
            Required when the model's time axis is open (`None`); refused when it
            contradicts a fixed time axis.
        batch_size: The batch axis, or `None` to leave it open.

    Returns:
        One `tf.TensorSpec` per model input, named after the input.
    """
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(
            f"rnnkeras.export expects batch_size to be a positive integer or None. "
            f"Received: batch_size={batch_size!r}"
        )
    specs = []
    lengths = _lengths_per_input(model, sequence_length)
    for tensor, name, length in zip(model.inputs, input_names(model), lengths, strict=True):
        shape = list(tensor.shape)
        if len(shape) < 2:
            raise ValueError(
                f"rnnkeras.export expects input '{name}' to be a sequence "
                f"(batch, timesteps, ...). Received: shape={tuple(shape)}"
            )
        if length is not None and (not isinstance(length, int) or length < 1):
            raise ValueError(
                f"rnnkeras.export expects sequence_length to be a positive integer. "
                f"Received: sequence_length={length!r}"
            )
        if shape[1] is None and length is None:
            raise ValueError(
                f"Input '{name}' has an open time axis, so the export needs a "
                f"sequence_length. Received: sequence_length=None, input shape={tuple(shape)}"
            )
        if shape[1] is not None and length is not None and shape[1] != length:
            raise ValueError(
                f"sequence_length contradicts input '{name}', which is fixed at "
                f"{shape[1]} time steps. Received: sequence_length={length}"
            )
        if any(size is None for size in shape[2:]):
            raise ValueError(
                f"rnnkeras.export expects input '{name}' to have fixed feature axes. "
                f"Received: shape={tuple(shape)}"
            )
        shape[0] = batch_size
        shape[1] = shape[1] if length is None else length
        specs.append(tf.TensorSpec(shape, tf.as_dtype(tensor.dtype), name=name))
    return specs
