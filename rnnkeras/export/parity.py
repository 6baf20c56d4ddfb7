"""How close an exported file comes to the Keras model, and the thresholds it must meet.

Float exports must reproduce Keras to float32 round-off. Quantized files are
judged by what they do to the task: accuracy for classification, mean squared
error for regression, compared with the Keras model on the same held-out data.

Example:

>>> import numpy as np
>>> keras_probs = np.array([[0.9, 0.1], [0.2, 0.8]])
>>> int8_probs = np.array([[0.85, 0.15], [0.3, 0.7]])
>>> result = compare(keras_probs, int8_probs, quantize="int8", targets=np.array([0, 1]))
>>> round(result["max_abs_diff"], 6), result["metric"], result["metric_change"], result["passed"]
(0.1, 'accuracy', 0.0, True)
"""

import numpy as np

FLOAT_MAX_ABS_DIFF = 1e-5
"""Float32 TFLite files and SavedModels: largest absolute output difference allowed."""

METRIC_TOLERANCE = {
    "float16": {"accuracy": 0.01, "mse": 0.05},
    "dynamic": {"accuracy": 0.02, "mse": 0.10},
    "int8": {"accuracy": 0.05, "mse": 0.25},
}
"""Quantized files: largest accuracy drop (absolute, 0.01 = one percentage point)
and largest relative MSE increase (0.05 = 5 %) allowed against the Keras model."""


def thresholds() -> dict:
    """Every threshold, as the report records them."""
    return {
        "float32_max_abs_diff": FLOAT_MAX_ABS_DIFF,
        "quantized_metric_tolerance": METRIC_TOLERANCE,
    }


def infer_task(predictions: np.ndarray, targets: np.ndarray | None) -> str | None:
    """`"classification"` (integer labels, or one-hot targets of probabilities) or `"regression"`."""
    if targets is None:
        return None
    targets = np.asarray(targets)
    if np.issubdtype(targets.dtype, np.integer) or np.issubdtype(targets.dtype, np.bool_):
        return "classification"
    one_hot = (
        targets.shape == predictions.shape
        and predictions.shape[-1] > 1
        and np.isin(targets, (0.0, 1.0)).all()
        and np.allclose(targets.sum(-1), 1.0)
    )
    return "classification" if one_hot else "regression"


def task_metric(predictions: np.ndarray, targets: np.ndarray, task: str) -> tuple[str, float]:
    """`("accuracy", value)` or `("mse", value)` of `predictions` against `targets`."""
    predictions, targets = np.asarray(predictions), np.asarray(targets)
    if task == "regression":
        return "mse", float(np.mean((predictions - targets.reshape(predictions.shape)) ** 2))
    if task != "classification":
        raise ValueError(
            f"task_metric expects task 'classification' or 'regression'. Received: task={task!r}"
        )
    if predictions.shape[-1] == 1:
        predicted = (predictions[..., 0] > 0.5).astype(int)
    else:
        predicted = predictions.argmax(-1)
    if targets.shape == predictions.shape and predictions.shape[-1] > 1:
        targets = targets.argmax(-1)
    return "accuracy", float(np.mean(predicted == targets.reshape(predicted.shape)))


def compare(
    reference: np.ndarray,
    candidate: np.ndarray,
    quantize: str | None = None,
    targets: np.ndarray | None = None,
    task: str | None = None,
) -> dict:
    """Parity of `candidate` outputs with the Keras `reference` outputs.

    Args:
        reference: Keras outputs on held-out inputs.
        candidate: The exported file's outputs on the same inputs.
        quantize: The file's quantization mode (`None` for float32).
        targets: Held-out targets, for the task metric.
        task: `"classification"` or `"regression"`; inferred from the
            targets when `None`.

    Returns:
        `max_abs_diff`, `mean_abs_diff`, the task `metric` with its
        Keras and export values and `metric_change` (export minus Keras), the
        `threshold` applied and `passed` (`None` when a quantized file
        has no targets to judge it by).
    """
    reference = np.asarray(reference, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    if reference.shape != candidate.shape:
        raise ValueError(
            f"compare expects outputs of the same shape. Received: reference.shape="
            f"{reference.shape}, candidate.shape={candidate.shape}"
        )
    difference = np.abs(reference - candidate)
    result = {
        "max_abs_diff": float(difference.max()),
        "mean_abs_diff": float(difference.mean()),
        "metric": None,
        "keras_metric": None,
        "export_metric": None,
        "metric_change": None,
    }
    task = task or infer_task(reference, targets)
    if targets is not None and task is not None:
        name, keras_value = task_metric(reference, targets, task)
        _, export_value = task_metric(candidate, targets, task)
        result.update(
            metric=name,
            keras_metric=keras_value,
            export_metric=export_value,
            metric_change=export_value - keras_value,
        )
    if quantize is None:
        result["threshold"] = f"max_abs_diff <= {FLOAT_MAX_ABS_DIFF:g}"
        result["passed"] = result["max_abs_diff"] <= FLOAT_MAX_ABS_DIFF
        return result
    if result["metric"] is None:
        result["threshold"] = "no targets: the metric tolerance was not checked"
        result["passed"] = None
        return result
    tolerance = METRIC_TOLERANCE[quantize][result["metric"]]
    if result["metric"] == "accuracy":
        result["threshold"] = f"accuracy drop <= {tolerance:g}"
        result["passed"] = -result["metric_change"] <= tolerance
    else:
        allowed = result["keras_metric"] * (1 + tolerance)
        result["threshold"] = f"mse <= keras mse * {1 + tolerance:g}"
        result["passed"] = result["export_metric"] <= allowed
    return result
