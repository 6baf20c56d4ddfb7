"""The layer tests share one harness instead of each keeping its own copy.

Sizes, inputs, weight randomizing and output checks live in `harness.py` only;
no module redefines them (how they are imported: `tests/test_imports_by_package.py`).
"""

import ast
from pathlib import Path

import pytest

from rnnkeras import layers as rl
from tests.layers import harness

HERE = Path(__file__).parent
HARNESS_NAMES = {
    "BATCH",
    "TIMESTEPS",
    "FEATURES",
    "UNITS",
    "LENGTHS",
    "ATOL",
    "inputs",
    "padding_mask",
    "randomize",
    "to_numpy",
    "as_list",
    "assert_outputs_close",
}
MODULES = sorted(path for path in HERE.glob("*.py") if path.name != "harness.py")


def top_level_names(tree):
    """Names a module binds at its top level (assignments, functions, classes)."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            yield node.name
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        yield name.id


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_module_uses_the_harness_instead_of_its_own_copy(path):
    tree = ast.parse(path.read_text())
    redefined = HARNESS_NAMES & set(top_level_names(tree))
    assert not redefined, f"{path.name} redefines {sorted(redefined)}; import them from harness"


def test_run_layer_contract_fails_on_a_wrong_contract(rng):
    """The harness can fail: GRU-sized weights for an LSTM, a wrong output width."""
    lstm_weights = [
        (harness.FEATURES, 4 * harness.UNITS),
        (harness.UNITS, 4 * harness.UNITS),
        (4 * harness.UNITS,),
    ]
    harness.run_layer_contract(
        rl.LSTM(harness.UNITS),
        harness.inputs(rng),
        output_width=harness.UNITS,
        weight_shapes=lstm_weights,
    )
    gru_sized = [
        (harness.FEATURES, 3 * harness.UNITS),
        (harness.UNITS, 3 * harness.UNITS),
        (3 * harness.UNITS,),
    ]
    with pytest.raises(AssertionError):
        harness.run_layer_contract(
            rl.LSTM(harness.UNITS),
            harness.inputs(rng),
            output_width=harness.UNITS,
            weight_shapes=gru_sized,
        )
    with pytest.raises(AssertionError):
        harness.run_layer_contract(
            rl.LSTM(harness.UNITS),
            harness.inputs(rng),
            output_width=harness.UNITS + 1,
            weight_shapes=lstm_weights,
        )
