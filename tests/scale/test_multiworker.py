"""Multi-worker training (`train.workers`): keras.distribution data parallelism on JAX.

The slow tests start real worker processes on loopback through the train stage. Two workers
must give what one gives at the same global batch (measured: weights within 3e-8, the
clipping callback's pre-clip gradient norms equal), and a run whose worker is killed resumes
from the chief's last checkpoint.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from rnnkeras.pipeline import distributed
from rnnkeras.pipeline.params import load_params
from rnnkeras.pipeline.stages import paths, prepare, validate
from tests.pipeline.projects import write_tiny_vowels
from tests.pipeline.tiny_params import classification_params

REPO = Path(__file__).resolve().parents[2]
# Weights of two workers against one worker at the same global batch: the all-reduced
# gradient sums the same rows in another order (float32 rounding; measured 3e-8).
WEIGHT_TOLERANCE = 1e-6


def test_this_worker_reads_the_three_variables():
    worker = distributed.this_worker(
        {
            distributed.COORDINATOR: "10.0.0.1:4000",
            distributed.NUM_PROCESSES: "3",
            distributed.PROCESS_ID: "2",
        }
    )
    assert worker == distributed.Worker(2, 3, "10.0.0.1:4000") and not worker.chief
    assert distributed.this_worker(worker.environment()) == worker
    assert distributed.this_worker({}) is None


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"RNNKERAS_PROCESS_ID": "0"}, "missing RNNKERAS_COORDINATOR, RNNKERAS_NUM_PROCESSES"),
        (
            {
                "RNNKERAS_COORDINATOR": "h:1",
                "RNNKERAS_NUM_PROCESSES": "two",
                "RNNKERAS_PROCESS_ID": "0",
            },
            "RNNKERAS_NUM_PROCESSES must be a whole number. Received: RNNKERAS_NUM_PROCESSES='two'",
        ),
        (
            {
                "RNNKERAS_COORDINATOR": "h:1",
                "RNNKERAS_NUM_PROCESSES": "2",
                "RNNKERAS_PROCESS_ID": "2",
            },
            "Received: RNNKERAS_NUM_PROCESSES=2, RNNKERAS_PROCESS_ID=2",
        ),
    ],
)
def test_this_worker_refuses_a_partial_or_wrong_environment(environ, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        distributed.this_worker(environ)


def test_a_worker_count_that_contradicts_train_workers_is_refused():
    with pytest.raises(
        ValueError, match=r"train.workers in params.yaml says 3 .* Received: train.workers=3$"
    ):
        distributed.check_worker(distributed.Worker(0, 2, "h:1"), 3)


@pytest.mark.parametrize(
    "train, message",
    [
        ({"workers": 2}, "needs train.backend: jax"),
        ({"workers": 0}, "train.workers must be an integer ≥ 1. Received: train.workers=0"),
        ({"workers": 2, "backend": "jax", "batch_size": 9}, "a multiple of train.workers"),
    ],
)
def test_params_refuse_bad_workers(tmp_path, train, message):
    params = classification_params(tmp_path / "unused.csv", **train)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        load_params(tmp_path / "params.yaml")
    assert str(error.value).startswith(f"{tmp_path / 'params.yaml'}:")


def test_workers_default_to_one(tmp_path):
    params = classification_params(tmp_path / "unused.csv")
    assert "workers" not in params["train"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    assert load_params(tmp_path / "params.yaml")["train"]["workers"] == 1


def test_shard_sizes_split_every_global_batch_evenly():
    assert distributed.shard_sizes(22, 8, 2) == [4, 4, 3]
    assert distributed.shard_sizes(27, 16, 2) == [8, 5]  # the last batch's 11th row is left out
    assert distributed.shard_sizes(32, 16, 1) == [16, 16]
    with pytest.raises(ValueError, match="Received: train.batch_size=9, train.workers=2"):
        distributed.shard_sizes(20, 9, 2)


def test_sharded_batches_together_are_the_batches_of_keras_own_array_adapter():
    """Reference: Keras' `ArrayDataAdapter`, what `fit(x, y, shuffle=True)` draws from."""
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    x = np.arange(22 * 3, dtype="float32").reshape(22, 3)
    y = np.arange(22)
    arrays = {"train": {"x": x, "y": y}, "val": {"x": x[:6], "y": y[:6]}}
    np.random.seed(7)
    adapter = ArrayDataAdapter(x, y, batch_size=8, shuffle=True)
    expected = [[b[1] for b in adapter.get_numpy_iterator()] for _ in range(3)]

    shards = [
        distributed.sharded_data(arrays, 8, distributed.Worker(i, 2, "h:1"))["train"]
        for i in range(2)
    ]
    state = np.random.RandomState(7).get_state()
    got = []
    for _ in range(3):
        epoch = []
        for shard in shards:  # each process draws the same permutation from the same seed
            np.random.set_state(state)
            shard.on_epoch_begin()
            epoch.append([shard[i][1] for i in range(len(shard))])
        state = np.random.get_state()
        got.append([np.concatenate(parts) for parts in zip(*epoch, strict=True)])
    for epoch_got, epoch_expected in zip(got, expected, strict=True):
        assert [len(b) for b in epoch_got] == [8, 8, 6]
        for batch_got, batch_expected in zip(epoch_got, epoch_expected, strict=True):
            np.testing.assert_array_equal(batch_got, batch_expected)
    # The rows of a batch travel with their labels.
    x0, y0 = shards[1][0]
    np.testing.assert_array_equal(x0[:, 0], y0 * 3)


