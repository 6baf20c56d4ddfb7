"""The few private Keras pieces rnnkeras builds on, gathered in one place.

Keras 3 exposes no public time loop or dropout-mask mixin for recurrent cells, so
these come from `keras.src`. Keeping every such import here makes the
dependency visible, and the pin `keras>=3.12,<3.16` in `setup.cfg` covers
the versions on which these names and signatures were checked.

- `DropoutRNNCell`: the mixin `keras.layers.RNN` recognises to build
  dropout masks once per sequence, so our cells share its semantics.
- `backend_rnn`: the backend's loop over time (a `tf.while_loop` with
  TensorArrays on TensorFlow), with masking, `go_backwards` and `unroll`.
- `backend_lstm` / `backend_gru`: the backend's fused kernels (cuDNN on a
  TensorFlow GPU). They raise `NotImplementedError` when they cannot run.
"""

from keras.src.backend import gru as backend_gru
from keras.src.backend import lstm as backend_lstm
from keras.src.backend import rnn as backend_rnn
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

__all__ = ["DropoutRNNCell", "backend_gru", "backend_lstm", "backend_rnn"]
