"""Task `anomaly`: flag the time steps a forecaster did not see coming.

A one-step forecaster (the `forecasting` model with `horizon` 1) reads a window of past values;
a step is flagged when the forecast misses its value by more than a threshold chosen on the
validation split, which holds no labelled anomaly: the largest miss there, so that the detector
raises no false alarm on normal validation data. The baseline is a rolling z-score, the
distance of the value from the mean of the same window in standard deviations of the window,
with its threshold chosen the same way. Both are scored against the labelled anomalies of the
test split with precision, recall and F1 of flagged points (scikit-learn).
"""

import functools

import numpy as np

import rnnkeras.pipeline.data.spec as spec_lib
from rnnkeras.pipeline.data.arrays import parsed_sequences
from rnnkeras.pipeline.tasks.forecasting import Forecasting


def rolling_z_scores(windows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """How far each value lies from the mean of the window before it, in the window's
    standard deviations (a window with no spread counts as spread 1e-6).

    Args:
        windows: `(n, window)` past values of the series, in the data's units.
        values: `(n,)` the value that follows each window.

    Returns:
        `(n,)` absolute z-scores.

    Example:

    >>> rolling_z_scores(np.array([[1.0, 3.0], [2.0, 2.0]]), np.array([4.0, 2.0])).tolist()
    [2.0, 0.0]
    """
    windows = np.asarray(windows, np.float64)
    spread = np.maximum(windows.std(axis=1), 1e-6)
    return np.abs(np.asarray(values, np.float64) - windows.mean(axis=1)) / spread


def flagging_threshold(validation_scores: np.ndarray) -> float:
    """The threshold a detector flags above: the largest score on the (anomaly-free)
    validation split, so that no validation step is flagged.

    Example:

    >>> flagging_threshold(np.array([0.5, 2.0, 1.0]))
    2.0
    """
    return float(np.max(validation_scores))


def detection_metrics(labels: np.ndarray, flagged: np.ndarray) -> dict:
    """Precision, recall and F1 of flagged points against labelled anomalies, and how many
    labelled anomalies (runs of consecutive labelled steps) have at least one flagged step.

    Args:
        labels: `(n,)` 1 where a step is a labelled anomaly, else 0, in time order.
        flagged: `(n,)` 1 (or `True`) where the detector flags the step.

    Returns:
        `precision`, `recall`, `f1` (scikit-learn, 0 where undefined), `flagged` (count),
        `events` (labelled runs) and `events_found`.

    Example:

    >>> m = detection_metrics(np.array([0, 1, 1, 0, 0, 1]), np.array([0, 1, 0, 1, 0, 0]))
    >>> m["precision"], m["recall"], m["events"], m["events_found"]
    (0.5, 0.3333333333333333, 2, 1)
    """
    from sklearn.metrics import precision_recall_fscore_support

    labels = np.asarray(labels, np.int64)
    flagged = np.asarray(flagged).astype(np.int64)
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, flagged, average="binary", zero_division=0
    )
    starts = np.flatnonzero(np.diff(np.concatenate([[0], labels])) == 1)
    ends = np.flatnonzero(np.diff(np.concatenate([labels, [0]])) == -1)
    found = sum(bool(flagged[s : e + 1].any()) for s, e in zip(starts, ends, strict=True))
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "flagged": int(flagged.sum()),
        "events": len(starts),
        "events_found": int(found),
    }


