"""Where runs go: the MLflow store of a project, and the experiments in it.

`MLFLOW_TRACKING_URI` when it is set (a tracking server, or any store MLflow
understands), else a SQLite store `mlflow.db` in the project with artifacts in
`mlartifacts/` beside it, both as absolute paths so that `mlflow ui` and
`mlflow models serve` work from any folder. Inside the temporary copy DVC runs an
experiment in, that is the store of the project the copy was made from; a SQLite
store whose artifacts are recorded in another folder (a moved project) is refused.
"""

import os
from pathlib import Path

DEFAULT_EXPERIMENT = "rnnkeras"

# Where DVC makes the temporary copies it runs experiments in (`dvc exp run --temp`, queue).
_DVC_EXPERIMENT_COPIES = (".dvc", "tmp", "exps")

# `mlflow.set_tracking_uri` exports the URI as MLFLOW_TRACKING_URI (for subprocesses). The
# project store that `configure` put there is not the user's choice: a later `configure` of
# another project must not take it for one.
_exported_uri: str | None = None


def store_folder(project_root: str | Path = ".") -> Path:
    """The folder whose `mlflow.db` holds the project's runs.

    That is `project_root` itself, except inside the temporary copy in which DVC runs
    an experiment (`dvc exp run --temp`, queued experiments): `<project>/.dvc/tmp/exps/...`.
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
    """The project's embedded store: `sqlite:///<abs project_root>/mlflow.db`.

    Inside a DVC experiment's temporary copy, the store of the project the copy was
    made from (see `store_folder`).

    Args:
        project_root: Folder that holds `mlflow.db` and `mlartifacts/`.

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
    `./mlruns` relative to whichever folder first created the experiment.
    Artifacts go to `mlartifacts/` beside the database file instead. For any
    other store (a tracking server) the store decides, and this returns None.

    Args:
        tracking_uri: An MLflow tracking URI.

    Returns:
        A `file://` URI, or None when the store chooses the location.

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
    """Points MLflow at `MLFLOW_TRACKING_URI`, else at the project's SQLite store.

    A relative SQLite path in `MLFLOW_TRACKING_URI` (`sqlite:///mlflow.db`) names
    a file of the project: inside the temporary copy DVC runs an experiment in, of
    the project the copy was made from (see `store_folder`). A SQLite store is
    then checked to still sit where its runs were recorded (see
    `check_store_location`); a tracking server (`http://`, `https://`), to answer.

    Args:
        project_root: Folder of the embedded store (used only when
            `MLFLOW_TRACKING_URI` is unset).

    Returns:
        The tracking URI now in use.

    Raises:
        ValueError: When the SQLite store's artifacts are in another folder (a moved or
            copied project), or a tracking server does not answer (see
            `check_server_answers`): the train stage calls this before it trains.

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
    _create_sqlite_store(uri)
    check_store_location(uri)
    check_server_answers(uri)
    mlflow.set_tracking_uri(uri)
    _exported_uri = None if chosen_by_user else uri
    return uri


def check_store_location(tracking_uri: str) -> None:
    """Refuses a SQLite store whose experiments keep their artifacts in another folder.

    Each experiment records the absolute path of its artifact folder when it is
    created, and each run and model version the absolute path of its files. After
    the project folder is renamed, moved or copied, they still name the old folder:
    loading `models:/<name>@champion` fails with `No such artifact`, and new runs
    would write into the old folder (recreating it). Only the experiments rnnkeras
    creates (artifacts in an `mlartifacts` folder) are checked.

    Args:
        tracking_uri: An MLflow tracking URI; only `sqlite:///` stores that exist
            are checked.

    Raises:
        ValueError: When an experiment's artifact folder is not the `mlartifacts/`
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


def _create_sqlite_store(tracking_uri: str) -> None:
    """Creates (or upgrades) a SQLite store's tables, one process at a time.

    Parallel DVC queue workers start their runs at the same moment; two processes that
    both find a new `mlflow.db` both create its tables, and one fails (`table
    _alembic_tmp_experiments already exists`, seen with `dvc queue start -j 2`). A lock
    beside nothing of the project's (in the temporary folder, named after the database)
    lets the first create them and the others find them made.
    """
    import hashlib
    import tempfile

    import mlflow
    from filelock import FileLock

    if not tracking_uri.startswith("sqlite:///"):
        return
    database = Path(tracking_uri.removeprefix("sqlite:///")).resolve()
    digest = hashlib.sha256(str(database).encode()).hexdigest()[:16]
    with FileLock(Path(tempfile.gettempdir()) / f"rnnkeras-mlflow-{digest}.lock"):
        mlflow.MlflowClient(tracking_uri).search_experiments(max_results=1)


def check_server_answers(tracking_uri: str, timeout_s: float = 10.0) -> None:
    """Refuses a tracking server that does not answer, before anything is trained.

    MLflow's client retries an unreachable server for minutes and then fails in the middle
    of a run; this asks the server's `/health` once instead. Any HTTP answer below 500
    (even 401 or 404 from a proxy) means a server is there. Other stores are not checked.

    Args:
        tracking_uri: An MLflow tracking URI; only `http://` and `https://` are checked.
        timeout_s: Seconds to wait for the answer.

    Raises:
        ValueError: When the server cannot be reached, does not answer within `timeout_s`,
            or answers with a server error; the message names the URI.

    Example:

    >>> check_server_answers("sqlite:////srv/project/mlflow.db")  # not a server: no check
    >>> check_server_answers("http://127.0.0.1:9", timeout_s=1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: The MLflow tracking server http://127.0.0.1:9 does not answer ...
    """
    from urllib.error import HTTPError
    from urllib.request import urlopen

    if not tracking_uri.startswith(("http://", "https://")):
        return
    try:
        with urlopen(f"{tracking_uri.rstrip('/')}/health", timeout=timeout_s):
            return
    except HTTPError as error:
        if error.code < 500:
            return
        reason = f"HTTP {error.code} {error.reason}"
    except OSError as error:
        reason = str(getattr(error, "reason", error))
    raise ValueError(
        f"The MLflow tracking server {tracking_uri} does not answer ({reason}); nothing "
        "was trained or recorded. Start it (`make tracking-server`, docs/scale.md), point "
        "MLFLOW_TRACKING_URI at a server that runs, or unset it to record into the "
        f"project's own store. Received: MLFLOW_TRACKING_URI={tracking_uri}"
    )


def experiment_id(name: str = DEFAULT_EXPERIMENT) -> str:
    """The id of experiment `name` in the current store, created if missing.

    A new experiment in a SQLite store keeps its artifacts beside the database
    (see `artifact_location`); a deleted one is restored.

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
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        location = artifact_location(mlflow.get_tracking_uri())
        try:
            return client.create_experiment(name, artifact_location=location)
        except MlflowException as error:
            # A parallel run (another DVC queue worker) created it first.
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment = client.get_experiment_by_name(name)
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    return experiment.experiment_id
