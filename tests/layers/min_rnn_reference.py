"""NumPy loops of minGRU and minLSTM, written from the paper's sequential equations.

Feng et al. (2024, "Were RNNs All We Needed?", arXiv 2410.01201), sections 3.1.3
and 3.2.3, with the activation `g` of appendix B. Float64, one step at a time,
no scan and nothing shared with `rnnkeras.layers`, so the layers' parallel and
step modes are both checked against it.
"""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def g(x):
    """`x + 0.5` for `x >= 0`, `sigmoid(x)` below (appendix B)."""
    return np.where(x >= 0, x + 0.5, sigmoid(x))


def min_gru_step(kernel, bias=None):
    """`z = sigmoid(x W_z + b_z)`, `h~ = g(x W_h + b_h)`, `h = (1 - z) h_prev + z h~`."""
    bias = np.zeros(kernel.shape[1]) if bias is None else bias
    w_z, w_h = np.split(kernel.astype(np.float64), 2, axis=1)
    b_z, b_h = np.split(bias.astype(np.float64), 2)

    def step(x, h_previous):
        z = sigmoid(x @ w_z + b_z)
        return (1.0 - z) * h_previous + z * g(x @ w_h + b_h)

    return step


def min_lstm_step(kernel, bias=None):
    """`f, i = sigmoid(...)`, `f' = f / (f + i)`, `i' = i / (f + i)`, `h = f' h_prev + i' h~`."""
    bias = np.zeros(kernel.shape[1]) if bias is None else bias
    w_f, w_i, w_h = np.split(kernel.astype(np.float64), 3, axis=1)
    b_f, b_i, b_h = np.split(bias.astype(np.float64), 3)

    def step(x, h_previous):
        f = sigmoid(x @ w_f + b_f)
        i = sigmoid(x @ w_i + b_i)
        return f / (f + i) * h_previous + i / (f + i) * g(x @ w_h + b_h)

    return step


def run(step, x, h0, mask=None, go_backwards=False, perturbation=None):
    """Runs `step` over `x (batch, T, features)` from `h0`.

    A masked step keeps the state and repeats the previous output (zeros before
    the first real step, as Keras' TensorFlow and PyTorch loops do).
    `perturbation (batch, T, units)`, in input order, is added to each new state.

    Returns:
        `(outputs (batch, T, units) in processing order, final state)`.
    """
    steps = x.shape[1]
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    h = np.asarray(h0, np.float64)
    output = np.zeros_like(h)
    outputs = []
    for t in order:
        new = step(x[:, t].astype(np.float64), h)
        if perturbation is not None:
            new = new + perturbation[:, t]
        if mask is not None:
            real = mask[:, t][:, None]
            h = np.where(real, new, h)
            output = np.where(real, new, output)
        else:
            h = output = new
        outputs.append(output)
    return np.stack(outputs, axis=1), h
