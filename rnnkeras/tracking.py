"""MLflow tracking: one run per training, a served model in the registry.

The stages of the pipeline call these functions: the train stage opens a run
with :func:`start_training_run` and logs per-epoch metrics with
:func:`epoch_metrics_callback`; the evaluate and export stages reopen that run
with :func:`resume_run`, log metrics and files, and register the model with
:func:`log_and_register_model`.

Where runs go: ``MLFLOW_TRACKING_URI`` when it is set (a tracking server, or
any store MLflow understands), else a SQLite store ``mlflow.db`` in the project
with artifacts in ``mlartifacts/`` beside it, both as absolute paths so that
``mlflow ui`` and ``mlflow models serve`` work from any folder.

MLflow is imported inside the functions, so ``import rnnkeras`` stays light.
"""

import contextlib
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np

DEFAULT_EXPERIMENT = "rnnkeras"

# Distributions whose versions decide what a run computes; each run records them.
_RECORDED_DISTRIBUTIONS = (
    "rnnkeras",
    "keras",
    "tensorflow",
    "tensorflow-cpu",
    "numpy",
    "mlflow",
    "dvc",
    "great-expectations",
)

# dvc.lock is rewritten by `dvc repro` after every stage, so during a pipeline
# run it always differs from the commit; it records outputs, not code.
_NOT_SOURCE = ("dvc.lock",)

_METRIC_TAG = "rnnkeras.metric_name"
_VALUE_TAG = "rnnkeras.metric_value"
_DIRECTION_TAG = "rnnkeras.greater_is_better"


def default_tracking_uri(project_root: str | Path = ".") -> str:
    """The project's embedded store: ``sqlite:///<abs project_root>/mlflow.db``.

    Args:
        project_root: Folder that holds ``mlflow.db`` and ``mlartifacts/``.

    Returns:
        The SQLite tracking URI with an absolute path.

    Example:

    >>> default_tracking_uri("/srv/project")
    'sqlite:////srv/project/mlflow.db'
    """
    return f"sqlite:///{Path(project_root).resolve() / 'mlflow.db'}"


def artifact_location(tracking_uri: str) -> str | None:
    """Where experiments created in a SQLite store keep their artifacts.

    A SQLite store has no artifact root of its own, so MLflow would fall back to
    ``./mlruns`` relative to whichever folder first created the experiment.
    Artifacts go to ``mlartifacts/`` beside the database file instead. For any
    other store (a tracking server) the store decides, and this returns None.

    Args:
        tracking_uri: An MLflow tracking URI.

    Returns:
        A ``file://`` URI, or None when the store chooses the location.

    Example:

    >>> artifact_location("sqlite:////srv/project/mlflow.db")
    'file:///srv/project/mlartifacts'
    >>> artifact_location("http://127.0.0.1:5000") is None
    True
    """
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return None
    database = Path(tracking_uri[len(prefix) :]).resolve()
    return (database.parent / "mlartifacts").as_uri()


def configure(project_root: str | Path = ".") -> str:
    """Points MLflow at ``MLFLOW_TRACKING_URI``, else at the project's SQLite store.

    Args:
        project_root: Folder of the embedded store (used only when
            ``MLFLOW_TRACKING_URI`` is unset).

    Returns:
        The tracking URI now in use.

    Example:

    >>> import tempfile
    >>> uri = configure(tempfile.mkdtemp())  # sqlite:////tmp/.../mlflow.db
    """
    import mlflow

    uri = os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri(project_root)
    mlflow.set_tracking_uri(uri)
    return uri


