"""From a user's or a bundled CSV to the prepared long-format table the pipeline validates.

`prepare_table` only reshapes: it renames the structural columns, assigns the train/val/test
split and applies the declared missing-value policy. It never judges the values — text in a
numeric column, gaps in time or a missing column pass through unchanged so that `validate`
reports every problem at once, with the file, line and column where it occurs.
"""

from pathlib import Path

import numpy as np

import rnnkeras.pipeline.data.spec as spec_lib


def read_source(path: str | Path):
    """Reads a CSV file as text, keeping every cell exactly as written.

    Empty cells (and `NA`, `nan`, `null`) become missing values; a file with no bytes at all
    gives an empty table rather than an error, so that validation can report it.

    Args:
        path: the CSV file.

    Returns:
        A `pandas.DataFrame` of strings with an extra `source_row` column: the line number of
        each row in the file (the header is line 1).

    Example:

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = path.write_text("a,b\\n1,x\\n,2\\n")
    >>> read_source(path).to_dict("list")
    {'source_row': [2, 3], 'a': ['1', nan], 'b': ['x', '2']}
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"Expected an existing CSV file. Received: path={str(path)!r}")
    try:
        table = pd.read_csv(path, dtype=str, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        table = pd.DataFrame()
    table = table.dropna(how="all") if len(table.columns) else table
    table.insert(0, spec_lib.SOURCE_ROW, np.asarray(table.index, dtype=np.int64) + 2)
    return table.reset_index(drop=True)


def prepare_table(spec: spec_lib.DatasetSpec, prepare: dict):
    """Turns the source file of `spec` into the prepared long-format table.

    The prepared table has the columns `source_row`, `sequence_id`, `time_step`, the feature
    columns, `label` (when the spec has labels), `split` and `imputed`, one row per time
    step, in file order. Columns absent from the source stay absent (validation reports them).

    Args:
        spec: the dataset layout (see `DatasetSpec`).
        prepare: the `prepare` section of `params.yaml`; reads `val_fraction`,
            `test_fraction` and `seed`.

    Returns:
        A `pandas.DataFrame` of strings (numbers are not parsed here, except to interpolate
        a feature column when `spec.missing == "interpolate"` and every value in it parses).

    Example:

    >>> from rnnkeras.pipeline.data.spec import bundled_spec
    >>> table = prepare_table(bundled_spec("co2"), {"val_fraction": 0.15, "test_fraction": 0.15})
    >>> table["split"].value_counts().to_dict()
    {'train': 1598, 'val': 343, 'test': 343}
    >>> int(table["imputed"].astype(int).sum())
    59
    """
    table = (spec.reader or read_source)(spec.path)
    renames = {source: prepared for prepared, source in spec.source_names.items()}
    table = table.rename(columns=renames)
    if spec.sequence_column is None and len(table.columns) > 1:
        table.insert(1, spec_lib.SEQUENCE, "0")
    if spec.missing == "interpolate":
        table = _interpolate_gaps(table, spec)
    elif len(table.columns) > 1:
        table[spec_lib.IMPUTED] = "0"
    if spec_lib.SPLIT in table.columns:
        table[spec_lib.SPLIT] = table[spec_lib.SPLIT].str.strip().str.lower()
    if spec_lib.SEQUENCE in table.columns:
        table = _assign_split(table, spec, prepare)
    return table


def _interpolate_gaps(table, spec):
    """Fills missing feature values linearly in time within each sequence, flagging the rows."""
    import pandas as pd

    imputed = np.zeros(len(table), dtype=bool)
    if spec_lib.SEQUENCE not in table.columns or spec_lib.TIME not in table.columns:
        table[spec_lib.IMPUTED] = "0"
        return table
    time = pd.to_numeric(table[spec_lib.TIME], errors="coerce")
    for column in spec.feature_columns:
        if column not in table.columns:
            continue
        values = pd.to_numeric(table[column], errors="coerce")
        if (values.isna() & table[column].notna()).any() or time.isna().any():
            # Text in the column or the time axis: leave it for validation to report.
            continue
        gaps = values.isna().to_numpy()
        if not gaps.any():
            continue
        filled = values.copy()
        for _, rows in table.groupby(spec_lib.SEQUENCE, sort=False).groups.items():
            known = values.loc[rows].notna()
            if known.sum() < 2:
                continue
            filled.loc[rows] = np.interp(
                time.loc[rows], time.loc[rows][known], values.loc[rows][known]
            )
        table[column] = [
            repr(float(v)) if gap else original
            for v, gap, original in zip(filled, gaps, table[column], strict=True)
        ]
        imputed |= gaps
    table[spec_lib.IMPUTED] = np.where(imputed, "1", "0")
    return table


def _assign_split(table, spec, prepare):
    """Adds or completes the `split` column: by time for a series layout, else by sequence."""
    val_fraction = float(prepare.get("val_fraction", 0.15))
    test_fraction = float(prepare.get("test_fraction", 0.15))
    if not (0.0 < val_fraction < 1.0 and 0.0 <= test_fraction < 1.0):
        raise ValueError(
            "prepare.val_fraction must be in (0, 1) and prepare.test_fraction in [0, 1). "
            f"Received: val_fraction={val_fraction}, test_fraction={test_fraction}"
        )
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            "prepare.val_fraction + prepare.test_fraction must leave rows for training. "
            f"Received: val_fraction={val_fraction}, test_fraction={test_fraction}"
        )
    if spec.layout == "series" and spec_lib.SPLIT not in table.columns:
        groups = table.groupby(spec_lib.SEQUENCE, sort=False)
        position = groups.cumcount().to_numpy()
        length = groups[spec_lib.SEQUENCE].transform("size").to_numpy()
        n_test = np.round(test_fraction * length)
        n_val = np.round(val_fraction * length)
        table[spec_lib.SPLIT] = np.select(
            [position < length - n_val - n_test, position < length - n_test],
            ["train", "val"],
            "test",
        )
        return table
    rng = np.random.default_rng(int(prepare.get("seed", 0)))
    sequences = table[spec_lib.SEQUENCE].drop_duplicates().to_numpy()
    if spec_lib.SPLIT not in table.columns:
        order = rng.permutation(len(sequences))
        n_test = int(round(test_fraction * len(sequences)))
        n_val = int(round(val_fraction * len(sequences)))
        split = np.full(len(sequences), "train", dtype=object)
        split[order[:n_test]] = "test"
        split[order[n_test : n_test + n_val]] = "val"
        table[spec_lib.SPLIT] = table[spec_lib.SEQUENCE].map(
            dict(zip(sequences, split, strict=True))
        )
        return table
    if (table[spec_lib.SPLIT] == "val").any():
        return table
    # Only train (and test) given: hold out a share of the training sequences for validation.
    train = table.loc[table[spec_lib.SPLIT] == "train", spec_lib.SEQUENCE].drop_duplicates()
    n_val = int(round(val_fraction * len(train)))
    held_out = set(rng.permutation(train.to_numpy())[:n_val])
    is_val = table[spec_lib.SEQUENCE].isin(held_out) & (table[spec_lib.SPLIT] == "train")
    table.loc[is_val, spec_lib.SPLIT] = "val"
    return table


def write_table(table, path: str | Path) -> None:
    """Writes a prepared table as CSV, atomically (a temporary file renamed into place).

    Example:

    >>> import tempfile, pathlib, pandas as pd
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "prepared" / "sequences.csv"
    >>> write_table(pd.DataFrame({"a": ["1"]}), path)
    >>> path.read_text()
    'a\\n1\\n'
    """
    from rnnkeras.atomic_files import atomic_path

    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
