"""MLflow tracking: one run per training, a served model in the registry.

The stages of the pipeline call these functions: the train stage opens a run
with :func:`start_training_run` and logs per-epoch metrics with
:func:`epoch_metrics_callback`; the evaluate and export stages reopen that run
(a rerun records into a child run of it) with :func:`resume_run`, log metrics
and files, and register the model with :func:`log_and_register_model`, whose
:func:`register_version` points the alias at the best comparable version.

Where runs go: ``MLFLOW_TRACKING_URI`` when it is set (a tracking server, or
any store MLflow understands), else a SQLite store ``mlflow.db`` in the project
with artifacts in ``mlartifacts/`` beside it, both as absolute paths so that
``mlflow ui`` and ``mlflow models serve`` work from any folder. Inside the
temporary copy DVC runs an experiment in, that is the store of the project the
copy was made from; a SQLite store whose artifacts are recorded in another
folder (a moved project) is refused.

MLflow is imported inside the functions, so ``import rnnkeras`` stays light.
"""

import contextlib
import importlib.metadata
import json
import math
import os
import platform
import shutil
import subprocess
import tempfile
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

# Where DVC makes the temporary copies it runs experiments in (`dvc exp run --temp`, queue).
_DVC_EXPERIMENT_COPIES = (".dvc", "tmp", "exps")

# `mlflow.set_tracking_uri` exports the URI as MLFLOW_TRACKING_URI (for subprocesses). The
# project store that `configure` put there is not the user's choice: a later `configure` of
# another project must not take it for one.
_exported_uri: str | None = None

# Beside the training checkpoint: the run a resumed training continues.
_CHECKPOINT_RUN = "mlflow_run.json"

# Rounds of set-then-check of the champion alias; concurrent evaluations settle in one or two.
_ALIAS_ATTEMPTS = 5


def store_folder(project_root: str | Path = ".") -> Path:
    """The folder whose ``mlflow.db`` holds the project's runs.

    That is ``project_root`` itself, except inside the temporary copy in which DVC runs
    an experiment (``dvc exp run --temp``, queued experiments): ``<project>/.dvc/tmp/exps/...``.
    DVC copies only files git tracks there and deletes the copy afterwards, so a store in
    it would be thrown away with the experiment's runs and registered versions; the
    project the copy was made from is returned instead.

    Args:
        project_root: The folder a stage runs in.

    Returns:
        An absolute path.

    Example:

    >>> store_folder("/srv/project/.dvc/tmp/exps/tmpk3j2")
    PosixPath('/srv/project')
    """
    root = Path(project_root).resolve()
    parts = root.parts
    for index in range(len(parts) - len(_DVC_EXPERIMENT_COPIES) + 1):
        if parts[index : index + len(_DVC_EXPERIMENT_COPIES)] == _DVC_EXPERIMENT_COPIES:
            return Path(*parts[:index])
    return root


