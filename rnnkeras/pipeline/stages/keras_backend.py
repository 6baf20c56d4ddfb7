"""Which Keras backend each stage runs on, chosen before Keras is imported.

Keras reads `KERAS_BACKEND` once, when it is first imported, and a process keeps that backend
for good. So each stage selects its backend first thing, and the pipeline runs each stage in
its own process (`dvc repro`, `python pipelines/<stage>.py`, `rnnkeras <stage>`):

- `train` runs on `train.backend` (`tensorflow`, `jax` or `torch`). A `KERAS_BACKEND` set in
  the environment that says otherwise is an error, not a silent override: DVC tracks
  `train.backend`, not the environment, so the environment must not decide what was trained.
- `evaluate` and `export` run on TensorFlow whatever trained the model: what they produce, the
  served SavedModel and the TFLite files, is TensorFlow's, and the `.keras` file loads under any
  backend with the same outputs (`tests/layers/test_keras_file_across_backends.py`).
- `prepare` and `validate` do not use Keras.
"""

import importlib.util
import os
import sys

# The backend of the SavedModel and TFLite files, hence of the stages that write them.
SERVING_BACKEND = "tensorflow"
# The package each backend needs, and the rnnkeras extra that installs it.
_PACKAGES = {
    "tensorflow": ("tensorflow", "rnnkeras"),
    "jax": ("jax", "rnnkeras[jax]"),
    "torch": ("torch", "rnnkeras[torch]"),
}


def stage_backend(stage: str, params: dict) -> str | None:
    """The Keras backend `stage` runs on with these parameters (`None`: it does not use Keras).

    Args:
        stage: a stage name, e.g. `"train"`.
        params: the checked parameters (`rnnkeras.pipeline.params.load_params`).

    Returns:
        `"tensorflow"`, `"jax"`, `"torch"`, or `None` for `prepare` and `validate`.

    Example:

    >>> stage_backend("train", {"train": {"backend": "jax"}}), stage_backend("export", {})
    ('jax', 'tensorflow')
    """
    if stage == "train":
        return params["train"]["backend"]
    if stage in ("evaluate", "export"):
        return SERVING_BACKEND
    return None


def needs_own_process(stage: str, params: dict) -> bool:
    """Whether `stage` must run in a new process: this one imported Keras with another backend.

    Example:

    >>> needs_own_process("prepare", {})
    False
    """
    wanted = stage_backend(stage, params)
    keras = sys.modules.get("keras")
    return wanted is not None and keras is not None and keras.backend.backend() != wanted


def select_backend(stage: str, params: dict) -> None:
    """Makes Keras use the backend of `stage` (`stage_backend`); call it before Keras is imported.

    Sets `KERAS_BACKEND` for this process. For `train`, a `KERAS_BACKEND` already set in the
    environment must agree with `train.backend`; `evaluate` and `export` always use TensorFlow.

    Args:
        stage: a stage name, e.g. `"train"`.
        params: the checked parameters.

    Raises:
        ValueError: if Keras is already imported with another backend (a process keeps its
            first backend), if the environment's `KERAS_BACKEND` contradicts `train.backend`, or
            if the backend's package is not installed.
    """
    wanted = stage_backend(stage, params)
    if wanted is None:
        return
    # How the user would write it: the parameter for train, the fixed choice otherwise.
    received = f"train.backend={wanted!r}" if stage == "train" else f"backend={wanted!r}"
    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
        if current != wanted:
            raise ValueError(
                f"Stage `{stage}` runs on the Keras {wanted} backend, but this process already "
                f"imported Keras with the {current} backend, which it keeps. Run the stage in a "
                f"process of its own (`dvc repro`, `python pipelines/{stage}.py` or "
                f"`rnnkeras {stage}`). Received: {received}"
            )
        return
    environment = os.environ.get("KERAS_BACKEND")
    if stage == "train" and environment not in (None, "", wanted):
        raise ValueError(
            f"train.backend in params.yaml says {wanted!r} but the environment sets "
            f"KERAS_BACKEND={environment!r}; the pipeline trains on train.backend. Set "
            f"train.backend to {environment!r} (e.g. `dvc exp run -S train.backend="
            f"{environment}`) or unset KERAS_BACKEND. Received: {received}"
        )
    package, extra = _PACKAGES[wanted]
    if importlib.util.find_spec(package) is None:
        raise ValueError(
            f"Stage `{stage}` runs on the Keras {wanted} backend, which needs the `{package}` "
            f"package: pip install '{extra}'. Received: {received}"
        )
    os.environ["KERAS_BACKEND"] = wanted
