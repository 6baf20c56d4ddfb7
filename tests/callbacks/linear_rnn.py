"""The one-unit linear RNN `h_t = w * h_{t-1} + x_t`, whose gradients through time are powers of `w`.

With the loss `sum_of_outputs`, `dL/dh_t` is known in closed form, so the
gradient-flow tests check the monitor against exact numbers.
"""

import keras

from rnnkeras.layers import SimpleRNN


def sum_of_outputs(y_true, y_pred):
    """A loss that ignores its targets: the sum of everything the model outputs."""
    return keras.ops.sum(y_pred)


def linear_rnn(w: float, **layer_kwargs) -> SimpleRNN:
    """`SimpleRNN(1)` computing `h_t = w * h_{t-1} + x_t` (no bias, input weight 1)."""
    return SimpleRNN(
        1,
        activation="linear",
        use_bias=False,
        kernel_initializer="ones",
        recurrent_initializer=keras.initializers.Constant(w),
        **layer_kwargs,
    )
