"""The export report: parity verdicts, edge facts, latencies."""

import json

import numpy as np
import pytest

from rnnkeras.export import export_saved_model, export_tflite, write_export_report
from rnnkeras.export.parity import compare, infer_task
from tests.export import export_models


@pytest.fixture(scope="module")
def report_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    model = export_models.classifier(export_models.recurrent("lstm", name="lstm"), masked=True)
    saved = export_saved_model(model, folder / "saved_model")
    fused = export_tflite(
        model, folder / "fused.tflite", sequence_length=export_models.TIMESTEPS, right_padded=True
    )
    loop = export_tflite(
        model, folder / "loop.tflite", sequence_length=export_models.TIMESTEPS, quantize="float16"
    )
    x = export_models.padded_inputs(24)
    y = np.arange(24) % 2
    report = write_export_report(
        model,
        folder / "export.json",
        x,
        y,
        saved_model=saved,
        tflite=[fused, loop],
        latency_runs=10,
    )
    return folder, model, report


def test_report_records_parity_and_edge_facts(report_files):
    folder, _, report = report_files
    assert json.loads((folder / "export.json").read_text()) == report
    assert report["passed"] is True and report["task"] == "classification"
    assert report["saved_model"]["parity"]["max_abs_diff"] <= 1e-5
    fused, loop = report["tflite"]
    assert fused["parity"]["max_abs_diff"] <= 1e-5 and fused["parity"]["passed"] is True
    assert fused["forms"]["lstm"]["form"] == "fused" and loop["forms"]["lstm"]["form"] == "while"
    assert fused["builtins_only"] and loop["builtins_only"]
    stable = {"plain_interpreter": True, "signature_runner": True}
    assert fused["invoke_stable"] == stable and loop["invoke_stable"] == stable
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in fused["gpu_delegate"]["unsupported_ops"]
    assert "WHILE" in loop["gpu_delegate"]["unsupported_ops"]
    assert loop["parity"]["metric"] == "accuracy" and loop["parity"]["threshold"].startswith(
        "accuracy"
    )
    assert fused["size_bytes"] == (folder / "fused.tflite").stat().st_size


def test_report_measures_latency(report_files):
    _, _, report = report_files
    latency = report["latency_ms"]
    figures = [latency["keras"]["eager"], latency["keras"]["graph"]]
    figures += [entry["latency_ms"] for entry in report["tflite"]]
    figures.append(report["saved_model"]["latency_ms"])
    assert all(isinstance(value, float) and value > 0 for value in figures)


def test_markdown_summary(report_files):
    folder, _, _ = report_files
    text = (folder / "export.md").read_text()
    assert "| fused.tflite | none |" in text and "| loop.tflite | float16 |" in text
    assert "All thresholds met: True." in text


def test_strict_report_fails_on_a_file_that_does_not_match(report_files, tmp_path):
    folder, model, _ = report_files
    other = export_models.classifier(
        export_models.recurrent("lstm", units=5, name="lstm", recurrent_initializer="ones"),
        masked=True,
    )
    stranger = export_tflite(
        other, tmp_path / "stranger.tflite", sequence_length=export_models.TIMESTEPS
    )
    with pytest.raises(ValueError, match="stranger.tflite"):
        write_export_report(
            model,
            tmp_path / "export.json",
            export_models.padded_inputs(),
            tflite=[stranger],
            latency_runs=3,
        )
    written = json.loads((tmp_path / "export.json").read_text())
    assert written["passed"] is False and written["tflite"][0]["parity"]["passed"] is False


def test_inputs_at_another_length_are_refused(report_files, tmp_path):
    folder, model, report = report_files
    fused = export_tflite(model, tmp_path / "f.tflite", sequence_length=export_models.TIMESTEPS)
    with pytest.raises(ValueError, match="pad or crop"):
        write_export_report(
            model,
            tmp_path / "r.json",
            export_models.padded_inputs()[:, :5],
            tflite=[fused],
        )


def test_parity_rules():
    keras_out = np.array([[1.0], [2.0], [3.0]])
    assert infer_task(keras_out, np.array([1.0, 2.0, 3.0])) == "regression"
    assert infer_task(np.eye(2), np.eye(2)) == "classification"
    better = compare(keras_out, keras_out + 0.1, "dynamic", keras_out + 0.1)
    assert better["metric"] == "mse" and better["metric_change"] < 0 and better["passed"] is True
    slightly_worse = compare(keras_out, keras_out - 0.01, "int8", keras_out + 0.1)
    assert slightly_worse["metric_change"] > 0 and slightly_worse["passed"] is True
    worse = compare(keras_out, keras_out + 0.5, "int8", keras_out + 0.1)
    assert worse["passed"] is False
    assert compare(keras_out, keras_out + 0.1, "int8")["passed"] is None
    assert compare(keras_out, keras_out + 2e-5)["passed"] is False
