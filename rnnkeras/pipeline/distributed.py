"""Data-parallel training of the pipeline's model on several worker processes.

The engine is Keras' own `keras.distribution` on the JAX backend: every worker process runs
the same `train` stage, `keras.distribution.initialize` connects them through JAX's
coordinator (`jax.distributed`, gloo collectives on CPU), and `DataParallel` replicates the
weights and splits each global batch over the processes; the compiled train step computes
the gradient of the whole global batch (XLA inserts the all-reduce), so clipping sees the
aggregated gradient and every process applies the same update.

Not `tf.distribute.MultiWorkerMirroredStrategy`: with TensorFlow 2.21 and Keras 3.15 its
`model.fit` fails on the first step with `ValueError: Attempt to convert a value
(PerReplica: ...) with an unsupported type ... to a Tensor`, for a plain `Dense` model too
(keras-team/keras#20585; docs/scale.md has the reproduction).

A worker learns its place from three environment variables (`RNNKERAS_COORDINATOR`,
`RNNKERAS_NUM_PROCESSES`, `RNNKERAS_PROCESS_ID`); set them on each host to train across
machines. `launch_local` sets them for N processes on loopback. Process 0 is the chief: only
it writes checkpoints, outputs and MLflow records.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

COORDINATOR = "RNNKERAS_COORDINATOR"
NUM_PROCESSES = "RNNKERAS_NUM_PROCESSES"
PROCESS_ID = "RNNKERAS_PROCESS_ID"
# Seconds the launcher lets the other workers stop after one failed, before killing them.
STOP_GRACE_S = 10.0
# What each local worker runs: the train stage's entry, as `python pipelines/train.py`.
_STAGE = "from rnnkeras.pipeline.stages.train import main; raise SystemExit(main())"


@dataclass(frozen=True)
class Worker:
    """One process of a multi-worker run.

    Attributes:
        process_id: 0 to `num_processes - 1`; 0 is the chief.
        num_processes: the number of worker processes.
        coordinator: `host:port` of the coordinator, served by process 0.
    """

    process_id: int
    num_processes: int
    coordinator: str

    @property
    def chief(self) -> bool:
        """Whether this process writes the run's files and MLflow records (process 0)."""
        return self.process_id == 0

    def environment(self) -> dict[str, str]:
        """The environment variables that make a process this worker.

        Example:

        >>> Worker(1, 2, "127.0.0.1:4000").environment()[PROCESS_ID]
        '1'
        """
        return {
            COORDINATOR: self.coordinator,
            NUM_PROCESSES: str(self.num_processes),
            PROCESS_ID: str(self.process_id),
        }


def this_worker(environ: dict | None = None) -> Worker | None:
    """The worker this process is, read from the environment, or `None` when it is none.

    Args:
        environ: the environment to read (default `os.environ`).

    Raises:
        ValueError: if only some of the three variables are set, or a number is not a whole
            number in range.

    Example:

    >>> this_worker({COORDINATOR: "10.0.0.1:4000", NUM_PROCESSES: "2", PROCESS_ID: "1"}).chief
    False
    >>> this_worker({}) is None
    True
    """
    environ = os.environ if environ is None else environ
    names = (COORDINATOR, NUM_PROCESSES, PROCESS_ID)
    values = {name: environ.get(name, "") for name in names}
    if not any(values.values()):
        return None
    if not all(values.values()):
        missing = [name for name, value in values.items() if not value]
        raise ValueError(
            f"A multi-worker process needs {', '.join(names)} set together; missing "
            f"{', '.join(missing)}. Received: {', '.join(f'{k}={v!r}' for k, v in values.items())}"
        )
    numbers = {}
    for name in (NUM_PROCESSES, PROCESS_ID):
        try:
            numbers[name] = int(values[name])
        except ValueError:
            raise ValueError(
                f"{name} must be a whole number. Received: {name}={values[name]!r}"
            ) from None
    count, index = numbers[NUM_PROCESSES], numbers[PROCESS_ID]
    if count < 1 or not 0 <= index < count:
        raise ValueError(
            f"{PROCESS_ID} must lie in [0, {NUM_PROCESSES}) and {NUM_PROCESSES} be >= 1. "
            f"Received: {NUM_PROCESSES}={count}, {PROCESS_ID}={index}"
        )
    return Worker(index, count, values[COORDINATOR])


