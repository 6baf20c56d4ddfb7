"""The `text` data: English prose of the Python Language Reference, for a character language model.

The bundled `python_reference_topics.txt` (365 KB, PSF licence, see SOURCES.txt) holds the
help topics that CPython 3.11.7 ships as `pydoc_data/topics.py` (the text `help()` prints,
from the Language Reference and Library Reference), each paragraph once: the 28 topics that
repeat a longer one's text are left out, so no paragraph lies in two splits. It is cut into chunks of
`SEQUENCE_LENGTH + 1` characters, each chunk overlapping the next by one character, so every
character but the first is a prediction target exactly once. The first 80% of the chunks are
`train`, the next 10% `val`, the last 10% `test` (contiguous: the test text is a part of the
reference the model never read).

Characters become ids by `rnnkeras.pipeline.data.ascii_characters.char_ids`.
"""

from pathlib import Path

import numpy as np

from rnnkeras.pipeline.data.ascii_characters import ALPHABET, VOCABULARY_SIZE, char_ids
from rnnkeras.pipeline.data.spec import BUNDLED_DIR, DatasetSpec

SOURCE = BUNDLED_DIR / "python_reference_topics.txt"
SEQUENCE_LENGTH = 100
"""Characters the model reads per training sequence (it predicts the next one at each)."""
SPLIT_FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}


def text_table(path: str | Path = SOURCE, sequence_length: int = SEQUENCE_LENGTH):
    """The prepared `text` table: one row per character of each chunk.

    Args:
        path: The UTF-8 text file.
        sequence_length: Characters per training input (chunks are one longer).

    Returns:
        A `pandas.DataFrame` with the columns `file`, `line` and `column` (1-based position
        of the character in the file), `sequence_id`, `time_step`, `char_code` (the Unicode
        code point) and `split`. A text shorter than a chunk gives an empty table.

    Raises:
        ValueError: If the file is missing or `sequence_length` is below 1.

    Example:

    >>> table = text_table()
    >>> table.groupby("split")["sequence_id"].nunique().to_dict()
    {'test': 365, 'train': 2920, 'val': 365}
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"The text data needs the file {path}. Received: path={str(path)!r}")
    if (
        isinstance(sequence_length, bool)
        or not isinstance(sequence_length, int)
        or sequence_length < 1
    ):
        raise ValueError(
            f"text_table expects sequence_length >= 1. Received: sequence_length={sequence_length!r}"
        )
    text = path.read_text(encoding="utf-8")
    chunks = max(0, (len(text) - 1) // sequence_length)
    starts = np.arange(chunks) * sequence_length
    positions = (starts[:, None] + np.arange(sequence_length + 1)).ravel()
    codes = np.array([ord(character) for character in text], np.int64)
    newline = codes == ord("\n")
    line = np.concatenate([[1], 1 + np.cumsum(newline)[:-1]]) if len(text) else codes
    line_start = np.concatenate([[0], np.flatnonzero(newline) + 1])
    order = np.arange(chunks)
    n_train = int(round(SPLIT_FRACTIONS["train"] * chunks))
    n_val = int(round(SPLIT_FRACTIONS["val"] * chunks))
    split = np.select([order < n_train, order < n_train + n_val], ["train", "val"], "test")
    return pd.DataFrame(
        {
            "file": path.name,
            "line": line[positions],
            "column": positions - line_start[line[positions] - 1] + 1,
            "sequence_id": np.repeat(order, sequence_length + 1),
            "time_step": np.tile(np.arange(sequence_length + 1), chunks),
            "char_code": codes[positions],
            "split": np.repeat(split, sequence_length + 1),
        }
    )


def text_arrays(table) -> tuple[dict, dict]:
    """Per-split next-character arrays of a validated text table, and their description.

    Returns:
        `(arrays, meta)`: `arrays[split]` holds `x` `(n, SEQUENCE_LENGTH)` character ids and
        `y` `(n, SEQUENCE_LENGTH)` the id of the character that follows each one; `meta`
        names the task, alphabet and length.

    Example:

    >>> arrays, meta = text_arrays(text_table())
    >>> arrays["train"]["x"].shape, meta["vocabulary_size"]
    ((2920, 100), 99)
    >>> bool((arrays["train"]["x"][:, 1:] == arrays["train"]["y"][:, :-1]).all())
    True
    """
    arrays = {}
    for split in ("train", "val", "test"):
        part = table[table["split"] == split].sort_values(["sequence_id", "time_step"])
        width = int(table["time_step"].max()) + 1 if len(table) else SEQUENCE_LENGTH + 1
        codes = part["char_code"].to_numpy(np.int64).reshape(-1, width)
        ids = (
            np.stack([char_ids("".join(map(chr, row))) for row in codes])
            if len(codes)
            else (np.zeros((0, width), np.int32))
        )
        arrays[split] = {"x": ids[:, :-1], "y": ids[:, 1:]}
    meta = {
        "task": "text",
        "dataset": "text",
        "alphabet": ALPHABET,
        "vocabulary_size": VOCABULARY_SIZE,
        "sequence_length": int(arrays["train"]["x"].shape[1]),
        "counts": {split: int(len(arrays[split]["x"])) for split in arrays},
    }
    return arrays, meta


def dataset_spec(prepare: dict, root):
    """The `DatasetSpec` of the `text` dataset (the bundled text; `prepare` is not read).

    Example:

    >>> dataset_spec({}, ".").task
    'text'
    """
    return DatasetSpec(
        name="text",
        path=SOURCE,
        task="text",
        time_column="time_step",
        feature_columns=("char_code",),
        sequence_column="sequence_id",
        split_column="split",
        sequence_length=(SEQUENCE_LENGTH + 1,) * 2,
        min_rows=10000,
    )
