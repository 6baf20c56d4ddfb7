"""Stage `export`: SavedModel and builtins-only TFLite files, checked against the Keras model."""

from pathlib import Path

from rnnkeras.pipeline.stages import entry, keras_backend, paths
from rnnkeras.pipeline.stages.outputs import staged_outputs

OUTPUTS = (paths.EXPORT, paths.EXPORT_REPORT, paths.EXPORT_SUMMARY)


def run(params: dict, root: Path = Path(".")) -> None:
    """Exports models/model.keras to export/saved_model/ (TensorFlow Serving layout) and
    export/model_<quantize>.tflite for each `export.quantize` mode (int8 calibrated on the
    training inputs), writes the parity report reports/export.{json,md} on the test split,
    logs everything to the training's MLflow run (a rerun: to a child run of it), and fails
    if an export misses its documented parity threshold."""
    keras_backend.select_backend("export", params)  # TensorFlow, whatever trained the model

    import keras

    from rnnkeras.pipeline import tasks, tracking
    from rnnkeras.pipeline.data import load_arrays, load_meta

    export = params["export"]
    meta = load_meta(root / paths.VALIDATED)
    splits = {split: load_arrays(root / paths.VALIDATED, split) for split in ("train", "test")}
    model = keras.models.load_model(root / paths.MODEL, compile=False)
    # Written aside and moved in together at the end: a failed export (parity included)
    # keeps the last good files.
    with staged_outputs(root, OUTPUTS) as staged:
        out = staged[paths.EXPORT]
        report_path, summary_path = staged[paths.EXPORT_REPORT], staged[paths.EXPORT_SUMMARY]
        report = tasks.get(meta["task"]).export(model, meta, splits, out, export, report_path)
        # The report names the files where they end up, not where they were written.
        for summary in (report_path, summary_path):
            summary.write_text(summary.read_text().replace(str(out), str(root / paths.EXPORT)))
        tracking.configure(root)
        with tracking.resume_run(root / paths.MLFLOW_RUN, "export", {"export": export}):
            tracking.log_artifacts(
                [*sorted(out.iterdir()), report_path, summary_path],
                artifact_path="export",
            )
        print(summary_path.read_text())
        if not report["passed"]:
            raise ValueError(
                "Export parity check failed (report above); the previous export/ and "
                f"reports are kept. Received: passed={report['passed']}"
            )


def main(argv=None) -> int:
    return entry.main("export", run, argv)
