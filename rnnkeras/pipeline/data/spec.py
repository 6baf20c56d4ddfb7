"""What a sequence table looks like: its columns, its task and the bounds its values must respect."""

import dataclasses
from collections.abc import Callable
from pathlib import Path

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"

# The task kinds a `csv` dataset may declare; bundled datasets name any kind of
# `rnnkeras.pipeline.tasks`.
CSV_TASKS = ("forecasting", "classification")
MISSING_POLICIES = ("error", "interpolate")
LAYOUTS = ("sequences", "series")

# Names of the structural columns in a prepared table; user columns are renamed to these.
SEQUENCE = "sequence_id"
TIME = "time_step"
LABEL = "label"
SPLIT = "split"
SOURCE_ROW = "source_row"
IMPUTED = "imputed"
SPLITS = ("train", "val", "test")


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """The layout of a long-format sequence table (one row per time step) and what to expect in it.

    Args:
        name: a short name used in reports (`co2`, `japanese_vowels`, or `csv` for your own file).
        path: the CSV file (the file validation messages name, with its line numbers).
        task: the task kind, a name of `rnnkeras.pipeline.tasks`: e.g. `"forecasting"` (windows
            of past values predict the next values of `target_column`) or `"classification"`
            (each sequence has one label in `label_column`).
        time_column: the time step column: numbers, strictly increasing within a sequence
            (for forecasting, consecutive: each step exactly 1 more than the previous one).
        feature_columns: the numeric columns the model reads at every time step.
        sequence_column: the column that says which sequence a row belongs to; `None` when the
            whole file is a single series.
        label_column: classification only: the class of the row's sequence.
        target_column: forecasting only: the feature to predict (one of `feature_columns`).
        split_column: optional column with `train`, `val` or `test` per row; without it the
            split is assigned by `prepare` (by time for forecasting, by sequence otherwise).
        value_range: `[min, max]` every feature value must lie in, or `None` for no bound.
        sequence_length: `[min, max]` number of rows per sequence, or `None` for no bound.
        min_rows: the smallest acceptable number of rows.
        labels: the known classes, or `None` to accept the classes of the training split.
        missing: `"error"` (an empty feature cell fails validation) or `"interpolate"`
            (`prepare` fills gaps linearly in time and flags the rows in an `imputed` column).
        layout: `"sequences"` (independent sequences, split by sequence, one label and one
            split per sequence) or `"series"` (long series, split by time, consecutive time
            steps, labels, if any, per step). Forecasting defaults to `"series"`.
        reader: the function that reads `path` into a table of text cells with a
            `source_row` column (default: `rnnkeras.pipeline.data.read_source`, for CSV files
            in the long format); a bundled dataset in another format names its own.

    Example:

    >>> spec = bundled_spec("co2")
    >>> spec.task, spec.feature_columns
    ('forecasting', ('co2_ppm',))
    """

    name: str
    path: Path
    task: str
    time_column: str
    feature_columns: tuple[str, ...]
    sequence_column: str | None = None
    label_column: str | None = None
    target_column: str | None = None
    split_column: str | None = None
    value_range: tuple[float, float] | None = None
    sequence_length: tuple[int, int] | None = None
    min_rows: int = 1
    labels: tuple[str, ...] | None = None
    missing: str = "error"
    layout: str | None = None
    reader: Callable | None = dataclasses.field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.task, str) or not self.task:
            raise ValueError(
                f"Dataset '{self.name}': task must name a task kind. Received: task={self.task!r}"
            )
        if self.layout is None:
            layout = "series" if self.task == "forecasting" else "sequences"
            object.__setattr__(self, "layout", layout)
        if self.layout not in LAYOUTS:
            raise ValueError(
                f"Dataset '{self.name}': layout must be one of {LAYOUTS}. "
                f"Received: layout={self.layout!r}"
            )
        if self.missing not in MISSING_POLICIES:
            raise ValueError(
                f"Dataset '{self.name}': missing must be one of {MISSING_POLICIES}. "
                f"Received: missing={self.missing!r}"
            )
        if not self.feature_columns:
            raise ValueError(
                f"Dataset '{self.name}': feature_columns must name at least one column. "
                f"Received: feature_columns={self.feature_columns!r}"
            )
        if self.task == "classification" and not self.label_column:
            raise ValueError(
                f"Dataset '{self.name}': a classification table needs a label_column. "
                f"Received: label_column={self.label_column!r}"
            )
        if self.task == "classification" and not self.sequence_column:
            raise ValueError(
                f"Dataset '{self.name}': a classification table needs a sequence_column "
                f"(one label per sequence). Received: sequence_column={self.sequence_column!r}"
            )
        if (self.task == "forecasting" or self.target_column is not None) and (
            self.target_column not in self.feature_columns
        ):
            raise ValueError(
                f"Dataset '{self.name}': the forecasting target_column must be one of the "
                f"feature_columns {list(self.feature_columns)}. "
                f"Received: target_column={self.target_column!r}"
            )
        structural = [
            c
            for c in (self.sequence_column, self.time_column, self.label_column, self.split_column)
            if c
        ]
        clashes = sorted(set(self.feature_columns) & set(structural))
        reserved = {SEQUENCE, TIME, LABEL, SPLIT, SOURCE_ROW, IMPUTED}
        clashes += sorted(c for c in self.feature_columns if c in reserved)
        if clashes:
            raise ValueError(
                f"Dataset '{self.name}': feature columns must differ from the sequence, time, "
                f"label and split columns and from the reserved names {sorted(reserved)}. "
                f"Received: clashing columns={clashes}"
            )

    @property
    def source_names(self) -> dict[str, str]:
        """Maps each prepared-table column name back to the column name in the source CSV."""
        names = {name: name for name in self.feature_columns}
        names[TIME] = self.time_column
        if self.sequence_column:
            names[SEQUENCE] = self.sequence_column
        if self.label_column:
            names[LABEL] = self.label_column
        if self.split_column:
            names[SPLIT] = self.split_column
        return names