def _project(root: Path, **train) -> dict:
    """A tiny vowels project, prepared and validated, training on JAX: 22 training and 14
    validation utterances, so that the global batch of 8 splits evenly over two workers."""
    root.mkdir(parents=True)
    csv = write_tiny_vowels(root / "vowels.csv")
    params = classification_params(
        csv, backend="jax", units=4, batch_size=8, gradient_flow_every=2, **train
    )
    params["prepare"]["val_fraction"] = 0.4
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    prepare.run(params, root)
    assert validate.run(params, root) == 0
    return params


def _environment() -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for name in ("KERAS_BACKEND", "MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID"):
        env.pop(name, None)
    return env


def _train(root: Path, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(REPO / "pipelines" / "train.py"), "--root", str(root)],
        cwd=root,
        env=_environment(),
        text=True,
        **popen,
    )


def _finish(process: subprocess.Popen, log: Path | None = None) -> str:
    output, _ = process.communicate(timeout=900)
    output = log.read_text() if log is not None else output
    assert process.returncode == 0, output[-5000:]
    return output


def _weights(root: Path) -> list[np.ndarray]:
    code = (
        "import sys, numpy as np, rnnkeras\n"
        "w = rnnkeras.load_model(sys.argv[1], compile=False).get_weights()\n"
        "np.savez(sys.argv[2], *w)\n"
    )
    out = root / "weights.npz"
    subprocess.run(
        [sys.executable, "-c", code, str(root / paths.MODEL), str(out)],
        env=dict(_environment(), KERAS_BACKEND="jax"),
        check=True,
    )
    with np.load(out) as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


@pytest.mark.slow
def test_two_workers_train_what_one_worker_trains(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    params = _project(one, epochs=2, workers=1)
    shutil.copytree(one, two)
    params["train"]["workers"] = 2
    (two / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    output = _finish(_train(two, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    assert "worker 0/2: pid" in output and "worker 1/2: pid" in output
    _finish(_train(one, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))

    for a, b in zip(_weights(two), _weights(one), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=WEIGHT_TOLERANCE)
    history = {name: pd.read_csv(root / paths.HISTORY) for name, root in [("1", one), ("2", two)]}
    # AutoClip's pre-clip norm is the norm of the whole global batch's gradient: on one
    # worker's half of the batch it would differ.
    for column in ("loss", "val_loss", "grad_norm", "clip_threshold", "grad_flow_global_norm"):
        np.testing.assert_allclose(history["2"][column], history["1"][column], rtol=1e-5)
    np.testing.assert_array_equal(
        history["2"]["clipped_fraction"], history["1"]["clipped_fraction"]
    )
    flows = [
        json.loads((r / paths.GRADIENT_FLOW / "gradient_flow.json").read_text()) for r in (two, one)
    ]
    # The monitor measures the same weights on the same probe batch in both runs.
    records = list(zip(flows[0]["records"], flows[1]["records"], strict=True))
    assert len(records) > 2
    for key in ("global_grad_norm", "probe_loss", "log10_ratio"):
        pairs = [(a[key], b[key]) for a, b in records if a.get(key) is not None]
        assert pairs
        np.testing.assert_allclose(*zip(*pairs, strict=True), rtol=1e-5)
    a, b = [(a, b) for a, b in records if a.get("timestep_grad_norms")][-1]
    np.testing.assert_allclose(
        np.array(a["timestep_grad_norms"]), np.array(b["timestep_grad_norms"]), rtol=1e-4, atol=1e-9
    )

    # Only the chief wrote: one MLflow run, one set of outputs, nothing left in a temp folder.
    import mlflow

    record = json.loads((two / paths.MLFLOW_RUN).read_text())
    client = mlflow.MlflowClient(record["tracking_uri"])
    runs = client.search_runs([client.get_run(record["run_id"]).info.experiment_id])
    assert len(runs) == 1 and runs[0].data.params["train.workers"] == "2"
    assert runs[0].data.metrics["grad_norm"] == pytest.approx(history["2"]["grad_norm"].iloc[-1])
    assert json.loads((two / paths.CHECKPOINTS / "state.json").read_text())["complete"]


@pytest.mark.slow
def test_a_run_whose_worker_is_killed_resumes_from_the_chief_checkpoint(tmp_path):
    root = tmp_path / "project"
    _project(root, epochs=12, workers=2)
    state_path = root / paths.CHECKPOINTS / "state.json"
    log = tmp_path / "first.log"
    with log.open("w") as sink:
        first = _train(root, stdout=sink, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and first.poll() is None:
            if state_path.exists() and json.loads(state_path.read_text())["epoch"] >= 1:
                break
            time.sleep(0.05)
        assert first.poll() is None, log.read_text()[-5000:]
        pid = int(re.search(r"worker 1/2: pid (\d+)", log.read_text()).group(1))
        os.kill(pid, signal.SIGKILL)
        first.wait(timeout=120)
    assert first.returncode != 0
    assert "A worker failed (exit code -9); the others were stopped." in log.read_text()
    stopped_at = json.loads(state_path.read_text())["epoch"]
    assert 1 <= stopped_at < 12 and not (root / paths.MODEL).exists()

    output = _finish(_train(root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    assert f"Resuming training from the checkpoint after epoch {stopped_at} of 12" in output
    assert f"Epoch {stopped_at + 1}/12" in output and "Epoch 1/12" not in output
    assert pd.read_csv(root / paths.HISTORY)["epoch"].tolist() == list(range(1, 13))
    assert json.loads(state_path.read_text())["complete"]
