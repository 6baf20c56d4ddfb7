"""The code in README.md and docs/*.md: fenced blocks, inline commands, and a page runner.

A ```python block may be preceded by a hidden setup comment that defines what the block takes
for granted (your data, a model from elsewhere on the page), at sizes small enough for CI:

    <!-- doc-test setup
    import numpy as np
    x = np.zeros((64, 100, 8), "float32")
    -->

The setup runs just before its block, in the page's namespace; it is not shown on the page.
The ```python blocks of one page run in order in one namespace (later blocks build on earlier
ones), in a fresh process whose working directory is an empty temporary folder.

Run one page by hand, from the project root:
`python -m tests.docs.doc_blocks README.md results.json`.
"""

import dataclasses
import json
import re
import sys
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SETUP_MARKER = "<!-- doc-test setup"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
SETUP = re.compile(r"<!-- doc-test setup\n((?:(?!-->).)*?)-->\s*\Z", re.DOTALL)
INLINE = re.compile(r"(?<!`)`([^`\n]+(?:\n[^`\n]+)?)`(?!`)")


@dataclasses.dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: str
    line: int
    language: str
    code: str
    setup: str = ""

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[str]:
    """README.md and every docs/*.md, relative to the project root."""
    return ["README.md", *sorted(f"docs/{p.name}" for p in (REPO / "docs").glob("*.md"))]


def blocks(page: str) -> list[Block]:
    """The fenced blocks of `page` in order, each with its hidden setup (if any)."""
    text = (REPO / page).read_text()
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()]
        setup = SETUP.search(before)
        found.append(
            Block(
                page=page,
                line=before.count("\n") + 1,
                language=match.group(1).lower(),
                code=match.group(2),
                setup=setup.group(1) if setup else "",
            )
        )
    return found


def python_blocks(page: str) -> list[Block]:
    return [b for b in blocks(page) if b.language == "python"]


def shell_commands(page: str) -> list[tuple[str, str]]:
    """`(where, command)` for every command line of the page's shell blocks and every inline
    code span that starts with a project tool (continuation lines joined)."""
    commands = []
    for block in blocks(page):
        if block.language not in ("bash", "sh", "shell", "console"):
            continue
        joined = re.sub(r"\\\n\s*", " ", block.code)
        for offset, line in enumerate(joined.splitlines()):
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append((f"{block.name} (+{offset + 1})", line.strip()))
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), (REPO / page).read_text())
    for match in INLINE.finditer(text):
        span = " ".join(match.group(1).split())
        if re.match(r"(rnnkeras|make|dvc|mlflow|python|pip) ", span):
            line = text[: match.start()].count("\n") + 1
            commands.append((f"{page}:{line} (inline)", span))
    return commands


def run_page(page: str) -> list[dict]:
    """Runs the page's python blocks in order in one namespace; one result per block."""
    namespace = {"__name__": "__doc_example__"}
    results = []
    for block in python_blocks(page):
        result = {"block": block.name, "ok": True, "error": ""}
        try:
            for code, where in ((block.setup, "setup of "), (block.code, "")):
                exec(compile(code, f"{where}{block.name}", "exec"), namespace)
        except BaseException:  # noqa: BLE001 - every failure is reported, with its traceback
            result.update(ok=False, error=traceback.format_exc(limit=-8))
        results.append(result)
    return results


if __name__ == "__main__":
    Path(sys.argv[2]).write_text(json.dumps(run_page(sys.argv[1])))
