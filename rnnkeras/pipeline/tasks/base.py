"""The interface every task kind implements: `Task`, with the defaults most kinds keep.

A task kind is what the pipeline does with a prepared table, stage by stage:

| stage    | method                                   | default                                  |
|----------|------------------------------------------|------------------------------------------|
| prepare  | `prepare_table(spec, prepare)`           | the long-format CSV table (`prepare_table`) |
| validate | `validate_table(table, spec, max_examples)` | the format and content GX suites       |
| validate | `table_to_arrays(table, spec, prepare)`  | none: every kind writes its own          |
| train    | `build_model(meta, train)`, `loss`, `metrics` | none                                |
| evaluate | `evaluate(model, meta, splits)`          | `score(meta, test, model.predict(x), train)` |
| evaluate | `register(model, meta, test, evaluation, name, alias)` | the numeric served model   |
| export   | `export(model, meta, splits, folder, export, report_path)` | SavedModel + TFLite + parity |

`splits` maps `train`, `val` and `test` to the arrays `table_to_arrays` wrote.

Every method imports what it needs inside, so that the `prepare` and `validate` stages, which
use the data side only, never import Keras, MLflow or TensorFlow.
"""

from pathlib import Path
from typing import Any, ClassVar


class Task:
    """One task kind of the pipeline (the `task` of a `DatasetSpec` and of `meta.json`).

    Subclasses set the class attributes and implement `table_to_arrays`, `build_model` and
    `score` (or `evaluate`); the other methods have defaults for sequence inputs of floats.

    Attributes:
        name: the kind, as `DatasetSpec.task` and `meta["task"]` spell it.
        loss: the Keras loss `train` compiles with (a name Keras knows).
        metrics: the Keras metrics `train` compiles with.
        parity: how `export` compares the exported files with the Keras model:
            `"classification"` (same class, probabilities close) or `"regression"` (outputs
            close), as `rnnkeras.export.write_export_report` takes it.
        right_padded: the inputs are zero-padded at the end and masked (the fused TFLite
            LSTM may then read each sequence's length from the mask).

    Example:

    >>> from rnnkeras.pipeline import tasks
    >>> task = tasks.get("classification")
    >>> task.loss, task.parity, task.right_padded
    ('sparse_categorical_crossentropy', 'classification', True)
    """

    name: ClassVar[str]
    loss: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]] = ()
    parity: ClassVar[str] = "regression"
    right_padded: ClassVar[bool] = False
    # int8 calibration set: the first this many training sequences (None: all of them).
    calibration_sequences: ClassVar[int | None] = None

    # --- prepare / validate: data only ---------------------------------------------------

    def prepare_table(self, spec, prepare: dict):
        """The prepared long-format table of `spec`'s source (`rnnkeras.pipeline.data.prepare_table`)."""
        from rnnkeras.pipeline.data.table import prepare_table

        return prepare_table(spec, prepare)

    def validate_table(self, table, spec, max_examples: int = 5) -> dict:
        """Runs the Great Expectations suites for this table; returns the validation report.

        The default runs the format and content suites of `rnnkeras.pipeline.validation`,
        which name the file, line and column of every failure.
        """
        from rnnkeras.pipeline.validation import validate_table

        return validate_table(table, spec, max_examples=max_examples)

    def table_to_arrays(self, table, spec, prepare: dict) -> tuple[dict, dict]:
        """The validated table as `(arrays, meta)`.

        `arrays[split]` (for `train`, `val`, `test`) is a dict of NumPy arrays with at least
        `x` (model input) and `y` (target); `meta` is JSON-ready and describes them for
        `build_model` and `evaluate`. The caller adds `task`, `dataset`, `features` and
        `counts` to `meta`.
        """
        raise NotImplementedError(f"task {self.name!r} does not implement table_to_arrays")

    # --- train ----------------------------------------------------------------------------

    def build_model(self, meta: dict, train: dict):
        """An uncompiled `keras.Model` for the data `meta` describes and the `train` section."""
        raise NotImplementedError(f"task {self.name!r} does not implement build_model")

    # --- evaluate -------------------------------------------------------------------------

    def evaluate(self, model, meta: dict, splits: dict):
        """Scores `model` on the test split; returns an `rnnkeras.pipeline.evaluation.Evaluation`.

        `splits` holds the `train`, `val` and `test` arrays (a baseline may learn from train, a
        threshold be chosen on val). The default predicts `splits["test"]["x"]` and hands the
        outputs to `score`.
        """
        test = splits["test"]
        return self.score(meta, test, model.predict(test["x"], verbose=0), splits["train"])

    def score(self, meta: dict, test: dict, predicted, train: dict):
        """The `Evaluation` of the model's outputs `predicted` on `test["x"]`, against the
        task's naive baseline (which may use the training split `train`)."""
        raise NotImplementedError(f"task {self.name!r} does not implement score")

    def register(
        self, model, meta: dict, test: dict, evaluation, registered_name: str, alias: str
    ) -> dict[str, Any]:
        """Logs the model for `mlflow models serve` in the active run and registers it.

        The default serves the SavedModel behind `served_model.py`, which takes the same
        numeric batches as `model` (shape and dtype recorded in the model's metadata). A task
        whose users send something else (text) overrides this with its own served model.
        """
        from rnnkeras.pipeline import tracking

        return tracking.log_and_register_model(
            model,
            input_example=test["x"][:5],
            registered_name=registered_name,
            metric_name=f"test.{evaluation.headline}",
            metric_value=evaluation.metrics[evaluation.headline],
            greater_is_better=evaluation.greater_is_better,
            alias=alias,
        )

    # --- export ---------------------------------------------------------------------------

    def export_sequence_length(self, meta: dict) -> int | None:
        """Time steps of the TFLite files: `None` keeps the model's own (fixed) length; a
        model with an open time axis returns the length its files are written for."""
        return None

    def export(
        self, model, meta: dict, splits: dict, folder: Path, export: dict, report_path: Path
    ) -> dict:
        """Writes `folder/saved_model` and one TFLite file per `export.quantize` mode (int8
        calibrated on the training inputs), and the parity report on the test split at
        `report_path` (plus its `.md` summary beside it).

        Returns:
            The parity report (`rnnkeras.export.write_export_report`); the stage fails
            unless `report["passed"]`.
        """
        from rnnkeras.export import export_saved_model, export_tflite, write_export_report

        saved = export_saved_model(model, folder / "saved_model", version=1, overwrite=True)
        files = []
        for mode in export.get("quantize", ["none"]):
            name = "float32" if mode in (None, "none") else mode
            files.append(
                export_tflite(
                    model,
                    folder / f"model_{name}.tflite",
                    sequence_length=self.export_sequence_length(meta),
                    batch_size=int(export.get("batch_size", 1)),
                    quantize=mode,
                    representative_data=splits["train"]["x"][: self.calibration_sequences],
                    right_padded=self.right_padded,
                )
            )
        test = splits["test"]
        return write_export_report(
            model,
            report_path,
            test["x"],
            test["y"],
            saved_model=saved,
            tflite=files,
            task=self.parity,
            strict=False,
        )
