"""The Python model MLflow serves for text tasks: checks a batch of strings, runs the SavedModel.

`rnnkeras.pipeline.tracking.text_model_logging.log_and_register_text_model` logs this file as an
MLflow model from code, with two artifacts: `saved_model`, a TensorFlow SavedModel whose
`serving_default` takes a string tensor `(batch,)` and returns one string tensor `(batch,)`
(text in, text out: the character tables live inside it as TensorFlow lookup tables), and
`limits`, a JSON file `{"max_characters": N}`. Like `served_model.py` it imports NumPy,
TensorFlow and MLflow only, never rnnkeras.

A request sends `{"inputs": ["14 mars 1987", ...]}` (or a one-column `dataframe_split`); every
item must be a non-empty string of at most `max_characters` characters, or the whole batch is
refused with HTTP 400 and a message naming the item: `inputs[1]=null`.
"""

import json
from typing import Any

import mlflow
import numpy as np
import tensorflow as tf
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

SIGNATURE = "serving_default"


class InvalidText(MlflowException):
    """A batch the model refuses; MLflow's server answers it with HTTP 400 and `message` alone."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)
        self.cause = message

    def serialize_as_json(self) -> str:
        return json.dumps({"error_code": self.error_code, "message": self.cause})


def check_texts(inputs: Any, max_characters: int) -> list[str]:
    """`inputs` as a list of strings, or `InvalidText` naming the first bad item.

    Args:
        inputs: A request's `inputs` as MLflow parsed it: a list or array of strings, or a
            one-column `pandas.DataFrame`.
        max_characters: The longest text the model reads.

    Returns:
        The texts, in order.

    Raises:
        InvalidText: For an empty batch, a non-string item, an empty string, or a string
            longer than `max_characters`.

    Example:

    >>> check_texts(["14 mars 1987"], 48)
    ['14 mars 1987']
    >>> try:
    ...     check_texts(["14 mars 1987", None], 48)
    ... except InvalidText as error:
    ...     print(error.cause)
    inputs must be a non-empty list of texts of 1 to 48 characters. Received: inputs[1]=null
    """
    expected = f"inputs must be a non-empty list of texts of 1 to {max_characters} characters"
    if hasattr(inputs, "columns"):  # a DataFrame: one column of texts
        if len(inputs.columns) != 1:
            raise InvalidText(f"{expected}. Received: columns {list(inputs.columns)}")
        inputs = inputs.iloc[:, 0].tolist()
    if isinstance(inputs, str | dict) or not hasattr(inputs, "__len__"):
        raise InvalidText(f"{expected}. Received: inputs={json.dumps(inputs, default=str)}")
    items = inputs.tolist() if isinstance(inputs, np.ndarray) else list(inputs)
    if not items:
        raise InvalidText(f"{expected}. Received: inputs=[]")
    for index, item in enumerate(items):
        if not isinstance(item, str) or not 1 <= len(item) <= max_characters:
            shown = json.dumps(item, default=str)
            if isinstance(item, str) and len(item) > max_characters:
                shown = f"a text of {len(item)} characters"
            raise InvalidText(f"{expected}. Received: inputs[{index}]={shown}")
    return items


class ServedTextModel(mlflow.pyfunc.PythonModel):
    """The SavedModel's `serving_default` (one string input, one string output) behind `check_texts`."""

    def load_context(self, context: Any) -> None:
        self._serve = tf.saved_model.load(context.artifacts["saved_model"]).signatures[SIGNATURE]
        ((self._input, spec),) = self._serve.structured_input_signature[1].items()
        if spec.dtype != tf.string:
            raise MlflowException(
                f"The served text model runs SavedModels with one string input. Received: {spec}"
            )
        with open(context.artifacts["limits"]) as file:
            self._max_characters = int(json.load(file)["max_characters"])

    # No type hints: MLflow would check requests against them before `check_texts` does.
    def predict(self, context, model_input, params=None):
        texts = check_texts(model_input, self._max_characters)
        outputs = self._serve(**{self._input: tf.constant(texts)})
        (output,) = outputs.values()
        return [value.decode("utf-8") for value in output.numpy().tolist()]


mlflow.models.set_model(ServedTextModel())
