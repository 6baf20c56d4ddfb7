"""The MLflow Project's entry points: the pipeline's stages with parameters set on the command line.

`mlproject/MLproject` runs `python -m rnnkeras.pipeline.mlflow_project ENTRY --set train.cell={cell} ...`
from the project root. This module reads `params.yaml`, applies the `--set` overrides
(typed like the values they replace), writes the result to `<work>/params.yaml` and runs
the stage functions of `rnnkeras.pipeline.stages` on it, exactly as `dvc repro` does, with
`<work>` as their root. Each run gets its own work folder,
`mlproject/runs/<MLflow run id>/`, so the DVC workspace is never overwritten and a new run
never resumes an older run's checkpoint.

Entry points: `main` (every stage), `train` (prepare, validate, train), `evaluate` and
`export` (on the work folder of an earlier run, named by `--run-id`).
"""

import argparse
import importlib
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from rnnkeras.pipeline.params import check_params, load_params
from rnnkeras.pipeline.stages import STAGES, keras_backend
from rnnkeras.pipeline.stages import entry as stage_entry

ENTRY_POINTS = {
    "main": STAGES,
    "train": ("prepare", "validate", "train"),
    "evaluate": ("evaluate",),
    "export": ("export",),
}
RUNS_DIR = Path("mlproject/runs")


def _typed(key: str, text: str, current: Any) -> Any:
    if isinstance(current, str):
        return text
    value = yaml.safe_load(text)
    if current is None:
        return value
    if isinstance(current, bool) or isinstance(value, bool):
        ok = isinstance(current, bool) and isinstance(value, bool)
    elif isinstance(current, float):
        ok = isinstance(value, int | float)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, type(current))
    if not ok:
        raise ValueError(
            f"Parameter `{key}` is a {type(current).__name__} in params.yaml "
            f"({current!r}); the override is not. Received: {key}={text!r}"
        )
    return value


def apply_overrides(params: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """A copy of `params` with dotted keys set from text, typed like the values they replace.

    Args:
        params: Parsed `params.yaml`.
        overrides: `{"train.cell": "gru", "train.units": "32", "export.quantize": "[none]"}`.
            Values are YAML text (`true`, `0.01`, `[a, b]`); where `params.yaml` holds
            a string, the text is taken as is.

    Returns:
        The new parameters; `params` is left unchanged.

    Raises:
        ValueError: For a key that `params.yaml` does not have, or a value of another type.

    Example:

    >>> apply_overrides({"train": {"cell": "lstm", "units": 64}}, {"train.units": "8"})
    {'train': {'cell': 'lstm', 'units': 8}}
    """
    result = yaml.safe_load(yaml.safe_dump(dict(params)))
    for key, text in overrides.items():
        *sections, name = key.split(".")
        node = result
        for section in sections:
            node = node.get(section) if isinstance(node, dict) else None
        if not isinstance(node, dict) or name not in node:
            raise ValueError(
                f"Overrides must name a value that params.yaml has. Received: key={key!r}"
            )
        node[name] = _typed(key, text, node[name])
    return result


def work_folder(root: Path, run_id: str | None) -> Path:
    """`<root>/mlproject/runs/<run_id>`; without a run id, a new timestamped folder.

    Example:

    >>> work_folder(Path("/repo"), "abc")
    PosixPath('/repo/mlproject/runs/abc')
    """
    name = run_id or time.strftime("local-%Y%m%d-%H%M%S")
    return root / RUNS_DIR / name


def run_entry_point(
    entry: str,
    overrides: Mapping[str, str],
    root: str | Path = ".",
    run_id: str | None = None,
) -> int:
    """Runs the stages of one entry point in the work folder; returns an exit code.

    Args:
        entry: `"main"`, `"train"`, `"evaluate"` or `"export"`.
        overrides: Dotted `params.yaml` keys and their new values, as text.
        root: Project root holding `params.yaml` and, by default, `mlflow.db`.
        run_id: For `evaluate`/`export`: the run whose work folder to use.
            Otherwise the run `mlflow run` created (`MLFLOW_RUN_ID`).

    Returns:
        0 on success, else the exit code of the stage that failed.

    Example:

    >>> run_entry_point("main", {"train.cell": "gru", "train.epochs": "1"})  # doctest: +SKIP
    0
    """
    from rnnkeras.pipeline import tracking

    if entry not in ENTRY_POINTS:
        raise ValueError(
            f"Unknown entry point; expected one of {sorted(ENTRY_POINTS)}. Received: entry={entry!r}"
        )
    root = Path(root).resolve()
    fresh = entry in ("main", "train")
    if not fresh and not run_id:
        raise ValueError(
            f"Entry point `{entry}` works on the folder of an earlier run: pass its id with "
            f"--run-id (-P run_id=...). Received: run_id={run_id!r}"
        )
    work = work_folder(root, run_id if run_id else os.environ.get("MLFLOW_RUN_ID"))
    if not fresh and not work.is_dir():
        raise ValueError(f"No work folder for that run. Received: folder={str(work)!r}")
    # A later entry point reuses the parameters its run was trained with.
    base = root / "params.yaml" if fresh else work / "params.yaml"
    # The overrides are checked like params.yaml itself, before any stage runs.
    params = check_params(
        apply_overrides(load_params(base), overrides), source=f"{base} with --set overrides"
    )
    csv = params["prepare"].get("csv") or {}
    if csv.get("path"):
        csv["path"] = str(root / csv["path"])
    work.mkdir(parents=True, exist_ok=True)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    os.environ.setdefault("MLFLOW_TRACKING_URI", tracking.default_tracking_uri(root))
    project_run = os.environ.get("MLFLOW_RUN_ID")
    if not fresh and project_run:
        import mlflow

        # The stages log to the training run they continue; point this run at it.
        mlflow.MlflowClient().set_tag(project_run, "rnnkeras.training_run", run_id)
    print(f"mlflow project `{entry}`: stages {', '.join(ENTRY_POINTS[entry])} in {work}")
    for name in ENTRY_POINTS[entry]:
        stage_args = argparse.Namespace(params=str(work / "params.yaml"), root=str(work))
        if keras_backend.needs_own_process(name, params):
            # Keras keeps its first backend: after training on JAX or PyTorch, evaluate
            # and export (TensorFlow) run in a process of their own.
            stage_main = (
                f"from rnnkeras.pipeline.stages.{name} import main; raise SystemExit(main())"
            )
            options = ["--params", stage_args.params, "--root", stage_args.root]
            code = subprocess.run([sys.executable, "-c", stage_main, *options]).returncode
        else:
            module = importlib.import_module(f"rnnkeras.pipeline.stages.{name}")
            code = stage_entry.run_stage(module.run, stage_args)
        if code:
            return code
    return 0


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE. Received: {text!r}")
    return key, value


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m rnnkeras.pipeline.mlflow_project ENTRY [--set KEY=VALUE ...] [--root DIR] [--run-id ID]`."""
    parser = argparse.ArgumentParser(
        prog="python -m rnnkeras.pipeline.mlflow_project",
        description="Run the pipeline's stages as an MLflow Project entry point.",
    )
    parser.add_argument("entry", choices=sorted(ENTRY_POINTS))
    parser.add_argument(
        "--set",
        dest="overrides",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a params.yaml value, e.g. --set train.cell=gru",
    )
    parser.add_argument("--root", default=".", help="project root (default: current folder)")
    parser.add_argument("--run-id", default="", help="evaluate/export: the earlier run's id")
    args = parser.parse_args(argv)
    stage_entry.quiet_tools()
    try:
        return run_entry_point(args.entry, dict(args.overrides), args.root, args.run_id or None)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
