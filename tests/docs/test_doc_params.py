"""Every ```yaml block of README.md and docs/*.md that shows `params.yaml` settings is accepted.

Such a block is merged into the project's `params.yaml` (as a reader pastes it) and the result
must pass the parameter schema and, for a dataset description, build its dataset spec.
"""

import copy

import pytest
import yaml

from rnnkeras.pipeline.data import spec_from_params
from rnnkeras.pipeline.params import check_params
from tests.docs.doc_blocks import REPO, blocks, pages

PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())
SETTINGS = [
    pytest.param(block.code, id=block.name)
    for page in pages()
    for block in blocks(page)
    if block.language == "yaml"
    and isinstance(yaml.safe_load(block.code), dict)
    and set(yaml.safe_load(block.code)) <= set(PARAMS)
]


def merged(base: dict, change: dict) -> dict:
    result = copy.deepcopy(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


@pytest.mark.parametrize("code", SETTINGS)
def test_documented_settings_are_accepted(code):
    params = check_params(merged(PARAMS, yaml.safe_load(code)), source="documented settings")
    spec_from_params(params["prepare"], REPO)


def test_the_settings_blocks_are_found():
    assert len(SETTINGS) >= 2, "docs/data.md and docs/mlflow.md show params.yaml settings"
