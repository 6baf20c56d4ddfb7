"""What a number in a CSV cell is: one definition shared by validation and the array loader.

Validation checks cells against these patterns and bounds; the loader parses with the same
patterns. So a table that passes validation always loads, and a cell the loader cannot turn
into a float32 the models can use (finite, its square finite too) never passes validation.

The patterns accept ASCII digits only. Python's `\\d` and `float()` also accept other
scripts' digits (`٣`, full-width `１.５`), which pandas' parser refuses; spaces around a
number are accepted (pandas strips them), other white space is not.
"""

import numpy as np

NUMBER_PATTERN = r"\A *[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)? *\Z"
INTEGER_PATTERN = r"\A *[-+]?[0-9]+(?:\.0*)? *\Z"

# Feature values become float32 arrays, and the models scale them by their variance, also a
# float32: a square of a value (or of a difference of two, for forecasting windows) must fit.
FEATURE_MAX = 1e18
# Time steps are compared and sorted as float64, exact for whole numbers up to 2**53.
TIME_STEP_MAX = 2**53


def parse_numbers(cells, pattern: str = NUMBER_PATTERN):
    """Parses a column of text cells as the loader does: `NaN` where a cell is not a number.

    Args:
        cells: a `pandas.Series` of strings (missing cells allowed).
        pattern: `NUMBER_PATTERN` (features) or `INTEGER_PATTERN` (time steps).

    Returns:
        A float64 `pandas.Series`: the parsed value, or `NaN` for an empty cell and for text
        that does not match `pattern`.

    Example:

    >>> import pandas as pd
    >>> parse_numbers(pd.Series(["1.5", " -2e3 ", "１.５", None])).tolist()
    [1.5, -2000.0, nan, nan]
    """
    import pandas as pd

    text = cells.astype("string")
    matches = text.str.contains(pattern, regex=True, na=False).astype(bool)
    return pd.to_numeric(text.where(matches), errors="coerce").astype("float64")


def column_to_numbers(table, column: str, spec, pattern: str, bound: float) -> np.ndarray:
    """Parses one column of a validated table, refusing what validation should have refused.

    Args:
        table: the prepared table, with its `source_row` column.
        column: the column to parse (its prepared-table name).
        spec: the table's `DatasetSpec`, for the file and column names the user wrote.
        pattern: `NUMBER_PATTERN` or `INTEGER_PATTERN`.
        bound: the largest magnitude allowed (`FEATURE_MAX` or `TIME_STEP_MAX`).

    Returns:
        The parsed float64 values.

    Raises:
        ValueError: a cell is empty, not a number, not finite or beyond `bound` (naming the
            file, line and column): the table did not pass validation.
    """
    values = parse_numbers(table[column], pattern).to_numpy()
    bad = ~(np.abs(values) <= bound)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{spec.path}: line {table['source_row'].iloc[row]}, column "
            f"'{spec.source_names.get(column, column)}': expected a finite "
            f"number of magnitude at most {bound:g} (run the validate stage for a full report). "
            f"Received: value={table[column].iloc[row]!r}"
        )
    return values