def default_tracking_uri(project_root: str | Path = ".") -> str:
    """The project's embedded store: ``sqlite:///<abs project_root>/mlflow.db``.

    Inside a DVC experiment's temporary copy, the store of the project the copy was
    made from (see :func:`store_folder`).

    Args:
        project_root: Folder that holds ``mlflow.db`` and ``mlartifacts/``.

    Returns:
        The SQLite tracking URI with an absolute path.

    Example:

    >>> default_tracking_uri("/srv/project")
    'sqlite:////srv/project/mlflow.db'
    """
    return f"sqlite:///{store_folder(project_root) / 'mlflow.db'}"


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

    A relative SQLite path in ``MLFLOW_TRACKING_URI`` (``sqlite:///mlflow.db``) names
    a file of the project: inside the temporary copy DVC runs an experiment in, of
    the project the copy was made from (see :func:`store_folder`). A SQLite store is
    then checked to still sit where its runs were recorded (see
    :func:`check_store_location`).

    Args:
        project_root: Folder of the embedded store (used only when
            ``MLFLOW_TRACKING_URI`` is unset).

    Returns:
        The tracking URI now in use.

    Raises:
        ValueError: When the SQLite store's artifacts are in another folder (a moved or
            copied project).

    Example:

    >>> import tempfile
    >>> uri = configure(tempfile.mkdtemp())  # sqlite:////tmp/.../mlflow.db
    """
    import mlflow

    global _exported_uri
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    chosen_by_user = bool(uri) and uri != _exported_uri
    if not chosen_by_user:
        uri = default_tracking_uri(project_root)
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not Path(uri[len(prefix) :]).is_absolute():
        uri = f"{prefix}{store_folder(Path.cwd()) / uri[len(prefix) :]}"
    check_store_location(uri)
    mlflow.set_tracking_uri(uri)
    _exported_uri = None if chosen_by_user else uri
    return uri


def check_store_location(tracking_uri: str) -> None:
    """Refuses a SQLite store whose experiments keep their artifacts in another folder.

    Each experiment records the absolute path of its artifact folder when it is
    created, and each run and model version the absolute path of its files. After
    the project folder is renamed, moved or copied, they still name the old folder:
    loading ``models:/<name>@champion`` fails with ``No such artifact``, and new runs
    would write into the old folder (recreating it). Only the experiments rnnkeras
    creates (artifacts in an ``mlartifacts`` folder) are checked.

    Args:
        tracking_uri: An MLflow tracking URI; only ``sqlite:///`` stores that exist
            are checked.

    Raises:
        ValueError: When an experiment's artifact folder is not the ``mlartifacts/``
            beside the database.

    Example:

    >>> check_store_location("http://127.0.0.1:5000")  # a server places artifacts itself
    """
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    expected = artifact_location(tracking_uri)
    database = Path(tracking_uri.removeprefix("sqlite:///"))
    if expected is None or not database.is_file():
        return
    import mlflow
    from mlflow.entities import ViewType

    here = Path(url2pathname(urlparse(expected).path))
    client = mlflow.MlflowClient(tracking_uri)
    for experiment in client.search_experiments(view_type=ViewType.ALL):
        recorded = urlparse(experiment.artifact_location)
        folder = Path(url2pathname(recorded.path))
        # resolve(): a link from the old path to the new one makes the two the same folder.
        if recorded.scheme != "file" or folder.name != here.name:
            continue
        if folder == here or folder.resolve() == here.resolve():
            continue
        raise ValueError(
            f"The MLflow store {database} was made in {folder.parent}: experiment "
            f"'{experiment.name}' keeps its artifacts in {folder}, not beside the database "
            f"in {here}. The project was moved or copied, and its runs and registered "
            "models still point at the old folder. Move the project back, link the old "
            f"path to the new one (`ln -s {here.parent} {folder.parent}`), or start a new "
            "store here by moving mlflow.db and mlartifacts/ aside (docs/mlflow.md, "
            f"'Moving a project'). Received: tracking_uri={tracking_uri}"
        )


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
def start_training_run(
    params: Mapping[str, Any],
    seed: int,
    run_file: str | Path,
    checkpoint_dir: str | Path | None = None,
    setup: str = "",
) -> Iterator[Any]:
    """Opens the MLflow run of one training and records what it was made from.

    The run goes to experiment ``params["mlflow"]["experiment"]`` (default
    ``"rnnkeras"``) of the configured store, or is the run that ``mlflow run``
    created when ``MLFLOW_RUN_ID`` is set. It logs every value of ``params``
    with dotted names (``train.cell``), the seed, and tags with the package
    versions (``version.<name>``) and the git commit and dirty flag
    (``mlflow.source.git.commit``, ``git.dirty``, ``git.dirty_paths``). The run
    id goes to ``run_file`` so the later stages can reopen the run with
    :func:`resume_run`.

    With ``checkpoint_dir``, a training that resumes from its checkpoint after a
    kill continues the run it started in: the run id and ``setup`` are kept in
    ``checkpoint_dir/mlflow_run.json`` until the training ends well, and a run
    recorded there that did not finish, in the same experiment and with the same
    ``setup``, is reopened (tagged ``rnnkeras.resumed``), so one run holds every
    epoch. A recorded run that cannot be continued (other setup or experiment) is
    ended as ``KILLED`` if it was still ``RUNNING``.

    Args:
        params: The parameters the training uses, e.g. the content of ``params.yaml``.
        seed: The seed passed to ``rnnkeras.seeding.seed_everything``.
        run_file: JSON file to write ``{"run_id", "experiment_id", ...}`` to.
        checkpoint_dir: The training's checkpoint folder, which survives a kill.
        setup: Fingerprint of what the checkpoint was trained on; the checkpoint
            resumes only with the same one.

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
    record_path = Path(checkpoint_dir) / _CHECKPOINT_RUN if checkpoint_dir is not None else None
    project_run_id = os.environ.get("MLFLOW_RUN_ID")
    resumed = None
    if project_run_id:
        active = mlflow.start_run(run_id=project_run_id)
    else:
        if record_path is not None:
            resumed = _unfinished_training_run(record_path, experiment_name, setup)
        if resumed is not None:
            active = mlflow.start_run(run_id=resumed.info.run_id)
        else:
            active = mlflow.start_run(experiment_id=experiment_id(experiment_name))
    with active as run:
        logged = {name: _param_text(value) for name, value in flatten(params).items()}
        logged["seed"] = str(seed)
        if resumed is not None:
            # MLflow refuses to change a logged param; the resumed epochs used the logged ones.
            logged = {k: v for k, v in logged.items() if k not in resumed.data.params}
            mlflow.set_tag("rnnkeras.resumed", "true")
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
        if record_path is not None:
            record_path.parent.mkdir(parents=True, exist_ok=True)
            record_path.write_text(json.dumps({**record, "setup": setup}, indent=2) + "\n")
        yield run
        # Reached only when the training ended well: nothing is left to resume.
        if record_path is not None:
            record_path.unlink(missing_ok=True)


