"""The model logged for serving: an MLflow `pyfunc` model from code around a SavedModel.

`log_and_register_model` logs `served_model.py` (this folder) with a TensorFlow SavedModel of
the forward pass from the project's one builder (`rnnkeras.export.saved_model.serving_module`),
then registers it (`rnnkeras.pipeline.tracking.registry`).
"""

import shutil
import tempfile
from pathlib import Path
from typing import Any

import keras
import numpy as np

from rnnkeras.pipeline.tracking.provenance import package_versions
from rnnkeras.pipeline.tracking.recording import require_active_run
from rnnkeras.pipeline.tracking.registry import register_version


def _tensor_shape(shape: Any, what: str) -> tuple[int | None, ...]:
    if isinstance(shape, list) or (shape and isinstance(shape[0], tuple | list)):
        raise ValueError(
            f"log_and_register_model serves models with one {what} tensor. "
            f"Received: {what}_shape={shape}"
        )
    return tuple(shape)


def model_signature(model: keras.Model) -> Any:
    """The MLflow signature the served model is logged with: its output tensor only.

    The input is left out on purpose. MLflow enforces a logged input schema before
    the model runs, in its own words, and lets `null`, `NaN` and `1e309`
    through; the served model (`rnnkeras/pipeline/tracking/served_model.py`) checks each batch
    itself instead and names the cause. The input's shape and dtype are recorded in
    the logged model's metadata (`input_metadata`).

    The batch dimension and any dimension the model leaves open (e.g. the time
    axis of a variable-length model) are `-1`.

    Args:
        model: A built Keras model with one input and one output.

    Returns:
        An `mlflow.models.ModelSignature` with a `TensorSpec` output and no input.

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((12, 1)), keras.layers.LSTM(4), keras.layers.Dense(3)])
    >>> model_signature(model).outputs.to_dict()[0]["tensor-spec"]["shape"]
    (-1, 3)
    """
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    _tensor_shape(model.input_shape, "input")  # the served model takes one input tensor
    shape = _tensor_shape(model.output_shape, "output")
    dtype = keras.backend.standardize_dtype(model.outputs[0].dtype)
    if dtype in ("float16", "bfloat16"):
        # The served SavedModel is the float32 twin of a mixed-precision model.
        dtype = "float32"
    output = TensorSpec(np.dtype(dtype), tuple(-1 if d is None else d for d in shape))
    return ModelSignature(inputs=None, outputs=Schema([output]))


def input_metadata(model: keras.Model) -> dict[str, Any]:
    """The input a served model expects, as recorded in its MLflow metadata.

    Args:
        model: A built Keras model with one input.

    Returns:
        `{"input_shape", "input_dtype"}`; open dimensions (the batch) are `-1`.

    Raises:
        ValueError: For a model with several inputs.

    Example:

    >>> import keras
    >>> input_metadata(keras.Sequential([keras.Input((None, 3)), keras.layers.Dense(1)]))
    {'input_shape': [-1, -1, 3], 'input_dtype': 'float32'}
    """
    shape = _tensor_shape(model.input_shape, "input")
    return {
        "input_shape": [-1 if size is None else size for size in shape],
        "input_dtype": np.dtype(model.inputs[0].dtype).name,
    }


def _serving_requirements() -> list[str]:
    versions = package_versions()
    tensorflow = "tensorflow-cpu" if "tensorflow-cpu" in versions else "tensorflow"
    return [
        f"{name}=={versions[name]}" for name in ("mlflow", tensorflow, "numpy") if name in versions
    ]


def log_and_register_model(
    model: keras.Model,
    input_example: Any,
    registered_name: str,
    metric_name: str,
    metric_value: float,
    greater_is_better: bool,
    alias: str = "champion",
) -> dict[str, Any]:
    """Logs the model for serving, registers a version, and moves the alias if it is better.

    The model is logged as an MLflow `pyfunc` model from code: the file
    `rnnkeras/pipeline/tracking/served_model.py`, which checks each batch (shape, dtype, finite
    numbers) and answers a bad one with a 400 naming the cause, around a
    TensorFlow SavedModel of the forward pass from the project's one builder
    (`rnnkeras.export.saved_model.serving_module`: no cuDNN kernel, float32).
    `mlflow models serve -m models:/<name>@<alias>` loads it with TensorFlow
    alone: the serving environment needs neither rnnkeras nor the Keras classes
    of its layers. The signature holds the output; `input_example` and the
    metadata (`input_metadata`) describe the input. `register_version`
    then registers it and points the alias at the best comparable version.

    Args:
        model: A built Keras model with one input and one output.
        input_example: A few input windows, shaped like the model's input.
        registered_name: Name of the registered model.
        metric_name: Evaluation metric that ranks versions, e.g. `"test.mae"`.
        metric_value: This model's value of it.
        greater_is_better: True for accuracy-like metrics, False for errors.
        alias: Alias of the best version.

    Returns:
        What `register_version` returns; `model_uri` names this version.

    Example:

    >>> import tempfile, numpy as np, keras
    >>> from rnnkeras.pipeline.tracking import configure, start_training_run
    >>> _ = configure(tempfile.mkdtemp())
    >>> model = keras.Sequential([keras.Input((6, 1)), keras.layers.GRU(3), keras.layers.Dense(1)])
    >>> with start_training_run({}, 0, tempfile.mktemp()):
    ...     result = log_and_register_model(model, np.zeros((2, 6, 1), "float32"),
    ...                                     "demo", "test.mae", 0.5, greater_is_better=False)
    >>> result["version"], result["promoted"]
    (1, True)
    """
    import mlflow

    from rnnkeras.export.saved_model import save_serving_module, serving_module

    require_active_run("log_and_register_model")
    signature = model_signature(model)
    example = np.asarray(input_example, dtype=model.inputs[0].dtype)
    expected = model.input_shape
    if example.ndim != len(expected) or any(
        size is not None and size != got
        for size, got in zip(expected[1:], example.shape[1:], strict=True)
    ):
        raise ValueError(
            f"input_example must be a batch shaped like the model input {expected}. "
            f"Received: input_example.shape={example.shape}"
        )
    metric_value = float(metric_value)
    module, _ = serving_module(model)
    with tempfile.TemporaryDirectory() as folder:
        saved_model = Path(folder) / "saved_model"
        save_serving_module(module, saved_model)
        # Logged from a copy: MLmodel records the file's path, which names no rnnkeras then.
        code = Path(shutil.copy(Path(__file__).with_name("served_model.py"), folder))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(code),
            artifacts={"saved_model": str(saved_model)},
            signature=signature,
            input_example=example,
            metadata=input_metadata(model),
            pip_requirements=_serving_requirements(),
        )
    return register_version(
        info.model_uri, registered_name, metric_name, metric_value, greater_is_better, alias
    )
