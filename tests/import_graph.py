"""The static import graph of the `rnnkeras` package, read from the source with `ast`.

Used by the layout tests (direction, cycles) and by the DVC deps test. Every import
statement counts, those inside functions too: a function-level import still ties the
importing module to the imported one, and it runs whenever the function does.
"""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "rnnkeras"


def module_file(name: str) -> Path | None:
    """The source file of the dotted module `name` in this repository, if there is one."""
    base = REPO / Path(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path) -> str:
    """`rnnkeras/pipeline/data/__init__.py` -> `rnnkeras.pipeline.data`."""
    parts = path.resolve().relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path):
    """The modules every import statement of the file runs.

    `from package import name` runs `package` (its `__init__`) and, when `name` is a
    submodule, that submodule too; `import a.b` is counted as `a.b`.
    """
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            for alias in node.names:
                if module_file(f"{node.module}.{alias.name}"):
                    yield f"{node.module}.{alias.name}"


def package_graph() -> dict[str, set[str]]:
    """Module -> the `rnnkeras` modules it imports, for every module of the package."""
    graph = {}
    for path in sorted((REPO / PACKAGE).rglob("*.py")):
        name = module_name(path)
        graph[name] = {
            imported
            for imported in imported_modules(path)
            if imported.split(".")[0] == PACKAGE and imported != name and module_file(imported)
        }
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module `start` imports, directly or through others."""
    seen, todo = set(), [start]
    while todo:
        for imported in graph.get(todo.pop(), ()):
            if imported not in seen:
                seen.add(imported)
                todo.append(imported)
    return seen