def _unfinished_training_run(record_path: Path, experiment_name: str, setup: str) -> Any:
    """The run recorded beside a checkpoint if the training can go on in it, else None."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        record = json.loads(record_path.read_text())
        run = mlflow.MlflowClient().get_run(record["run_id"])
    except (OSError, ValueError, KeyError, MlflowException):
        return None
    experiment = mlflow.MlflowClient().get_experiment(run.info.experiment_id)
    if (
        run.info.status != "FINISHED"
        and run.info.lifecycle_stage == "active"
        and experiment.lifecycle_stage == "active"
        and experiment.name == experiment_name
        and record.get("setup") == setup
    ):
        return run
    if run.info.status == "RUNNING":
        # Its process was killed and its checkpoint will not be resumed.
        mlflow.MlflowClient().set_terminated(run.info.run_id, "KILLED")
    return None


def _param_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return json.dumps(list(value))
    return str(value)


@contextlib.contextmanager
def resume_run(
    run_file: str | Path, stage: str | None = None, params: Mapping[str, Any] | None = None
) -> Iterator[Any]:
    """Opens the run in which a later stage (evaluate, export) records its results.

    The first time ``stage`` records, it reopens the training run recorded in
    ``run_file``, so one run holds the whole pipeline, and tags it
    ``rnnkeras.recorded.<stage>``. When that run already holds a record of
    ``stage``, or logged other values of ``params`` (e.g. only ``export.quantize``
    changed, so only export runs again), a new child run of the training run
    records the stage instead: named after the stage, tagged ``mlflow.parentRunId``
    and ``rnnkeras.training_run`` with the training run's id, and holding
    ``params`` and the stage's files alone. The training run thus never shows
    parameters or files that the stage did not produce in it. Under ``mlflow run``
    (``MLFLOW_RUN_ID`` set), the run it created for the stage is that child.

    If the training run is not in the store (``mlflow.db`` deleted, or
    ``MLFLOW_TRACKING_URI`` now points elsewhere) or was deleted in MLflow, a
    warning is issued and a new run in the same experiment takes its place,
    tagged ``rnnkeras.missing_train_run`` with the old id, so the stage's results
    are still recorded. If its experiment was deleted, the warning says so and
    the experiment is restored, with its runs, as the train stage does.

    Args:
        run_file: The JSON file written by :func:`start_training_run`.
        stage: Name of the stage that records, e.g. ``"export"``.
        params: The parameters the stage reads, e.g. ``{"export": {...}}``.

    Yields:
        The active ``mlflow.ActiveRun``.

    Raises:
        ValueError: When ``run_file`` is missing or holds no ``run_id``.

    Example:

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = configure(root)
    >>> with start_training_run({}, 1, root / "run.json") as first:
    ...     pass
    >>> with resume_run(root / "run.json", "evaluate") as again:
    ...     same = again.info.run_id == first.info.run_id
    >>> with resume_run(root / "run.json", "evaluate") as rerun:
    ...     child = rerun.data.tags["mlflow.parentRunId"] == first.info.run_id
    >>> same, child
    (True, True)
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
    client = mlflow.MlflowClient()
    try:
        training = client.get_run(run_id)
    except MlflowException:
        training = None
    if training is not None:
        experiment = client.get_experiment(training.info.experiment_id)
        if experiment.lifecycle_stage == "deleted":
            warnings.warn(
                f"The experiment '{experiment.name}' of MLflow run {run_id} was deleted; "
                "restoring it, with its runs, to record this stage.",
                stacklevel=3,
            )
            client.restore_experiment(experiment.experiment_id)
            training = client.get_run(run_id)
    stage_params = {name: _param_text(value) for name, value in flatten(params or {}).items()}
    stage_tags = {"rnnkeras.stage": stage} if stage else {}
    if training is None or training.info.lifecycle_stage == "deleted":
        where = "not in" if training is None else "deleted in"
        warnings.warn(
            f"MLflow run {run_id} from {run_file} is {where} {mlflow.get_tracking_uri()}; "
            "recording this stage in a new run.",
            stacklevel=3,
        )
        name = record.get("experiment_name", DEFAULT_EXPERIMENT)
        active = mlflow.start_run(
            experiment_id=experiment_id(name),
            tags={**stage_tags, "rnnkeras.missing_train_run": run_id},
        )
    elif stage and (
        f"rnnkeras.recorded.{stage}" in training.data.tags
        or any(training.data.params.get(k, v) != v for k, v in stage_params.items())
    ):
        child_tags = {**stage_tags, "rnnkeras.training_run": run_id}
        project_run_id = os.environ.get("MLFLOW_RUN_ID")
        if project_run_id:
            # `mlflow run -e evaluate|export` made a run for this stage: it is the child.
            active = mlflow.start_run(
                run_id=project_run_id, tags={**child_tags, "mlflow.parentRunId": run_id}
            )
        else:
            active = mlflow.start_run(
                experiment_id=training.info.experiment_id,
                run_name=stage,
                parent_run_id=run_id,
                tags=child_tags,
            )
    else:
        stage_params = {k: v for k, v in stage_params.items() if k not in training.data.params}
        active = mlflow.start_run(run_id=run_id)
    with active as run:
        mlflow.log_params(stage_params)
        if stage and run.info.run_id == run_id:
            mlflow.set_tag(f"rnnkeras.recorded.{stage}", "true")
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
    """The MLflow signature the served model is logged with: its output tensor only.

    The input is left out on purpose. MLflow enforces a logged input schema before
    the model runs, in its own words, and lets ``null``, ``NaN`` and ``1e309``
    through; the served model (``rnnkeras/served_model.py``) checks each batch
    itself instead and names the cause. The input's shape and dtype are recorded in
    the logged model's metadata (:func:`input_metadata`).

    The batch dimension and any dimension the model leaves open (e.g. the time
    axis of a variable-length model) are ``-1``.

    Args:
        model: A built Keras model with one input and one output.

    Returns:
        An ``mlflow.models.ModelSignature`` with a ``TensorSpec`` output and no input.

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


def _comparable(version: Any, metric_name: str, greater_is_better: bool) -> float | None:
    """A version's value of ``metric_name`` if it was ranked the same way, else None."""
    tags = version.tags
    direction = tags.get(_DIRECTION_TAG, str(greater_is_better).lower())
    if tags.get(_METRIC_TAG) != metric_name or direction != str(greater_is_better).lower():
        return None
    try:
        value = float(tags[_VALUE_TAG])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _champion_decision(
    holder: Any,
    versions: Iterable[Any],
    metric_name: str,
    greater_is_better: bool,
    alias: str,
) -> tuple[int | None, str]:
    """The version the alias should name: the best of the comparable versions.

    Ties go to the older version, so an equal score never moves the alias. A holder
    scored otherwise (another metric, or none) keeps the alias: None is returned.
    """
    if holder is not None and _comparable(holder, metric_name, greater_is_better) is None:
        return None, (
            f"version {holder.version} (alias '{alias}') was not scored on {metric_name}, "
            "so the two cannot be compared"
        )
    scored = {
        int(v.version): value
        for v in versions
        if (value := _comparable(v, metric_name, greater_is_better)) is not None
    }
    if not scored:
        return None, f"no version has a finite {metric_name}"
    sign = 1.0 if greater_is_better else -1.0
    best = max(sorted(scored), key=lambda number: sign * scored[number])
    return best, f"version {best} has the best {metric_name}={scored[best]:.6g}"


