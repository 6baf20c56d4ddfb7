"""Recurrent cells and layers for Keras 3.

Drop-in replacements for the Keras built-ins of the same names (same
arguments, same weight layout) plus `StackedRNN`:

>>> import numpy as np, keras
>>> from rnnkeras.layers import LSTM, Bidirectional
>>> model = keras.Sequential([keras.Input((10, 3)), Bidirectional(LSTM(8)), keras.layers.Dense(1)])
>>> tuple(model(np.zeros((2, 10, 3), "float32")).shape)
(2, 1)
"""

from rnnkeras.layers.bidirectional import Bidirectional
from rnnkeras.layers.esn import ESN, ESNCell
from rnnkeras.layers.gru import GRU, GRUCell
from rnnkeras.layers.indrnn import IndRNN, IndRNNCell
from rnnkeras.layers.layer_norm_gru import LayerNormGRU, LayerNormGRUCell
from rnnkeras.layers.layer_norm_lstm import LayerNormLSTM, LayerNormLSTMCell
from rnnkeras.layers.layer_norm_simple_rnn import LayerNormSimpleRNN, LayerNormSimpleRNNCell
from rnnkeras.layers.lstm import LSTM, LSTMCell
from rnnkeras.layers.min_gru import MinGRU, MinGRUCell
from rnnkeras.layers.min_lstm import MinLSTM, MinLSTMCell
from rnnkeras.layers.peephole_lstm import PeepholeLSTM, PeepholeLSTMCell
from rnnkeras.layers.simple_rnn import SimpleRNN, SimpleRNNCell
from rnnkeras.layers.stacked import StackedRNN

__all__ = [
    "ESN",
    "GRU",
    "LSTM",
    "Bidirectional",
    "ESNCell",
    "GRUCell",
    "IndRNN",
    "IndRNNCell",
    "LSTMCell",
    "LayerNormGRU",
    "LayerNormGRUCell",
    "LayerNormLSTM",
    "LayerNormLSTMCell",
    "LayerNormSimpleRNN",
    "LayerNormSimpleRNNCell",
    "MinGRU",
    "MinGRUCell",
    "MinLSTM",
    "MinLSTMCell",
    "PeepholeLSTM",
    "PeepholeLSTMCell",
    "SimpleRNN",
    "SimpleRNNCell",
    "StackedRNN",
]
