"""Independent references for the layer tests: NumPy loops and PyTorch weight mapping.

Nothing here calls Keras, so a bug shared by our layers and the Keras built-ins
still shows up against these references.
"""

import numpy as np
import torch


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def run_loop(step, x, initial_states, mask=None, go_backwards=False):
    """Runs `step(x_t, states) -> (output, states)` over time like `keras.layers.RNN`.

    Masked steps carry the states and repeat the previous output (zeros before the
    first valid step), which is what Keras does when `zero_output_for_mask=False`.
    Returns the outputs in processing order, as Keras does for `go_backwards`.
    """
    batch, timesteps = x.shape[:2]
    order = range(timesteps - 1, -1, -1) if go_backwards else range(timesteps)
    if mask is None:
        mask = np.ones((batch, timesteps), dtype=bool)
    states = [np.asarray(s, dtype=np.float64) for s in initial_states]
    previous_output = None
    outputs = []
    for t in order:
        output, new_states = step(x[:, t].astype(np.float64), states)
        if previous_output is None:
            previous_output = np.zeros_like(output)
        keep = mask[:, t][:, None]
        output = np.where(keep, output, previous_output)
        states = [np.where(keep, new, old) for new, old in zip(new_states, states, strict=True)]
        outputs.append(output)
        previous_output = output
    return np.stack(outputs, axis=1), states


def simple_rnn_step(kernel, recurrent_kernel, bias, activation=np.tanh):
    def step(x_t, states):
        h = x_t @ kernel + states[0] @ recurrent_kernel
        if bias is not None:
            h = h + bias
        h = activation(h)
        return h, [h]

    return step


def lstm_step(kernel, recurrent_kernel, bias):
    """LSTM with tanh/sigmoid; gate columns i, f, c, o (Hochreiter & Schmidhuber, 1997)."""

    def step(x_t, states):
        h, c = states
        z = x_t @ kernel + h @ recurrent_kernel
        if bias is not None:
            z = z + bias
        i, f, g, o = np.split(z, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        return h, [h, c]

    return step


def gru_reset_before_step(kernel, recurrent_kernel, bias):
    """GRU of Cho et al. (2014): the reset gate multiplies h before the recurrent matmul.

    This is Keras' `reset_after=False`, which no PyTorch layer implements.
    Gate columns z, r, h; `bias` has shape (3 * units,).
    """
    units = recurrent_kernel.shape[0]

    def step(x_t, states):
        (h,) = states
        x_proj = x_t @ kernel
        if bias is not None:
            x_proj = x_proj + bias
        x_z, x_r, x_h = np.split(x_proj, 3, axis=-1)
        z = sigmoid(x_z + h @ recurrent_kernel[:, :units])
        r = sigmoid(x_r + h @ recurrent_kernel[:, units : 2 * units])
        candidate = np.tanh(x_h + (r * h) @ recurrent_kernel[:, 2 * units :])
        h = z * h + (1.0 - z) * candidate
        return h, [h]

    return step


def randomize_torch(module, rng, scale=0.6):
    """Replaces every parameter by N(0, scale^2) draws, bigger than PyTorch's default init."""
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(torch.from_numpy(rng.normal(0.0, scale, size=tuple(param.shape))))


def _np(tensor):
    return tensor.detach().numpy().astype(np.float32)


def keras_weights_from_torch_rnn(module, suffix="_l0"):
    """Keras SimpleRNN layout [kernel, recurrent_kernel, (bias)] from torch.nn.RNN."""
    weights = [
        _np(getattr(module, "weight_ih" + suffix)).T,
        _np(getattr(module, "weight_hh" + suffix)).T,
    ]
    if module.bias:
        weights.append(
            _np(getattr(module, "bias_ih" + suffix)) + _np(getattr(module, "bias_hh" + suffix))
        )
    return weights


def keras_weights_from_torch_lstm(module, suffix="_l0"):
    """Keras LSTM layout from torch.nn.LSTM: both use gate order i, f, c(g), o.

    PyTorch keeps two bias vectors that are always summed; Keras keeps their sum.
    """
    return keras_weights_from_torch_rnn(module, suffix)


def _zrh_columns(matrix_rzn):
    """PyTorch stacks GRU gates r, z, n along dim 0; Keras stacks z, r, h along the columns."""
    r, z, n = np.split(matrix_rzn, 3, axis=0)
    return np.concatenate([z, r, n], axis=0).T


def keras_weights_from_torch_gru(module, suffix="_l0"):
    """Keras GRU (reset_after=True) layout from torch.nn.GRU.

    Keras' bias has shape (2, 3 * units): row 0 is the input bias, row 1 the recurrent
    bias, which stays inside the reset-gate product exactly like PyTorch's b_hn.
    """
    weights = [
        _zrh_columns(_np(getattr(module, "weight_ih" + suffix))),
        _zrh_columns(_np(getattr(module, "weight_hh" + suffix))),
    ]
    if module.bias:
        input_bias = _zrh_columns(_np(getattr(module, "bias_ih" + suffix))[:, None])[0]
        recurrent_bias = _zrh_columns(_np(getattr(module, "bias_hh" + suffix))[:, None])[0]
        weights.append(np.stack([input_bias, recurrent_bias]))
    return weights
