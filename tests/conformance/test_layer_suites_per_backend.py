"""rnnkeras' own layer tests, run again under PyTorch and JAX (TensorFlow runs them in-process).

These modules compare our layers with the Keras built-ins of the same backend, with
the same weights, across the option matrix (masks, `go_backwards`, `return_state`,
`initial_state`, `stateful`, `unroll`, dropout, fit, serialization), check the
fused-kernel decision with a simulated GPU and the dtype policies, check against
PyTorch's and NumPy's recurrences, and run the docstring examples. Each backend runs
in its own process because `KERAS_BACKEND` is read once, at import; under JAX the
process keeps a compilation cache (`suite_process.backend_environment`), without which
the eager layer calls recompile their loops and the JAX run took about 30 minutes.
"""

import pytest

from tests.conformance.suite_process import (
    CELL_MODULES,
    TESTS,
    compilation_cache,
    run_test_modules,
)

# Every module of tests/layers runs under JAX and PyTorch too (here, or in
# test_cell_suites_per_backend.py), except these, with the reason.
TENSORFLOW_ONLY = {
    "test_dynamic_shapes.py": "traces the layers with `tf.function` and `tf.TensorSpec`",
    "test_fresh_process.py": "one TensorFlow process loading `.keras` files; "
    "test_keras_file_across_backends.py covers every backend",
    "test_indrnn_esn_export.py": "TFLite export (the converter traces a TensorFlow graph)",
    "test_keras_file_across_backends.py": "starts one process per backend itself",
    "test_layer_norm_export.py": "TFLite export (the converter traces a TensorFlow graph)",
    "test_layer_norm_keras_files.py": "one TensorFlow process loading `.keras` files; "
    "test_keras_file_across_backends.py covers every backend",
    "test_min_rnn_files.py": "TFLite export and one TensorFlow process loading `.keras` files",
    "test_state_perturbation.py": "feeds `tf.Variable` probes and differentiates with "
    "`tf.GradientTape`; tests/callbacks (run on every backend) covers the probe",
    "test_xla_loop.py": "TensorFlow's XLA-compiled loop (`tf.function(jit_compile=True)`)",
}
BACKEND_AGNOSTIC = [
    "test_bidirectional.py",
    "test_cells_in_keras_rnn.py",
    "test_docstrings.py",
    "test_dtype_policies.py",
    "test_independent_reference.py",
    "test_kernel_dispatch.py",
    "test_keras_parity.py",
    "test_layer_contract.py",
    "test_layer_dropout.py",
    "test_layer_errors.py",
    "test_layer_masking.py",
    "test_shared_harness.py",
    "test_stacked_rnn.py",
    "test_wrapper_compatibility.py",
]
# Fewer passed tests than this means tests vanished (e.g. a collection problem).
MIN_PASSED = {"jax": 500, "torch": 500}
MODULES = {
    # PyTorch's own fused kernel behind LSTM/GRU, checked against the plain loop.
    "torch": [*BACKEND_AGNOSTIC, "test_torch_kernel.py"],
    "jax": BACKEND_AGNOSTIC,
}


def test_every_layer_module_runs_on_every_backend_or_says_why_not():
    on_backends = {name for names in MODULES.values() for name in names} | set(CELL_MODULES)
    for name in sorted(path.name for path in (TESTS / "layers").glob("test_*.py")):
        assert (name in on_backends) != (name in TENSORFLOW_ONLY), (
            f"tests/layers/{name}: list it in BACKEND_AGNOSTIC (or CELL_MODULES), or in "
            "TENSORFLOW_ONLY with the reason, but not both"
        )


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_layer_suites_pass_on_backend(backend, tmp_path, tmp_path_factory):
    result = run_test_modules(
        backend, MODULES[backend], tmp_path / "report.xml", compilation_cache(tmp_path_factory)
    )
    assert result["skipped"] == [], result["skipped"]
    assert len(result["passed"]) >= MIN_PASSED[backend], result
