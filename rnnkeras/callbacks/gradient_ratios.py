"""How much gradient survives the trip back through time: the monitor's summary numbers.

From per-time-step norms of the gradient carried back from a recurrent layer's
last state (what `time_step_probe.GradientProbe` measures), `log10_ratio`
compares the norm at the first state with the norm at the last, per sequence
between its own first and last real (unmasked) step. Strongly negative means
vanishing gradients, strongly positive exploding ones (Bengio, Simard and
Frasconi, 1994, "Learning Long-Term Dependencies with Gradient Descent is
Difficult"; Pascanu, Mikolov and Bengio, 2013, "On the difficulty of training
recurrent neural networks"). NumPy only: the probe has already left the backend.
"""

import math

import numpy as np

# float32 underflows below this; a norm of exactly zero is counted as this.
SMALLEST_NORM = 1e-45


def first_and_last_real_steps(real_steps, go_backwards: bool = False) -> tuple:
    """Input-order indices of each sequence's first and last real step, "first"
    and "last" in the order the layer reads the sequence.

    Args:
        real_steps: Boolean array `(batch, timesteps)`, True where the step is
            real (the layer's mask). A sequence without real steps gets the
            bounds of an unmasked one.
        go_backwards: Whether the layer reads the sequence backwards.

    Returns:
        Two integer arrays `(batch,)`: first and last.

    Example:

    >>> import numpy as np
    >>> real = np.array([[True, True, True, False], [True, True, False, False]])
    >>> [a.tolist() for a in first_and_last_real_steps(real)]
    [[0, 0], [2, 1]]
    >>> [a.tolist() for a in first_and_last_real_steps(real, go_backwards=True)]
    [[2, 1], [0, 0]]
    """
    real = np.asarray(real_steps, dtype=bool)
    steps = real.shape[1]
    any_real = real.any(axis=1)
    lowest = np.where(any_real, real.argmax(axis=1), 0)
    highest = np.where(any_real, steps - 1 - real[:, ::-1].argmax(axis=1), steps - 1)
    return (highest, lowest) if go_backwards else (lowest, highest)


def log10_ratio(recurrent_grad_norms, go_backwards: bool = False, real_steps=None) -> float:
    """`log10(||g^T dh_last/dh_first|| / ||g||)`, `g = dL/dh_last`.

    From per-time-step norms of the gradient carried back from the last state
    (`recurrent_grad_norms`, in input order). `h_first` is the first state
    the layer computes (after input 1, or input T when it reads the sequence
    backwards) and `h_last` the last one, so the ratio is how much of the
    gradient at the end survives the trip back through time: strongly
    negative means vanishing, strongly positive exploding.

    With one row of norms per sequence and a mask (`real_steps`), each
    sequence is read between its own first and last real step, and the
    ratio compares the L2 norms, over the sequences, of the gradients there:
    `sqrt(sum_i ||g_i^T dh_last,i/dh_first,i||^2) / sqrt(sum_i ||g_i||^2)`
    (see `median_sequence_log10_ratio` for the typical sequence). This is the
    unmasked ratio of the whole batch (the same number when every step is
    real), aligned per sequence. Sequences with fewer than two real steps
    have no gradient to follow through time and are left out; without any
    others the ratio is NaN.

    Args:
        recurrent_grad_norms: Norms `(timesteps,)` (one series, e.g. already
            combined over the batch) or `(batch, timesteps)` (one per sequence).
        go_backwards: Whether the layer reads the sequence backwards.
        real_steps: None (every step real) or a boolean array of the shape of
            `recurrent_grad_norms`, True at real (unmasked) steps.

    Example:

    >>> log10_ratio([0.001, 0.1, 1.0])
    -3.0
    >>> norms = [[0.01, 0.1, 1.0], [0.01, 1.0, 0.0]]
    >>> real = [[True, True, True], [True, True, False]]
    >>> round(log10_ratio(norms, real_steps=real), 6)
    -2.0
    """
    at_first, at_last = _at_first_and_last(
        "log10_ratio", recurrent_grad_norms, go_backwards, real_steps
    )
    if not len(at_first):
        return math.nan
    return float(_log10(np.linalg.norm(at_first)) - _log10(np.linalg.norm(at_last)))


def median_sequence_log10_ratio(
    recurrent_grad_norms, go_backwards: bool = False, real_steps=None
) -> float:
    """The median, over the sequences with at least two real steps, of each
    sequence's own `log10(||g_i^T dh_last,i/dh_first,i|| / ||g_i||)`; NaN
    without such sequences. Arguments as for `log10_ratio`.

    Unlike `log10_ratio`, every sequence counts the same whatever the size of
    its gradient: it describes the typical sequence, where `log10_ratio`
    describes the gradient of the batch.

    Example:

    >>> median_sequence_log10_ratio([[0.01, 1.0], [0.1, 1.0], [1.0, 1.0]])
    -1.0
    """
    at_first, at_last = _at_first_and_last(
        "median_sequence_log10_ratio", recurrent_grad_norms, go_backwards, real_steps
    )
    if not len(at_first):
        return math.nan
    return float(np.median(_log10(at_first) - _log10(at_last)))


def _log10(norms):
    return np.log10(np.maximum(norms, SMALLEST_NORM))


def _at_first_and_last(caller, recurrent_grad_norms, go_backwards, real_steps) -> tuple:
    """The norms at each sequence's first and last real step (processing
    order), for the sequences with at least two real steps."""
    norms = np.atleast_2d(np.asarray(recurrent_grad_norms, dtype="float64"))
    real = np.ones(norms.shape, bool) if real_steps is None else np.asarray(real_steps, bool)
    if real.shape != norms.shape:
        raise ValueError(
            f"{caller} expects `real_steps` of the shape of the norms, {norms.shape}. "
            f"Received: real_steps.shape={real.shape}"
        )
    followed = real.sum(axis=1) >= 2
    first, last = first_and_last_real_steps(real[followed], go_backwards)
    rows = np.arange(int(followed.sum()))
    return norms[followed][rows, first], norms[followed][rows, last]


def combined_over_batch(norms: np.ndarray) -> np.ndarray:
    """(batch, timesteps) per-sequence norms -> (timesteps,) L2 norm over the batch."""
    return np.sqrt(np.sum(np.square(norms), axis=0))
