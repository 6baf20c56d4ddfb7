"""Under `dvc repro`: after any stage fails or is killed, a plain `dvc checkout` restores the last
good models, metrics and exports."""

import hashlib
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.pipeline import projects

pytestmark = pytest.mark.slow

# Imported by the stage process before it runs: `RNNKERAS_KILL=module:function` replaces that
# function with a SIGKILL of the process, in the stage named by `RNNKERAS_KILL_STAGE`.
KILL_HOOK = """
import os, signal, sys
stage = os.environ.get("RNNKERAS_KILL_STAGE")
if stage and any(arg.endswith(f"pipelines/{stage}.py") for arg in sys.orig_argv):
    import importlib
    module, function = os.environ["RNNKERAS_KILL"].split(":")
    setattr(importlib.import_module(module), function,
            lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL))
"""

KILLS = {
    "prepare": "rnnkeras.pipeline.data:write_table",
    "validate": "rnnkeras.pipeline.data:save_arrays",
    "train": "rnnkeras.pipeline.training:write_history_plot",  # after the model is saved
    "evaluate": "rnnkeras.pipeline.tracking:log_and_register_model",  # after the metrics are written
    "export": "rnnkeras.export:write_export_report",  # after the files are exported
}
KEPT = ("models", "metrics", "export", "reports/mlflow_run.json", "reports/registry.json")


def dvc(root: Path, *args: str, kill: str | None = None) -> subprocess.CompletedProcess:
    """`dvc ARGS` in `root`; with `kill="stage"`, that stage's process kills itself (`KILLS`)."""
    env = projects.environment(root)
    if kill:
        env["PYTHONPATH"] = f"{root.parent / 'hooks'}:{env['PYTHONPATH']}"
        env.update(RNNKERAS_KILL_STAGE=kill, RNNKERAS_KILL=KILLS[kill])
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
