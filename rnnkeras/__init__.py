"""rnnkeras: recurrent layers for Keras 3 and the tools to train, track and ship them.

``import rnnkeras`` registers the layers with Keras (so ``.keras`` files that
use them load) and costs no more than importing Keras: MLflow, Great
Expectations, DVC and the TFLite tooling load only inside the functions that
need them.

>>> import rnnkeras
>>> rnnkeras.layers.LSTM(4).units
4
"""

from rnnkeras import layers

__version__ = "0.1.0"

__all__ = ["__version__", "layers"]
