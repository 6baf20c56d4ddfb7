"""`rnnkeras.models`' tests run again under JAX and PyTorch (TensorFlow runs them in-process).

The builders, the masked tagger loss, seq2seq with both attentions, the language model,
and greedy, beam (against brute-force enumeration) and sampling decoding. The export
modules stay TensorFlow's (the TFLite converter and SavedModels trace TensorFlow graphs).
"""

import pytest

from tests.conformance.suite_process import compilation_cache, run_test_modules

MODEL_MODULES = ["test_builders.py", "test_decoding.py", "test_seq2seq.py"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_model_suites_pass_on_backend(backend, tmp_path, tmp_path_factory):
    result = run_test_modules(
        backend,
        MODEL_MODULES,
        tmp_path / "report.xml",
        compilation_cache(tmp_path_factory),
        folder="models",
    )
    assert result["skipped"] == [], result["skipped"]
    assert len(result["passed"]) >= 40, result
