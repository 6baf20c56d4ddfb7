"""Under `dvc repro`: after any stage fails or is killed, a plain `dvc checkout` restores the last
good models, metrics and exports."""

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from rnnkeras.pipeline.stages import paths
from tests.pipeline import projects

pytestmark = pytest.mark.slow

# Imported by the stage process before it runs: `RNNKERAS_KILL=module:function` replaces that
# function with a SIGKILL of the process, in the stage named by `RNNKERAS_KILL_STAGE`;
# `module:function:N` kills at its N-th call, the calls before it running as usual.
KILL_HOOK = """
import os, signal, sys
stage = os.environ.get("RNNKERAS_KILL_STAGE")
if stage and any(arg.endswith(f"pipelines/{stage}.py") for arg in sys.orig_argv):
    import importlib
    module, function, *call = os.environ["RNNKERAS_KILL"].split(":")
    module = importlib.import_module(module)
    original, calls = getattr(module, function), []
    def kill_at_call(*args, **kwargs):
        calls.append(None)
        if len(calls) == int(call[0] if call else 1):
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)
    setattr(module, function, kill_at_call)
"""

KILLS = {
    "prepare": "rnnkeras.pipeline.data:write_table",
    "validate": "rnnkeras.pipeline.data:save_arrays",
    "train": "rnnkeras.pipeline.training:write_history_plot",  # after the model is saved
    "evaluate": "rnnkeras.pipeline.tracking:log_and_register_model",  # after the metrics are written
    "export": "rnnkeras.export:write_export_report",  # after the files are exported
}
KEPT = ("models", "metrics", "export", "reports/mlflow_run.json", "reports/registry.json")


def dvc(
    root: Path, *args: str, kill: str | None = None, at: str | None = None
) -> subprocess.CompletedProcess:
    """`dvc ARGS` in `root`; with `kill="stage"`, that stage's process kills itself at `at`
    (`module:function[:N]`, by default the stage's entry in `KILLS`)."""
    env = projects.environment(root)
    if kill:
        env["PYTHONPATH"] = f"{root.parent / 'hooks'}:{env['PYTHONPATH']}"
        env.update(RNNKERAS_KILL_STAGE=kill, RNNKERAS_KILL=at or KILLS[kill])
    return projects.dvc(root, *args, env=env)


def kept_files(root: Path) -> dict[str, str]:
    files = {}
    for name in KEPT:
        for path in [root / name, *sorted((root / name).rglob("*"))]:
            if path.is_file():
                files[path.relative_to(root).as_posix()] = hashlib.sha256(
                    path.read_bytes()
                ).hexdigest()
    return files


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = projects.dvc_project(tmp_path_factory.mktemp("failures") / "project")
    (root.parent / "hooks").mkdir()
    (root.parent / "hooks" / "sitecustomize.py").write_text(KILL_HOOK)
    result = dvc(root, "repro")
    assert result.returncode == 0, result.stdout + result.stderr
    return root, kept_files(root)


@pytest.mark.parametrize("stage", list(KILLS))
def test_a_killed_stage_loses_nothing_a_plain_checkout_cannot_restore(pipeline, stage):
    root, good = pipeline
    killed = dvc(root, "repro", "--force", "--single-item", stage, kill=stage)
    assert killed.returncode != 0, killed.stdout + killed.stderr
    checkout = dvc(root, "checkout")
    assert checkout.returncode == 0, checkout.stdout + checkout.stderr
    assert kept_files(root) == good


def test_bad_params_fail_before_any_output_changes(pipeline):
    root, good = pipeline
    original = (root / "params.yaml").read_text()
    params = yaml.safe_load(original)
    params["train"]["epochs"] = 0
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        failed = dvc(root, "repro")
        assert failed.returncode != 0
        assert "train.epochs must be an integer ≥ 1. Received: train.epochs=0" in (
            failed.stdout + failed.stderr
        )
        assert "Traceback" not in failed.stdout + failed.stderr
    finally:
        (root / "params.yaml").write_text(original)
    checkout = dvc(root, "checkout")
    assert checkout.returncode == 0, checkout.stdout + checkout.stderr
    assert kept_files(root) == good


def test_a_training_killed_under_dvc_resumes_from_its_checkpoint(pipeline):
    """DVC deletes a stage's outputs before running it, but the checkpoint is none of them: the
    next `dvc repro` continues the killed training instead of starting it over."""
    root, good = pipeline
    originals = {name: (root / name).read_text() for name in ("params.yaml", "dvc.lock")}
    params = yaml.safe_load(originals["params.yaml"])
    # Parameters no earlier run had, as after a user's edit; with the earlier ones, `dvc repro`
    # would restore that run's outputs from DVC's run cache instead of training.
    params["train"]["epochs"] = 3
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        # The second epoch's checkpoint starts with `_plain_logs`: killed before it is saved.
        kill_in_epoch_2 = "rnnkeras.pipeline.training:_plain_logs:2"
        killed = dvc(root, "repro", "--single-item", "train", kill="train", at=kill_in_epoch_2)
        assert killed.returncode != 0, killed.stdout + killed.stderr
        state = json.loads((root / paths.CHECKPOINTS / "state.json").read_text())
        assert (state["epoch"], state["complete"]) == (1, False)
        resumed = dvc(root, "repro", "--single-item", "train")
        output = resumed.stdout + resumed.stderr
        assert resumed.returncode == 0, output
        assert "Resuming training from the checkpoint after epoch 1 of 3." in output
        assert "Epoch 2/3" in output and "Epoch 1/3" not in output
        history = json.loads((root / paths.CHECKPOINTS / "history.json").read_text())
        assert [epoch["epoch"] for epoch in history] == [1, 2, 3]
    finally:
        for name, text in originals.items():
            (root / name).write_text(text)
    checkout = dvc(root, "checkout")
    assert checkout.returncode == 0, checkout.stdout + checkout.stderr
    assert kept_files(root) == good
