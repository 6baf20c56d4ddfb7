"""Every ```python block of README.md and docs/*.md runs as written.

The blocks of one page run in order, in one namespace, in a fresh process whose working folder
is empty (what they write stays out of the project); a hidden `<!-- doc-test setup ... -->`
comment before a block gives it the data it assumes, at CI sizes (tests/docs/doc_blocks.py).
"""

import functools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.docs.doc_blocks import REPO, pages, python_blocks

# Pages whose blocks take more than about 20 s together (TFLite conversion, four files).
SLOW_PAGES = {"docs/export.md"}

BLOCKS = [
    pytest.param(
        block.page, block.name, id=block.name, marks=[pytest.mark.slow] * (page in SLOW_PAGES)
    )
    for page in pages()
    for block in python_blocks(page)
]


@functools.cache
def page_results(page: str) -> dict:
    """Runs the page's blocks once (shared by its tests); results by block name."""
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder) / ".results.json"
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "MPLBACKEND": "Agg",
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
        run = subprocess.run(
            [sys.executable, "-m", "tests.docs.doc_blocks", page, str(results)],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert results.is_file(), f"the runner of {page} failed:\n{run.stderr[-3000:]}"
        return {result["block"]: result for result in json.loads(results.read_text())}


@pytest.mark.parametrize(("page", "block"), BLOCKS)
def test_python_block_runs(page, block):
    result = page_results(page)[block]
    assert result["ok"], f"{block} failed:\n{result['error']}"


def test_every_page_with_code_is_found():
    """The extraction sees the blocks, so an empty parametrization cannot pass silently."""
    pages_with_blocks = {page for page in pages() if python_blocks(page)}
    assert {"README.md", "docs/callbacks.md", "docs/export.md"} <= pages_with_blocks
