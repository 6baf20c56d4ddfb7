"""Test-set metrics against a naive baseline, prediction tables and plots.

Forecasting is compared with the last-value baseline (every future value equals the last
observed one); classification with the majority class of the training split. `evaluate`
gives everything the evaluate stage writes and registers, for either task.
"""

import csv
import dataclasses
import functools
import io
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from rnnkeras.figures import pyplot, save_png


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """A model's results on the test split, as the evaluate stage writes and registers them.

    Attributes:
        metrics: `task`, `dataset`, `test_size` and the task's metrics against its baseline
            (`forecasting_metrics` or `classification_metrics`).
        predictions_csv: The prediction table: a header, then one row per prediction.
        headline: The metric that ranks registered versions: `mae` or `accuracy`.
        greater_is_better: Whether a larger `headline` is better.
        plot_name: File name of the task's plot.
        plot: Draws the task's plot into the file it is given.
    """

    metrics: dict
    predictions_csv: str
    headline: str
    greater_is_better: bool
    plot_name: str
    plot: Callable[[Path], None] = dataclasses.field(repr=False)

    def write_plots(self, folder: str | Path) -> Path:
        """Draws the task's plot into `folder`; returns the file written."""
        path = Path(folder) / self.plot_name
        self.plot(path)
        return path

    def summary(self) -> str:
        """One line: the headline metric and its baseline, e.g. `test mae 0.41 (baseline 0.9)`."""
        value, baseline = self.metrics[self.headline], self.metrics[f"baseline_{self.headline}"]
        return f"test {self.headline} {value:.4f} (baseline {baseline:.4f})"


def evaluate(meta: dict, test: dict, predicted: np.ndarray, train_labels: np.ndarray) -> Evaluation:
    """Scores a model's test-split predictions for the task that `meta` names.

    Args:
        meta: The validated data's `meta.json`: `task` (`forecasting` or `classification`),
            `dataset`, and `target` (forecasting) or `classes` (classification).
        test: The test split's arrays: `x` and `y`, with `last_value` and `time_step`
            (forecasting) or `sequence_id` (classification).
        predicted: The model's outputs on `test["x"]`: forecast changes from the last value
            `(n, horizon)`, or class probabilities `(n, classes)`.
        train_labels: The training split's `y`; the classification baseline predicts their
            most frequent class.

    Returns:
        The `Evaluation`.

    Raises:
        ValueError: For a task other than `forecasting` or `classification`.

    Example:

    >>> meta = {"task": "classification", "dataset": "demo", "classes": ["a", "b"]}
    >>> test = {"x": np.zeros((2, 3, 1)), "y": np.array([0, 1]), "sequence_id": np.array([7, 8])}
    >>> result = evaluate(meta, test, np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([1, 1, 0]))
    >>> result.summary()
    'test accuracy 1.0000 (baseline 0.5000)'
    >>> print(result.predictions_csv, end="")
    sequence_id,actual,predicted,probability
    7,a,a,0.9000
    8,b,b,0.8000
    """
    if meta["task"] == "forecasting":
        result = _evaluate_forecasts(meta, test, predicted)
    elif meta["task"] == "classification":
        result = _evaluate_classes(meta, test, predicted, train_labels)
    else:
        raise ValueError(
            "evaluate expects meta task 'forecasting' or 'classification'. "
            f"Received: task={meta['task']!r}"
        )
    about = {"task": meta["task"], "dataset": meta["dataset"], "test_size": len(test["x"])}
    return dataclasses.replace(result, metrics={**about, **result.metrics})


def _csv_text(header: Iterable[str], rows: Iterable[Iterable]) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue()


def _evaluate_forecasts(meta: dict, test: dict, predicted: np.ndarray) -> Evaluation:
    """Forecasts are changes from the last observed value; metrics and rows use the values."""
    last_value = test["last_value"]
    actual = last_value[:, None] + test["y"]
    predicted = last_value[:, None] + predicted
    rows = (
        (int(time_step + step), step + 1, float(truth[step]), float(forecast[step]), float(last))
        for time_step, truth, forecast, last in zip(
            test["time_step"], actual, predicted, last_value, strict=True
        )
        for step in range(len(truth))
    )
    return Evaluation(
        metrics=forecasting_metrics(actual, predicted, last_value),
        predictions_csv=_csv_text(("time_step", "step", "actual", "predicted", "baseline"), rows),
        headline="mae",
        greater_is_better=False,
        plot_name="predicted_vs_actual.png",
        plot=functools.partial(
            write_forecast_plot, test["time_step"], actual, predicted, unit=meta["target"]
        ),
    )


def _evaluate_classes(
    meta: dict, test: dict, probabilities: np.ndarray, train_labels: np.ndarray
) -> Evaluation:
    classes = meta["classes"]
    metrics = classification_metrics(test["y"], probabilities, train_labels, classes)
    best = np.argmax(probabilities, axis=-1)
    rows = (
        (sequence, classes[actual], classes[choice], f"{float(row[choice]):.4f}")
        for sequence, actual, choice, row in zip(
            test["sequence_id"], test["y"], best, probabilities, strict=True
        )
    )
    return Evaluation(
        metrics=metrics,
        predictions_csv=_csv_text(("sequence_id", "actual", "predicted", "probability"), rows),
        headline="accuracy",
        greater_is_better=True,
        plot_name="confusion_matrix.png",
        plot=functools.partial(write_confusion_plot, metrics["confusion"], classes),
    )


