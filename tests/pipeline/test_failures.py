"""A failed or killed stage keeps the last good outputs; its leftovers go on the next run."""

import json
from pathlib import Path

import keras
import pandas as pd
import pytest
import yaml

from rnnkeras.pipeline import training
from rnnkeras.pipeline.stages import outputs, paths, prepare, train, validate
from tests.pipeline.tiny_params import classification_params

TRAIN_OUTPUTS = (paths.MODEL, paths.MLFLOW_RUN, paths.HISTORY, paths.HISTORY_PLOT)


def contents(root: Path) -> dict[str, bytes]:
    """Every file under `root` except the MLflow store, by relative path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and not path.name.startswith("mlflow.db")
        and "mlartifacts" not in path.parts
        and paths.CHECKPOINTS.parts[0] not in path.relative_to(root).parts
    }


def test_a_training_that_fails_at_the_end_changes_no_output(project, tiny_vowels_csv, monkeypatch):
    params = classification_params(tiny_vowels_csv, epochs=1)
    prepare.run(params, project)
    assert validate.run(params, project) == 0
    train.run(params, project)
    good = contents(project)
    assert all(path.as_posix() in good for path in TRAIN_OUTPUTS)

    def broken_plot(history, path):
        raise RuntimeError("disk full")

    # The model is saved before the plot: the worst moment to fail.
    monkeypatch.setattr(training, "write_history_plot", broken_plot)
    with pytest.raises(RuntimeError, match="disk full"):
        train.run(classification_params(tiny_vowels_csv, epochs=2), project)
    assert contents(project) == good
    assert not [p for p in project.iterdir() if p.name.startswith(".")]


def test_a_stage_removes_the_temporary_files_a_killed_stage_left(project, capsys):
    (project / "params.yaml").write_text(yaml.safe_dump(classification_params("missing.csv")))
    left = [
        project / "reports" / ".gradient_flow.0123abcd.tmp",
        project / ".rnnkeras-stage.89abcdef.tmp" / "models",
        project / "models" / ".model.keras.01234567.tmp.keras",
        project / paths.CHECKPOINTS / ".model-2.keras.fedcba98.tmp.keras",
    ]
    for path in left:
        path.mkdir(parents=True)
    kept = project / "reports" / "gradient_flow"
    kept.mkdir()
    assert prepare.main(["--root", str(project)]) == 1  # the CSV is missing; cleaning ran
    for path in left:
        assert not path.exists(), path
    assert kept.is_dir() and (project / "models").is_dir()
    assert "reports/.gradient_flow.0123abcd.tmp, left by an interrupted stage" in (
        capsys.readouterr().out
    )


def test_staged_outputs_move_in_together_or_not_at_all(tmp_path):
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "a.json").write_text("old")
    with pytest.raises(KeyError), outputs.staged_outputs(tmp_path, ["metrics/a.json"]) as out:
        out[Path("metrics/a.json")].write_text("new")
        raise KeyError("failed after writing")
    assert (tmp_path / "metrics" / "a.json").read_text() == "old"
    with outputs.staged_outputs(tmp_path, ["metrics/a.json", "plots"]) as out:
        out[Path("metrics/a.json")].write_text("new")
        out[Path("plots")].mkdir()
        (out[Path("plots")] / "p.png").write_text("png")
    assert (tmp_path / "metrics" / "a.json").read_text() == "new"
    assert (tmp_path / "plots" / "p.png").read_text() == "png"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics", "plots"]


class StopAtEpoch(keras.callbacks.Callback):
    """Stands in for a kill: the checkpoint holds the epochs before `epoch`."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def interrupted_training(params, root, monkeypatch):
    with monkeypatch.context() as patch:
        # The train stage looks the callback up in `rnnkeras.pipeline.training` when it runs.
        patch.setattr(training, "epoch_metrics_callback", lambda: StopAtEpoch(1))
        with pytest.raises(KeyboardInterrupt):
            train.run(params, root)
    state = json.loads((root / paths.CHECKPOINTS / "state.json").read_text())
    assert state["epoch"] == 1 and not state["complete"]


def test_a_checkpoint_made_by_other_model_code_is_not_resumed(
    project, tiny_vowels_csv, monkeypatch, capsys
):
    import rnnkeras.pipeline.builders

    params = classification_params(tiny_vowels_csv, epochs=2)
    prepare.run(params, project)
    assert validate.run(params, project) == 0
    interrupted_training(params, project, monkeypatch)
    train.run(params, project)
    assert "Resuming training from the checkpoint after epoch 1 of 2" in capsys.readouterr().out

    interrupted_training(params, project, monkeypatch)
    changed = project / "models_changed.py"
    changed.write_text(
        Path(rnnkeras.pipeline.builders.__file__).read_text() + "\n# another layer\n"
    )
    monkeypatch.setattr(rnnkeras.pipeline.builders, "__file__", str(changed))
    train.run(params, project)
    assert "Resuming" not in capsys.readouterr().out
    assert pd.read_csv(project / paths.HISTORY)["epoch"].tolist() == [1, 2]


def test_a_failed_evaluate_or_export_changes_no_output(project, tiny_vowels_csv, monkeypatch):
    import rnnkeras.export
    from rnnkeras.pipeline import tracking
    from rnnkeras.pipeline.stages import evaluate, export

    params = classification_params(tiny_vowels_csv, epochs=1)
    prepare.run(params, project)
    assert validate.run(params, project) == 0
    train.run(params, project)
    evaluate.run(params, project)
    export.run(params, project)
    good = contents(project)
    assert {"metrics/evaluate.json", "reports/registry.json", "reports/export.json"} <= set(good)
    assert "export/model_float32.tflite" in good
    report = json.loads(good["reports/export.json"])
    assert str(project / paths.EXPORT) in json.dumps(report) and ".tmp" not in json.dumps(report)
    # A new model: a failed evaluate or export must not replace the old model's results.
    train.run(classification_params(tiny_vowels_csv, epochs=2), project)
    good = contents(project)

    def fail(*args, **kwargs):
        raise RuntimeError("store unreachable")

    monkeypatch.setattr(tracking, "log_and_register_model", fail)
    with pytest.raises(RuntimeError, match="store unreachable"):
        evaluate.run(params, project)
    assert contents(project) == good
    monkeypatch.setattr(rnnkeras.export, "write_export_report", fail)
    with pytest.raises(RuntimeError, match="store unreachable"):
        export.run(params, project)
    assert contents(project) == good
    assert not [p for p in project.iterdir() if p.name.startswith(".")]