def experiment_id(name: str = DEFAULT_EXPERIMENT) -> str:
    """The id of experiment ``name`` in the current store, created if missing.

    A new experiment in a SQLite store keeps its artifacts beside the database
    (see :func:`artifact_location`); a deleted one is restored.

    Args:
        name: Experiment name.

    Returns:
        The experiment id.

    Example:

    >>> import tempfile
    >>> _ = configure(tempfile.mkdtemp())
    >>> experiment_id("demo") == experiment_id("demo")
    True
    """
    import mlflow

    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        location = artifact_location(mlflow.get_tracking_uri())
        return client.create_experiment(name, artifact_location=location)
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    return experiment.experiment_id


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings to one level with dotted keys, as MLflow params and metrics.

    Args:
        values: A possibly nested mapping, e.g. the content of ``params.yaml``.
        prefix: Prepended to every key, followed by a dot.

    Returns:
        A flat dict; leaves keep their values.

    Example:

    >>> flatten({"train": {"cell": "gru", "units": 32}, "seed": 7})
    {'train.cell': 'gru', 'train.units': 32, 'seed': 7}
    """
    flat = {}
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat


def package_versions() -> dict[str, str]:
    """Installed versions of the distributions that decide what a run computes.

    Returns:
        ``{distribution: version}`` for the ones that are installed, plus ``python``.

    Example:

    >>> "keras" in package_versions() and "python" in package_versions()
    True
    """
    versions = {"python": platform.python_version()}
    for distribution in _RECORDED_DISTRIBUTIONS:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[distribution] = importlib.metadata.version(distribution)
    return versions


def git_state(folder: str | Path = ".") -> dict[str, str]:
    """The commit checked out in ``folder`` and whether tracked source files differ from it.

    ``dvc.lock`` is left out of the dirty check: ``dvc repro`` rewrites it after
    each stage, so it differs from the commit in the middle of every pipeline run.

    Args:
        folder: Any folder inside the work tree.

    Returns:
        ``{"commit", "dirty", "dirty_paths"}`` (``dirty`` is ``"true"`` or
        ``"false"``), or ``{}`` outside a git work tree or without git.

    Example:

    >>> import tempfile
    >>> git_state(tempfile.mkdtemp())
    {}
    """

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return {}
    changed = [line[3:] for line in status.splitlines() if line[3:] not in _NOT_SOURCE]
    return {
        "commit": commit,
        "dirty": "true" if changed else "false",
        "dirty_paths": ", ".join(changed[:20]),
    }


def _require_active_run(action: str) -> None:
    import mlflow

    if mlflow.active_run() is None:
        raise ValueError(
            f"{action} needs an active MLflow run: call it inside "
            "`with tracking.start_training_run(...)` or `with tracking.resume_run(...)`. "
            "Received: active_run=None"
        )


@contextlib.contextmanager
def start_training_run(params: Mapping[str, Any], seed: int, run_file: str | Path) -> Iterator[Any]:
    """Opens the MLflow run of one training and records what it was made from.

    The run goes to experiment ``params["mlflow"]["experiment"]`` (default
    ``"rnnkeras"``) of the configured store, or is the run that ``mlflow run``
    created when ``MLFLOW_RUN_ID`` is set. It logs every value of ``params``
    with dotted names (``train.cell``), the seed, and tags with the package
    versions (``version.<name>``) and the git commit and dirty flag
    (``mlflow.source.git.commit``, ``git.dirty``, ``git.dirty_paths``). The run
    id goes to ``run_file`` so the later stages can reopen the run with
    :func:`resume_run`.

    Args:
        params: The parameters the training uses, e.g. the content of ``params.yaml``.
        seed: The seed passed to ``rnnkeras.seeding.seed_everything``.
        run_file: JSON file to write ``{"run_id", "experiment_id", ...}`` to.

    Yields:
        The active ``mlflow.ActiveRun``; the run ends when the block exits
        (``FAILED`` if it raised).

    Example:

    >>> import tempfile, pathlib, mlflow
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = configure(root)
    >>> with start_training_run({"train": {"cell": "gru"}}, 7, root / "run.json") as run:
    ...     pass
    >>> mlflow.get_run(run.info.run_id).data.params["train.cell"]
    'gru'
    """
    import mlflow

    experiment_name = params.get("mlflow", {}).get("experiment", DEFAULT_EXPERIMENT)
    project_run_id = os.environ.get("MLFLOW_RUN_ID")
    if project_run_id:
        active = mlflow.start_run(run_id=project_run_id)
    else:
        active = mlflow.start_run(experiment_id=experiment_id(experiment_name))
    with active as run:
        logged = {name: _param_text(value) for name, value in flatten(params).items()}
        logged["seed"] = str(seed)
        mlflow.log_params(logged)
        tags = {f"version.{name}": version for name, version in package_versions().items()}
        git = git_state()
        if git:
            tags["mlflow.source.git.commit"] = git["commit"]
            tags["git.dirty"] = git["dirty"]
            tags["git.dirty_paths"] = git["dirty_paths"]
        mlflow.set_tags(tags)
        record = {
            "run_id": run.info.run_id,
            "experiment_id": run.info.experiment_id,
            "experiment_name": experiment_name,
            "tracking_uri": mlflow.get_tracking_uri(),
        }
        run_file = Path(run_file)
        run_file.parent.mkdir(parents=True, exist_ok=True)
        run_file.write_text(json.dumps(record, indent=2) + "\n")
        yield run


def _param_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return json.dumps(list(value))
    return str(value)


@contextlib.contextmanager
def resume_run(run_file: str | Path) -> Iterator[Any]:
    """Reopens the training run recorded in ``run_file`` in the configured store.

    If that run is no longer in the store (``mlflow.db`` deleted, or
    ``MLFLOW_TRACKING_URI`` now points elsewhere), a warning is issued and a new
    run in the same experiment takes its place, tagged
    ``rnnkeras.missing_train_run`` with the old id, so the stage's results are
    still recorded.

    Args:
        run_file: The JSON file written by :func:`start_training_run`.

    Yields:
        The active ``mlflow.ActiveRun``.

    Example:

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = configure(root)
    >>> with start_training_run({}, 1, root / "run.json") as first:
    ...     pass
    >>> with resume_run(root / "run.json") as again:
    ...     same = again.info.run_id == first.info.run_id
    >>> same
    True
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    run_file = Path(run_file)
    try:
        record = json.loads(run_file.read_text())
        run_id = record["run_id"]
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(
            "resume_run expects the JSON file written by start_training_run, with a "
            f"`run_id` ({error}). Run the train stage first. Received: run_file={run_file}"
        ) from None
    try:
        mlflow.MlflowClient().get_run(run_id)
    except MlflowException:
        warnings.warn(
            f"MLflow run {run_id} from {run_file} is not in {mlflow.get_tracking_uri()}; "
            "recording this stage in a new run.",
            stacklevel=3,
        )
        name = record.get("experiment_name", DEFAULT_EXPERIMENT)
        active = mlflow.start_run(
            experiment_id=experiment_id(name),
            tags={"rnnkeras.missing_train_run": run_id},
        )
    else:
        active = mlflow.start_run(run_id=run_id)
    with active as run:
        yield run


