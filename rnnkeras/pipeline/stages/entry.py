"""The shared command-line entry of the stage modules: read params, run, turn errors into exit codes."""

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from rnnkeras.pipeline.stages import paths
from rnnkeras.pipeline.stages.outputs import remove_leftovers

# Defaults for what the tools print; TensorFlow reads its two before it is imported.
# Measured: the oneDNN notices (`I0000 ... oneDNN custom operations are on`, `E0000 ... oneDNN
# supports DT_BOOL only`) are written before `TF_CPP_MIN_LOG_LEVEL` applies, and only
# `TF_ENABLE_ONEDNN_OPTS=0` silences them (at no measurable cost for these models). Level 3
# also hides the `E0000 ... NodeDef mentions attribute use_unbounded_threadpool` line that
# deterministic ops (`seed_everything`) make tf.data print at every `fit`; real failures
# still raise Python exceptions.
QUIET_TOOLS = {
    "DVC_NO_ANALYTICS": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
}


def quiet_tools() -> None:
    """Sets the `QUIET_TOOLS` environment defaults (values already set are kept)."""
    for name, value in QUIET_TOOLS.items():
        os.environ.setdefault(name, value)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the options every stage accepts (`--params`, `--root`)."""
    parser.add_argument(
        "--params", default=None, help="parameters file (default: <root>/params.yaml)"
    )
    parser.add_argument("--root", default=".", help="project folder (default: current folder)")


def run_stage(stage: Callable[[dict, Path], int | None], args: argparse.Namespace) -> int:
    """Runs `stage(params, root)` and returns a process exit code.

    The parameters are checked whole before the stage starts; then temporary files that an
    interrupted stage left behind are removed. A `ValueError` (bad parameters or data, always
    worded for the user) is printed without a traceback and gives exit code 1; a stage may
    also return a non-zero code itself.
    """
    # The schema needs pydantic (the `mlops` extra); `rnnkeras --help` does not.
    from rnnkeras.pipeline.params import load_params

    quiet_tools()
    root = Path(args.root)
    try:
        params = load_params(Path(args.params) if args.params else root / paths.PARAMS)
        for leftover in remove_leftovers(root):
            print(f"Removed {leftover.relative_to(root)}, left by an interrupted stage.")
        return int(stage(params, root) or 0)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def main(name: str, stage: Callable[[dict, Path], int | None], argv=None) -> int:
    """`python pipelines/<name>.py [--params FILE] [--root DIR]`."""
    parser = argparse.ArgumentParser(prog=f"rnnkeras {name}", description=stage.__doc__)
    add_arguments(parser)
    return run_stage(stage, parser.parse_args(argv))
