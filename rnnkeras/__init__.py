"""rnnkeras: recurrent layers for Keras 3 and the tools to train, track and ship them."""

__version__ = "0.1.0"