def register_version(
    model_uri: str,
    registered_name: str,
    metric_name: str,
    metric_value: float,
    greater_is_better: bool,
    alias: str = "champion",
) -> dict[str, Any]:
    """Registers a logged model as a new version and points ``alias`` at the best version.

    The new version carries ``metric_name``, ``metric_value`` and the direction as
    tags. Then ``alias`` moves to the best version of all those scored on the same
    metric in the same direction (ties go to the older one), unless its holder was
    scored otherwise: then it stays. Choosing among all versions, instead of
    comparing the new one with the holder read before registering, gives the same
    champion in any order of concurrent evaluations against one store: each one
    re-reads the alias after setting it and corrects a holder that a slower
    evaluation set from an older view.

    Args:
        model_uri: URI of the logged model, e.g. ``models:/m-...``.
        registered_name: Name of the registered model.
        metric_name: Evaluation metric that ranks versions, e.g. ``"test.mae"``.
        metric_value: This model's value of it.
        greater_is_better: True for accuracy-like metrics, False for errors.
        alias: Alias of the best version.

    Returns:
        ``{"version", "promoted", "reason", "alias", "model_uri",
        "previous_version", "run_id"}``; ``promoted`` says whether this version holds
        the alias afterwards, ``previous_version`` names the holder before (or None).

    Raises:
        ValueError: Without an active run.

    Example:

    >>> import tempfile, mlflow
    >>> _ = configure(tempfile.mkdtemp())
    >>> class Identity(mlflow.pyfunc.PythonModel):
    ...     def predict(self, context, model_input):
    ...         return model_input
    >>> with start_training_run({}, 0, tempfile.mktemp()):
    ...     info = mlflow.pyfunc.log_model(name="model", python_model=Identity())
    ...     result = register_version(info.model_uri, "demo", "test.mae", 0.5, False)
    >>> result["version"], result["promoted"]
    (1, True)
    """
    import mlflow

    _require_active_run("register_version")
    metric_value = float(metric_value)
    client = mlflow.MlflowClient()
    previous = _alias_holder(client, registered_name, alias)
    version = mlflow.register_model(
        model_uri,
        registered_name,
        tags={
            _METRIC_TAG: metric_name,
            _VALUE_TAG: repr(metric_value),
            _DIRECTION_TAG: str(greater_is_better).lower(),
        },
    )
    number = int(version.version)
    holder = previous
    # Set, then check: a concurrent evaluation may have set the alias from an older view.
    for _ in range(_ALIAS_ATTEMPTS):
        versions = client.search_model_versions(f"name='{registered_name}'")
        best, reason = _champion_decision(holder, versions, metric_name, greater_is_better, alias)
        if best is None or (holder is not None and int(holder.version) == best):
            break
        client.set_registered_model_alias(registered_name, alias, str(best))
        holder = _alias_holder(client, registered_name, alias)
    promoted = holder is not None and int(holder.version) == number
    if not math.isfinite(metric_value):
        reason = f"{metric_name}={metric_value} is not a finite number; {reason}"
    elif promoted:
        beaten = _comparable(previous, metric_name, greater_is_better) if previous else None
        reason = (
            f"no version held alias '{alias}'"
            if beaten is None
            else f"{metric_name}={metric_value:.6g} beats {beaten:.6g} of version "
            f"{previous.version} (alias '{alias}')"
        )
    elif holder is not None and best is not None:
        held = _comparable(holder, metric_name, greater_is_better)
        reason = (
            f"{metric_name}={metric_value:.6g} does not beat {held:.6g} of version "
            f"{holder.version} (alias '{alias}')"
        )
    return {
        "version": number,
        "promoted": promoted,
        "reason": reason,
        "alias": alias,
        "model_uri": f"models:/{registered_name}/{number}",
        "previous_version": int(previous.version) if previous is not None else None,
        "run_id": mlflow.active_run().info.run_id,
    }


