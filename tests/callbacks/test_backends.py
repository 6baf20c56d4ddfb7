"""The callback suite on the JAX and PyTorch backends. Keras picks its backend
once per process, so each backend runs the fast callback tests in a fresh
process with `KERAS_BACKEND` set (`tests/conftest.py` keeps a value set
outside); the TensorFlow run is the rest of this session."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_callback_suite_passes_on_backend(backend):
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow"]
    result = subprocess.run(
        [*command, str(Path(__file__).parent)],
        cwd=ROOT,
        env={**os.environ, "KERAS_BACKEND": backend},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    summary = output.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary), summary
    assert not re.search(r"failed|error|skipped", summary), summary
