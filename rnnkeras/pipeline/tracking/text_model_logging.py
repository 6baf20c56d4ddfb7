"""The logged model of a text task: `served_text_model.py` around a text-in, text-out SavedModel."""

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from rnnkeras.pipeline.tracking.model_logging import _serving_requirements
from rnnkeras.pipeline.tracking.recording import require_active_run
from rnnkeras.pipeline.tracking.registry import register_version


def log_and_register_text_model(
    saved_model: str | Path,
    max_characters: int,
    input_example: list[str],
    registered_name: str,
    metric_name: str,
    metric_value: float,
    greater_is_better: bool,
    alias: str = "champion",
) -> dict[str, Any]:
    """Logs a text SavedModel for `mlflow models serve`, registers it, moves the alias if better.

    The logged pyfunc model is `served_text_model.py` (this folder; it imports no rnnkeras) with
    the SavedModel and a `limits` JSON as artifacts: the server takes `{"inputs": [texts]}` and
    answers a list of texts, refusing empty, non-string or too long items with HTTP 400.

    Args:
        saved_model: A SavedModel folder whose `serving_default` maps one string tensor
            `(batch,)` to one string tensor `(batch,)`.
        max_characters: The longest text the server accepts.
        input_example: A few texts (logged with the model).
        registered_name: Name of the registered model.
        metric_name: Evaluation metric that ranks versions, e.g. `"test.character_error_rate"`.
        metric_value: This model's value of it.
        greater_is_better: True for accuracy-like metrics, False for errors.
        alias: Alias of the best version.

    Returns:
        What `rnnkeras.pipeline.tracking.register_version` returns; `model_uri` names the version.

    Raises:
        ValueError: If `input_example` is empty or `max_characters` is not positive.

    Example:

    >>> import tempfile, tensorflow as tf
    >>> from rnnkeras.pipeline.tracking import configure, start_training_run
    >>> class Upper(tf.Module):
    ...     @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    ...     def __call__(self, text):
    ...         return {"text": tf.strings.upper(text)}
    >>> folder = tempfile.mkdtemp()
    >>> module = Upper()
    >>> tf.saved_model.save(module, folder, signatures={"serving_default": module.__call__})
    >>> _ = configure(tempfile.mkdtemp())
    >>> with start_training_run({}, 0, tempfile.mktemp()):
    ...     result = log_and_register_text_model(folder, 8, ["abc"], "upper", "test.cer", 0.1,
    ...                                          greater_is_better=False)
    >>> import mlflow
    >>> mlflow.pyfunc.load_model(result["model_uri"]).predict(["abc", "x y"])
    ['ABC', 'X Y']
    """
    import mlflow
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, DataType, Schema

    require_active_run("log_and_register_text_model")
    if not input_example or isinstance(max_characters, bool) or max_characters < 1:
        raise ValueError(
            "log_and_register_text_model expects texts as input_example and max_characters >= 1. "
            f"Received: input_example={input_example!r}, max_characters={max_characters!r}"
        )
    with tempfile.TemporaryDirectory() as folder:
        limits = Path(folder) / "limits.json"
        limits.write_text(json.dumps({"max_characters": int(max_characters)}) + "\n")
        code = Path(shutil.copy(Path(__file__).with_name("served_text_model.py"), folder))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(code),
            artifacts={"saved_model": str(saved_model), "limits": str(limits)},
            # The output only: MLflow's own input check would come before `check_texts` and
            # word its refusals around a dump of the input (as for served_model.py).
            signature=ModelSignature(inputs=None, outputs=Schema([ColSpec(DataType.string)])),
            input_example=list(input_example),
            metadata={"input": "texts", "max_characters": int(max_characters)},
            pip_requirements=_serving_requirements(),
        )
    return register_version(
        info.model_uri, registered_name, metric_name, float(metric_value), greater_is_better, alias
    )
