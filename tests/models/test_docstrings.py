"""`rnnkeras.models` docstrings: the examples run, one markup (Markdown backticks)."""

import ast
import doctest
import importlib
from pathlib import Path

import keras
import pytest

import rnnkeras.models

SOURCES = sorted(Path(rnnkeras.models.__file__).parent.glob("*.py"))
# Writing a SavedModel needs Keras on TensorFlow: under JAX or PyTorch that example cannot run.
TENSORFLOW_ONLY = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="traces the models into a TensorFlow graph: TensorFlow backend only",
)
MODULES = [
    pytest.param(module, marks=[TENSORFLOW_ONLY] * module.endswith("greedy_saved_model"))
    for module in [
        "rnnkeras.models",
        *(f"rnnkeras.models.{p.stem}" for p in SOURCES if p.stem != "__init__"),
    ]
]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module):
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(importlib.import_module(module))
    for test in tests:
        runner.run(test)
    failed, attempted = runner.summarize(verbose=False)
    assert failed == 0, f"{failed} failing example(s) in {module} (printed above)"


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_public_functions_have_examples_and_markdown_backticks(path):
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            docstring = ast.get_docstring(node) or ""
            assert "``" not in docstring, f"reST double backticks in {path.name}:{node.name}"
            if node.name not in {
                "check_positive",
                "recurrent_class",
                "state_sizes",
                "attend",
                "sequence_inputs",
                "log_softmax",
            }:
                assert "Example:" in docstring, f"{path.name}:{node.name} has no Example"
