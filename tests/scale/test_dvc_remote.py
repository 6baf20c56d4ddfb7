"""The project's DVC remote: a run pushed from one clone is pulled whole by a fresh one.

`.dvc/config` names the default remote `storage`, a folder beside the project; the two clones
here sit side by side in a temporary folder, so both reach the same storage as written.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from rnnkeras.pipeline.stages import STAGES, paths
from tests.pipeline import projects

pytestmark = pytest.mark.slow

# Outputs of every stage: data, model, reports and the exported files.
PULLED = [
    "data/prepared/sequences.csv",
    "data/validated/train.npz",
    "models/model.keras",
    "reports/mlflow_run.json",
    "metrics/evaluate.json",
    "export/model_float32.tflite",
]


def succeeded(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def dvc_repro(root, *args: str) -> subprocess.CompletedProcess:
    """`dvc repro ARGS` with room for a busy machine (10 min was seen to run out at load 30)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "dvc"), "repro", *args],
        cwd=root,
        env=projects.environment(root),
        capture_output=True,
        text=True,
        timeout=1800,
    )


def test_a_fresh_clone_pulls_data_model_and_exports_and_reproduces_nothing(tmp_path):
    """Plain `dvc repro` there finds every stage unchanged: what `dvc pull` brings is all of it."""
    first = projects.dvc_project(tmp_path / "first", epochs=1)
    assert "storage" in succeeded(projects.dvc(first, "remote", "list"))
    succeeded(dvc_repro(first))
    # The training checkpoint stays behind, in neither git nor the remote (docs/scale.md).
    assert (first / paths.CHECKPOINTS / "state.json").is_file()
    projects.git(first, "add", "-A")
    projects.git(first, "commit", "-q", "-m", "run")
    succeeded(projects.dvc(first, "push"))
    assert list((tmp_path / "rnnkeras-dvc-storage").rglob("*"))

    projects.git(tmp_path, "clone", "-q", str(first), "second")
    second = tmp_path / "second"
    assert not (second / "models" / "model.keras").exists()
    assert not (second / paths.CHECKPOINTS).exists()
    succeeded(projects.dvc(second, "pull"))
    for name in PULLED:
        assert (second / name).read_bytes() == (first / name).read_bytes(), name
    status = succeeded(projects.dvc(second, "status"))
    assert "Data and pipelines are up to date." in status, status
    reproduced = succeeded(dvc_repro(second))
    assert "Running stage" not in reproduced, reproduced
    for stage in STAGES:
        assert f"Stage '{stage}' didn't change, skipping" in reproduced, reproduced
    assert not (second / paths.CHECKPOINTS).exists()