def check_worker(worker: Worker, workers: int) -> None:
    """Checks that the environment's worker count agrees with `train.workers`.

    Raises:
        ValueError: naming both values when they differ.
    """
    if worker.num_processes != workers:
        raise ValueError(
            f"train.workers in params.yaml says {workers} but this process was started as one "
            f"of {NUM_PROCESSES}={worker.num_processes} workers; set both to the same number. "
            f"Received: train.workers={workers}"
        )


def initialize(worker: Worker) -> None:
    """Joins the other workers and makes `keras.distribution.DataParallel` the distribution.

    Call it once per process, after Keras is imported on the JAX backend and before any JAX
    computation. Blocks until all `worker.num_processes` processes have joined.

    Raises:
        ValueError: if Keras runs on another backend than JAX.
    """
    import keras

    if keras.backend.backend() != "jax":
        raise ValueError(
            "Multi-worker training runs on the JAX backend (keras.distribution); set "
            f"train.backend: jax. Received: train.backend={keras.backend.backend()!r}"
        )
    import jax

    # JAX's CPU client has no cross-process collectives unless one is chosen.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    keras.distribution.initialize(worker.coordinator, worker.num_processes, worker.process_id)
    # Each process feeds its own rows of every global batch (`ShardedBatches`).
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=jax.devices(), auto_shard_dataset=False)
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch_local(workers: int, params: dict, root: str | Path = ".") -> int:
    """Runs the `train` stage as `workers` processes on this machine (loopback) and waits.

    Each process runs the stage's command-line entry (`--params` a copy of `params`, `--root
    root`) with its worker environment; process 0 serves the coordinator on a free loopback port. If one exits with
    an error (or is killed), the others are stopped and its exit code is returned; the
    chief's per-epoch checkpoint lets the next launch resume.

    Args:
        workers: the number of processes (`train.workers`).
        params: the checked parameters.
        root: the project folder.

    Returns:
        0 when every worker succeeded, else the first failed worker's exit code.
    """
    coordinator = f"127.0.0.1:{_free_port()}"
    with tempfile.TemporaryDirectory(prefix="rnnkeras-workers-") as folder:
        params_file = Path(folder) / "params.yaml"  # JSON is YAML
        params_file.write_text(json.dumps(params))
        processes = []
        for index in range(workers):
            env = {**os.environ, **Worker(index, workers, coordinator).environment()}
            command = [
                sys.executable,
                "-c",
                _STAGE,
                "--params",
                str(params_file),
                "--root",
                str(root),
            ]
            processes.append(subprocess.Popen(command, env=env))
            print(f"worker {index}/{workers}: pid {processes[-1].pid}", flush=True)
        try:
            return _wait(processes)
        finally:  # interrupted itself (Ctrl-C): no worker outlives the launcher
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()


def _wait(processes: list[subprocess.Popen]) -> int:
    while True:
        codes = [process.poll() for process in processes]
        failed = [code for code in codes if code not in (None, 0)]
        if failed or all(code == 0 for code in codes):
            break
        time.sleep(0.2)
    if not failed:
        return 0
    deadline = time.monotonic() + STOP_GRACE_S
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    print(f"A worker failed (exit code {failed[0]}); the others were stopped.", file=sys.stderr)
    return failed[0] if failed[0] > 0 else 1


