"""`prepare.dataset=anomaly`: the labelled UCR series, its arrays, the detector's threshold and
metrics, and the rolling z-score baseline (checked against pandas and hand counts)."""

import csv
import dataclasses

import numpy as np
import pandas as pd
import pytest

from rnnkeras.pipeline import evaluation, tasks
from rnnkeras.pipeline.data import BUNDLED_DIR, prepare_table, spec_from_params
from rnnkeras.pipeline.tasks.anomaly import (
    detection_metrics,
    flagging_threshold,
    rolling_z_scores,
)
from rnnkeras.pipeline.validation import validate_table

PREPARE = {"dataset": "anomaly", "window": 52, "val_fraction": 0.2, "test_fraction": 0.15}
SOURCE = BUNDLED_DIR / "ucr_internal_bleeding16.csv"


@pytest.fixture(scope="module")
def prepared():
    spec = spec_from_params(PREPARE)
    table = prepare_table(spec, PREPARE)
    arrays, meta = tasks.table_to_arrays(table, spec, PREPARE)
    return spec, table, arrays, meta


def test_the_bundled_series_passes_validation_and_keeps_its_one_anomaly_in_test(prepared):
    spec, table, arrays, meta = prepared
    report = validate_table(table, spec)
    assert report["success"], report["failures"]
    with SOURCE.open() as stream:
        rows = list(csv.DictReader(stream))
    label_of = {int(r["timestamp"]): int(r["is_anomaly"]) for r in rows}
    value_of = {int(r["timestamp"]): float(r["value"]) for r in rows}
    assert sorted(t for t, label in label_of.items() if label) == list(range(4187, 4199))
    for split in ("train", "val", "test"):
        got = arrays[split]
        assert [label_of[int(t)] for t in got["time_step"]] == got["label"].tolist()
        np.testing.assert_allclose(
            got["last_value"] + got["y"][:, 0],
            [value_of[int(t)] for t in got["time_step"]],
            rtol=1e-6,
        )
    assert meta["counts"] == {"train": 1148, "val": 1200, "test": 5101}
    assert arrays["test"]["label"].sum() == 12 and not arrays["val"]["label"].any()
    assert meta["horizon"] == 1 and meta["task"] == "anomaly"


def test_a_bad_label_and_a_gap_in_time_are_named_with_line_and_column(tmp_path):
    lines = SOURCE.read_text().splitlines()
    lines[100] = lines[100].replace(",0,train", ",yes,train")  # line 101 of the file
    del lines[2000]  # time step 1999 is missing
    broken = tmp_path / "series.csv"
    broken.write_text("\n".join(lines) + "\n")
    spec = dataclasses.replace(spec_from_params(PREPARE), path=broken)
    report = validate_table(prepare_table(spec, PREPARE), spec)
    failures = "\n".join(report["failures"])
    assert "column 'is_anomaly': labels must be one of ['0', '1']" in failures
    assert "line 101" in failures and "'yes'" in failures
    assert "column 'timestamp': time steps must be consecutive" in failures
    assert "line 2001" in failures


def test_rolling_z_scores_match_pandas_rolling_statistics():
    values = pd.Series(np.random.default_rng(0).normal(10.0, 2.0, 200))
    window = 7
    mean = values.rolling(window).mean().shift(1)
    std = values.rolling(window).std(ddof=0).shift(1)
    expected = ((values - mean).abs() / std).iloc[window:].to_numpy()
    windows = np.stack([values.to_numpy()[t - window : t] for t in range(window, len(values))])
    got = rolling_z_scores(windows, values.to_numpy()[window:])
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_detection_metrics_count_points_and_events():
    labels = np.array([0, 0, 1, 1, 1, 0, 0, 1, 0, 0])
    flagged = np.array([1, 0, 0, 1, 0, 0, 0, 0, 0, 1])
    metrics = detection_metrics(labels, flagged)
    assert metrics["precision"] == pytest.approx(1 / 3)
    assert metrics["recall"] == pytest.approx(1 / 4)
    assert metrics["f1"] == pytest.approx(2 * (1 / 3) * (1 / 4) / (1 / 3 + 1 / 4))
    assert (metrics["flagged"], metrics["events"], metrics["events_found"]) == (3, 2, 1)
    assert detection_metrics(labels, np.zeros(10))["f1"] == 0.0
    assert flagging_threshold(np.array([0.1, 0.7, 0.2])) == 0.7


class MissesTheAnomalies:
    """A stand-in model: the true next change, except 5 units off at the labelled anomalies
    (it knows each split by its length)."""

    def __init__(self, splits):
        self.answers = {len(s["x"]): s["y"] + 5.0 * s["label"][:, None] for s in splits.values()}

    def predict(self, x, verbose=0):
        return self.answers[len(x)]


def test_the_detector_flags_what_it_misses_beyond_the_validation_threshold(prepared, tmp_path):
    _, _, arrays, meta = prepared
    task = tasks.get("anomaly")
    result = evaluation.described(
        task.evaluate(MissesTheAnomalies(arrays), meta, arrays), meta, len(arrays["test"]["x"])
    )
    metrics = result.metrics
    assert (metrics["precision"], metrics["recall"], metrics["f1"]) == (1.0, 1.0, 1.0)
    assert metrics["threshold"] == 0.0  # no miss at all on validation
    assert metrics["baseline_f1"] < 1.0 and metrics["events_found"] == 1
    assert (result.headline, result.greater_is_better) == ("f1", True)
    rows = result.predictions_csv.splitlines()
    assert (
        rows[0] == "time_step,actual,predicted,residual,flagged,baseline_z,baseline_flagged,anomaly"
    )
    assert len(rows) == 1 + len(arrays["test"]["x"])
    plot = result.write_plots(tmp_path)
    assert plot.name == "anomalies.png" and plot.stat().st_size > 0


def test_anomaly_models_have_a_registry_name_of_their_own():
    from rnnkeras.pipeline.data import registered_model_name

    params = {"prepare": {"dataset": "anomaly"}, "mlflow": {"registered_model": "rnnkeras"}}
    assert registered_model_name(params) == "rnnkeras-anomaly"
