"""Stage `evaluate`: test-set metrics against a naive baseline, predictions and plots."""

import json
from pathlib import Path

from rnnkeras.pipeline.stages import entry, keras_backend, paths
from rnnkeras.pipeline.stages.outputs import staged_outputs

SPLITS = ("train", "val", "test")
OUTPUTS = (paths.METRICS, paths.PREDICTIONS, paths.PLOTS, paths.REGISTRY)


def run(params: dict, root: Path = Path(".")) -> None:
    """Scores models/model.keras on the test split, writes metrics/evaluate.json,
    reports/predictions.csv and reports/plots/, logs them to the training's MLflow run (a
    rerun: to a child run of it) and registers the model (the alias names the best version)."""
    keras_backend.select_backend("evaluate", params)  # TensorFlow, whatever trained the model

    import keras

    from rnnkeras.pipeline import evaluation, tasks, tracking
    from rnnkeras.pipeline.data import load_arrays, load_meta, registered_model_name

    meta = load_meta(root / paths.VALIDATED)
    task = tasks.get(meta["task"])
    splits = {split: load_arrays(root / paths.VALIDATED, split) for split in SPLITS}
    test = splits["test"]
    model = keras.models.load_model(root / paths.MODEL)
    result = evaluation.described(task.evaluate(model, meta, splits), meta, len(test["x"]))
    mlflow_params = params.get("mlflow", {})
    registry_params = {
        "registered_model": mlflow_params.get("registered_model", "rnnkeras"),
        "alias": mlflow_params.get("alias", "champion"),
    }
    registered_name = registered_model_name(params)
    # Written aside and moved in together at the end: a failed evaluate keeps the last good ones.
    with staged_outputs(root, OUTPUTS) as out:
        out[paths.METRICS].write_text(json.dumps(result.metrics, indent=2) + "\n")
        out[paths.PREDICTIONS].write_text(result.predictions_csv)
        out[paths.PLOTS].mkdir()
        result.write_plots(out[paths.PLOTS])
        tracking.configure(root)
        with tracking.resume_run(root / paths.MLFLOW_RUN, "evaluate", {"mlflow": registry_params}):
            tracking.log_metrics(
                {f"test.{k}": v for k, v in result.metrics.items() if isinstance(v, int | float)}
            )
            tracking.log_artifacts(
                [out[paths.METRICS], out[paths.PREDICTIONS], out[paths.PLOTS]], "evaluation"
            )
            registry = task.register(
                model, meta, test, result, registered_name, registry_params["alias"]
            )
        out[paths.REGISTRY].write_text(json.dumps(registry, indent=2) + "\n")
    print(f"evaluate: {result.summary()} -> {paths.METRICS}")


def main(argv=None) -> int:
    return entry.main("evaluate", run, argv)