def _scalar(value: Any) -> float | None:
    if isinstance(value, bool | str | bytes):
        return None
    try:
        array = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        return None
    return float(array.reshape(())) if array.size == 1 else None


class EpochMetricsLogger(keras.callbacks.Callback):
    """Logs every numeric value of the epoch ``logs`` to the active MLflow run.

    Losses, metrics, validation metrics and whatever other callbacks placed in
    ``logs`` (the clipping callbacks add ``grad_norm``, ``clip_threshold`` and
    ``clipped_fraction``) are logged with the epoch index as the step. Put it
    after those callbacks in the ``callbacks`` list so it sees their values.

    Example:

    >>> import tempfile, numpy as np, keras
    >>> _ = configure(tempfile.mkdtemp())
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> with start_training_run({}, 0, tempfile.mktemp()) as run:
    ...     _ = model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=2, verbose=0,
    ...                   callbacks=[EpochMetricsLogger()])
    """

    def on_train_begin(self, logs: dict | None = None) -> None:
        _require_active_run("EpochMetricsLogger")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        import mlflow

        values = {name: _scalar(value) for name, value in (logs or {}).items()}
        numeric = {name: value for name, value in values.items() if value is not None}
        if numeric:
            mlflow.log_metrics(numeric, step=epoch)


def epoch_metrics_callback() -> keras.callbacks.Callback:
    """A Keras callback that logs the epoch metrics to the active run.

    Returns:
        An :class:`EpochMetricsLogger`.

    Example:

    >>> isinstance(epoch_metrics_callback(), keras.callbacks.Callback)
    True
    """
    return EpochMetricsLogger()


