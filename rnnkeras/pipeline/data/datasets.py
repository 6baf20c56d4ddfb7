"""Every `prepare.dataset` value, in one table: how its spec (and so its task kind) is made.

Adding a dataset is adding one entry to `DATASETS` (and its name to the `dataset` values of
`rnnkeras.pipeline.params_schema.PrepareParams`). The spec's `task` names the task kind
(`rnnkeras.pipeline.tasks.get`) that turns its table into arrays, builds, evaluates and exports
the model.
"""

import dataclasses
from collections.abc import Callable
from pathlib import Path

import rnnkeras.pipeline.data.code_tags as code_tags
import rnnkeras.pipeline.data.reference_text as reference_text
import rnnkeras.pipeline.data.spec as spec_lib
from rnnkeras.pipeline.data.digits import digits_spec
from rnnkeras.pipeline.data.locale_dates import dataset_spec as translation_spec


@dataclasses.dataclass(frozen=True)
class Dataset:
    """One `prepare.dataset` value.

    Args:
        spec: makes the dataset's `DatasetSpec` from the `prepare` section of `params.yaml`
            and the project folder (relative paths resolve against it).
        own_registered_model: register its models as `<mlflow.registered_model>-<dataset>`
            (each task has its own registry entry, so a digits model never competes for the
            alias with a speaker model); `False` registers under `mlflow.registered_model`
            itself (the default dataset and your own `csv`).
    """

    spec: Callable[[dict, Path], spec_lib.DatasetSpec]
    own_registered_model: bool = True


def _csv_spec(prepare: dict, root: Path) -> spec_lib.DatasetSpec:
    csv = dict(prepare.get("csv") or {})
    # The layout follows from the task; a reader is for bundled files in other formats.
    not_for_csv = {"name", "layout", "reader"}
    known = {f.name for f in dataclasses.fields(spec_lib.DatasetSpec)} - not_for_csv
    unknown = sorted(set(csv) - known)
    if unknown:
        raise ValueError(
            f"prepare.csv accepts the keys {sorted(known)}. Received: unknown keys={unknown}"
        )
    if not csv.get("path"):
        raise ValueError(
            "prepare.csv.path must name your CSV file when prepare.dataset is csv. "
            f"Received: path={csv.get('path')!r}"
        )
    if csv.get("task") not in spec_lib.CSV_TASKS:
        raise ValueError(
            f"prepare.csv.task must be one of {spec_lib.CSV_TASKS}. "
            f"Received: task={csv.get('task')!r}"
        )
    csv["path"] = Path(root) / csv["path"]
    for key in ("feature_columns", "value_range", "sequence_length", "labels"):
        if csv.get(key) is not None:
            csv[key] = tuple(csv[key])
    if csv.get("labels") is not None:
        csv["labels"] = tuple(str(label) for label in csv["labels"])
    return spec_lib.DatasetSpec(name="csv", **csv)


DATASETS: dict[str, Dataset] = {
    "japanese_vowels": Dataset(
        lambda prepare, root: spec_lib.bundled_spec("japanese_vowels"),
        own_registered_model=False,
    ),
    "co2": Dataset(lambda prepare, root: spec_lib.bundled_spec("co2")),
    "csv": Dataset(_csv_spec, own_registered_model=False),
    "tagging": Dataset(code_tags.dataset_spec),
    "text": Dataset(reference_text.dataset_spec),
    "digits": Dataset(digits_spec),
    "anomaly": Dataset(lambda prepare, root: spec_lib.bundled_spec("anomaly")),
    "translation": Dataset(translation_spec),
}
"""`prepare.dataset` value -> its `Dataset`."""


def _dataset(name) -> Dataset:
    if name not in DATASETS:
        raise ValueError(
            f"prepare.dataset must be one of {sorted(DATASETS)}. Received: dataset={name!r}"
        )
    return DATASETS[name]


def spec_from_params(prepare: dict, root: str | Path = ".") -> spec_lib.DatasetSpec:
    """Builds the dataset spec selected by the `prepare` section of `params.yaml`.

    `prepare.dataset` is a key of `DATASETS`; for `csv`, `prepare.csv` describes your file
    (see docs/data.md) and a relative `path` is resolved against `root`.

    Raises:
        ValueError: for an unknown `prepare.dataset` (the message lists the known ones) or a
            `prepare.csv` block that does not describe a table.

    Example:

    >>> spec = spec_from_params({"dataset": "co2"})
    >>> spec.name, spec.task
    ('co2', 'forecasting')
    """
    return _dataset(prepare.get("dataset")).spec(prepare, Path(root))


def registered_model_name(params: dict) -> str:
    """The registry name the models of `params`' dataset are registered under.

    Example:

    >>> registered_model_name({"prepare": {"dataset": "co2"}, "mlflow": {"registered_model": "m"}})
    'm-co2'
    >>> registered_model_name({"prepare": {"dataset": "japanese_vowels"}, "mlflow": {}})
    'rnnkeras'
    """
    name = params["prepare"].get("dataset")
    base = (params.get("mlflow") or {}).get("registered_model", "rnnkeras")
    return f"{base}-{name}" if _dataset(name).own_registered_model else base
