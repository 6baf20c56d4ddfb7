"""Test helpers are imported by their package path, never as bare modules or from a `conftest`.

A bare `from harness import ...` works only while pytest's import mode puts the
test's own folder on `sys.path`, and importing from a `conftest` loads that file
a second time under another name. `tests` is a package: helpers import as
`from tests.layers.harness import ...`, whatever the working directory.
"""

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
FOLDERS = ["callbacks", "conformance", "docs", "export", "layers", "models", "pipeline", "tracking"]
MODULES = sorted(path for folder in FOLDERS for path in (TESTS / folder).glob("*.py"))


def imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield "." * node.level + (node.module or "")


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(TESTS)))
def test_helpers_are_imported_by_package_path(path):
    siblings = {sibling.stem for sibling in path.parent.glob("*.py")}
    for module in imported_modules(path):
        assert not module.startswith("."), f"{path.name}: relative import `{module}`"
        assert module.split(".")[0] not in siblings, (
            f"{path.name} imports `{module}` as a bare module; "
            f"use `tests.{path.parent.name}.{module}`"
        )
        assert "conftest" not in module.split("."), f"{path.name} imports from `{module}`"
        assert not module.split(".")[-1].startswith("test_"), (
            f"{path.name} imports the test module `{module}`; shared code belongs in a helper "
            "module (such as tests/pipeline/projects.py)"
        )
