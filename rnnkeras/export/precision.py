"""A float32 twin of a mixed-precision model: what every export traces.

A model built under `keras.mixed_precision.set_global_policy("mixed_float16")`
computes in float16 while keeping float32 weights. TFLite has no float16
`MatMul` (the converter stops with "'tf.MatMul' op is neither a custom op nor
a flex op"), the fused LSTM op needs float32, and a float16 SavedModel would
carry the training-time policy into serving. Exports therefore trace a twin
built from the model's config with every dtype policy set to `float32` and
holding the same float32 weights; the `float16` TFLite file is then the
float32 graph with float16 weights, as for any other model.

Example:

>>> import keras
>>> from rnnkeras.layers import LSTM
>>> keras.mixed_precision.set_global_policy("mixed_float16")
>>> model = keras.Sequential([keras.Input((5, 3)), LSTM(4), keras.layers.Dense(2)])
>>> keras.mixed_precision.set_global_policy("float32")
>>> twin = float32_model(model)
>>> twin is model, {layer.dtype_policy.name for layer in twin.layers}
(False, {'float32'})
>>> float32_model(twin) is twin
True
"""

import contextlib
from collections.abc import Iterator

import keras
import numpy as np

from rnnkeras.layers.sublayers import walk

_HALF = ("float16", "bfloat16")


def needs_float32_twin(model: keras.Model) -> bool:
    """Whether any layer of `model` (nested ones included) computes in a dtype other than float32.

    Integer-input layers (an `Embedding`'s indices) do not count: only the
    floating compute dtype of each layer's policy is looked at.
    """
    layers = [model, *(layer for _, layer in walk(model))]
    return any(
        layer.dtype_policy.compute_dtype in _HALF or layer.dtype_policy.variable_dtype in _HALF
        for layer in layers
    )


def _float32_policies(config):
    # A serialized DTypePolicy is {"class_name": "DTypePolicy", "config": {"name": ...}};
    # every one of them, at any depth (wrapped layers, cells), becomes float32.
    if isinstance(config, dict):
        if config.get("class_name") in ("DTypePolicy", "FloatDTypePolicy"):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: _float32_policies(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_float32_policies(value) for value in config]
    if config in ("mixed_float16", "mixed_bfloat16"):
        return "float32"
    return config


@contextlib.contextmanager
def _float32_global_policy() -> Iterator[None]:
    # Layers that build sublayers in their constructor (a Bidirectional's
    # backward copy) take the global policy, not the serialized one.
    saved = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(saved)


def float32_model(model: keras.Model) -> keras.Model:
    """`model` itself when it computes in float32, otherwise its float32 twin.

    The twin is rebuilt from `model`'s config with every dtype policy set to
    `float32` and given `model`'s weights in the twin's variable dtypes
    (mixed-precision weights are float32 already, so nothing is rounded).

    Args:
        model: A built Keras model.

    Returns:
        A model computing in float32 with the same layers, names and weights.

    Raises:
        ValueError: If `model` computes in float16 and cannot be rebuilt
            from its config (a subclassed model without `get_config`).
    """
    if not needs_float32_twin(model):
        return model
    try:
        config = _float32_policies(keras.saving.serialize_keras_object(model))
        with _float32_global_policy():
            twin = keras.saving.deserialize_keras_object(config)
    except (NotImplementedError, TypeError, ValueError) as error:
        raise ValueError(
            "Exports trace a float32 copy of a mixed-precision model, but this model "
            f"cannot be rebuilt from its config ({error}). Rebuild it under "
            "keras.mixed_precision.set_global_policy('float32'), load its weights, and "
            f"export that. Received: model={model.name!r}"
        ) from error
    twin.set_weights(
        [
            np.asarray(weight, variable.dtype)
            for weight, variable in zip(model.get_weights(), twin.weights, strict=True)
        ]
    )
    return twin
