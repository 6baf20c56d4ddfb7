"""The linear recurrence `h_t = a_t * h_{t-1} + b_t`, computed over all steps at once.

minGRU and minLSTM (Feng et al., 2024, "Were RNNs All We Needed?") take the
previous state out of their gates, so a layer's whole sequence of states obeys
this elementwise linear recurrence, with `a_t`, `b_t` known for every step in
advance. Composing two steps gives a step of the same form,
`(a1, b1) then (a2, b2) = (a1 * a2, a2 * b1 + b2)`, an associative operation,
so the states follow from a scan in `O(log T)` depth instead of `T` dependent
steps (Blelloch, 1990; Martin & Cundy, 2018).

Which scan runs depends on the backend, because each measured faster one way on
a 2-core CPU (`bench/long_sequences.py`, B=16, T=4096, H=128, forward and
backward): JAX compiles `keras.ops.associative_scan` into one fused program
(1.4 s against 2.1 s for the chunked form), while TensorFlow and PyTorch run
its `log2 T` levels of strided slices and interleaves op by op and were 4-8x
slower than the chunked form. The chunked form cuts the sequence into
`~sqrt(T)` chunks of `~sqrt(T)` steps, runs the steps of all chunks side by side,
passes the carry from chunk to chunk, then adds each chunk's carry to its
states: about `3 sqrt(T)` small elementwise operations whose total work is
linear in `T`. Both forms only multiply and add numbers in `[0, 1]` and the
inputs, so neither can overflow (unlike the closed form
`h_t = A_t * (h_0 + sum_s b_s / A_s)` with `A_t = prod a`, which divides by
products that underflow).

Example:

>>> import numpy as np
>>> a = np.full((1, 4, 1), 0.5, "float32")
>>> b = np.ones((1, 4, 1), "float32")
>>> import keras
>>> h = linear_recurrence(a, b, np.zeros((1, 1), "float32"))
>>> keras.ops.convert_to_numpy(h)[0, :, 0].tolist()
[1.0, 1.5, 1.75, 1.875]
"""

import math

import keras
from keras import ops


def _compose(earlier, later):
    a_earlier, b_earlier = earlier
    a_later, b_later = later
    return a_earlier * a_later, a_later * b_earlier + b_later


def _associative(a, b):
    return ops.associative_scan(_compose, (a, b), axis=1)[1]


def _chunked(a, b):
    steps, units = a.shape[1], a.shape[2]
    length = math.isqrt(steps - 1) + 1  # ceil(sqrt(steps))
    chunks = -(-steps // length)
    padding = chunks * length - steps
    if padding:
        # Padded steps are the identity step (a = 1, b = 0), past the real ones.
        a = ops.pad(a, [[0, 0], [0, padding], [0, 0]], constant_values=1.0)
        b = ops.pad(b, [[0, 0], [0, padding], [0, 0]])
    a = ops.reshape(a, (-1, chunks, length, units))
    b = ops.reshape(b, (-1, chunks, length, units))
    # Unstacking (not slicing) keeps the gradient linear in T: the gradient of
    # each slice would be a zero-padded tensor of the full size.
    a_steps, b_steps = ops.unstack(a, axis=2), ops.unstack(b, axis=2)
    local, decay = [b_steps[0]], [a_steps[0]]
    for a_t, b_t in zip(a_steps[1:], b_steps[1:], strict=True):
        local.append(a_t * local[-1] + b_t)
        decay.append(a_t * decay[-1])
    carry = ops.zeros_like(local[-1][:, 0])
    carries = []
    for decay_k, local_k in zip(
        ops.unstack(decay[-1], axis=1), ops.unstack(local[-1], axis=1), strict=True
    ):
        carries.append(carry)
        carry = decay_k * carry + local_k
    states = ops.stack(local, axis=2) + ops.stack(decay, axis=2) * ops.expand_dims(
        ops.stack(carries, axis=1), 2
    )
    return ops.reshape(states, (-1, chunks * length, units))[:, :steps]


def linear_recurrence(a, b, initial_state):
    """States of `h_t = a_t * h_{t-1} + b_t` for every step, computed in parallel.

    Args:
        a: Decay of each step, `(batch, timesteps, units)`; the time axis must
            have a known (static) length.
        b: Input of each step, same shape as `a`.
        initial_state: `h_0`, `(batch, units)`.

    Returns:
        `(batch, timesteps, units)`: `h_1, ..., h_T`.
    """
    a, b = ops.convert_to_tensor(a), ops.convert_to_tensor(b)
    initial_state = ops.convert_to_tensor(initial_state, a.dtype)
    first = b[:, :1] + a[:, :1] * ops.expand_dims(initial_state, 1)
    b = ops.concatenate([first, b[:, 1:]], axis=1) if b.shape[1] > 1 else first
    if keras.backend.backend() == "jax":
        return _associative(a, b)
    return _chunked(a, b)
