"""What a run was made from: its parameters, the package versions and the git state."""

import contextlib
import importlib.metadata
import json
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Distributions whose versions decide what a run computes; each run records them.
_RECORDED_DISTRIBUTIONS = (
    "rnnkeras",
    "keras",
    "tensorflow",
    "tensorflow-cpu",
    "numpy",
    "mlflow",
    "dvc",
    "great-expectations",
)

# dvc.lock is rewritten by `dvc repro` after every stage, so during a pipeline
# run it always differs from the commit; it records outputs, not code.
_NOT_SOURCE = ("dvc.lock",)


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings to one level with dotted keys, as MLflow params and metrics.

    Args:
        values: A possibly nested mapping, e.g. the content of `params.yaml`.
        prefix: Prepended to every key, followed by a dot.

    Returns:
        A flat dict; leaves keep their values.

    Example:

    >>> flatten({"train": {"cell": "gru", "units": 32}, "seed": 7})
    {'train.cell': 'gru', 'train.units': 32, 'seed': 7}
    """
    flat = {}
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat


def package_versions() -> dict[str, str]:
    """Installed versions of the distributions that decide what a run computes.

    Returns:
        `{distribution: version}` for the ones that are installed, plus `python`.

    Example:

    >>> "keras" in package_versions() and "python" in package_versions()
    True
    """
    versions = {"python": platform.python_version()}
    for distribution in _RECORDED_DISTRIBUTIONS:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[distribution] = importlib.metadata.version(distribution)
    return versions


def git_state(folder: str | Path = ".") -> dict[str, str]:
    """The commit checked out in `folder` and whether tracked source files differ from it.

    `dvc.lock` is left out of the dirty check: `dvc repro` rewrites it after
    each stage, so it differs from the commit in the middle of every pipeline run.

    Args:
        folder: Any folder inside the work tree.

    Returns:
        `{"commit", "dirty", "dirty_paths"}` (`dirty` is `"true"` or
        `"false"`), or `{}` outside a git work tree or without git.

    Example:

    >>> import tempfile
    >>> git_state(tempfile.mkdtemp())
    {}
    """

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return {}
    changed = [line[3:] for line in status.splitlines() if line[3:] not in _NOT_SOURCE]
    return {
        "commit": commit,
        "dirty": "true" if changed else "false",
        "dirty_paths": ", ".join(changed[:20]),
    }


def params_as_text(params: Mapping[str, Any]) -> dict[str, str]:
    """`params` flattened (see `flatten`), each value as the text a run records.

    Lists are written as JSON, so that a stage can compare them with what a run holds.

    Args:
        params: A possibly nested mapping of parameters.

    Returns:
        `{dotted name: text}`.

    Example:

    >>> params_as_text({"export": {"quantize": ["none", "int8"]}, "seed": 7})
    {'export.quantize': '["none", "int8"]', 'seed': '7'}
    """
    return {
        name: json.dumps(list(value)) if isinstance(value, list | tuple) else str(value)
        for name, value in flatten(params).items()
    }
