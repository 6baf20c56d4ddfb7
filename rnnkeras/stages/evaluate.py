"""Stage `evaluate`: test-set metrics against a naive baseline, predictions and plots."""

import json
from pathlib import Path

from rnnkeras.stages import entry, paths
from rnnkeras.stages.outputs import staged_outputs

OUTPUTS = (paths.METRICS, paths.PREDICTIONS, paths.PLOTS, paths.REGISTRY)


def run(params: dict, root: Path = Path(".")) -> None:
    """Scores models/model.keras on the test split, writes metrics/evaluate.json,
    reports/predictions.csv and reports/plots/, logs them to the training's MLflow run (a
    rerun: to a child run of it) and registers the model (the alias names the best version)."""
    import keras
    import numpy as np

    from rnnkeras import evaluation, tracking
    from rnnkeras.data import load_arrays, load_meta

    meta = load_meta(root / paths.VALIDATED)
    test = load_arrays(root / paths.VALIDATED, "test")
    model = keras.models.load_model(root / paths.MODEL)
    predicted = model.predict(test["x"], verbose=0)
    if meta["task"] == "forecasting":
        last_value = test["last_value"]
        actual = last_value[:, None] + test["y"]
        predicted = last_value[:, None] + predicted
        metrics = evaluation.forecasting_metrics(actual, predicted, last_value)
        rows = ["time_step,step,actual,predicted,baseline"]
        for t, truth, forecast, last in zip(
            test["time_step"], actual, predicted, last_value, strict=True
        ):
            rows += [
                f"{t + step},{step + 1},{float(truth[step])!r},{float(forecast[step])!r},"
                f"{float(last)!r}"
                for step in range(len(truth))
            ]
        headline = ("mae", False)
    else:
        train_labels = load_arrays(root / paths.VALIDATED, "train")["y"]
        metrics = evaluation.classification_metrics(
            test["y"], predicted, train_labels, meta["classes"]
        )
        classes = meta["classes"]
        rows = ["sequence_id,actual,predicted,probability"]
        for sequence, actual, probabilities in zip(
            test["sequence_id"], test["y"], predicted, strict=True
        ):
            best = int(np.argmax(probabilities))
            rows.append(
                f"{sequence},{classes[actual]},{classes[best]},{float(probabilities[best]):.4f}"
            )
        headline = ("accuracy", True)
    metrics = {
        "task": meta["task"],
        "dataset": meta["dataset"],
        "test_size": len(test["x"]),
        **metrics,
    }
    # Written aside and moved in together at the end: a failed evaluate keeps the last good ones.
    with staged_outputs(root, OUTPUTS) as out:
        out[paths.METRICS].write_text(json.dumps(metrics, indent=2) + "\n")
        out[paths.PREDICTIONS].write_text("\n".join(rows) + "\n")
        plots = out[paths.PLOTS]
        plots.mkdir()
        if meta["task"] == "forecasting":
            evaluation.write_forecast_plot(
                test["time_step"],
                actual,
                predicted,
                plots / "predicted_vs_actual.png",
                unit=meta["target"],
            )
        else:
            evaluation.write_confusion_plot(
                metrics["confusion"], meta["classes"], plots / "confusion_matrix.png"
            )
        mlflow_params = params.get("mlflow", {})
        registry_params = {
            "registered_model": mlflow_params.get("registered_model", "rnnkeras"),
            "alias": mlflow_params.get("alias", "champion"),
        }
        tracking.configure(root)
        with tracking.resume_run(root / paths.MLFLOW_RUN, "evaluate", {"mlflow": registry_params}):
            tracking.log_metrics(
                {f"test.{k}": v for k, v in metrics.items() if isinstance(v, int | float)}
            )
            tracking.log_artifacts(
                [out[paths.METRICS], out[paths.PREDICTIONS], plots], "evaluation"
            )
            registry = tracking.log_and_register_model(
                model,
                input_example=test["x"][:5],
                registered_name=registry_params["registered_model"],
                metric_name=f"test.{headline[0]}",
                metric_value=metrics[headline[0]],
                greater_is_better=headline[1],
                alias=registry_params["alias"],
            )
        out[paths.REGISTRY].write_text(json.dumps(registry, indent=2) + "\n")
    baseline = metrics[f"baseline_{headline[0]}"]
    print(
        f"evaluate: test {headline[0]} {metrics[headline[0]]:.4f} "
        f"(baseline {baseline:.4f}) -> {paths.METRICS}"
    )


def main(argv=None) -> int:
    return entry.main("evaluate", run, argv)
