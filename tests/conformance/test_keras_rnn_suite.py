"""Keras' own recurrent-layer tests pass against rnnkeras on every Keras backend.

Each backend runs in its own process (`KERAS_BACKEND` is read once, at import):
pytest collects Keras' test modules from the installed wheel (`--pyargs`) and
our plugin `keras_substitution` puts rnnkeras' classes in place of the built-ins.
Every collected test must pass, except the documented `EXCEPTIONS` (strict
expected failures) and the tests Keras itself skips here (GPU-only, or written
for another backend).
"""

import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from tests.conformance.junit_report import outcomes
from tests.conformance.keras_substitution import EXCEPTIONS
from tests.conformance.suite_process import backend_environment, compilation_cache

KERAS_MODULES = [
    f"keras.src.layers.rnn.{name}_test"
    for name in ("lstm", "gru", "simple_rnn", "bidirectional", "stacked_rnn_cells")
]
HERE = Path(__file__).parent
# Minimum number of tests that must pass per backend with Keras 3.15 (the README
# quotes these); fewer means tests vanished, e.g. a collection problem.
MIN_PASSED = {"tensorflow": 37, "jax": 36, "torch": 36}


def run_keras_suite(backend: str, report: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {
        **backend_environment(backend, cache),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "keras_substitution",
        f"--junitxml={report}",
        "--pyargs",
        *KERAS_MODULES,
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_keras_rnn_tests_pass_against_rnnkeras(backend, tmp_path, tmp_path_factory):
    assert keras.version().startswith("3.15."), "EXCEPTIONS and MIN_PASSED hold for Keras 3.15"
    report = tmp_path / "report.xml"
    process = run_keras_suite(backend, report, compilation_cache(tmp_path_factory))
    assert report.exists(), process.stdout[-3000:] + process.stderr[-3000:]
    result = outcomes(report)
    assert result["failed"] == [], process.stdout[-6000:]
    assert len(result["xfailed"]) == len(EXCEPTIONS), result["xfailed"]
    assert len(result["passed"]) >= MIN_PASSED[backend], result
    assert process.returncode == 0, process.stdout[-3000:]