def log_metrics(metrics: Mapping[str, Any], step: int | None = None) -> None:
    """Logs numbers to the active run; nested mappings get dotted names.

    Args:
        metrics: e.g. ``{"test": {"mae": 0.4}, "baseline": {"mae": 0.9}}``.
        step: Optional step of every value.

    Raises:
        ValueError: For a value that is not a number, or without an active run.

    Example:

    >>> import tempfile
    >>> _ = configure(tempfile.mkdtemp())
    >>> with start_training_run({}, 0, tempfile.mktemp()):
    ...     log_metrics({"test": {"mae": 0.4}})
    """
    import mlflow

    _require_active_run("log_metrics")
    numbers = {}
    for name, value in flatten(metrics).items():
        number = _scalar(value)
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

    A file lands in ``artifact_path/``; a folder lands, with its content, in
    ``artifact_path/<folder name>/``.

    Args:
        paths: One path or several.
        artifact_path: Folder inside the run's artifacts; None for the top.

    Raises:
        ValueError: For a path that does not exist, or without an active run.

    Example:

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = configure(root)
    >>> (root / "report.json").write_text("{}")
    2
    >>> with start_training_run({}, 0, root / "run.json"):
    ...     log_artifacts(root / "report.json", "reports")
    """
    import mlflow

    _require_active_run("log_artifacts")
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


def _tensor_shape(shape: Any, what: str) -> tuple[int | None, ...]:
    if isinstance(shape, list) or (shape and isinstance(shape[0], tuple | list)):
        raise ValueError(
            f"log_and_register_model serves models with one {what} tensor. "
            f"Received: {what}_shape={shape}"
        )
    return tuple(shape)


def model_signature(model: keras.Model) -> Any:
    """The MLflow tensor signature of a single-input, single-output Keras model.

    The batch dimension and any dimension the model leaves open (e.g. the time
    axis of a variable-length model) are ``-1``.

    Args:
        model: A built Keras model with one input and one output.

    Returns:
        An ``mlflow.models.ModelSignature`` of ``TensorSpec`` inputs and outputs.

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((12, 1)), keras.layers.LSTM(4), keras.layers.Dense(1)])
    >>> model_signature(model).inputs.to_dict()[0]["tensor-spec"]["shape"]
    (-1, 12, 1)
    """
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    def spec(shape: tuple[int | None, ...], dtype: str) -> Any:
        return Schema([TensorSpec(np.dtype(dtype), tuple(-1 if d is None else d for d in shape))])

    input_shape = _tensor_shape(model.input_shape, "input")
    output_shape = _tensor_shape(model.output_shape, "output")
    return ModelSignature(
        inputs=spec(input_shape, model.inputs[0].dtype),
        outputs=spec(output_shape, model.outputs[0].dtype),
    )


def _serving_module(model: keras.Model) -> Any:
    """The model's forward pass as a ``tf.Module`` whose SavedModel needs no rnnkeras.

    The graph is traced once with a batch dimension of ``None``; loading it takes
    TensorFlow alone, not the Python classes of the layers.
    """
    import tensorflow as tf

    spec = tf.TensorSpec(model.input_shape, model.inputs[0].dtype, name="inputs")

    class ServingModule(tf.Module):
        def __init__(self) -> None:
            super().__init__(name="rnnkeras_serving")
            self.model = model

        @tf.function(input_signature=[spec])
        def __call__(self, inputs):
            return self.model(inputs, training=False)

    return ServingModule()


def _serving_requirements() -> list[str]:
    versions = package_versions()
    tensorflow = "tensorflow-cpu" if "tensorflow-cpu" in versions else "tensorflow"
    return [
        f"{name}=={versions[name]}" for name in ("mlflow", tensorflow, "numpy") if name in versions
    ]


def _champion_decision(
    champion: Any,
    metric_name: str,
    metric_value: float,
    greater_is_better: bool,
    alias: str,
) -> tuple[bool, str]:
    if not math.isfinite(metric_value):
        return False, f"{metric_name}={metric_value} is not a finite number"
    if champion is None:
        return True, f"no version held alias '{alias}'"
    held = f"version {champion.version} (alias '{alias}')"
    if champion.tags.get(_METRIC_TAG) != metric_name or _VALUE_TAG not in champion.tags:
        return (
            False,
            f"{held} was not scored on {metric_name}, so the two cannot be compared",
        )
    previous = float(champion.tags[_VALUE_TAG])
    better = metric_value > previous if greater_is_better else metric_value < previous
    verdict = "beats" if better else "does not beat"
    return (
        better,
        f"{metric_name}={metric_value:.6g} {verdict} {previous:.6g} of {held}",
    )


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

    The model is logged as a TensorFlow SavedModel of its forward pass (MLflow
    ``tensorflow`` flavor), with a tensor signature and ``input_example``, so
    ``mlflow models serve -m models:/<name>@<alias>`` loads it with TensorFlow
    alone: the serving environment needs neither rnnkeras nor the Keras classes
    of its layers. The new version carries ``metric_name`` and ``metric_value``
    as tags. The alias moves to it only if no version holds the alias yet, or
    the holder was scored on the same metric and the new value is strictly
    better; otherwise the alias stays where it is.

    Args:
        model: A built Keras model with one input and one output.
        input_example: A few input windows, shaped like the model's input.
        registered_name: Name of the registered model.
        metric_name: Evaluation metric that ranks versions, e.g. ``"test.mae"``.
        metric_value: This model's value of it.
        greater_is_better: True for accuracy-like metrics, False for errors.
        alias: Alias of the best version.

    Returns:
        ``{"version", "promoted", "reason", "alias", "model_uri",
        "previous_version", "run_id"}``; ``model_uri`` names this version,
        ``previous_version`` the alias holder before the call (or None).

    Example:

    >>> import tempfile, numpy as np, keras
    >>> _ = configure(tempfile.mkdtemp())
    >>> model = keras.Sequential([keras.Input((6, 1)), keras.layers.GRU(3), keras.layers.Dense(1)])
    >>> with start_training_run({}, 0, tempfile.mktemp()):
    ...     result = log_and_register_model(model, np.zeros((2, 6, 1), "float32"),
    ...                                     "demo", "test.mae", 0.5, greater_is_better=False)
    >>> result["version"], result["promoted"]
    (1, True)
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    _require_active_run("log_and_register_model")
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
    info = mlflow.tensorflow.log_model(
        _serving_module(model),
        name="model",
        signature=signature,
        input_example=example,
        pip_requirements=_serving_requirements(),
    )
    client = mlflow.MlflowClient()
    try:
        champion = client.get_model_version_by_alias(registered_name, alias)
    except MlflowException:
        champion = None
    version = mlflow.register_model(
        info.model_uri,
        registered_name,
        tags={
            _METRIC_TAG: metric_name,
            _VALUE_TAG: repr(metric_value),
            _DIRECTION_TAG: str(greater_is_better).lower(),
        },
    )
    promoted, reason = _champion_decision(
        champion, metric_name, metric_value, greater_is_better, alias
    )
    if promoted:
        client.set_registered_model_alias(registered_name, alias, version.version)
    return {
        "version": int(version.version),
        "promoted": promoted,
        "reason": reason,
        "alias": alias,
        "model_uri": f"models:/{registered_name}/{version.version}",
        "previous_version": int(champion.version) if champion is not None else None,
        "run_id": mlflow.active_run().info.run_id,
    }
