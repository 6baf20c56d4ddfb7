"""NumPy references for `IndRNN` and `ESN`, written from the papers' equations.

Nothing here calls Keras or rnnkeras: a bug in our cells or in the shared loop
shows up against these loops.

- IndRNN (Li et al., CVPR 2018, eq. 2): `h_t = act(W x_t + u ⊙ h_{t-1} + b)`.
- Leaky-integrator ESN (Jaeger et al., 2007, eq. 2 with TFA's `ESNCell` form):
  `h_t = (1 - a) h_{t-1} + a act(W_in x_t + W h_{t-1} + b)`.
"""

import numpy as np


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def indrnn_step(kernel, recurrent_kernel, bias, activation=relu):
    """One IndRNN step: the recurrent weight is a vector, applied elementwise."""

    def step(x_t, h):
        return activation(x_t @ kernel + recurrent_kernel * h + bias)

    return step


def esn_step(kernel, recurrent_kernel, bias, leaky, activation=np.tanh):
    """One leaky-integrator ESN step."""

    def step(x_t, h):
        return (1.0 - leaky) * h + leaky * activation(x_t @ kernel + h @ recurrent_kernel + bias)

    return step


def run(step, x, units, initial_state=None, mask=None, go_backwards=False, perturbation=None):
    """Runs a single-state `step(x_t, h) -> h` over `x (batch, time, features)` in float64.

    A masked step keeps the state and repeats the previous output (zeros before
    the first real step). `perturbation[:, t]` is added to the state produced
    after input `t` (input order). Returns `(outputs in processing order, final h)`.
    """
    batch, timesteps = x.shape[:2]
    order = range(timesteps - 1, -1, -1) if go_backwards else range(timesteps)
    keep_all = np.ones((batch, timesteps), dtype=bool) if mask is None else mask
    h = np.zeros((batch, units)) if initial_state is None else np.asarray(initial_state, np.float64)
    outputs, previous = [], np.zeros((batch, units))
    for t in order:
        new = step(x[:, t].astype(np.float64), h)
        if perturbation is not None:
            new = new + perturbation[:, t]
        keep = keep_all[:, t][:, None]
        h = np.where(keep, new, h)
        output = np.where(keep, new, previous)
        outputs.append(output)
        previous = output
    return np.stack(outputs, axis=1), h


def spectral_radius(matrix: np.ndarray) -> float:
    """The largest eigenvalue magnitude of a square matrix."""
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(matrix, np.float64)))))
