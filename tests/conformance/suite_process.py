"""Running some of rnnkeras' own test modules in a pytest subprocess under another backend.

`KERAS_BACKEND` is read once, when Keras is imported, so each backend needs its own
process; the subprocess writes a JUnit report that the calling test reads.
"""

import os
import subprocess
import sys
from pathlib import Path

from tests.conformance.junit_report import outcomes

TESTS = Path(__file__).parents[1]


def run_test_modules(
    backend: str, modules: list[str], report: Path, folder: str = "layers"
) -> dict[str, list[str]]:
    """Runs `tests/<folder>/<module>` for each of `modules` under `backend`; outcomes by kind.

    Asserts that the subprocess wrote its report and exited cleanly when nothing failed,
    with the end of its output in the assertion message.
    """
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            *(str(TESTS / folder / name) for name in modules),
        ],
        env={**os.environ, "KERAS_BACKEND": backend},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert report.exists(), process.stdout[-3000:] + process.stderr[-3000:]
    result = outcomes(report)
    assert result["failed"] == [], process.stdout[-6000:]
    assert process.returncode == 0, process.stdout[-3000:]
    return result