def shard_sizes(size: int, batch_size: int, num_processes: int) -> list[int]:
    """Rows of each global batch that every process feeds.

    The global batches are those of a single-process `fit` with `batch_size`; each is split
    into `num_processes` equal parts. A last partial batch that does not split evenly loses
    its last `size % batch_size % num_processes` rows (`DataParallel` needs equal parts).

    Raises:
        ValueError: if `batch_size` is not a multiple of `num_processes`.

    Example:

    >>> shard_sizes(27, 16, 2)
    [8, 5]
    """
    if batch_size % num_processes:
        raise ValueError(
            f"train.batch_size (the global batch) must be a multiple of train.workers. "
            f"Received: train.batch_size={batch_size}, train.workers={num_processes}"
        )
    full, rest = divmod(size, batch_size)
    sizes = [batch_size // num_processes] * full
    if rest // num_processes:
        sizes.append(rest // num_processes)
    return sizes


def _shard_batches():
    import keras

    class ShardedBatches(keras.utils.PyDataset):
        """This process's rows of each global batch, in the order a single-process `fit`
        would draw them.

        With `shuffle`, each epoch starts with `np.random.permutation(len(x))`, the draw
        Keras' own array adapter makes, so the same seed gives the same global batches as
        `fit(x, y, batch_size, shuffle=True)` in one process.
        """

        def __init__(self, x, y, batch_size, worker: Worker, shuffle: bool):
            super().__init__()
            self.x, self.y, self.batch_size, self.worker = x, y, batch_size, worker
            self.shuffle = shuffle
            self.sizes = shard_sizes(len(x), batch_size, worker.num_processes)
            self.order = np.arange(len(x))

        def __len__(self):
            return len(self.sizes)

        def on_epoch_begin(self):
            if self.shuffle:
                self.order = np.random.permutation(len(self.x))

        def __getitem__(self, index):
            part = self.sizes[index]
            start = index * self.batch_size + self.worker.process_id * part
            rows = self.order[start : start + part]
            return self.x[rows], self.y[rows]

    return ShardedBatches


def sharded_data(arrays: dict, batch_size: int, worker: Worker) -> dict:
    """`{"train": ..., "val": ...}` as `keras.utils.PyDataset`s of this process's rows.

    Args:
        arrays: `{"train": {"x", "y"}, "val": {"x", "y"}}` (NumPy arrays, batch first).
        batch_size: the global batch (`train.batch_size`).
        worker: this process.
    """
    batches = _shard_batches()
    return {
        split: batches(arrays[split]["x"], arrays[split]["y"], batch_size, worker, split == "train")
        for split in ("train", "val")
    }


def fit_resumable(
    build,
    arrays: dict,
    train: dict,
    checkpoint_dir: str | Path,
    setup: str,
    worker: Worker,
    callbacks: list | None = None,
    verbose: str | int = "auto",
    scratch_dir: str | Path | None = None,
):
    """`rnnkeras.pipeline.training.fit_resumable` for one worker of a multi-worker run.

    Every worker resumes from the same checkpoint folder (on several hosts: a shared
    filesystem); only the chief writes there. The others save each epoch's checkpoint to
    `scratch_dir` instead: saving a model gathers its distributed weights, a step every
    process must take together.

    Args:
        scratch_dir: where a non-chief worker writes its copies (required for those).
        Others: as `training.fit_resumable`, plus `worker`, this process.

    Returns:
        `(model, history)`, as `training.fit_resumable`.
    """
    from rnnkeras.pipeline import training

    epochs = train["epochs"]
    model, history = training.read_resumable(checkpoint_dir, setup)
    if model is None:
        model = build()
    elif worker.chief:
        print(f"Resuming training from the checkpoint after epoch {len(history)} of {epochs}.")
    written = checkpoint_dir if worker.chief else scratch_dir
    checkpoint = training.EpochCheckpoint(written, setup, history)
    data = sharded_data(arrays, int(train["batch_size"]), worker)
    if len(history) < epochs:
        model.fit(
            data["train"],
            validation_data=data["val"],
            epochs=epochs,
            initial_epoch=len(history),
            # The batches' order is `ShardedBatches`' own (fit would reshuffle it with Python's
            # `random`, which a single-process fit on arrays does not).
            shuffle=False,
            callbacks=[*(callbacks or []), checkpoint],
            verbose=verbose if worker.chief else 0,
        )
    if not worker.chief:
        return model, checkpoint.history
    training.write_state(checkpoint_dir, {"fingerprint": setup, "epoch": epochs, "complete": True})
    training.discard_models(checkpoint_dir)
    return model, checkpoint.history
