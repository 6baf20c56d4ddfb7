"""The test modules of the cells beyond Keras' three, run again under JAX and PyTorch.

Each module checks its cells against a NumPy loop of the paper's equations (PyTorch's
`nn.LSTM` for the projection LSTM) with masks, `go_backwards`, initial and stateful
states, dropout, training, `Bidirectional`, `StackedRNN`, the gradient-flow probe and
the errors; their `.keras`-file and TFLite modules are TensorFlow's (the TFLite
converter traces a TensorFlow model). A module of its own beside
`test_layer_suites_per_backend.py`, so that the two run on different test workers.
"""

import pytest

from tests.conformance.suite_process import CELL_MODULES, compilation_cache, run_test_modules


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_cell_suites_pass_on_backend(backend, tmp_path, tmp_path_factory):
    result = run_test_modules(
        backend, CELL_MODULES, tmp_path / "report.xml", compilation_cache(tmp_path_factory)
    )
    assert result["skipped"] == [], result["skipped"]
    assert len(result["passed"]) >= 189, result
