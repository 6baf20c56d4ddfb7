"""rnnkeras: recurrent layers for Keras 3 and the tools to train, track and ship them.

`import rnnkeras` registers the layers with Keras (so `.keras` files that
use them load) as soon as Keras is imported, and costs no more than importing
Keras: MLflow, Great Expectations, DVC and the TFLite tooling load only inside
the functions that need them.

>>> import rnnkeras
>>> rnnkeras.layers.LSTM(4).units
4
"""

import importlib

import wrapt

from rnnkeras.saving import load_model

__version__ = "0.1.0"

__all__ = ["__version__", "layers", "load_model"]

# Registering the layers needs Keras, and importing Keras imports its backend (seconds). So
# they are registered the moment Keras is imported (now, if it already is): `.keras` files
# that use them load, and `rnnkeras --help` answers without importing TensorFlow.
wrapt.register_post_import_hook(lambda keras: importlib.import_module("rnnkeras.layers"), "keras")


def __getattr__(name: str):
    if name == "layers":
        return importlib.import_module("rnnkeras.layers")
    raise AttributeError(f"module 'rnnkeras' has no attribute {name!r}")
