"""`write_export_report`: parity, edge facts and latency of every export, as JSON and Markdown."""

import importlib.metadata
import json
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from rnnkeras.atomic_files import atomic_path
from rnnkeras.export.flatbuffer import custom_operators, gpu_compatibility
from rnnkeras.export.latency import keras_latency_ms, saved_model_latency_ms
from rnnkeras.export.parity import compare, infer_task, thresholds
from rnnkeras.export.precision import float32_model
from rnnkeras.export.runtime import TFLiteModel, interpreter_class
from rnnkeras.export.saved_model import SIGNATURE, SavedModelExport
from rnnkeras.export.tensorflow_process import runs_on_tensorflow
from rnnkeras.export.tflite import TFLiteExport


def _versions(runtime: str) -> dict:
    names = ["tensorflow-cpu", "tensorflow", "keras", "ai-edge-litert"]
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    versions["tflite_runtime"] = runtime
    return versions


def _as_list(inputs) -> list[np.ndarray]:
    return [
        np.asarray(array) for array in (inputs if isinstance(inputs, (list, tuple)) else [inputs])
    ]


def _flat(outputs) -> np.ndarray:
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    if len(outputs) == 1:
        return np.asarray(outputs[0])
    return np.concatenate(
        [np.asarray(output).reshape(len(output), -1) for output in outputs], axis=1
    )


def _saved_model_outputs(export: SavedModelExport, inputs: list[np.ndarray]):
    import tensorflow as tf

    signature = tf.saved_model.load(str(export.path)).signatures[SIGNATURE]
    chunks = []
    for start in range(0, len(inputs[0]), 256):
        feed = {
            name: tf.constant(a[start : start + 256])
            for name, a in zip(export.inputs, inputs, strict=True)
        }
        result = signature(**feed)
        chunks.append([result[f"output_{i}"].numpy() for i in range(len(result))])
    return [np.concatenate(parts) for parts in zip(*chunks, strict=True)], signature


def _check_lengths(exports: Sequence[TFLiteExport], inputs: list[np.ndarray]) -> None:
    lengths = [array.shape[1] for array in inputs]
    for export in exports:
        if lengths != export.sequence_length:
            raise ValueError(
                f"The held-out inputs have {lengths} time steps but {export.path} was exported "
                f"at {export.sequence_length}; pad or crop them to the export's length. "
                f"Received: time steps={lengths}"
            )


def _tflite_entry(export: TFLiteExport, inputs, reference, targets, task, runs: int) -> dict:
    runner = TFLiteModel(export.path, input_names=export.inputs)
    outputs = runner.predict(inputs)
    content = Path(export.path).read_bytes()
    return {
        "path": str(export.path),
        "quantize": export.quantize or "none",
        "batch_size": export.batch_size,
        "sequence_length": export.sequence_length,
        "size_bytes": export.size_bytes,
        "operators": export.operators,
        "builtins_only": not custom_operators(export.operators),
        "forms": {
            path: {"form": f.form, "kind": f.kind, "reason": f.reason}
            for path, f in export.forms.items()
        },
        "invoke_stable": runner.invoke_stability(inputs),
        "gpu_delegate": gpu_compatibility(content),
        "parity": compare(reference, _flat(outputs), export.quantize, targets, task),
        "latency_ms": runner.latency_ms(inputs, runs=runs),
    }


