"""The `tagging` data: every character of real Python source, labelled with its token type.

The bundled source is a snapshot of eleven modules of CPython 3.11.7's standard library
(`bundled/cpython_stdlib/*.py.txt`, PSF licence, see SOURCES.txt). Python's own
`tokenize` module labels each character; a sequence is one logical line (a statement, or a
run of comment lines), so every label can be told from the sequence's own characters:
whether a `"` opens a string, a `#` a comment, or `in` is a keyword or part of a name.
The split is by module, so the test split is code the model never saw.

Tags (`TAGS`): `space` (whitespace, newlines and line-continuation backslashes),
`name`, `keyword` (`keyword.iskeyword`: `def`, `None`, ...; soft keywords such as
`match` stay names), `operator`, `number`, `string` (the whole literal with its prefix
and quotes; an f-string's replacement fields too, on every Python version) and `comment`.

Characters become ids by `rnnkeras.pipeline.data.ascii_characters.char_ids`.
"""

import io
import keyword
import token
import tokenize
from pathlib import Path

import numpy as np

from rnnkeras.pipeline.data.ascii_characters import ALPHABET, VOCABULARY_SIZE, char_ids
from rnnkeras.pipeline.data.spec import BUNDLED_DIR, DatasetSpec

SOURCE_DIR = BUNDLED_DIR / "cpython_stdlib"
# The modules of each split (file stems in SOURCE_DIR); no module is in two splits.
SPLIT_MODULES = {
    "train": ("calendar", "fractions", "graphlib", "heapq", "sched", "shlex", "string", "textwrap"),
    "val": ("fnmatch", "glob"),
    "test": ("pprint",),
}
TAGS = ("space", "name", "keyword", "operator", "number", "string", "comment")
MAX_LENGTH = 120
"""Longest logical line kept, in characters (longer ones, mostly docstrings, are left out)."""

_OPERATOR_TYPES = {token.OP, token.ERRORTOKEN}
_SKIPPED_TYPES = {token.ENCODING, token.INDENT, token.DEDENT, token.ENDMARKER}


def tag_characters(source: str) -> list[str]:
    """The tag (`TAGS`) of every character of a Python source text, by `tokenize`.

    Args:
        source: The text of a Python module.

    Returns:
        A list of `len(source)` tag names.

    Raises:
        ValueError: If `tokenize` cannot read the text (naming the line and the error).

    Example:

    >>> tag_characters("if x: # y")
    ['keyword', 'keyword', 'space', 'name', 'operator', 'space', 'comment', 'comment', 'comment']
    """
    offsets = _line_offsets(source)
    tags = ["space"] * len(source)
    string_depth = 0  # inside an f-string on Python >= 3.12 (FSTRING_START ... FSTRING_END)
    for item in _tokens(source):
        name = token.tok_name[item.type]
        if name == "FSTRING_START":
            string_depth += 1
        if item.type in _SKIPPED_TYPES or item.type in (token.NEWLINE, token.NL):
            continue
        if string_depth or name.startswith("FSTRING") or item.type == token.STRING:
            tag = "string"
        elif item.type == token.NAME:
            tag = "keyword" if keyword.iskeyword(item.string) else "name"
        elif item.type == token.NUMBER:
            tag = "number"
        elif item.type == token.COMMENT:
            tag = "comment"
        elif item.type in _OPERATOR_TYPES and not item.string.isspace():
            tag = "operator"
        else:
            continue
        start, end = _offset(offsets, item.start), _offset(offsets, item.end)
        tags[start:end] = [tag] * (end - start)
        if name == "FSTRING_END":
            string_depth -= 1
    return tags


def logical_lines(source: str) -> list[tuple[int, int]]:
    """The `(start, end)` character offsets of each statement or comment block of `source`.

    A statement spans from its first token to the end of its last one (brackets and
    backslashes may carry it over several lines); a comment on a line of its own is a
    sequence of its own. Indentation and the final newline are left out.

    Example:

    >>> source = "x = (1,\\n     2)\\n# note\\n"
    >>> [source[start:end] for start, end in logical_lines(source)]
    ['x = (1,\\n     2)', '# note']
    """
    offsets = _line_offsets(source)
    spans, start, end, end_is_comment = [], None, None, False
    for item in _tokens(source):
        if item.type in _SKIPPED_TYPES:
            continue
        if item.type == token.NEWLINE or (
            item.type == token.NL and start is not None and end_is_comment
        ):
            spans.append((start, end))
            start = None
            continue
        if item.type == token.NL:
            continue
        if start is None:
            start, end_is_comment = _offset(offsets, item.start), item.type == token.COMMENT
        elif item.type != token.COMMENT:
            end_is_comment = False
        end = _offset(offsets, item.end)
    return spans


def _tokens(source: str):
    try:
        return list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError) as error:
        raise ValueError(f"tokenize cannot read the source. Received: error={error}") from None


def _line_offsets(source: str) -> list[int]:
    offsets = [0]
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    return offsets


