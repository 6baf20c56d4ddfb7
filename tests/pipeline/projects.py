"""Pipeline projects for the end-to-end tests: tiny real data, DVC copies, stage processes.

Imported by path (`from tests.pipeline import projects`). The parameters that train on the
tiny data in seconds are in `tests/pipeline/tiny_params.py`.
"""

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from rnnkeras.pipeline.data import BUNDLED_DIR
from tests.pipeline.tiny_params import classification_params

REPO = Path(__file__).resolve().parents[2]
# What a DVC copy keeps out of git: the stores and checkpoints its runs write.
GITIGNORE = "/mlflow.db\n/mlartifacts/\n/checkpoints/\n__pycache__/\n"


def tiny_vowels(vowels: pd.DataFrame | None = None) -> pd.DataFrame:
    """A real subset of the bundled Japanese vowels: 4 training and 2 test utterances of each
    of the 9 speakers (`vowels` is the bundled table, read when not given)."""
    if vowels is None:
        vowels = pd.read_csv(BUNDLED_DIR / "japanese_vowels.csv")
    first = vowels.groupby(["split", "label", "sequence_id"]).size().reset_index()
    keep = pd.concat(
        [
            first[first.split == "train"].groupby("label").head(4),
            first[first.split == "test"].groupby("label").head(2),
        ]
    ).sequence_id
    return vowels[vowels.sequence_id.isin(keep)]


def write_tiny_vowels(path: Path, vowels: pd.DataFrame | None = None) -> Path:
    """Writes `tiny_vowels(vowels)` as a CSV file at `path`; returns `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tiny_vowels(vowels).to_csv(path, index=False)
    return path


def project_copy(destination: Path) -> Path:
    """The project's files (tracked, or new and not ignored) copied to `destination`."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def dvc_project(destination: Path, epochs: int = 2) -> Path:
    """A git repository holding a copy of the project, with the tiny vowels in
    `inputs/vowels.csv` and a `params.yaml` that trains on them for `epochs` epochs."""
    root = project_copy(destination)
    write_tiny_vowels(root / "inputs" / "vowels.csv")
    params = classification_params("inputs/vowels.csv", epochs=epochs)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (root / ".gitignore").write_text(GITIGNORE)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "copy")
    return root


def environment(root: Path) -> dict:
    """The environment of a DVC command in the copy `root`: its own `rnnkeras` and store."""
    env = dict(os.environ)
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(root),  # the copy's rnnkeras, not the installed one
        DVC_NO_ANALYTICS="1",
        GX_ANALYTICS_ENABLED="false",
        MLFLOW_DISABLE_TELEMETRY="true",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID"):
        env.pop(name, None)
    return env


def dvc(root: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`dvc ARGS` in the copy `root`, in `environment(root)` unless `env` is given."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "dvc"), *args],
        cwd=root,
        env=environment(root) if env is None else env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def train_process(root: Path) -> subprocess.Popen:
    """`pipelines/train.py --root ROOT` in a process of its own session (to be killed)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2")
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID"):
        env.pop(name, None)
    return subprocess.Popen(
        [sys.executable, str(REPO / "pipelines" / "train.py"), "--root", str(root)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def mlproject_overrides(entry: str, user_params: dict) -> dict[str, str]:
    """The `--set` pairs of the command `mlflow run mlproject -e ENTRY` would execute."""
    from mlflow.projects import _project_spec

    project = _project_spec.load_project(str(REPO / "mlproject"))
    command = project.get_entry_point(entry).compute_command(user_params, None)
    words = shlex.split(command)
    assert words[:6] == ["cd", "..", "&&", "python", "-m", "rnnkeras.pipeline.mlflow_project"]
    pairs = [words[i + 1] for i, word in enumerate(words) if word == "--set"]
    return dict(pair.split("=", 1) for pair in pairs)
