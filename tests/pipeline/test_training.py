"""Resumable training, clipping choice, atomic outputs, repeatable runs."""

import json

import keras
import numpy as np
import pytest

from rnnkeras.atomic_files import atomic_path
from rnnkeras.callbacks import AutoClip, GradientClipping
from rnnkeras.pipeline import tasks
from rnnkeras.pipeline.builders import build_classifier
from rnnkeras.pipeline.training import (
    clipping_callback,
    compile_model,
    fit_resumable,
    read_resumable,
)
from rnnkeras.seeding import seed_everything


class Killed(Exception):
    pass


class KillAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise Killed()


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (40, 6, 2)).astype("float32")
    y = (x[:, :, 0].sum(1) > 0).astype("int32")
    return {"train": {"x": x[:32], "y": y[:32]}, "val": {"x": x[32:], "y": y[32:]}}


def builder(calls):
    def build():
        calls.append(1)
        model = build_classifier(6, 2, 2, [0.0, 0.0], [1.0, 1.0], cell="gru", units=4)
        return compile_model(model, tasks.get("classification"), 0.01)

    return build


def test_a_killed_training_resumes_from_its_last_epoch(tmp_path, capsys):
    train = {"epochs": 5, "batch_size": 8}
    calls = []
    with pytest.raises(Killed):
        fit_resumable(
            builder(calls),
            data(),
            train,
            tmp_path,
            "setup-1",
            callbacks=[KillAtEpoch(3)],
            verbose=0,
        )
    state = json.loads((tmp_path / "state.json").read_text())
    assert state == {
        "complete": False,
        "fingerprint": "setup-1",
        "epoch": 3,
        "model": "model-3.keras",
    }
    assert [p.name for p in tmp_path.glob("model-*.keras")] == ["model-3.keras"]
    saved, _ = read_resumable(tmp_path, "setup-1")
    saved_weights = saved.get_weights()

    model, history = fit_resumable(builder(calls), data(), train, tmp_path, "setup-1", verbose=0)
    assert "Resuming training from the checkpoint after epoch 3 of 5" in capsys.readouterr().out
    assert len(calls) == 1  # the second call loaded the checkpoint instead of building
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5]
    assert int(model.optimizer.iterations.numpy()) == 5 * 4  # Adam's step count carried over
    assert any(
        not np.array_equal(a, b) for a, b in zip(saved_weights, model.get_weights(), strict=True)
    )
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["complete"] and not list(tmp_path.glob("model*.keras"))


class WeightsAfterEachEpoch(keras.callbacks.Callback):
    """Records the weights after each epoch (before the checkpoint callback that follows it)."""

    def __init__(self):
        super().__init__()
        self.weights = {}

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch + 1] = self.model.get_weights()


def test_a_kill_after_the_model_is_saved_but_before_its_state_resumes_from_the_state(
    tmp_path, monkeypatch
):
    """The epoch-3 model is on disk, `state.json` still says 2: the resumed run must start
    from the epoch-2 model (with the epoch-3 one it would train epoch 3 twice)."""
    from rnnkeras.pipeline import training

    real_write_state = training.write_state

    def killed_at_epoch_3(directory, state):
        if state["epoch"] == 3 and not state.get("complete"):
            raise Killed()
        real_write_state(directory, state)

    monkeypatch.setattr(training, "write_state", killed_at_epoch_3)
    recorded = WeightsAfterEachEpoch()
    with pytest.raises(Killed):
        fit_resumable(
            builder([]), data(), {"epochs": 5, "batch_size": 8}, tmp_path, "setup-1",
            callbacks=[recorded], verbose=0,
        )  # fmt: skip
    assert (tmp_path / "model-3.keras").exists()
    resumed, history = read_resumable(tmp_path, "setup-1")
    assert [h["epoch"] for h in history] == [1, 2]
    for got, expected in zip(resumed.get_weights(), recorded.weights[2], strict=True):
        np.testing.assert_array_equal(got, expected)
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(recorded.weights[2], recorded.weights[3], strict=True)
    )


def test_a_checkpoint_of_another_setup_or_a_finished_run_is_not_resumed(tmp_path):
    train = {"epochs": 2, "batch_size": 8}
    calls = []
    with pytest.raises(Killed):
        fit_resumable(
            builder(calls), data(), train, tmp_path, "old", callbacks=[KillAtEpoch(1)], verbose=0
        )
    _, history = fit_resumable(builder(calls), data(), train, tmp_path, "new", verbose=0)
    assert len(calls) == 2 and [h["epoch"] for h in history] == [1, 2]
    _, history = fit_resumable(builder(calls), data(), train, tmp_path, "new", verbose=0)
    assert len(calls) == 3 and [h["epoch"] for h in history] == [1, 2]


def test_the_same_seed_gives_the_same_weights():
    def run():
        seed_everything(123)
        model = builder([])()
        model.fit(data()["train"]["x"], data()["train"]["y"], epochs=2, batch_size=8, verbose=0)
        return model.get_weights()

    first, second = run(), run()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    seed_everything(124)
    other = builder([])().get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_clipping_is_chosen_by_params():
    assert clipping_callback({"clipping": "none"}) is None
    autoclip = clipping_callback({"clipping": "autoclip", "autoclip_percentile": 25})
    assert isinstance(autoclip, AutoClip) and autoclip.percentile == 25
    value = clipping_callback({"clipping": "value", "clip_threshold": 0.5})
    assert isinstance(value, GradientClipping) and value.mode == "clipvalue"
    assert value.threshold == 0.5
    with pytest.raises(ValueError, match="clipping='sometimes'"):
        clipping_callback({"clipping": "sometimes"})


def test_a_failed_write_leaves_the_previous_output_untouched(tmp_path):
    target = tmp_path / "models" / "model.txt"
    target.parent.mkdir()
    target.write_text("good")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash while writing")
    assert target.read_text() == "good"
    assert [p.name for p in target.parent.iterdir()] == ["model.txt"]


def test_a_folder_is_replaced_whole(tmp_path):
    target = tmp_path / "plots"
    target.mkdir()
    (target / "old.png").write_text("x")
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "new.png").write_text("y")
    assert [p.name for p in target.iterdir()] == ["new.png"]
    assert [p.name for p in tmp_path.iterdir()] == ["plots"]
