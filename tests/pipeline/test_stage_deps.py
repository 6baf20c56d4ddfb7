"""Every rnnkeras module a stage imports is a declared dependency of that stage in `dvc.yaml`.

Otherwise DVC keeps old outputs after the code that made them changed (and a resumed
checkpoint or a cached model passes for the new code's result).
"""

import ast
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

# Imported by every module as the parent package; they hold the version, the layer registry
# import and the stage names, none of which changes what a stage computes.
PACKAGE_INITS = {
    "rnnkeras/__init__.py",
    "rnnkeras/pipeline/__init__.py",
    "rnnkeras/pipeline/stages/__init__.py",
}
# Imported but never run by the stage: `tracking` imports the SavedModel builder only inside
# `log_and_register_model`, which evaluate calls, not train.
NOT_RUN = {"train": {"rnnkeras/export"}}


def module_file(name: str) -> Path | None:
    base = REPO / Path(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path):
    """Modules named by every import statement in the file, function-level ones included."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            found = [name for name in submodules if module_file(name)]
            yield from found or [node.module]


def stage_sources(stage: str) -> set[str]:
    seen, todo = set(), [REPO / "pipelines" / f"{stage}.py"]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_modules(path):
            if name.split(".")[0] == "rnnkeras" and module_file(name):
                todo.append(module_file(name))
    return {path.relative_to(REPO).as_posix() for path in seen} - PACKAGE_INITS


@pytest.mark.parametrize("stage", ["prepare", "validate", "train", "evaluate", "export"])
def test_a_stage_depends_on_all_the_code_it_runs(stage):
    deps = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][stage]["deps"]
    covered = [dep for dep in deps if not dep.startswith("$")] + sorted(NOT_RUN.get(stage, ()))
    missing = sorted(
        source
        for source in stage_sources(stage)
        if not any(source == dep or source.startswith(f"{dep.rstrip('/')}/") for dep in covered)
    )
    assert not missing, f"dvc.yaml stage {stage!r} lacks deps {missing}"