def _alias_holder(client: Any, registered_name: str, alias: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(registered_name, alias)
    except MlflowException:
        return None


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

    The model is logged as an MLflow ``pyfunc`` model from code: the file
    ``rnnkeras/served_model.py``, which checks each batch (shape, dtype, finite
    numbers) and answers a bad one with a 400 naming the cause, around a
    TensorFlow SavedModel of the forward pass from the project's one builder
    (``rnnkeras.export.saved_model.serving_module``: no cuDNN kernel, float32).
    ``mlflow models serve -m models:/<name>@<alias>`` loads it with TensorFlow
    alone: the serving environment needs neither rnnkeras nor the Keras classes
    of its layers. The signature holds the output; ``input_example`` and the
    metadata (:func:`input_metadata`) describe the input. :func:`register_version`
    then registers it and points the alias at the best comparable version.

    Args:
        model: A built Keras model with one input and one output.
        input_example: A few input windows, shaped like the model's input.
        registered_name: Name of the registered model.
        metric_name: Evaluation metric that ranks versions, e.g. ``"test.mae"``.
        metric_value: This model's value of it.
        greater_is_better: True for accuracy-like metrics, False for errors.
        alias: Alias of the best version.

    Returns:
        What :func:`register_version` returns; ``model_uri`` names this version.

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

    from rnnkeras.export.saved_model import save_serving_module, serving_module

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
