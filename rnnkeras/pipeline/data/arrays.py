"""Model-ready arrays: sliding windows, padded sequences, and their files.

The pieces the task kinds (`rnnkeras.pipeline.tasks`) make their arrays with; each kind's
`table_to_arrays` says what its arrays hold (forecasting windows, for instance, are stored
relative to their last time step).

On disk (written by the `validate` stage once the table passed every check) a folder holds
`train.npz`, `val.npz`, `test.npz` and `meta.json`; docs/data.md describes every array.
"""

import json
import zipfile
from pathlib import Path

import numpy as np

import rnnkeras.pipeline.data.spec as spec_lib
from rnnkeras.atomic_files import atomic_path
from rnnkeras.pipeline.data.number_format import (
    FEATURE_MAX,
    INTEGER_PATTERN,
    NUMBER_PATTERN,
    TIME_STEP_MAX,
    column_to_numbers,
)


def make_windows(
    values: np.ndarray, window: int, horizon: int, target_index: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cuts a multivariate series into (past window, next values) pairs.

    Args:
        values: array of shape `(timesteps, features)`.
        window: number of past time steps the model reads.
        horizon: number of following values of the target feature to predict.
        target_index: which feature is the target.

    Returns:
        `x` of shape `(n, window, features)`, `y` of shape `(n, horizon)` and `end` of shape
        `(n,)`: for window `i`, `x[i] = values[end[i] - window : end[i]]` and
        `y[i] = values[end[i] : end[i] + horizon, target_index]`.

    Example:

    >>> x, y, end = make_windows(np.arange(6.0)[:, None], window=3, horizon=2)
    >>> x[:, :, 0].tolist(), y.tolist(), end.tolist()
    ([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]], [[3.0, 4.0], [4.0, 5.0]], [3, 4])
    """
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2:
        raise ValueError(
            "make_windows expects values of shape (timesteps, features). "
            f"Received: values.shape={values.shape}"
        )
    if window < 1 or horizon < 1:
        raise ValueError(
            "make_windows expects window >= 1 and horizon >= 1. "
            f"Received: window={window}, horizon={horizon}"
        )
    end = np.arange(window, len(values) - horizon + 1)
    x = np.stack([values[e - window : e] for e in end]) if len(end) else None
    y = np.stack([values[e : e + horizon, target_index] for e in end]) if len(end) else None
    if x is None:
        x = np.zeros((0, window, values.shape[1]), np.float32)
        y = np.zeros((0, horizon), np.float32)
    return x, y, end


def pad_sequences(
    sequences: list[np.ndarray], length: int, value: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Stacks variable-length sequences into one array, padding at the end.

    Args:
        sequences: arrays of shape `(timesteps_i, features)`.
        length: the padded length; every sequence must fit.
        value: the padding value (the model's `Masking` layer skips time steps equal to it).

    Returns:
        `x` of shape `(n, length, features)` and `lengths` of shape `(n,)`.

    Example:

    >>> x, lengths = pad_sequences([np.ones((2, 1)), np.ones((3, 1))], length=4)
    >>> x[:, :, 0].tolist(), lengths.tolist()
    ([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0]], [2, 3])
    """
    lengths = np.array([len(s) for s in sequences], dtype=np.int32)
    if len(sequences) and lengths.max() > length:
        raise ValueError(
            f"pad_sequences expects every sequence to fit in length={length}. "
            f"Received: longest sequence={int(lengths.max())}"
        )
    features = sequences[0].shape[1] if sequences else 0
    x = np.full((len(sequences), length, features), value, dtype=np.float32)
    for i, sequence in enumerate(sequences):
        x[i, : len(sequence)] = sequence
    return x, lengths


def parsed_sequences(table, spec: spec_lib.DatasetSpec) -> list:
    """The validated table's sequences, numbers parsed, each sorted by time step.

    Args:
        table: the prepared table (see `prepare_table`) after it passed validation.
        spec: its dataset spec.

    Returns:
        One `pandas.DataFrame` per sequence, in the table's order, with the feature and
        time step columns as numbers.

    Example:

    >>> from rnnkeras.pipeline.data import bundled_spec, prepare_table
    >>> spec = bundled_spec("japanese_vowels")
    >>> groups = parsed_sequences(prepare_table(spec, {"val_fraction": 0.2}), spec)
    >>> len(groups), groups[0]["lpc_01"].dtype
    (640, dtype('float64'))
    """
    table = table.copy()
    for column in spec.feature_columns:
        table[column] = column_to_numbers(table, column, spec, NUMBER_PATTERN, FEATURE_MAX)
    table[spec_lib.TIME] = column_to_numbers(
        table, spec_lib.TIME, spec, INTEGER_PATTERN, TIME_STEP_MAX
    )
    return [
        group.sort_values(spec_lib.TIME)
        for _, group in table.groupby(spec_lib.SEQUENCE, sort=False)
    ]


def safe_variance(values: np.ndarray) -> list[float]:
    """Per-column variance of `values` `(n, features)`, 1.0 where a column is constant.

    Example:

    >>> safe_variance(np.array([[1.0, 5.0], [3.0, 5.0]]))
    [1.0, 1.0]
    """
    variance = np.var(values.astype(np.float64), axis=0)
    return [float(v) if v > 1e-12 else 1.0 for v in variance]


def natural_key(label: str):
    """Sort key that puts numeric labels in numeric order (`"2"` before `"10"`), text after.

    Example:

    >>> sorted(["10", "b", "2"], key=natural_key)
    ['2', '10', 'b']
    """
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def save_arrays(folder: str | Path, arrays: dict, meta: dict) -> None:
    """Writes `train.npz`, `val.npz`, `test.npz` and `meta.json`, replacing the folder atomically.

    Example:

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "validated"
    >>> splits = {s: {"x": np.zeros((1, 2, 1)), "y": np.zeros((1, 1))} for s in ("train", "val", "test")}
    >>> save_arrays(folder, splits, {"task": "forecasting"})
    >>> sorted(p.name for p in folder.iterdir())
    ['meta.json', 'test.npz', 'train.npz', 'val.npz']
    """
    with atomic_path(folder) as tmp:
        tmp.mkdir(parents=True)
        for split, split_arrays in arrays.items():
            _write_npz(tmp / f"{split}.npz", split_arrays)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def _write_npz(path: Path, arrays: dict) -> None:
    """Like `np.savez`, but byte-identical for identical arrays: `np.savez` stamps each member
    with the current time, and DVC would then see new data (and retrain) after every run."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            member = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(member, "w", force_zip64=True) as stream:
                np.lib.format.write_array(stream, np.asanyarray(array), allow_pickle=False)


def load_arrays(folder: str | Path, split: str) -> dict:
    """Reads one split written by `save_arrays` as a dict of NumPy arrays.

    Example:

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> save_arrays(folder, {"test": {"x": np.ones((2, 3, 1))}}, {})
    >>> load_arrays(folder, "test")["x"].shape
    (2, 3, 1)
    """
    path = Path(folder) / f"{split}.npz"
    if not path.is_file():
        raise ValueError(
            f"load_arrays expects {path} (written by the validate stage). "
            f"Received: folder={str(folder)!r}, split={split!r}"
        )
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


def load_meta(folder: str | Path) -> dict:
    """Reads `meta.json` written by `save_arrays`."""
    path = Path(folder) / "meta.json"
    if not path.is_file():
        raise ValueError(
            f"load_meta expects {path} (written by the validate stage). "
            f"Received: folder={str(folder)!r}"
        )
    return json.loads(path.read_text())
