"""Dataset `digits`: scikit-learn's bundled handwritten digits, read as sequences.

scikit-learn ships the 1,797 8x8 images of the UCI "Optical Recognition of Handwritten Digits"
test set as `sklearn/datasets/data/digits.csv.gz` (one image per line: 64 pixel values 0-16,
row by row, then the digit; what `sklearn.datasets.load_digits` reads). The pipeline reads that
file where scikit-learn installed it (nothing is copied or downloaded) and turns each image into
a sequence, the small cousin of sequential MNIST (Bai, Kolter & Koltun, 2018):

- `rows` (default): 8 steps, one image row each, 8 features `col_0` .. `col_7`;
- `pixels`: 64 steps, one pixel each, the feature `pixel` (the row-major scan of sequential
  MNIST).

Validation messages name the line of `digits.csv.gz` (one line per image) and the prepared
column; pixel `(row r, column c)` is the file's column `8 * r + c + 1`.
"""

import gzip
import importlib.util
from pathlib import Path

import numpy as np

import rnnkeras.pipeline.data.spec as spec_lib

SIDE = 8
ORDERS = ("rows", "pixels")
CLASSES = tuple(str(digit) for digit in range(10))
IMAGES = 1797


def source_path() -> Path:
    """Where scikit-learn installed `digits.csv.gz` (found without importing scikit-learn).

    Raises:
        ValueError: if scikit-learn is not installed (it comes with the `mlops` extra).

    Example:

    >>> source_path().name
    'digits.csv.gz'
    """
    found = importlib.util.find_spec("sklearn")
    if found is None or not found.submodule_search_locations:
        raise ValueError(
            "prepare.dataset=digits reads scikit-learn's bundled digits, which needs the "
            "`scikit-learn` package: pip install 'rnnkeras[mlops]'. Received: dataset='digits'"
        )
    return Path(found.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"


def feature_columns(order: str) -> tuple[str, ...]:
    """The prepared table's feature columns for `order` (`rows` or `pixels`).

    Example:

    >>> feature_columns("rows")[:3], feature_columns("pixels")
    (('col_0', 'col_1', 'col_2'), ('pixel',))
    """
    if order not in ORDERS:
        raise ValueError(
            f"prepare.digits.order must be one of {ORDERS}. Received: prepare.digits.order={order!r}"
        )
    return tuple(f"col_{c}" for c in range(SIDE)) if order == "rows" else ("pixel",)


def read_digits(path: str | Path, order: str = "rows"):
    """Reads `digits.csv.gz` into the long table `prepare` expects, cells kept as text.

    Args:
        path: the gzipped CSV: one image per line, 64 pixels then the digit, no header.
        order: `rows` (8 steps of 8 pixels) or `pixels` (64 steps of 1 pixel).

    Returns:
        A `pandas.DataFrame` of strings with `source_row` (the image's line in the file),
        `sequence_id` (the same number), `time_step`, the feature columns and `label`.
        A line with another number of values than 65 gives missing cells, which validation
        reports.

    Example:

    >>> table = read_digits(source_path(), "rows")
    >>> len(table), list(table.columns[:4])
    (14376, ['source_row', 'sequence_id', 'time_step', 'col_0'])
    >>> table.loc[0, ["col_2", "col_3", "label"]].tolist()
    ['5', '13', '0']
    """
    import pandas as pd

    columns = feature_columns(order)
    steps = SIDE if order == "rows" else SIDE * SIDE
    width = SIDE * SIDE // steps
    with gzip.open(path, "rt") as stream:
        lines = stream.read().splitlines()
    records = []
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        cells = line.split(",")
        pixels = cells[: SIDE * SIDE] + [None] * (SIDE * SIDE - len(cells[: SIDE * SIDE]))
        label = cells[SIDE * SIDE] if len(cells) > SIDE * SIDE else None
        for step in range(steps):
            values = pixels[step * width : (step + 1) * width]
            records.append([line_number, str(line_number), str(step), *values, label])
    frame = pd.DataFrame(
        records,
        columns=[spec_lib.SOURCE_ROW, spec_lib.SEQUENCE, spec_lib.TIME, *columns, spec_lib.LABEL],
    )
    frame[spec_lib.SOURCE_ROW] = frame[spec_lib.SOURCE_ROW].astype(np.int64)
    return frame


def digits_spec(prepare: dict, root: Path | None = None) -> spec_lib.DatasetSpec:
    """The spec of `prepare.dataset=digits`, in the order `prepare.digits.order`.

    Example:

    >>> spec = digits_spec({"digits": {"order": "pixels"}})
    >>> spec.task, spec.sequence_length, spec.value_range
    ('classification', (64, 64), (0.0, 16.0))
    """
    order = (prepare.get("digits") or {}).get("order", "rows")
    columns = feature_columns(order)
    steps = SIDE if order == "rows" else SIDE * SIDE
    return spec_lib.DatasetSpec(
        name="digits",
        path=source_path(),
        task="classification",
        # The reader writes the prepared column names; these name them in messages.
        sequence_column=spec_lib.SEQUENCE,
        time_column=spec_lib.TIME,
        feature_columns=columns,
        label_column=spec_lib.LABEL,
        value_range=(0.0, 16.0),
        sequence_length=(steps, steps),
        min_rows=IMAGES * steps,
        labels=CLASSES,
        missing="error",
        reader=lambda path: read_digits(path, order),
    )
