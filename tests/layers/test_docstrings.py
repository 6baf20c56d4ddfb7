"""The layers' docstrings: every argument documented where users hover, examples that run.

IDE hover help shows a class's own docstring, so each public class documents
every constructor argument in its own Google-style `Args:` section, including
the ones its base class takes through `**kwargs`. One markup throughout:
Markdown backticks, as Keras writes them. The `>>>` examples run as doctests.
"""

import ast
import doctest
import importlib
import inspect
import re
from pathlib import Path

import pytest

import rnnkeras.layers
from rnnkeras.layers.recurrent import RecurrentLayer

PUBLIC = [getattr(rnnkeras.layers, name) for name in rnnkeras.layers.__all__]
SOURCES = sorted(Path(rnnkeras.layers.__file__).parent.glob("*.py"))
SECTION = re.compile(r"^(\w[\w ]*):$")
ENTRY = re.compile(r"^    (\*{0,2}\w+)(?: \(.*\))?:")


def constructor_arguments(cls):
    """Named `__init__` arguments of `cls`, with those its bases take through `**kwargs`.

    `RecurrentLayer.__init__` is left out: it receives the subclass's own
    arguments as one dictionary, so users never pass its parameters.
    """
    names = {}
    for klass in cls.__mro__:
        if not klass.__module__.startswith("rnnkeras.") or klass is RecurrentLayer:
            continue
        if "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(klass.__init__).parameters.values()
        for parameter in parameters:
            if parameter.name == "self":
                continue
            stars = "**" if parameter.kind is inspect.Parameter.VAR_KEYWORD else ""
            names.setdefault(stars + parameter.name, None)
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            break
    return list(names)


def sections(docstring):
    """Section name -> its lines, for a Google-style docstring."""
    found, current = {}, None
    for line in inspect.cleandoc(docstring).splitlines():
        match = SECTION.match(line)
        if match:
            current = found.setdefault(match[1], [])
        elif current is not None:
            current.append(line)
    return found


def documented_arguments(docstring):
    return [
        match[1] for line in sections(docstring).get("Args", []) if (match := ENTRY.match(line))
    ]


@pytest.mark.parametrize("cls", PUBLIC, ids=lambda cls: cls.__name__)
def test_class_documents_every_argument_itself(cls):
    docstring = vars(cls).get("__doc__") or ""
    documented = documented_arguments(docstring)
    missing = [name for name in constructor_arguments(cls) if name not in documented]
    assert not missing, f"{cls.__name__}'s `Args:` does not document {missing}"
    assert not re.search(r"\bAs in `?\w+", docstring), f"{cls.__name__} refers elsewhere"
    assert {"Args", "Call arguments", "Returns", "Raises", "Example"} <= set(sections(docstring))


def test_the_section_parser_sees_a_missing_argument():
    """The check above can fail: a docstring without `seed` is caught."""
    docstring = (
        "Summary.\n\nArgs:\n    units: Size.\n    dropout: Rate.\n\nRaises:\n    ValueError: x\n"
    )
    assert documented_arguments(docstring) == ["units", "dropout"]
    assert "seed" in constructor_arguments(rnnkeras.layers.SimpleRNNCell)
    assert "kernel_regularizer" in constructor_arguments(rnnkeras.layers.LSTMCell)


def docstrings(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)):
            docstring = ast.get_docstring(node, clean=False)
            if docstring:
                yield getattr(node, "name", path.stem), docstring


# The rest of the library, beside the layers: one markup in every module a Keras user imports.
PACKAGE = Path(rnnkeras.layers.__file__).parents[1]
LIBRARY = [
    *SOURCES,
    *sorted((PACKAGE / "callbacks").glob("*.py")),
    *sorted((PACKAGE / "export").glob("*.py")),
    *(PACKAGE / name for name in ("__init__.py", "saving.py", "atomic_files.py", "figures.py")),
]
# Double backticks that are not part of a Markdown code fence (```python).
RST_LITERAL = re.compile(r"(?<!`)``(?!`)")


@pytest.mark.parametrize("path", LIBRARY, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_docstrings_use_markdown_backticks(path):
    double = [name for name, docstring in docstrings(path) if RST_LITERAL.search(docstring)]
    assert not double, f"reST double backticks in {path.name}: {double}"


def test_the_markup_check_sees_rest_but_not_a_code_fence():
    assert RST_LITERAL.search("Returns ``None``.")
    assert not RST_LITERAL.search("```python\nmodel = load_model(path)\n```")


MODULES = [f"rnnkeras.layers.{path.stem}" for path in SOURCES if path.stem != "__init__"]


@pytest.mark.parametrize("module", ["rnnkeras.layers", *MODULES])
def test_docstring_examples_run(module):
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(importlib.import_module(module)):
        runner.run(test)
    failed, _ = runner.summarize(verbose=False)
    assert failed == 0, f"{failed} failing example(s) in {module} (printed above)"
