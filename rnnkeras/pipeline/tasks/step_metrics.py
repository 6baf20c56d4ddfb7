"""Per-step scores of a sequence tagger: accuracy and macro F1 on the real (unpadded) steps.

The baseline tags every step with the most frequent tag of the training split's real steps.
Scores come from scikit-learn; padded steps (mask `False`) count in nothing.
"""

import numpy as np


def real_steps(labels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The labels of the real steps, flattened in row order.

    Raises:
        ValueError: If `labels` and `mask` differ in shape.

    Example:

    >>> real_steps(np.array([[1, 2, 0]]), np.array([[True, True, False]])).tolist()
    [1, 2]
    """
    labels, mask = np.asarray(labels), np.asarray(mask, bool)
    if labels.shape[: mask.ndim] != mask.shape:
        raise ValueError(
            f"real_steps expects labels shaped like the mask {mask.shape}. "
            f"Received: labels.shape={labels.shape}"
        )
    return labels[mask]


def tagging_metrics(
    y_true: np.ndarray,
    probabilities: np.ndarray,
    mask: np.ndarray,
    train_labels: np.ndarray,
    train_mask: np.ndarray,
    tags: list[str],
) -> dict:
    """Per-step accuracy, macro F1, per-tag F1 and confusion matrix, with the majority-tag baseline.

    Args:
        y_true: `(n, timesteps)` tag indices (anything on padded steps).
        probabilities: `(n, timesteps, tags)` predicted probabilities.
        mask: `(n, timesteps)` booleans, `True` on real steps.
        train_labels: `(m, timesteps)` tag indices of the training split.
        train_mask: `(m, timesteps)` its real steps; the baseline predicts the most frequent
            tag among them.
        tags: Tag names, in index order.

    Returns:
        `accuracy`, `macro_f1` (over the tags that occur in `y_true`'s real steps),
        `baseline_accuracy`, `baseline_macro_f1`, `baseline_tag`, `steps` (real steps
        scored), `f1_per_tag` (`{tag: f1}`) and `confusion` (rows: actual, columns: predicted).

    Example:

    >>> y = np.array([[0, 1, 1, 0]]); mask = np.array([[True, True, True, False]])
    >>> p = np.eye(2)[[[0, 1, 0, 1]]]
    >>> m = tagging_metrics(y, p, mask, np.array([[1, 1, 0]]), np.ones((1, 3), bool), ["a", "b"])
    >>> round(m["accuracy"], 3), round(m["baseline_accuracy"], 3), m["confusion"]
    (0.667, 0.667, [[1, 0], [1, 1]])
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    truth = real_steps(y_true, mask).astype(np.int64)
    predicted = real_steps(np.argmax(probabilities, axis=-1), mask).astype(np.int64)
    train = real_steps(train_labels, train_mask).astype(np.int64)
    if not len(truth) or not len(train):
        raise ValueError(
            "tagging_metrics needs real steps in both the test and the training labels. "
            f"Received: {len(truth)} test steps, {len(train)} training steps"
        )
    n = len(tags)
    majority = int(np.bincount(train, minlength=n).argmax())
    baseline = np.full_like(truth, majority)
    present = sorted(set(truth.tolist()))
    per_tag = f1_score(truth, predicted, labels=list(range(n)), average=None, zero_division=0)
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(
            f1_score(truth, predicted, labels=present, average="macro", zero_division=0)
        ),
        "baseline_accuracy": float(accuracy_score(truth, baseline)),
        "baseline_macro_f1": float(
            f1_score(truth, baseline, labels=present, average="macro", zero_division=0)
        ),
        "baseline_tag": str(tags[majority]),
        "steps": int(len(truth)),
        "f1_per_tag": {str(tags[i]): float(per_tag[i]) for i in present},
        "confusion": confusion_matrix(truth, predicted, labels=list(range(n))).tolist(),
    }
