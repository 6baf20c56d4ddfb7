"""Training with clipping, per-epoch checkpoints that survive a kill, and a readable history.

`fit_resumable` is the heart of the `train` stage: it saves the full model (weights and
optimizer state) and the history after every epoch into a checkpoint folder. If the process
dies, the next call with the same parameters and data continues from the last finished
epoch; with anything changed it starts over. A resumed run continues the same optimization
but is not bit-identical to an uninterrupted one (the data-shuffling random state restarts).
`epoch_metrics_callback` logs each epoch's losses and metrics to the active MLflow run.
"""

import hashlib
import json
import types
from pathlib import Path

import keras
import numpy as np

from rnnkeras.atomic_files import atomic_path
from rnnkeras.figures import pyplot, save_png
from rnnkeras.pipeline.tracking.recording import require_active_run, scalar

CLIPPING_MODES = ("none", "autoclip", "norm", "value", "global_norm")


def compile_model(model: keras.Model, task, learning_rate: float) -> keras.Model:
    """Compiles a pipeline model with Adam and the loss and metrics of its task kind.

    Args:
        model: the model `task.build_model` returned.
        task: the task kind (`rnnkeras.pipeline.tasks.get(meta["task"])`): its `loss` and
            `metrics` are used.
        learning_rate: Adam's learning rate (`train.learning_rate`).

    Example:

    >>> from rnnkeras.pipeline import tasks
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> compile_model(model, tasks.get("forecasting"), 1e-3).loss
    'mse'
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=task.loss,
        metrics=list(task.metrics),
    )
    return model


def clipping_callback(train: dict) -> keras.callbacks.Callback | None:
    """The gradient-clipping callback chosen by `train.clipping` in `params.yaml`.

    `autoclip` uses `train.autoclip_percentile`; `norm`, `value` and `global_norm` use
    `train.clip_threshold`; `none` returns `None`.

    Example:

    >>> type(clipping_callback({"clipping": "autoclip", "autoclip_percentile": 10})).__name__
    'AutoClip'
    """
    from rnnkeras.callbacks import AutoClip, GradientClipping

    mode = train.get("clipping", "none")
    if mode == "none":
        return None
    if mode == "autoclip":
        return AutoClip(percentile=train.get("autoclip_percentile", 10))
    keyword = {"norm": "clipnorm", "value": "clipvalue", "global_norm": "global_clipnorm"}
    if mode not in keyword:
        raise ValueError(
            f"train.clipping must be one of {CLIPPING_MODES}. Received: clipping={mode!r}"
        )
    return GradientClipping(**{keyword[mode]: train.get("clip_threshold", 1.0)})


class EpochMetricsLogger(keras.callbacks.Callback):
    """Logs every numeric value of the epoch `logs` to the active MLflow run.

    Losses, metrics, validation metrics and whatever other callbacks placed in
    `logs` (the clipping callbacks add `grad_norm`, `clip_threshold` and
    `clipped_fraction`) are logged with the epoch index as the step. Put it
    after those callbacks in the `callbacks` list so it sees their values.

    Raises:
        ValueError: When training begins without an active MLflow run.

    Example:

    >>> import tempfile
    >>> from rnnkeras.pipeline import tracking
    >>> _ = tracking.configure(tempfile.mkdtemp())
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> with tracking.start_training_run({}, 0, tempfile.mktemp()) as run:
    ...     _ = model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=2, verbose=0,
    ...                   callbacks=[EpochMetricsLogger()])
    """

    def on_train_begin(self, logs: dict | None = None) -> None:
        require_active_run("EpochMetricsLogger")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        import mlflow

        values = {name: scalar(value) for name, value in (logs or {}).items()}
        numeric = {name: value for name, value in values.items() if value is not None}
        if numeric:
            mlflow.log_metrics(numeric, step=epoch)


def epoch_metrics_callback() -> keras.callbacks.Callback:
    """The Keras callback that logs the epoch metrics to the active MLflow run.

    Returns:
        An `EpochMetricsLogger`.

    Example:

    >>> isinstance(epoch_metrics_callback(), keras.callbacks.Callback)
    True
    """
    return EpochMetricsLogger()


def fingerprint(*parts) -> str:
    """A short hash of JSON-serializable values and NumPy arrays, to recognise a training setup.

    Example:

    >>> fingerprint({"a": 1}, np.zeros(3)) == fingerprint({"a": 1}, np.zeros(3))
    True
    """
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(str((part.dtype, part.shape)).encode())
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def source_fingerprint(*modules: types.ModuleType) -> str:
    """A short hash of the source files of modules and packages (a package: all its `.py` files).

    Part of the training setup, so that a checkpoint made by other code — another model
    builder, layer or training loop — is not resumed.

    Example:

    >>> import rnnkeras.pipeline.builders, rnnkeras.layers
    >>> len(source_fingerprint(rnnkeras.pipeline.builders, rnnkeras.layers))
    16
    """
    digest = hashlib.sha256()
    for module in modules:
        path = Path(module.__file__)
        files = sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]
        for file in files:
            digest.update(f"{module.__name__}/{file.relative_to(path.parent)}".encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves model, optimizer state and history after every epoch, atomically.

    The folder holds `model-<epoch>.keras`, `history.json` and `state.json` (`fingerprint`,
    `epoch` = number of finished epochs, `model` = the file saved after it, `complete`).
    `state.json` is written last and names its model file, and the previous epoch's file is
    deleted only after it: a training killed at any moment leaves a state whose model,
    history and epoch count agree, so a resumed run neither repeats nor skips an epoch.

    Args:
        directory: the checkpoint folder.
        setup: fingerprint of the parameters and data (see `fingerprint`).
        history: per-epoch logs of the epochs finished before this `fit` (when resuming).

    Example:

    >>> import tempfile
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = model.fit(np.ones((4, 2)), np.ones(4), epochs=2, verbose=0,
    ...               callbacks=[EpochCheckpoint(folder, setup="abc")])
    >>> json.loads((folder / "state.json").read_text())["epoch"]
    2
    """

    def __init__(self, directory: str | Path, setup: str, history: list | None = None):
        super().__init__()
        self.directory = Path(directory)
        self.setup = setup
        self.history = list(history or [])

    def on_epoch_end(self, epoch, logs=None):
        self.history = self.history[:epoch]
        self.history.append({"epoch": epoch + 1, **_plain_logs(logs)})
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"model-{epoch + 1}.keras"
        with atomic_path(self.directory / name) as tmp:
            self.model.save(tmp)
        with atomic_path(self.directory / "history.json") as tmp:
            tmp.write_text(json.dumps(self.history, indent=1))
        write_state(self.directory, {"fingerprint": self.setup, "epoch": epoch + 1, "model": name})
        discard_models(self.directory, keep=name)


