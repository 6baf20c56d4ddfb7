"""The Python model MLflow serves: checks a request's `inputs`, then runs the SavedModel.

`rnnkeras.pipeline.tracking.log_and_register_model` logs this file as an MLflow model from code
with the model's SavedModel as the artifact `saved_model`. MLflow copies the file into
the logged model and runs it from there, so it imports NumPy, TensorFlow and MLflow only,
never rnnkeras: the serving host needs none of rnnkeras' classes.

Every batch is checked before the SavedModel runs; a bad one is refused with HTTP 400
and a message that starts with the cause: what `inputs` must be (shape, dtype, finite
numbers), then what was received. MLflow's own schema enforcement is not used: it lets
`null`, `NaN` and `1e309` through as NaN (NaN predictions, which are not valid JSON)
and words its refusals around a dump of the input and its own internals.
"""

import json
from typing import Any

import mlflow
import numpy as np
import tensorflow as tf
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

SIGNATURE = "serving_default"
OUTPUT = "output_0"


class InvalidInputs(MlflowException):
    """A batch the model refuses; MLflow's server answers it with HTTP 400.

    The scoring server rewrites `message` to begin with a dump of the whole input
    (`Failed to predict data '...'`) but builds its reply from `serialize_as_json`,
    which therefore sends the cause alone.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)
        self.cause = message

    def serialize_as_json(self) -> str:
        return json.dumps({"error_code": self.error_code, "message": self.cause})


def _shape_text(shape: tuple[int | None, ...]) -> str:
    sizes = ["batch"] + ["any" if size is None else str(size) for size in shape[1:]]
    return f"({', '.join(sizes)})"


def _index_text(index: tuple[int, ...]) -> str:
    return "inputs" + "".join(f"[{i}]" for i in index)


def _json_text(value: Any) -> str:
    """`value` as the JSON request spelled it (`null`, `NaN`, `"a"`, `1e+39`)."""
    value = value.item() if isinstance(value, np.generic) else value
    return json.dumps(value)


def _as_float(value: Any) -> float | None:
    """A JSON value as a float: `null` is NaN, an int too large for a float is inf,
    `true`/`false` are 1/0 (as NumPy reads them among numbers); None for text or objects."""
    if value is None:
        return np.nan
    if not isinstance(value, int | float | np.number | np.bool_):
        return None
    try:
        return float(value)
    except OverflowError:
        return np.inf


def _reads_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _floats(raw: np.ndarray, expected: str) -> np.ndarray:
    """`raw` (numbers, or the object/text array NumPy makes of mixed JSON) as float64."""
    if raw.dtype.kind in "biuf":
        return raw.astype(np.float64)
    if raw.dtype.kind in "US":
        # A single string turns every number of the request into text too; the
        # culprit is a value that does not read as a number, if any does not.
        texts = list(np.ndenumerate(raw))
        index, value = next(((i, v) for i, v in texts if not _reads_as_number(v)), texts[0])
        raise InvalidInputs(
            f"{expected}. Received: text, e.g. {_index_text(index)}={_json_text(value)}"
        )
    values = np.vectorize(_as_float, otypes=[object])(raw)
    not_numbers = np.argwhere(np.equal(values, None))
    if len(not_numbers):
        index = tuple(int(i) for i in not_numbers[0])
        raise InvalidInputs(
            f"{expected}. Received: {_index_text(index)}={_json_text(raw[index])} "
            f"({len(not_numbers)} value(s) that are not numbers)"
        )
    return values.astype(np.float64)


def check_inputs(inputs: Any, shape: tuple[int | None, ...], dtype: tf.DType) -> np.ndarray:
    """`inputs` as an array of `dtype`, or `InvalidInputs` naming what is wrong with it.

    Args:
        inputs: A request's `inputs` as MLflow parsed it (an array, or nested lists).
        shape: The model's input shape, `None` for the batch and any open axis.
        dtype: The model's input dtype.

    Returns:
        The batch as a NumPy array of `dtype`.

    Raises:
        InvalidInputs: For an empty batch, a shape other than `shape`, values that are
            not numbers, or numbers that `dtype` cannot hold: `null`, `NaN`,
            `Infinity`, numbers beyond its range (such as `1e309`), fractions for an
            integer dtype.

    Example:

    >>> check_inputs([[[1.0], [2.0]]], (None, 2, 1), tf.float32).dtype
    dtype('float32')
    >>> try:
    ...     check_inputs([[[1.0], [None]]], (None, 2, 1), tf.float32)
    ... except InvalidInputs as error:
    ...     print(error.cause)  # doctest: +ELLIPSIS
    inputs must be ... shaped (batch, 2, 1) holding float32 numbers, ... Received: inputs[0][1][0]=null (1 such value(s))
    """
    numpy_dtype = np.dtype(dtype.as_numpy_dtype)
    expected = (
        f"inputs must be a non-empty batch of windows shaped {_shape_text(shape)} "
        f"holding {numpy_dtype.name} numbers"
    )
    if isinstance(inputs, dict):
        raise InvalidInputs(f"{expected}. Received: an object with keys {sorted(inputs)}")
    try:
        raw = np.asarray(inputs)
    except ValueError:
        raise InvalidInputs(
            f"{expected}. Received: rows of different lengths (a ragged array)"
        ) from None
    if raw.ndim == 0 or raw.shape[0] == 0:
        raise InvalidInputs(f"{expected}. Received: inputs={json.dumps(raw.tolist())}")
    if raw.ndim != len(shape) or any(
        size is not None and size != got for size, got in zip(shape[1:], raw.shape[1:], strict=True)
    ):
        raise InvalidInputs(f"{expected}. Received: inputs.shape={raw.shape}")
    values = _floats(raw, expected)
    limits = np.finfo(numpy_dtype) if numpy_dtype.kind == "f" else np.iinfo(numpy_dtype)
    bad = ~np.isfinite(values) | (values < float(limits.min)) | (values > float(limits.max))
    whole = ""
    if numpy_dtype.kind != "f":
        bad |= np.isfinite(values) & (values != np.round(values))
        whole = " whole"
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidInputs(
            f"{expected}, each finite and{whole} from {limits.min:.4g} to {limits.max:.4g} "
            f"(null, NaN and Infinity mean nothing to the model). "
            f"Received: {_index_text(index)}={_json_text(raw[index])} "
            f"({int(bad.sum())} such value(s))"
        )
    return values.astype(numpy_dtype)


class ServedModel(mlflow.pyfunc.PythonModel):
    """The SavedModel's `serving_default` signature behind `check_inputs`."""

    def load_context(self, context: Any) -> None:
        self._serve = tf.saved_model.load(context.artifacts["saved_model"]).signatures[SIGNATURE]
        specs = self._serve.structured_input_signature[1]
        if len(specs) != 1:
            raise MlflowException(
                f"The served model runs SavedModels with one input. Received: inputs={sorted(specs)}"
            )
        ((self._name, spec),) = specs.items()
        self._shape = tuple(spec.shape)
        self._dtype = spec.dtype

    # MLflow validates against most type hints, but not against `np.ndarray`, which is
    # what its server parses `inputs` into.
    def predict(
        self, context: Any, model_input: np.ndarray, params: dict | None = None
    ) -> np.ndarray:
        batch = check_inputs(model_input, self._shape, self._dtype)
        outputs = self._serve(**{self._name: tf.constant(batch)})
        predictions = outputs[OUTPUT].numpy()
        if not np.isfinite(predictions).all():
            rows = sorted({int(i) for i in np.argwhere(~np.isfinite(predictions))[:, 0]})
            raise InvalidInputs(
                "The model's predictions must be finite numbers, but these inputs drove them "
                "to overflow; they lie far outside the range the model was trained on. "
                f"Received: inputs rows {rows} gave non-finite predictions"
            )
        return predictions


mlflow.models.set_model(ServedModel())
