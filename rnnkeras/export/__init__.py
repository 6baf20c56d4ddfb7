"""Deployable files from a trained model, and proof that they compute what Keras computes.

- `export_saved_model`: a SavedModel for TensorFlow Serving (CPU or GPU).
- `export_tflite`: a builtins-only `.tflite` file (fused LSTM, `WHILE` or
  unrolled loops; float32, float16, dynamic-range or full-int8).
- `write_export_report`: parity against Keras, task-metric change, file
  size, operators, GPU-delegate compatibility and batch-1 latency.

This package imports TensorFlow; `import rnnkeras` does not import it.

Example:

>>> import keras, os, tempfile
>>> from rnnkeras.export import export_tflite
>>> from rnnkeras.layers import GRU
>>> model = keras.Sequential([keras.Input((10, 3)), GRU(4, name="gru")])
>>> export_tflite(model, os.path.join(tempfile.mkdtemp(), "gru.tflite")).forms["gru"].form
'while'
"""

import importlib

# Where each public name lives. They load on first use, so the `rnnkeras export-model`
# command can be listed (`rnnkeras --help`) without importing TensorFlow.
_MODULES = {
    "SavedModelExport": "saved_model",
    "TFLiteExport": "tflite",
    "TFLiteModel": "runtime",
    "export_saved_model": "saved_model",
    "export_tflite": "tflite",
    "write_export_report": "report",
}

__all__ = [
    "SavedModelExport",
    "TFLiteExport",
    "TFLiteModel",
    "export_saved_model",
    "export_tflite",
    "write_export_report",
]


def __getattr__(name: str):
    if name in _MODULES:
        return getattr(importlib.import_module(f"rnnkeras.export.{_MODULES[name]}"), name)
    raise AttributeError(f"module 'rnnkeras.export' has no attribute {name!r}")