class AnomalyDetection(Forecasting):
    """Anomaly detection on a labelled series by one-step forecast residuals.

    Arrays are the `forecasting` windows with `horizon` 1 plus `label` `(n,)`: whether the
    forecast step is a labelled anomaly.

    Example:

    >>> from rnnkeras.pipeline.data import prepare_table, spec_from_params
    >>> prepare = {"dataset": "anomaly", "window": 52}
    >>> spec = spec_from_params(prepare)
    >>> arrays, meta = AnomalyDetection().table_to_arrays(prepare_table(spec, prepare), spec, prepare)
    >>> arrays["test"]["x"].shape, int(arrays["test"]["label"].sum()), meta["horizon"]
    ((5101, 52, 1), 12, 1)
    """

    name = "anomaly"

    def table_to_arrays(self, table, spec, prepare):
        """Forecasting windows with `horizon` 1 and the label of each forecast step."""
        arrays, meta = super().table_to_arrays(table, spec, {**prepare, "horizon": 1})
        (series,) = parsed_sequences(table, spec)
        label_of = dict(
            zip(
                series[spec_lib.TIME].astype(np.int64),
                series[spec_lib.LABEL].astype(int),
                strict=True,
            )
        )
        for split_arrays in arrays.values():
            split_arrays["label"] = np.array(
                [label_of[int(t)] for t in split_arrays["time_step"]], np.int32
            )
        if arrays["val"]["label"].any():
            raise ValueError(
                f"Dataset '{spec.name}': the detection threshold is chosen on the validation "
                "split, which must hold no labelled anomaly. Received: "
                f"{int(arrays['val']['label'].sum())} labelled validation step(s)"
            )
        return arrays, {**meta, "labels": list(spec.labels or ("0", "1"))}

    def evaluate(self, model, meta, splits):
        """Forecast residuals on val (threshold) and test (flags), against the z-score baseline;
        predictions table and a plot of the test series with true and flagged anomalies."""
        from rnnkeras.pipeline import evaluation

        val, test = splits["val"], splits["test"]
        change = {
            name: model.predict(splits[name]["x"], verbose=0)[:, 0] for name in ("val", "test")
        }
        residual = {name: np.abs(change[name] - splits[name]["y"][:, 0]) for name in change}
        z = {name: _z_scores(split, meta) for name, split in (("val", val), ("test", test))}
        threshold = flagging_threshold(residual["val"])
        baseline_threshold = flagging_threshold(z["val"])
        flagged = residual["test"] > threshold
        baseline_flagged = z["test"] > baseline_threshold
        model_metrics = detection_metrics(test["label"], flagged)
        baseline_metrics = detection_metrics(test["label"], baseline_flagged)
        actual = test["last_value"] + test["y"][:, 0]
        predicted = test["last_value"] + change["test"]
        rows = (
            (int(t), float(a), float(p), float(r), int(f), float(s), int(b), int(label))
            for t, a, p, r, f, s, b, label in zip(
                test["time_step"],
                actual,
                predicted,
                residual["test"],
                flagged,
                z["test"],
                baseline_flagged,
                test["label"],
                strict=True,
            )
        )
        metrics = {
            **model_metrics,
            "threshold": threshold,
            "anomalies": int(test["label"].sum()),
            "mae": float(np.mean(residual["test"])),
            **{f"baseline_{name}": value for name, value in baseline_metrics.items()},
            "baseline_threshold": baseline_threshold,
        }
        return evaluation.Evaluation(
            metrics=metrics,
            predictions_csv=evaluation.csv_text(
                (
                    "time_step",
                    "actual",
                    "predicted",
                    "residual",
                    "flagged",
                    "baseline_z",
                    "baseline_flagged",
                    "anomaly",
                ),
                rows,
            ),
            headline="f1",
            greater_is_better=True,
            plot_name="anomalies.png",
            plot=functools.partial(
                write_anomaly_plot,
                test["time_step"],
                actual,
                test["label"],
                flagged,
                baseline_flagged,
                unit=meta["target"],
            ),
        )


def _z_scores(split: dict, meta: dict) -> np.ndarray:
    index = meta["target_index"]
    windows = split["x"][:, :, index] + split["last_value"][:, None]
    return rolling_z_scores(windows, split["last_value"] + split["y"][:, 0])


def write_anomaly_plot(
    time_step: np.ndarray,
    values: np.ndarray,
    labels: np.ndarray,
    flagged: np.ndarray,
    baseline_flagged: np.ndarray,
    path,
    unit: str = "",
) -> None:
    """Draws the test series with its labelled anomalies shaded and the steps each detector
    flagged marked (model: red dots, rolling z-score: orange crosses).

    Args:
        time_step: `(n,)` time steps, increasing.
        values: `(n,)` the series' values.
        labels: `(n,)` 1 at labelled anomalies.
        flagged: `(n,)` steps the model flagged.
        baseline_flagged: `(n,)` steps the baseline flagged.
        path: The PNG file to write.
        unit: Label of the value axis.
    """
    from rnnkeras.figures import pyplot, save_png

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(10, 4))
    axis.plot(time_step, values, color="black", linewidth=0.8, label="series")
    labelled = np.asarray(labels).astype(bool)
    for start, end in _runs(labelled):
        axis.axvspan(time_step[start] - 0.5, time_step[end] + 0.5, color="tab:green", alpha=0.3)
    axis.plot([], [], color="tab:green", alpha=0.3, linewidth=8, label="labelled anomaly")
    model_flags = np.asarray(flagged).astype(bool)
    baseline_flags = np.asarray(baseline_flagged).astype(bool)
    axis.scatter(
        time_step[model_flags], values[model_flags], color="tab:red", s=14, label="model flags"
    )
    axis.scatter(
        time_step[baseline_flags],
        values[baseline_flags],
        color="tab:orange",
        marker="x",
        s=18,
        label="rolling z-score flags",
    )
    axis.set_xlabel("time step")
    axis.set_ylabel(unit or "value")
    axis.set_title("Test split: labelled and flagged anomalies")
    axis.legend(loc="upper right", fontsize=8)
    save_png(figure, path)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    starts = np.flatnonzero(np.diff(padded) == 1)
    ends = np.flatnonzero(np.diff(padded) == -1) - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


TASK = AnomalyDetection()