def _offset(offsets: list[int], position: tuple[int, int]) -> int:
    row, column = position
    return offsets[row - 1] + column


def tagging_table(source_dir: str | Path = SOURCE_DIR, max_length: int = MAX_LENGTH):
    """The prepared `tagging` table: one row per character of every kept logical line.

    Args:
        source_dir: The folder of `<module>.py.txt` files named in `SPLIT_MODULES`.
        max_length: Longest logical line kept, in characters.

    Returns:
        A `pandas.DataFrame` with the columns `file` (the source file's name), `line` and
        `column` (1-based position of the character in it), `sequence_id`, `time_step`
        (0-based position in the sequence), `char_code` (the Unicode code point), `tag`
        and `split`, in file order.

    Raises:
        ValueError: If a module file is missing or cannot be tokenized.

    Example:

    >>> table = tagging_table()
    >>> table.groupby("split")["sequence_id"].nunique().to_dict()
    {'test': 484, 'train': 2306, 'val': 329}
    """
    import pandas as pd

    source_dir = Path(source_dir)
    columns = {
        name: []
        for name in (
            "file",
            "line",
            "column",
            "sequence_id",
            "time_step",
            "char_code",
            "tag",
            "split",
        )
    }
    sequence = 0
    for split, modules in SPLIT_MODULES.items():
        for module in modules:
            path = source_dir / f"{module}.py.txt"
            if not path.is_file():
                raise ValueError(
                    f"The tagging data needs {path}. Received: source_dir={str(source_dir)!r}"
                )
            source = path.read_text(encoding="utf-8")
            tags = tag_characters(source)
            lines = np.cumsum([character == "\n" for character in source]) + 1
            line_starts = np.asarray(_line_offsets(source))
            for start, end in logical_lines(source):
                if end - start > max_length:
                    continue
                positions = np.arange(start, end)
                rows = lines[positions] - np.array([source[p] == "\n" for p in positions])
                columns["file"] += [path.name] * len(positions)
                columns["line"] += rows.tolist()
                columns["column"] += (positions - line_starts[rows - 1] + 1).tolist()
                columns["sequence_id"] += [sequence] * len(positions)
                columns["time_step"] += list(range(len(positions)))
                columns["char_code"] += [ord(source[p]) for p in positions]
                columns["tag"] += tags[start:end]
                columns["split"] += [split] * len(positions)
                sequence += 1
    return pd.DataFrame(columns)


def tagging_arrays(table) -> tuple[dict, dict]:
    """Per-split padded arrays of a validated tagging table, and their description.

    Returns:
        `(arrays, meta)`: `arrays[split]` holds `x` `(n, MAX_LENGTH)` character ids (`0`
        after the end), `y` `(n, MAX_LENGTH)` tag indices (`0` after the end, masked),
        `lengths` `(n,)` and `sequence_id` `(n,)`; `meta` names the task, tags, alphabet
        and length.

    Example:

    >>> arrays, meta = tagging_arrays(tagging_table())
    >>> arrays["train"]["x"].shape, meta["tags"][:2]
    ((2306, 120), ['space', 'name'])
    """
    tag_index = {tag: i for i, tag in enumerate(TAGS)}
    arrays = {}
    for split in ("train", "val", "test"):
        part = table[table["split"] == split]
        groups = [group.sort_values("time_step") for _, group in part.groupby("sequence_id")]
        x = np.zeros((len(groups), MAX_LENGTH), np.int32)
        y = np.zeros((len(groups), MAX_LENGTH), np.int32)
        lengths = np.zeros(len(groups), np.int32)
        for i, group in enumerate(groups):
            text = "".join(chr(int(code)) for code in group["char_code"])
            x[i, : len(text)] = char_ids(text)
            y[i, : len(text)] = [tag_index[tag] for tag in group["tag"]]
            lengths[i] = len(text)
        arrays[split] = {
            "x": x,
            "y": y,
            "lengths": lengths,
            "sequence_id": np.array([int(g["sequence_id"].iloc[0]) for g in groups], np.int64),
        }
    meta = {
        "task": "tagging",
        "dataset": "tagging",
        "tags": list(TAGS),
        "alphabet": ALPHABET,
        "vocabulary_size": VOCABULARY_SIZE,
        "max_length": MAX_LENGTH,
        "counts": {split: int(len(arrays[split]["x"])) for split in arrays},
    }
    return arrays, meta


def dataset_spec(prepare: dict, root):
    """The `DatasetSpec` of the `tagging` dataset (the bundled modules; `prepare` is not read).

    Example:

    >>> dataset_spec({}, ".").task
    'tagging'
    """
    return DatasetSpec(
        name="tagging",
        path=SOURCE_DIR,
        task="tagging",
        time_column="time_step",
        feature_columns=("char_code",),
        sequence_column="sequence_id",
        label_column="tag",
        split_column="split",
        sequence_length=(1, MAX_LENGTH),
        min_rows=10000,
        labels=TAGS,
    )
