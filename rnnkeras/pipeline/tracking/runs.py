"""Run lifecycle: the run of a training, resumed after a kill, reopened by later stages.

The train stage opens a run with `start_training_run`; the evaluate and export stages
reopen it with `resume_run` (a rerun records into a child run of it). A run missing from
the store, or deleted in it, is replaced by a new one with a warning.
"""

import contextlib
import json
import os
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from rnnkeras.pipeline.tracking.provenance import git_state, package_versions, params_as_text
from rnnkeras.pipeline.tracking.store import DEFAULT_EXPERIMENT, experiment_id

# Beside the training checkpoint: the run a resumed training continues.
_CHECKPOINT_RUN = "mlflow_run.json"


@contextlib.contextmanager
def start_training_run(
    params: Mapping[str, Any],
    seed: int,
    run_file: str | Path,
    checkpoint_dir: str | Path | None = None,
    setup: str = "",
) -> Iterator[Any]:
    """Opens the MLflow run of one training and records what it was made from.

    The run goes to experiment `params["mlflow"]["experiment"]` (default
    `"rnnkeras"`) of the configured store, or is the run that `mlflow run`
    created when `MLFLOW_RUN_ID` is set. It logs every value of `params`
    with dotted names (`train.cell`), the seed, and tags with the package
    versions (`version.<name>`) and the git commit and dirty flag
    (`mlflow.source.git.commit`, `git.dirty`, `git.dirty_paths`). The run
    id goes to `run_file` so the later stages can reopen the run with
    `resume_run`.

    With `checkpoint_dir`, a training that resumes from its checkpoint after a
    kill continues the run it started in: the run id and `setup` are kept in
    `checkpoint_dir/mlflow_run.json` until the training ends well, and a run
    recorded there that did not finish, in the same experiment and with the same
    `setup`, is reopened (tagged `rnnkeras.resumed`), so one run holds every
    epoch. A recorded run that cannot be continued (other setup or experiment) is
    ended as `KILLED` if it was still `RUNNING`.

    Args:
        params: The parameters the training uses, e.g. the content of `params.yaml`.
        seed: The seed passed to `rnnkeras.seeding.seed_everything`.
        run_file: JSON file to write `{"run_id", "experiment_id", ...}` to.
        checkpoint_dir: The training's checkpoint folder, which survives a kill.
        setup: Fingerprint of what the checkpoint was trained on; the checkpoint
            resumes only with the same one.

    Yields:
        The active `mlflow.ActiveRun`; the run ends when the block exits
        (`FAILED` if it raised).

    Example:

    >>> import tempfile, pathlib, mlflow
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> from rnnkeras.pipeline.tracking import configure
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
        logged = params_as_text(params)
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


@contextlib.contextmanager
def resume_run(
    run_file: str | Path, stage: str | None = None, params: Mapping[str, Any] | None = None
) -> Iterator[Any]:
    """Opens the run in which a later stage (evaluate, export) records its results.

    The first time `stage` records, it reopens the training run recorded in
    `run_file`, so one run holds the whole pipeline, and tags it
    `rnnkeras.recorded.<stage>`. When that run already holds a record of
    `stage`, or logged other values of `params` (e.g. only `export.quantize`
    changed, so only export runs again), a new child run of the training run
    records the stage instead: named after the stage, tagged `mlflow.parentRunId`
    and `rnnkeras.training_run` with the training run's id, and holding
    `params` and the stage's files alone. The training run thus never shows
    parameters or files that the stage did not produce in it. Under `mlflow run`
    (`MLFLOW_RUN_ID` set), the run it created for the stage is that child.

    If the training run is not in the store (`mlflow.db` deleted, or
    `MLFLOW_TRACKING_URI` now points elsewhere) or was deleted in MLflow, a
    warning is issued and a new run in the same experiment takes its place,
    tagged `rnnkeras.missing_train_run` with the old id, so the stage's results
    are still recorded. If its experiment was deleted, the warning says so and
    the experiment is restored, with its runs, as the train stage does.

    Args:
        run_file: The JSON file written by `start_training_run`.
        stage: Name of the stage that records, e.g. `"export"`.
        params: The parameters the stage reads, e.g. `{"export": {...}}`.

    Yields:
        The active `mlflow.ActiveRun`.

    Raises:
        ValueError: When `run_file` is missing or holds no `run_id`.

    Example:

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> from rnnkeras.pipeline.tracking import configure
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
    stage_params = params_as_text(params or {})
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