BUNDLED = {
    "anomaly": {
        "path": "ucr_internal_bleeding16.csv",
        "task": "anomaly",
        "layout": "series",
        "time_column": "timestamp",
        "feature_columns": ("value",),
        "target_column": "value",
        "label_column": "is_anomaly",
        "split_column": "split",
        "value_range": (0.0, 300.0),
        "sequence_length": (7000, 8000),
        "min_rows": 7000,
        "labels": ("0", "1"),
        "missing": "error",
    },
    "co2": {
        "path": "co2_weekly.csv",
        "task": "forecasting",
        "time_column": "week",
        "feature_columns": ("co2_ppm",),
        "target_column": "co2_ppm",
        "value_range": (250.0, 500.0),
        "sequence_length": (2000, 5000),
        "min_rows": 2000,
        "missing": "interpolate",
    },
    "japanese_vowels": {
        "path": "japanese_vowels.csv",
        "task": "classification",
        "sequence_column": "sequence_id",
        "time_column": "time_step",
        "feature_columns": tuple(f"lpc_{i:02d}" for i in range(1, 13)),
        "label_column": "label",
        "split_column": "split",
        "value_range": (-5.0, 5.0),
        "sequence_length": (7, 29),
        "min_rows": 1000,
        "labels": tuple(str(i) for i in range(1, 10)),
        "missing": "error",
    },
}


def bundled_spec(name: str) -> DatasetSpec:
    """The spec of a CSV dataset that ships with rnnkeras (`"co2"` or `"japanese_vowels"`).

    Example:

    >>> bundled_spec("japanese_vowels").sequence_length
    (7, 29)
    """
    if name not in BUNDLED:
        raise ValueError(
            f"Unknown bundled CSV dataset; expected one of {sorted(BUNDLED)}. Received: name={name!r}"
        )
    fields = dict(BUNDLED[name])
    fields["path"] = BUNDLED_DIR / fields["path"]
    return DatasetSpec(name=name, **fields)
