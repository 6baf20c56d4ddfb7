"""Stage `evaluate`: test-set metrics against a naive baseline, predictions and plots."""

import json
from pathlib import Path

from rnnkeras.pipeline.stages import entry, keras_backend, paths
from rnnkeras.pipeline.stages.outputs import staged_outputs

OUTPUTS = (paths.METRICS, paths.PREDICTIONS, paths.PLOTS, paths.REGISTRY)


def run(params: dict, root: Path = Path(".")) -> None:
    """Scores models/model.keras on the test split, writes metrics/evaluate.json,
    reports/predictions.csv and reports/plots/, logs them to the training's MLflow run (a
    rerun: to a child run of it) and registers the model (the alias names the best version)."""
    keras_backend.select_backend("evaluate", params)  # TensorFlow, whatever trained the model

    import keras

    from rnnkeras.pipeline import evaluation, tracking
    from rnnkeras.pipeline.data import load_arrays, load_meta

    test = load_arrays(root / paths.VALIDATED, "test")
    model = keras.models.load_model(root / paths.MODEL)
    result = evaluation.evaluate(
        load_meta(root / paths.VALIDATED),
        test,
        model.predict(test["x"], verbose=0),
        train_labels=load_arrays(root / paths.VALIDATED, "train")["y"],
    )
    mlflow_params = params.get("mlflow", {})
    registry_params = {
        "registered_model": mlflow_params.get("registered_model", "rnnkeras"),
        "alias": mlflow_params.get("alias", "champion"),
    }
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
            registry = tracking.log_and_register_model(
                model,
                input_example=test["x"][:5],
                registered_name=registry_params["registered_model"],
                metric_name=f"test.{result.headline}",
                metric_value=result.metrics[result.headline],
                greater_is_better=result.greater_is_better,
                alias=registry_params["alias"],
            )
        out[paths.REGISTRY].write_text(json.dumps(registry, indent=2) + "\n")
    print(f"evaluate: {result.summary()} -> {paths.METRICS}")


def main(argv=None) -> int:
    return entry.main("evaluate", run, argv)
