"""Running some of rnnkeras' own test modules in a pytest subprocess under another backend.

`KERAS_BACKEND` is read once, when Keras is imported, so each backend needs its own
process; the subprocess writes a JUnit report that the calling test reads.

Under JAX, every eager call of a recurrent layer traces its loop again (each call makes a
new step function, so JAX's in-memory caches miss) and XLA compiles the same small program
once more: about 2 s a call on two busy cores, where the computation takes milliseconds.
JAX's persistent compilation cache is keyed by the compiled program instead, so the
subprocesses get one in a folder of this pytest run (`backend_environment`): the repeats,
within a process and in the next one, become file reads (measured on a busy 2-core machine:
a repeated `LSTM` call 2.0 s without it, 0.1-0.3 s with it; the same script's second process
15 s instead of 71 s).
"""

import os
import subprocess
import sys
from pathlib import Path

from tests.conformance.junit_report import outcomes

TESTS = Path(__file__).parents[1]
# The test modules of the cells beyond Keras' three (test_cell_suites_per_backend.py).
CELL_MODULES = [
    "test_esn.py",
    "test_indrnn.py",
    "test_layer_norm_cells.py",
    "test_layer_norm_gru.py",
    "test_layer_norm_lstm.py",
    "test_layer_norm_simple_rnn.py",
    "test_min_rnn.py",
    "test_peephole_lstm.py",
    "test_projection_lstm.py",
    "test_sublayers.py",
]


def backend_environment(backend: str, cache: Path) -> dict[str, str]:
    """`os.environ` with `KERAS_BACKEND=backend`; under JAX, a persistent compilation cache.

    Args:
        backend: `"jax"`, `"torch"` or `"tensorflow"`.
        cache: the cache folder, inside this pytest run's temporary folder
            (`compilation_cache(tmp_path_factory)`), so no run reads another's programs.
    """
    env = {**os.environ, "KERAS_BACKEND": backend}
    if backend == "jax":
        env.update(
            JAX_COMPILATION_CACHE_DIR=str(cache),
            # Cache every program: the loops of tiny test layers compile in well under the
            # default threshold of 1 s each, yet there are thousands of them.
            JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
            JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="-1",
        )
    return env


def compilation_cache(tmp_path_factory) -> Path:
    """The JAX compilation cache folder of this pytest run (of this xdist worker).

    One per worker: two processes writing one cache entry at once are never in a race.
    """
    return tmp_path_factory.getbasetemp() / "jax-compilation-cache"


def run_test_modules(
    backend: str,
    modules: list[str],
    report: Path,
    cache: Path,
    folder: str = "layers",
    options: tuple[str, ...] = (),
) -> dict[str, list[str]]:
    """Runs `tests/<folder>/<module>` for each of `modules` under `backend`; outcomes by kind.

    `cache` is the JAX compilation cache (`compilation_cache`); `options` go to pytest (e.g.
    `("--deselect", node_id)`). Asserts that the subprocess wrote its report and exited
    cleanly when nothing failed, with the end of its output in the assertion message.
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
            *options,
            *(str(TESTS / folder / name) for name in modules),
        ],
        env=backend_environment(backend, cache),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert report.exists(), process.stdout[-3000:] + process.stderr[-3000:]
    result = outcomes(report)
    assert result["failed"] == [], process.stdout[-6000:]
    assert process.returncode == 0, process.stdout[-3000:]
    return result
