"""The `rnnkeras` console command.

`rnnkeras <stage> [--params FILE] [--root DIR]` runs one pipeline stage (`prepare`,
`validate`, `train`, `evaluate`, `export`) exactly as `dvc repro` does, without DVC.

Other modules add a subcommand with a function `add_command(subparsers)` that creates its
parser (`subparsers.add_parser(name, help=...)`) and sets `run=<function(args) -> int>` with
`parser.set_defaults`; list it in `COMMANDS` below. Imports stay inside those functions so
`rnnkeras --help` starts fast.
"""

import argparse
import importlib

from rnnkeras.pipeline.stages import STAGES, entry


def _add_stage_commands(subparsers) -> None:
    for name in STAGES:
        module = importlib.import_module(f"rnnkeras.pipeline.stages.{name}")
        parser = subparsers.add_parser(
            name,
            help=module.__doc__.splitlines()[0],
            description=module.run.__doc__,
        )
        entry.add_arguments(parser)
        parser.set_defaults(run=lambda args, run=module.run: entry.run_stage(run, args))


def _add_export_model_command(subparsers) -> None:
    from rnnkeras.pipeline.export_model import add_command

    add_command(subparsers)


COMMANDS = [_add_stage_commands, _add_export_model_command]


def main(argv: list[str] | None = None) -> int:
    """Parses the command line and runs the chosen subcommand; returns the exit code.

    Example:

    >>> main(["prepare", "--help"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(
        prog="rnnkeras", description="Recurrent models for Keras 3: the pipeline's stages."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in COMMANDS:
        add_command(subparsers)
    args = parser.parse_args(argv)
    entry.quiet_tools()
    return int(args.run(args) or 0)