@runs_on_tensorflow
def write_export_report(
    model: keras.Model,
    path: str | Path,
    inputs,
    targets: np.ndarray | None = None,
    saved_model: SavedModelExport | None = None,
    tflite: Sequence[TFLiteExport] = (),
    task: str | None = None,
    max_samples: int = 512,
    latency_runs: int = 100,
    strict: bool = True,
) -> dict:
    """Checks every export against the Keras model and writes the report.

    For each export: max/mean absolute output difference from Keras on the
    held-out inputs, the task metric (accuracy or MSE) of Keras and of the
    file, and whether the documented threshold is met
    (`rnnkeras.export.parity`). For each TFLite file also: size, operator
    counts, builtins-only check, the form each recurrent layer took, whether
    repeated invokes without a reset give identical outputs (plain interpreter
    and signature runner, `TFLiteModel.invoke_stability`), the analyzer's
    GPU-delegate verdict and batch-1 latency. A mixed-precision model is
    compared through its float32 twin, whose weights the files hold. Batch-1 latency of
    Keras (eager and `tf.function`) and of the SavedModel at the same shape is
    measured for comparison (`rnnkeras.export.latency`).

    The report goes to `path` (JSON) and `path` with suffix `.md` (a
    summary table), each written whole or not at all.

    Args:
        model: The Keras model the files were exported from.
        path: The JSON report file, e.g. `reports/export.json`.
        inputs: Held-out inputs at the TFLite files' sequence length (an array,
            or a list with one array per model input).
        targets: Held-out targets, for the task metric.
        saved_model: The `export_saved_model` result, if any.
        tflite: `export_tflite` results.
        task: `"classification"` or `"regression"`; inferred when `None`.
        max_samples: Held-out samples used (the first ones).
        latency_runs: Timed calls per latency figure.
        strict: Raise a `ValueError` naming the failing exports after
            writing the report when any misses its threshold or is not
            invoke-stable.

    Returns:
        The report as a dict.

    Example:

    >>> import keras, numpy as np, os, tempfile
    >>> from rnnkeras.export import export_tflite
    >>> from rnnkeras.layers import LSTM
    >>> model = keras.Sequential([keras.Input((8, 2)), LSTM(4), keras.layers.Dense(1)])
    >>> folder = tempfile.mkdtemp()
    >>> export = export_tflite(model, os.path.join(folder, "m.tflite"))
    >>> x = np.random.default_rng(0).normal(size=(16, 8, 2)).astype("float32")
    >>> report = write_export_report(model, os.path.join(folder, "export.json"), x,
    ...                              tflite=[export], latency_runs=5)
    >>> report["tflite"][0]["parity"]["passed"], report["passed"]
    (True, True)
    """
    inputs = [array[:max_samples] for array in _as_list(inputs)]
    _check_lengths(tflite, inputs)
    if targets is not None:
        targets = np.asarray(targets)[:max_samples]
    # Exports compute with the float32 weights, so a mixed-precision model is
    # compared through its float32 twin, as it was exported.
    reference = _flat(
        float32_model(model).predict(
            inputs if len(inputs) > 1 else inputs[0], verbose=0, batch_size=64
        )
    )
    task = task or infer_task(reference, targets)
    sample = [array[:1] for array in inputs]
    _, runtime = interpreter_class()
    report = {
        "model": {"name": model.name, "parameters": int(model.count_params())},
        "samples": len(inputs[0]),
        "task": task,
        "thresholds": thresholds(),
        "versions": _versions(runtime),
        "latency_ms": {"keras": keras_latency_ms(model, sample, latency_runs)},
        "saved_model": None,
        "tflite": [],
    }
    if saved_model is not None:
        outputs, signature = _saved_model_outputs(saved_model, inputs)
        report["saved_model"] = {
            "path": str(saved_model.path),
            "version": saved_model.version,
            "parity": compare(reference, _flat(outputs), None, targets, task),
            "latency_ms": saved_model_latency_ms(
                signature, saved_model.inputs, sample, latency_runs
            ),
        }
    for export in tflite:
        report["tflite"].append(
            _tflite_entry(export, inputs, reference, targets, task, latency_runs)
        )
    report["passed"] = not _failed(report)
    path = Path(path)
    with atomic_path(path) as staging:
        staging.write_text(json.dumps(report, indent=2) + "\n")
    with atomic_path(path.with_suffix(".md")) as staging:
        staging.write_text(summary_table(report))
    if strict and not report["passed"]:
        raise ValueError(
            "Exports missed their parity thresholds or gave different outputs on repeated "
            f"invokes (details in {path}). Received: failed={_failed(report)}"
        )
    return report


def _failed(report: dict) -> list[str]:
    """Paths of the exports that missed their threshold or were not invoke-stable."""
    failed = [
        entry["path"]
        for entry in report["tflite"]
        if entry["parity"]["passed"] is False or not all(entry["invoke_stable"].values())
    ]
    if report["saved_model"] and report["saved_model"]["parity"]["passed"] is False:
        failed.append(report["saved_model"]["path"])
    return failed


def _number(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and (abs(value) < 1e-3 and value != 0):
        return f"{value:.1e}"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def summary_table(report: dict) -> str:
    """The report as Markdown: one row per export, then the reference latencies."""
    lines = [
        f"# Export report: {report['model']['name']}",
        "",
        f"{report['samples']} held-out samples; task: {report['task'] or 'unknown (no targets)'}; "
        f"runtime: {report['versions']['tflite_runtime']}.",
        "",
        "| file | quantize | size (KB) | recurrent forms | max abs diff | metric change | invoke-stable | passed | batch-1 latency (ms) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    saved = report["saved_model"]
    if saved:
        parity = saved["parity"]
        lines.append(
            f"| {saved['path']} | none | – | own loops | {_number(parity['max_abs_diff'])} | "
            f"{_number(parity['metric_change'])} | – | {parity['passed']} | "
            f"{_number(saved['latency_ms'])} |"
        )
    for entry in report["tflite"]:
        forms = ", ".join(sorted({form["form"] for form in entry["forms"].values()})) or "–"
        parity = entry["parity"]
        lines.append(
            f"| {Path(entry['path']).name} | {entry['quantize']} | {entry['size_bytes'] / 1024:.1f} | "
            f"{forms} | {_number(parity['max_abs_diff'])} | {_number(parity['metric_change'])} | "
            f"{all(entry['invoke_stable'].values())} | {parity['passed']} | "
            f"{_number(entry['latency_ms'])} |"
        )
    latency = report["latency_ms"]
    lines += [
        "",
        f"Keras batch-1 latency: eager {_number(latency['keras']['eager'])} ms, "
        f"tf.function {_number(latency['keras']['graph'])} ms.",
    ]
    lines.append(f"All thresholds met: {report['passed']}.")
    return "\n".join(lines) + "\n"
