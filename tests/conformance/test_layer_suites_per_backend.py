"""rnnkeras' own layer tests, run again under PyTorch and JAX (TensorFlow runs them in-process).

These modules compare our layers with the Keras built-ins of the same backend, with
the same weights, across the option matrix (masks, `go_backwards`, `return_state`,
`initial_state`, `stateful`, `unroll`, dropout, fit, serialization), check the
fused-kernel decision with a simulated GPU and the dtype policies, and (PyTorch)
run the docstring examples. Each backend runs in its own process because
`KERAS_BACKEND` is read once, at import.
"""

import pytest

from tests.conformance.suite_process import run_test_modules

# Modules that use TensorFlow directly (`tf.function`, `tf.GradientTape`, the
# TensorFlow-only time-step probe) stay TensorFlow-only.
BACKEND_AGNOSTIC = [
    "test_bidirectional.py",
    "test_cells_in_keras_rnn.py",
    "test_docstrings.py",
    "test_dtype_policies.py",
    "test_kernel_dispatch.py",
    "test_keras_parity.py",
    "test_layer_contract.py",
    "test_layer_dropout.py",
    "test_layer_errors.py",
    "test_layer_masking.py",
    "test_stacked_rnn.py",
    "test_wrapper_compatibility.py",
]
# On JAX every eager layer call traces and compiles its loop (2-6 s a test on two
# cores, about 30 min for all modules), so JAX runs the parity matrix, the
# fused-kernel decision, the dtype policies and the errors; Keras' own suite
# (test_keras_rnn_suite.py) adds fit, masking, statefulness and serialization there.
MODULES = {
    "torch": BACKEND_AGNOSTIC,
    "jax": [
        "test_dtype_policies.py",
        "test_kernel_dispatch.py",
        "test_keras_parity.py",
        "test_layer_errors.py",
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_layer_suites_pass_on_backend(backend, tmp_path):
    result = run_test_modules(backend, MODULES[backend], tmp_path / "report.xml")
    assert result["skipped"] == [], result["skipped"]
    assert len(result["passed"]) >= 200, result