def discard_models(directory: str | Path, keep: str | None = None) -> None:
    """Deletes a checkpoint folder's `model-<epoch>.keras` files, except `keep`."""
    for path in Path(directory).glob("model-*.keras"):
        if path.name != keep:
            path.unlink(missing_ok=True)


def write_state(directory: str | Path, state: dict) -> None:
    """Writes a checkpoint folder's `state.json` atomically."""
    with atomic_path(Path(directory) / "state.json") as tmp:
        tmp.write_text(json.dumps({"complete": False, **state}, indent=1) + "\n")


def read_resumable(directory: str | Path, setup: str) -> tuple[keras.Model | None, list]:
    """The checkpointed model and history to resume from, or `(None, [])` to start over.

    Example:

    >>> read_resumable("/nonexistent", setup="abc")
    (None, [])
    """
    directory = Path(directory)
    state_path = directory / "state.json"
    if not state_path.is_file():
        return None, []
    state = json.loads(state_path.read_text())
    if state.get("complete") or state.get("fingerprint") != setup or not state.get("epoch"):
        return None, []
    model = keras.models.load_model(directory / state["model"])
    history = json.loads((directory / "history.json").read_text())[: state["epoch"]]
    return model, history


def fit_resumable(
    build,
    arrays: dict,
    train: dict,
    checkpoint_dir: str | Path,
    setup: str,
    callbacks: list | None = None,
    verbose: str | int = "auto",
) -> tuple[keras.Model, list[dict]]:
    """Trains `build()`'s model for `train["epochs"]`, resuming from `checkpoint_dir` if possible.

    Args:
        build: a function returning a compiled model (called only when not resuming).
        arrays: `{"train": {"x", "y"}, "val": {"x", "y"}}`.
        train: the `train` section of `params.yaml` (`epochs`, `batch_size`).
        checkpoint_dir: folder for the per-epoch checkpoint.
        setup: fingerprint of everything that defines the run; a checkpoint with another
            fingerprint is ignored.
        callbacks: extra Keras callbacks (clipping, monitoring, tracking); they run before
            the checkpoint, so their `logs` entries are kept in the history.
        verbose: Keras `fit` verbosity (the default shows the progress bar).

    Returns:
        `(model, history)` where `history` lists one dict of logs per epoch, resumed
        epochs included. The checkpoint folder is left with `state.json` marked complete.

    Raises:
        ValueError: if `train["epochs"]` is not an integer ≥ 1.

    Example:

    >>> import tempfile
    >>> def build():
    ...     model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    ...     model.compile("sgd", "mse")
    ...     return model
    >>> data = {s: {"x": np.ones((4, 2)), "y": np.ones(4)} for s in ("train", "val")}
    >>> model, history = fit_resumable(build, data, {"epochs": 3, "batch_size": 2},
    ...                                tempfile.mkdtemp(), setup="abc", verbose=0)
    >>> [h["epoch"] for h in history]
    [1, 2, 3]
    """
    epochs = train["epochs"]
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"train.epochs must be an integer ≥ 1. Received: train.epochs={epochs!r}")
    model, history = read_resumable(checkpoint_dir, setup)
    if model is None:
        model = build()
    else:
        print(f"Resuming training from the checkpoint after epoch {len(history)} of {epochs}.")
    checkpoint = EpochCheckpoint(checkpoint_dir, setup, history)
    if len(history) < epochs:
        model.fit(
            arrays["train"]["x"],
            arrays["train"]["y"],
            validation_data=(arrays["val"]["x"], arrays["val"]["y"]),
            epochs=epochs,
            initial_epoch=len(history),
            batch_size=int(train["batch_size"]),
            callbacks=[*(callbacks or []), checkpoint],
            verbose=verbose,
        )
    write_state(checkpoint_dir, {"fingerprint": setup, "epoch": epochs, "complete": True})
    discard_models(checkpoint_dir)
    return model, checkpoint.history


