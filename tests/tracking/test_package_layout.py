"""`rnnkeras.pipeline.tracking` is a package of small modules, one job each, behind the same names."""

import ast
import re
from pathlib import Path

import pytest

from rnnkeras.pipeline import tracking
from rnnkeras.pipeline.tracking import model_logging

FOLDER = Path(tracking.__file__).parent
REPO = FOLDER.parents[2]
# Where the project calls `tracking.<name>`: stages, MLflow Project, benchmarks, tests, docs.
CALLERS = ["rnnkeras/**/*.py", "bench/*.py", "tests/**/*.py", "docs/*.md", "README.md"]


def test_every_name_the_project_calls_is_importable_from_the_package():
    called = {
        name
        for pattern in CALLERS
        for path in REPO.glob(pattern)
        for name in re.findall(r"\btracking\.([A-Za-z_]\w*)\(", path.read_text())
    }
    assert {"configure", "start_training_run", "log_and_register_model"} <= called
    assert not sorted(name for name in called if not hasattr(tracking, name))
    assert all(hasattr(tracking, name) for name in tracking.__all__)


@pytest.mark.parametrize("path", sorted(FOLDER.glob("*.py")), ids=lambda path: path.name)
def test_each_module_is_small(path):
    assert len(path.read_text().splitlines()) <= 400


def test_the_served_model_file_imports_no_rnnkeras():
    served = Path(model_logging.__file__).with_name("served_model.py")
    imported = set()
    for node in ast.walk(ast.parse(served.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert imported and not [name for name in imported if name.split(".")[0] == "rnnkeras"]
