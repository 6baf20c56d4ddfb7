"""Deployable files from a trained model, and proof that they compute what Keras computes.

- ``export_saved_model``: a SavedModel for TensorFlow Serving (CPU or GPU).
- ``export_tflite``: a builtins-only ``.tflite`` file (fused LSTM, ``WHILE`` or
  unrolled loops; float32, float16, dynamic-range or full-int8).
- ``write_export_report``: parity against Keras, task-metric change, file
  size, operators, GPU-delegate compatibility and batch-1 latency.

This package imports TensorFlow; ``import rnnkeras`` does not import it.

Example:

>>> import keras, os, tempfile
>>> from rnnkeras.export import export_tflite
>>> from rnnkeras.layers import GRU
>>> model = keras.Sequential([keras.Input((10, 3)), GRU(4, name="gru")])
>>> export_tflite(model, os.path.join(tempfile.mkdtemp(), "gru.tflite")).forms["gru"].form
'while'
"""

from rnnkeras.export.report import write_export_report
from rnnkeras.export.runtime import TFLiteModel
from rnnkeras.export.saved_model import SavedModelExport, export_saved_model
from rnnkeras.export.tflite import TFLiteExport, export_tflite

__all__ = [
    "SavedModelExport",
    "TFLiteExport",
    "TFLiteModel",
    "export_saved_model",
    "export_tflite",
    "write_export_report",
]
