"""What a stage records in the active run: numbers (`log_metrics`) and files (`log_artifacts`)."""

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rnnkeras.pipeline.tracking.provenance import flatten


def require_active_run(action: str) -> None:
    """Refuses to record outside a run, instead of letting MLflow open one of its own.

    Args:
        action: What needs the run, as the caller's user knows it (`"log_metrics"`).

    Raises:
        ValueError: When no MLflow run is active.
    """
    import mlflow

    if mlflow.active_run() is None:
        raise ValueError(
            f"{action} needs an active MLflow run: call it inside "
            "`with tracking.start_training_run(...)` or `with tracking.resume_run(...)`. "
            "Received: active_run=None"
        )


def scalar(value: Any) -> float | None:
    """`value` as one float (a Python or NumPy number, a one-element tensor), else None.

    Booleans and text are not numbers here, though NumPy would convert them.

    Args:
        value: A metric's value, e.g. from the `logs` of a Keras callback.

    Returns:
        The float, or None for anything that is not one number.

    Example:

    >>> scalar(np.float32(0.5)), scalar([2]), scalar("0.5"), scalar([1, 2])
    (0.5, 2.0, None, None)
    """
    if isinstance(value, bool | str | bytes):
        return None
    try:
        array = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        return None
    return float(array.reshape(())) if array.size == 1 else None


def log_metrics(metrics: Mapping[str, Any], step: int | None = None) -> None:
    """Logs numbers to the active run; nested mappings get dotted names.

    Args:
        metrics: e.g. `{"test": {"mae": 0.4}, "baseline": {"mae": 0.9}}`.
        step: Optional step of every value.

    Raises:
        ValueError: For a value that is not a number, or without an active run.

    Example:

    >>> import tempfile
    >>> from rnnkeras.pipeline.tracking import configure, start_training_run
    >>> _ = configure(tempfile.mkdtemp())
    >>> with start_training_run({}, 0, tempfile.mktemp()):
    ...     log_metrics({"test": {"mae": 0.4}})
    """
    import mlflow

    require_active_run("log_metrics")
    numbers = {}
    for name, value in flatten(metrics).items():
        number = scalar(value)
        if number is None:
            raise ValueError(
                f"log_metrics expects numbers; metric `{name}` is not one. "
                f"Received: {name}={value!r}"
            )
        numbers[name] = number
    mlflow.log_metrics(numbers, step=step)


def log_artifacts(
    paths: str | Path | Iterable[str | Path], artifact_path: str | None = None
) -> None:
    """Copies files and folders into the active run's artifacts.

    A file lands in `artifact_path/`; a folder lands, with its content, in
    `artifact_path/<folder name>/`.

    Args:
        paths: One path or several.
        artifact_path: Folder inside the run's artifacts; None for the top.

    Raises:
        ValueError: For a path that does not exist, or without an active run.

    Example:

    >>> import tempfile, pathlib
    >>> from rnnkeras.pipeline.tracking import configure, start_training_run
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = configure(root)
    >>> (root / "report.json").write_text("{}")
    2
    >>> with start_training_run({}, 0, root / "run.json"):
    ...     log_artifacts(root / "report.json", "reports")
    """
    import mlflow

    require_active_run("log_artifacts")
    paths = [paths] if isinstance(paths, str | Path) else list(paths)
    missing = [str(path) for path in paths if not Path(path).exists()]
    if missing:
        raise ValueError(
            f"log_artifacts was given paths that do not exist. Received: paths={missing}"
        )
    for path in map(Path, paths):
        if path.is_dir():
            inside = f"{artifact_path}/{path.name}" if artifact_path else path.name
            mlflow.log_artifacts(str(path), inside)
        else:
            mlflow.log_artifact(str(path), artifact_path)