def write_history_csv(history: list[dict], path: str | Path) -> None:
    """Writes per-epoch logs as CSV (one row per epoch), the format `dvc plots` reads.

    Example:

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "history.csv"
    >>> write_history_csv([{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25}], path)
    >>> path.read_text().splitlines()
    ['epoch,loss', '1,0.5', '2,0.25']
    """
    columns = list(dict.fromkeys(key for row in history for key in row))
    lines = [",".join(columns)]
    lines += [",".join(_csv_value(row.get(c)) for c in columns) for row in history]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def write_history_plot(history: list[dict], path: str | Path) -> None:
    """Plots training and validation loss per epoch."""
    plt = pyplot()

    epochs = [row["epoch"] for row in history]
    figure, axis = plt.subplots(figsize=(6, 4))
    for key in ("loss", "val_loss"):
        if any(key in row for row in history):
            axis.plot(epochs, [row.get(key, np.nan) for row in history], label=key)
    axis.set_xlabel("epoch")
    axis.set_ylabel("loss")
    axis.set_yscale("log")
    axis.legend()
    save_png(figure, path)


def _csv_value(value) -> str:
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


def _plain_logs(logs) -> dict:
    return {
        name: float(value)
        for name, value in (logs or {}).items()
        if np.ndim(value) == 0 and np.isfinite(float(value))
    }
