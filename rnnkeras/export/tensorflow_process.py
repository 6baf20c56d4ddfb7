"""Exports from a JAX or PyTorch model: the export runs in a TensorFlow-backend process.

SavedModel and TFLite files are traced by TensorFlow, which can only trace a model whose Keras
backend is TensorFlow, and a process keeps the backend it started with. So when Keras runs on
JAX or PyTorch, `export_saved_model`, `export_tflite` and `write_export_report` save the model
to a temporary `.keras` file, which a fresh process with `KERAS_BACKEND=tensorflow` loads
(a `.keras` file gives the same outputs under every backend:
`tests/layers/test_keras_file_across_backends.py`) and exports. The result, or the error,
comes back pickled, so the call behaves as it does under TensorFlow.

Run as `python -m rnnkeras.export.tensorflow_process REQUEST RESULT` (the child's side).
"""

import functools
import importlib
import inspect
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ALTERNATIVE = (
    "save the model (`model.save('model.keras')`) and run `rnnkeras export-model "
    "model.keras`, or run the export with KERAS_BACKEND=tensorflow"
)


def _backend() -> str:
    import keras

    return keras.backend.backend()


def _as_numpy(arguments: dict) -> dict:
    """Backend tensors (JAX or torch) as NumPy arrays, which the TensorFlow process reads."""
    import keras

    return keras.tree.map_structure(
        lambda value: keras.ops.convert_to_numpy(value) if keras.ops.is_tensor(value) else value,
        arguments,
    )


def _checked_picklable(function: Callable, arguments: dict) -> None:
    for name, value in arguments.items():
        try:
            pickle.dumps(value)
        except Exception as error:
            raise ValueError(
                f"{function.__name__} runs in a TensorFlow-backend process when Keras' backend "
                f"is {_backend()}, so its arguments must be data (arrays, lists, paths) that "
                f"can be sent there ({type(error).__name__}: {error}). Pass arrays instead, or "
                f"{ALTERNATIVE}. Received: {name}={value!r}"
            ) from None


def call_in_tensorflow_process(function: Callable, arguments: dict, model=None):
    """Calls `function(**arguments)` in a fresh process whose Keras backend is TensorFlow.

    Args:
        function: A module-level function (found there by module and name).
        arguments: Its keyword arguments, sent pickled; backend tensors go as NumPy arrays.
        model: A Keras model passed as `arguments["model"]`: sent as a `.keras` file and
            loaded there with `rnnkeras.load_model`.

    Returns:
        What `function` returned there.

    Raises:
        ValueError: If an argument cannot be sent (a callable, an open file...).
        RuntimeError: If the process ended without a result (it crashed, or the model file
            does not load there); the message holds the end of its error output.
        Exception: Whatever `function` raised there, re-raised here.
    """
    arguments = _as_numpy(arguments)
    _checked_picklable(function, arguments)
    with tempfile.TemporaryDirectory(prefix="rnnkeras-tensorflow-") as scratch:
        scratch = Path(scratch)
        request = {"module": function.__module__, "name": function.__name__, "arguments": arguments}
        if model is not None:
            request["model"] = str(scratch / "model.keras")
            model.save(request["model"])
        (scratch / "request.pkl").write_bytes(pickle.dumps(request))
        process = subprocess.run(
            [
                sys.executable,
                "-m",
                __name__,
                str(scratch / "request.pkl"),
                str(scratch / "result.pkl"),
            ],
            env={**os.environ, "KERAS_BACKEND": "tensorflow"},
            capture_output=True,
            text=True,
        )
        sys.stdout.write(process.stdout)
        result = scratch / "result.pkl"
        if not result.is_file():
            raise RuntimeError(
                f"The TensorFlow-backend process that runs {function.__name__} ended without a "
                f"result (exit code {process.returncode}). Its error output ends with:\n"
                f"{process.stderr[-3000:]}\nReceived: function={function.__name__}"
            )
        failed, value = pickle.loads(result.read_bytes())
    if failed:
        raise value
    return value


def runs_on_tensorflow(function: Callable) -> Callable:
    """Makes an export function that takes `model` first work under every Keras backend.

    Under TensorFlow the function runs as it is; under JAX or PyTorch it runs through
    `call_in_tensorflow_process`, with the same arguments, result and errors.
    """
    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if _backend() == "tensorflow":
            return function(*args, **kwargs)
        arguments = signature.bind(*args, **kwargs).arguments
        return call_in_tensorflow_process(function, arguments, model=arguments.pop("model"))

    return wrapper


def _loaded_model(request: dict) -> dict:
    """`{"model": ...}` loaded from the request's `.keras` file (`{}` when it sends none)."""
    if "model" not in request:
        return {}
    import rnnkeras

    try:
        return {"model": rnnkeras.load_model(request["model"], compile=False)}
    except Exception as error:
        raise ValueError(
            f"{request['name']} could not load the model in its TensorFlow-backend process, "
            "which imports rnnkeras' layers only (a model with classes of your own needs a "
            "script that runs with KERAS_BACKEND=tensorflow, imports them and loads the "
            f".keras file). Received: error={type(error).__name__}: {error}"
        ) from None


def _serve(request_path: str, result_path: str) -> None:
    if _backend() != "tensorflow":
        raise RuntimeError(
            f"{__name__} must run with KERAS_BACKEND=tensorflow. Received: backend={_backend()}"
        )
    request = pickle.loads(Path(request_path).read_bytes())
    function = getattr(importlib.import_module(request["module"]), request["name"])
    try:
        arguments = {**_loaded_model(request), **request["arguments"]}
        outcome = (False, function(**arguments))
    except Exception as error:
        outcome = (True, error)
    try:
        content = pickle.dumps(outcome)
        pickle.loads(content)
    except Exception:
        # An error (or result) that does not survive pickling still comes back, as its text.
        content = pickle.dumps((True, RuntimeError(f"{type(outcome[1]).__name__}: {outcome[1]}")))
    Path(result_path).write_bytes(content)


if __name__ == "__main__":
    _serve(*sys.argv[1:])
