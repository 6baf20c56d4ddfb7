"""TFLite quantization modes and the representative data full-integer calibration reads.

- `None`: float32 weights and arithmetic.
- `"float16"`: weights stored as float16 (half the size), computed in float32
  on CPU, natively on GPUs.
- `"dynamic"`: int8 weights. Matrix products of loops compute with int8
  weights and activations quantized on the fly; a fused LSTM dequantizes its
  weights once at load and computes in float32. The converter leaves tensors
  under 1,024 elements in float32, so a very small model does not shrink.
- `"int8"`: full integer: int8 weights and activations, int8 inputs and
  outputs (floats are quantized with the scale and zero point stored in the
  file), calibrated on representative inputs — what microcontrollers and
  integer-only accelerators run.

Calibration runs the float model in the TFLite interpreter, and that step
crashes the process (a segmentation fault in `MinMax::Update`, TensorFlow
2.21) on `WHILE` loops. `"int8"` therefore needs fused or unrolled layers;
`export_tflite` unrolls the loops itself under `form="auto"`.

Example:

>>> import numpy as np, tensorflow as tf
>>> spec = tf.TensorSpec((1, 4, 2), tf.float32)
>>> samples = representative_samples(np.zeros((3, 4, 2), "float32"), [spec])
>>> [batch[0].shape for batch in samples()]
[(1, 4, 2), (1, 4, 2), (1, 4, 2)]
"""

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import tensorflow as tf

QUANTIZE_MODES = (None, "float16", "dynamic", "int8")

MAX_CALIBRATION_BATCHES = 500
"""Calibration stops after this many batches: more adds time, hardly accuracy."""


def checked_mode(quantize: str | None) -> str | None:
    """`quantize` as one of `QUANTIZE_MODES` (`"none"`/`"float32"` mean `None`)."""
    if quantize in ("none", "float32"):
        return None
    if quantize not in QUANTIZE_MODES:
        raise ValueError(
            f"rnnkeras.export expects quantize in {QUANTIZE_MODES} (or 'none'). "
            f"Received: quantize={quantize!r}"
        )
    return quantize


def _as_batches(item, specs: list[tf.TensorSpec]) -> Iterator[list[np.ndarray]]:
    several = isinstance(item, (list, tuple)) and (len(specs) > 1 or len(item) == 1)
    arrays = list(item) if several else [item]
    if len(arrays) != len(specs):
        raise ValueError(
            f"representative_data must give {len(specs)} array(s) per sample, one per "
            f"model input. Received: {len(arrays)} array(s)"
        )
    arrays = [np.asarray(array) for array in arrays]
    batch = specs[0].shape[0]
    for index, (array, spec) in enumerate(zip(arrays, specs, strict=True)):
        if array.ndim == spec.shape.rank - 1:
            arrays[index] = array = array[None]
        if tuple(array.shape[1:]) != tuple(spec.shape[1:]):
            raise ValueError(
                f"representative_data for input '{spec.name}' must have sample shape "
                f"{tuple(spec.shape[1:])} (the export's sequence_length and features). "
                f"Received: shape={array.shape}"
            )
    for start in range(0, len(arrays[0]) - batch + 1, batch):
        yield [
            array[start : start + batch].astype(spec.dtype.as_numpy_dtype)
            for array, spec in zip(arrays, specs, strict=True)
        ]


def representative_samples(
    data: np.ndarray | list | Callable[[], Iterable], specs: list[tf.TensorSpec]
) -> Callable[[], Iterator[list[np.ndarray]]]:
    """Turns user data into the converter's `representative_dataset` callable.

    Args:
        data: Inputs from the training data: an array `(samples, timesteps,
            ...)` (a list of arrays for several model inputs), or a callable
            returning an iterable of samples or batches.
        specs: The export's input signature (fixes batch, time and features).

    Returns:
        A callable yielding lists of arrays shaped like `specs`, at most
        `MAX_CALIBRATION_BATCHES` of them.
    """
    if data is None:
        raise ValueError(
            "quantize='int8' calibrates activation ranges on representative inputs. "
            "Pass representative_data (an array of training inputs, or a callable "
            "yielding them). Received: representative_data=None"
        )

    def batches() -> Iterator[list[np.ndarray]]:
        count = 0
        # An array (or a list with one array per input) is one item cut into batches.
        for item in data() if callable(data) else [data]:
            for batch in _as_batches(item, specs):
                yield batch
                count += 1
                if count >= MAX_CALIBRATION_BATCHES:
                    return
        if count == 0:
            raise ValueError(
                f"representative_data gave no full batch of {specs[0].shape[0]} sample(s). "
                "Received: an empty dataset"
            )

    return batches


def configure(converter, quantize: str | None, samples, specs: list[tf.TensorSpec]) -> None:
    """Sets `converter` up for a quantization mode.

    Args:
        converter: A `tf.lite.TFLiteConverter`.
        quantize: One of `QUANTIZE_MODES`.
        samples: `representative_samples(...)` for `"int8"`, else ignored.
        specs: The input signature; integer inputs (token ids) stay integers.
    """
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize is None:
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "dynamic":
        # The MLIR dynamic-range quantizer leaves UNIDIRECTIONAL_SEQUENCE_LSTM
        # weights in float32; the previous one stores them as int8 (dequantized
        # at load) and treats FULLY_CONNECTED layers the same way as the new one.
        converter.experimental_new_dynamic_range_quantizer = False
    elif quantize == "int8":
        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if all(spec.dtype.is_floating for spec in specs):
            converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
