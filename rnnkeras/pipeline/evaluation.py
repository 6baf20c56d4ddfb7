"""Test-set metrics against a naive baseline, prediction tables and plots.

The pieces the task kinds (`rnnkeras.pipeline.tasks`) score with: `Evaluation` (what the
evaluate stage writes and registers), forecasting metrics against the last-value baseline
(every future value equals the last observed one), classification metrics against the
majority class of the training split, and their plots.
"""

import csv
import dataclasses
import io
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from rnnkeras.figures import pyplot, save_png


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """A model's results on the test split, as the evaluate stage writes and registers them.

    Attributes:
        metrics: the task's metrics against its baseline (e.g. `forecasting_metrics` or
            `classification_metrics`); the stage puts `task`, `dataset` and `test_size`
            first (`described`). Numbers are logged to MLflow as `test.<name>`.
        predictions_csv: The prediction table: a header, then one row per prediction.
        headline: The metric that ranks registered versions, e.g. `mae` or `accuracy`;
            `metrics` holds it and `baseline_<headline>`.
        greater_is_better: Whether a larger `headline` is better.
        plot_name: File name of the task's plot (in `reports/plots/`).
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


def described(result: Evaluation, meta: dict, test_size: int) -> Evaluation:
    """`result` with `task`, `dataset` and `test_size` first in its metrics.

    Example:

    >>> result = Evaluation({"mae": 0.5, "baseline_mae": 1.0}, "", "mae", False, "p.png", print)
    >>> described(result, {"task": "forecasting", "dataset": "co2"}, 3).metrics
    {'task': 'forecasting', 'dataset': 'co2', 'test_size': 3, 'mae': 0.5, 'baseline_mae': 1.0}
    """
    about = {"task": meta["task"], "dataset": meta["dataset"], "test_size": int(test_size)}
    return dataclasses.replace(result, metrics={**about, **result.metrics})


def csv_text(header: Iterable[str], rows: Iterable[Iterable]) -> str:
    """A CSV table as text: the header, then one line per row (quoted where needed).

    Example:

    >>> print(csv_text(["a", "b"], [[1, "x, y"]]), end="")
    a,b
    1,"x, y"
    """
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue()


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
