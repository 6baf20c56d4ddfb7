"""The pipeline's task kinds: one module each, one interface (`rnnkeras.pipeline.tasks.base.Task`).

A dataset (`prepare.dataset`, listed in `rnnkeras.pipeline.data.datasets.DATASETS`) names its
task kind in its spec (`DatasetSpec.task`); the stages ask `get(kind)` for everything that
depends on it: the table's arrays (`validate`), the model, loss and metrics (`train`), the
scores against a naive baseline, plots and the served model (`evaluate`), and the export
parity (`export`). No stage branches on the kind.

How to add a task kind (say `tagging`, one label per time step):

1. Write `rnnkeras/pipeline/tasks/tagging.py` with a `Task` subclass and `TASK = Tagging()`.
   Import Keras, MLflow and the evaluation code inside the methods that use them.
2. Import it below and add its `TASK` to `KINDS`.
3. Add its dataset(s) to `rnnkeras.pipeline.data.datasets.DATASETS` and the `dataset` values
   of `rnnkeras.pipeline.params_schema.PrepareParams`.

A minimal kind, runnable as it is (a toy: it reads the first feature of the first step):

>>> import numpy as np
>>> from rnnkeras.pipeline import evaluation
>>> from rnnkeras.pipeline.tasks.base import Task
>>> class FirstValue(Task):
...     name = "first_value"
...     loss = "mse"
...     def table_to_arrays(self, table, spec, prepare):
...         ...  # arrays[split] = {"x": ..., "y": ...}; meta: what build_model needs
...     def build_model(self, meta, train):
...         import keras
...         inputs = keras.Input((meta["length"], 1))
...         return keras.Model(inputs, keras.layers.Dense(1)(inputs[:, 0]))
...     def score(self, meta, test, predicted, train):
...         mae = float(np.mean(np.abs(predicted[:, 0] - test["y"])))
...         baseline = float(np.mean(np.abs(np.mean(train["y"]) - test["y"])))
...         return evaluation.Evaluation(
...             {"mae": mae, "baseline_mae": baseline}, "", "mae", False, "none.png",
...             lambda path: None)
>>> task = FirstValue()
>>> model = task.build_model({"length": 3}, {})
>>> test = {"x": np.ones((2, 3, 1), "float32"), "y": np.array([1.0, 2.0])}
>>> result = task.evaluate(model, {}, {"train": {"y": np.array([1.5])}, "test": test})
>>> result.headline, result.metrics["baseline_mae"]
('mae', 0.5)

The stages then: `table_to_arrays` below adds `task`, `dataset` and `counts` to the kind's
meta; `train` compiles `build_model(meta, train)` with `task.loss` and `task.metrics`;
`evaluate` writes `Evaluation.metrics` to `metrics/evaluate.json`, its predictions table and
plot, logs them to MLflow and calls `task.register`; `export` calls `task.export`.
"""

from rnnkeras.pipeline.tasks import anomaly, classification, forecasting, tagging, text, translation
from rnnkeras.pipeline.tasks.base import Task

KINDS: dict[str, Task] = {
    "anomaly": anomaly.TASK,
    "classification": classification.TASK,
    "forecasting": forecasting.TASK,
    "tagging": tagging.TASK,
    "text": text.TASK,
    "translation": translation.TASK,
}
"""Task kind -> the `Task` that implements it."""


def get(name: str) -> Task:
    """The task kind `name` (`DatasetSpec.task`, `meta["task"]`).

    Raises:
        ValueError: for a name not in `KINDS`; the message lists the known kinds.

    Example:

    >>> get("forecasting").loss
    'mse'
    """
    if name not in KINDS:
        raise ValueError(
            f"Unknown task kind; expected one of {sorted(KINDS)}. Received: task={name!r}"
        )
    return KINDS[name]


def table_to_arrays(table, spec, prepare: dict) -> tuple[dict, dict]:
    """The validated prepared table as model arrays and their description, by `spec.task`.

    Args:
        table: the prepared table, after it passed validation.
        spec: its `DatasetSpec`.
        prepare: the `prepare` section of `params.yaml`.

    Returns:
        `(arrays, meta)`: `arrays[split]` for `train`, `val`, `test` (dicts of NumPy arrays,
        at least `x` and `y`); `meta` holds `task`, `dataset`, what the kind adds, and
        `counts` (examples per split).

    Example:

    >>> from rnnkeras.pipeline.data import bundled_spec, prepare_table
    >>> spec = bundled_spec("co2")
    >>> prepare = {"window": 52, "horizon": 13, "val_fraction": 0.15, "test_fraction": 0.15}
    >>> arrays, meta = table_to_arrays(prepare_table(spec, prepare), spec, prepare)
    >>> meta["task"], meta["counts"]
    ('forecasting', {'train': 1534, 'val': 343, 'test': 343})
    """
    arrays, described = get(spec.task).table_to_arrays(table, spec, prepare)
    meta = {"task": spec.task, "dataset": spec.name, **described}
    meta["counts"] = {split: int(len(arrays[split]["x"])) for split in ("train", "val", "test")}
    return arrays, meta


__all__ = ["KINDS", "Task", "get", "table_to_arrays"]
