"""The scripts under `bench/` loaded as modules, so tests check the code the benchmarks run.

`bench/` is not a package (its scripts run as `python bench/<name>.py`), so a
script is loaded from its path: `bench_scripts.load("torch_twin")`.
"""

import importlib.util
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load(name: str) -> ModuleType:
    """Imports `bench/<name>.py` as a module named `name`."""
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