def forecasting_metrics(y_true: np.ndarray, y_pred: np.ndarray, last_value: np.ndarray) -> dict:
    """MAE and RMSE of a forecast and of the last-value baseline, over every horizon step.

    Args:
        y_true: `(n, horizon)` actual values.
        y_pred: `(n, horizon)` forecasts.
        last_value: `(n,)` last observed target value of each window.

    Returns:
        `mae`, `rmse`, `baseline_mae`, `baseline_rmse`, `mae_vs_baseline` (model MAE divided
        by baseline MAE: below 1 means better than the baseline) and `mae_per_step`.

    Example:

    >>> y = np.array([[2.0, 3.0]]); last = np.array([1.0])
    >>> forecasting_metrics(y, np.array([[2.0, 2.0]]), last)["mae"]
    0.5
    """
    y_true = np.asarray(y_true, np.float64)
    y_pred = np.asarray(y_pred, np.float64).reshape(y_true.shape)
    baseline = np.broadcast_to(np.asarray(last_value, np.float64)[:, None], y_true.shape)
    error, baseline_error = y_pred - y_true, baseline - y_true
    mae, baseline_mae = float(np.mean(np.abs(error))), float(np.mean(np.abs(baseline_error)))
    return {
        "mae": mae,
        "rmse": float(np.sqrt(np.mean(error**2))),
        "baseline_mae": baseline_mae,
        "baseline_rmse": float(np.sqrt(np.mean(baseline_error**2))),
        "mae_vs_baseline": mae / baseline_mae if baseline_mae > 0 else None,
        "mae_per_step": [float(v) for v in np.mean(np.abs(error), axis=0)],
    }


def classification_metrics(
    y_true: np.ndarray, probabilities: np.ndarray, train_labels: np.ndarray, classes: list
) -> dict:
    """Accuracy, macro F1 and the confusion matrix, with the majority-class baseline.

    Args:
        y_true: `(n,)` class indices.
        probabilities: `(n, classes)` predicted probabilities.
        train_labels: class indices of the training split (the baseline predicts their
            most frequent class).
        classes: class names, in index order.

    Returns:
        `accuracy`, `macro_f1`, `baseline_accuracy`, `baseline_class` and `confusion`
        (rows: actual class, columns: predicted class).

    Example:

    >>> m = classification_metrics(np.array([0, 1, 1]), np.eye(2)[[0, 1, 0]],
    ...                            np.array([1, 1, 0]), ["a", "b"])
    >>> round(m["accuracy"], 3), round(m["baseline_accuracy"], 3), m["confusion"]
    (0.667, 0.667, [[1, 0], [1, 1]])
    """
    y_true = np.asarray(y_true, np.int64)
    predicted = np.argmax(probabilities, axis=-1)
    n = len(classes)
    confusion = np.zeros((n, n), np.int64)
    np.add.at(confusion, (y_true, predicted), 1)
    true_positive = np.diag(confusion).astype(np.float64)
    precision = np.divide(
        true_positive, confusion.sum(0), out=np.zeros(n), where=confusion.sum(0) > 0
    )
    recall = np.divide(true_positive, confusion.sum(1), out=np.zeros(n), where=confusion.sum(1) > 0)
    f1 = np.divide(
        2 * precision * recall, precision + recall, out=np.zeros(n), where=precision + recall > 0
    )
    present = confusion.sum(1) > 0
    majority = int(np.bincount(np.asarray(train_labels, np.int64), minlength=n).argmax())
    return {
        "accuracy": float(np.mean(predicted == y_true)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "baseline_accuracy": float(np.mean(y_true == majority)),
        "baseline_class": str(classes[majority]),
        "confusion": confusion.tolist(),
    }


def write_forecast_plot(
    time_step: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, path: str | Path, unit: str = ""
) -> None:
    """Plots actual values against the one-step-ahead and the furthest-step forecasts.

    Args:
        time_step: `(n,)` time step of each window's first forecast.
        y_true: `(n, horizon)` actual values.
        y_pred: `(n, horizon)` forecasts.
        path: The PNG file to write.
        unit: Label of the value axis, e.g. the target column's name.
    """
    plt = pyplot()

    horizon = y_true.shape[1]
    # Every actual value the forecasts cover, each time step once.
    steps = (np.asarray(time_step)[:, None] + np.arange(horizon)).ravel()
    steps, first = np.unique(steps, return_index=True)
    figure, axis = plt.subplots(figsize=(9, 4))
    axis.plot(steps, y_true.ravel()[first], color="black", linewidth=1.2, label="actual")
    axis.plot(time_step, y_pred[:, 0], color="tab:blue", linewidth=1.0, label="forecast, 1 step")
    if horizon > 1:
        axis.plot(
            time_step + horizon - 1,
            y_pred[:, -1],
            color="tab:orange",
            linewidth=1.0,
            label=f"forecast, {horizon} steps ahead",
        )
    axis.set_xlabel("time step")
    axis.set_ylabel(unit or "value")
    axis.set_title("Test split: predicted vs actual")
    axis.legend()
    save_png(figure, path)


def write_confusion_plot(confusion: list[list[int]], classes: list, path: str | Path) -> None:
    """Draws the confusion matrix (rows: actual, columns: predicted) with counts in the cells.

    Args:
        confusion: Counts, as `classification_metrics` returns them.
        classes: Class names, in index order.
        path: The PNG file to write.
    """
    plt = pyplot()

    matrix = np.asarray(confusion)
    figure, axis = plt.subplots(figsize=(1.0 + 0.55 * len(classes),) * 2)
    axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(len(classes)), [str(c) for c in classes])
    axis.set_yticks(range(len(classes)), [str(c) for c in classes])
    axis.set_xlabel("predicted")
    axis.set_ylabel("actual")
    axis.set_title("Test split: confusion matrix")
    for (row, column), count in np.ndenumerate(matrix):
        if count:
            color = "white" if count > matrix.max() / 2 else "black"
            axis.text(column, row, str(count), ha="center", va="center", color=color, fontsize=8)
    save_png(figure, path)
