"""Every command README.md and docs/*.md show exists as written, without running it.

The pipeline commands themselves run in tests/pipeline and tests/tracking; here each command
line (in shell blocks, and inline code that starts with a project tool) is checked as far as
it can be without side effects: `make` targets exist, `pip` extras exist, scripts exist and
take the options shown, `rnnkeras` subcommands answer `--help` and list the options shown,
`dvc` and `mlflow` command lines parse with the tools' own parsers, `-S`/`-P` parameters exist.
"""

import functools
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.docs.doc_blocks import REPO, pages, shell_commands

BIN = Path(sys.executable).parent


def words(command: str) -> list[str]:
    """The command's words without leading `VAR=value` assignments and the trailing comment."""
    tokens = shlex.split(re.sub(r"<[^<>]*>", "PLACEHOLDER", command), comments=True)
    while tokens and re.fullmatch(r"\w+=.*", tokens[0]):
        tokens.pop(0)
    return tokens


def is_placeholder(word: str) -> bool:
    """`...`, `DIR`, `FILE`, `<id of a run>`: words the reader replaces."""
    return word == "..." or re.fullmatch(r"[A-Z]{2,}", word) is not None


def options(tokens: list[str]) -> list[str]:
    return [t.split("=")[0] for t in tokens if t.startswith("--")]


@functools.cache
def help_text(*command: str) -> str:
    result = subprocess.run(
        [*command, "--help"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{' '.join(command)} --help failed:\n{result.stderr}"
    return result.stdout


@functools.cache
def make_targets() -> set[str]:
    return set(re.findall(r"^([\w.-]+):", (REPO / "Makefile").read_text(), re.MULTILINE))


def check_make(tokens):
    targets = [t for t in tokens[1:] if not t.startswith("-") and "=" not in t]
    assert targets, "make without a target"
    assert set(targets) <= make_targets(), f"unknown make targets {set(targets) - make_targets()}"


def check_pip(tokens):
    import configparser

    for token in tokens:
        extras = re.fullmatch(r"\.\[([\w,-]+)\]", token)
        if extras:
            config = configparser.ConfigParser()
            config.read(REPO / "setup.cfg")
            declared = set(config["options.extras_require"])
            assert set(extras.group(1).split(",")) <= declared, token


def check_python(tokens):
    if tokens[1] == "-c":
        compile(tokens[2], "<doc command>", "exec")
    elif tokens[1] == "-m":
        import importlib.util

        assert importlib.util.find_spec(tokens[2]), f"no module {tokens[2]}"
        paths = [t for t in tokens[3:] if not t.startswith("-")]
        assert all((REPO / p).exists() for p in paths), paths
    else:
        assert (REPO / tokens[1]).is_file(), f"no script {tokens[1]}"
        used = options(tokens[2:])
        if used:
            shown = help_text(sys.executable, tokens[1])
            assert all(o in shown for o in used), f"{tokens[1]} takes none of {used}"


def check_rnnkeras(tokens):
    listed = help_text(str(BIN / "rnnkeras"))
    sub = tokens[1]
    if is_placeholder(sub):
        return
    if sub.startswith("-"):  # `rnnkeras --help`: an option of the command itself
        assert sub in listed, f"rnnkeras takes no {sub}"
        return
    for name in sub.split("/"):
        assert re.search(rf"\b{re.escape(name)}\b", listed), f"rnnkeras has no {name!r}"
        used = options(tokens[2:])
        if used:
            shown = help_text(str(BIN / "rnnkeras"), name)
            assert all(o in shown for o in used), f"rnnkeras {name} lacks one of {used}"


def params_keys() -> set[str]:
    def flatten(tree, prefix=""):
        for key, value in tree.items():
            yield f"{prefix}{key}"
            if isinstance(value, dict):
                yield from flatten(value, f"{prefix}{key}.")

    return set(flatten(yaml.safe_load((REPO / "params.yaml").read_text())))


def check_dvc(tokens):
    from dvc.cli import DvcParserError
    from dvc.cli.parser import get_main_parser

    args = [t for t in tokens[1:] if not is_placeholder(t)]
    try:
        get_main_parser().parse_args(args)
    except (SystemExit, DvcParserError) as error:
        raise AssertionError(f"dvc does not accept {args}") from error
    for flag, value in zip(tokens, tokens[1:], strict=False):
        if flag in ("-S", "--set-param"):
            assert value.split("=")[0] in params_keys(), f"params.yaml has no {value}"


def check_mlflow(tokens, partial=False):
    import click
    from mlflow.cli import cli

    args = [t for t in tokens[1:] if not is_placeholder(t)]
    command = cli
    while isinstance(command, click.Group):  # the documented commands give no group options
        name, args = args[0], args[1:]
        command = command.get_command(click.Context(command), name)
        assert command is not None, f"mlflow has no command {name!r}"
    if partial:
        return  # a command named in the text (`mlflow run`), not a command line
    try:
        command.make_context(command.name, list(args))
    except click.UsageError as error:
        raise AssertionError(f"mlflow {command.name}: {error}") from error
    if command.name == "run" and "mlproject" in tokens:
        project = yaml.safe_load((REPO / "mlproject" / "MLproject").read_text())
        entry = tokens[tokens.index("-e") + 1] if "-e" in tokens else "main"
        accepted = set(project["entry_points"][entry].get("parameters", {}))
        for flag, value in zip(tokens, tokens[1:], strict=False):
            if flag == "-P":
                assert value.split("=")[0] in accepted, f"entry point {entry} has no {value}"


CHECKS = {
    "make": check_make,
    "pip": check_pip,
    "python": check_python,
    "rnnkeras": check_rnnkeras,
    "dvc": check_dvc,
    "mlflow": check_mlflow,
}


def program(tokens: list[str]) -> str:
    return Path(tokens[0]).name if tokens else ""


def case(where: str, command: str):
    """One test case; a script's `--help` that starts TensorFlow (5-15 s each) is slow."""
    tokens = words(command)
    starts_tensorflow = (
        program(tokens) == "python" and tokens[1].endswith(".py") and options(tokens[2:])
    )
    marks = [pytest.mark.slow] if starts_tensorflow else []
    return pytest.param(where, command, marks=marks, id=where)


# System tools (curl, export, git) are left out: nothing of ours to check in them.
COMMANDS = [
    case(where, command)
    for page in pages()
    for where, command in shell_commands(page)
    if program(words(command)) in CHECKS
]


@pytest.mark.parametrize(("where", "command"), COMMANDS)
def test_documented_command_exists_as_written(where, command):
    tokens = words(command)
    if program(tokens) == "mlflow":
        check_mlflow(tokens, partial=where.endswith("(inline)"))
    else:
        CHECKS[program(tokens)](tokens)


def test_the_commands_cover_every_project_tool():
    """The extraction finds commands of each kind, so an empty list cannot pass silently."""
    found = {program(words(case.values[1])) for case in COMMANDS}
    assert found == set(CHECKS), set(CHECKS) - found
