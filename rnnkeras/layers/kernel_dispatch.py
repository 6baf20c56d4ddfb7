"""The one place that decides how a layer runs: fused (cuDNN) kernel, XLA loop or plain loop.

Our `LSTM` and `GRU` keep the Keras weight layout, so on a GPU they can hand
their weights to the same fused (cuDNN) kernels the Keras built-ins use, which
Keras 3.15 offers on every backend (`keras.src.backend.<name>.rnn`).
`fused_kernel_blockers` lists every reason the fused kernel cannot run for a
layer on the current backend; an empty list means the layer will try it (and
still falls back to the loop if the backend refuses at run time).

Where no fused kernel applies, `xla_loop_blockers` decides whether the loop
runs compiled by XLA: on TensorFlow's CPU, Keras leaves `jit_compile="auto"`
off, so a default `predict` would otherwise run the loop op by op.

Example:

>>> from rnnkeras.layers import GRU
>>> "reset_after=False" in " ".join(fused_kernel_blockers(GRU(4, reset_after=False)))
True
"""

import keras
from keras import activations, ops

from rnnkeras.layers.keras_internals import backend_gru, backend_lstm

_TANH = (activations.tanh, ops.tanh)
_SIGMOID = (activations.sigmoid, ops.sigmoid)
# Keras' JAX and PyTorch kernels refuse any mask (they raise and Keras loops);
# its TensorFlow kernel takes right-padded masks and checks them at run time.
_TAKES_MASKS = {"tensorflow": True, "jax": False, "torch": False}


def gpu_available() -> bool:
    """Whether the current backend sees a GPU it can run cuDNN on.

    Asks each framework the way Keras' own kernels do, so the answer never
    raises on a machine without a GPU. Tests replace this seam to simulate one.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_logical_devices("GPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    if backend == "torch":
        import torch

        return torch.cuda.is_available() and torch.backends.cudnn.is_available()
    return False


def fused_kernel_blockers(layer, masked: bool = False) -> list[str]:
    """Reasons why `layer` cannot run a fused (cuDNN) kernel; empty if it can.

    Args:
        layer: An rnnkeras recurrent layer.
        masked: Whether the call at hand carries a mask.

    Returns:
        Human-readable reasons, e.g. `["recurrent_dropout=0.2 (must be 0)"]`.
    """
    kernel = getattr(layer, "fused_kernel", None)
    if kernel is None:
        # E.g. PeepholeLSTM: cuDNN's LSTM has no cell-to-gate (peephole) weights.
        return [f"{type(layer).__name__} has no fused kernel"]
    backend = keras.backend.backend()
    cell = layer.cell
    checks = [
        (layer.use_cudnn is not False, "use_cudnn=False"),
        (backend in _TAKES_MASKS, f"backend {backend!r} has no fused kernel"),
        (
            not masked or _TAKES_MASKS.get(backend, False),
            f"a mask (the {backend} fused kernel takes none)",
        ),
        (cell.activation in _TANH, "activation is not tanh"),
        (cell.recurrent_activation in _SIGMOID, "recurrent_activation is not sigmoid"),
        (
            cell.recurrent_dropout == 0,
            f"recurrent_dropout={cell.recurrent_dropout} (must be 0)",
        ),
        (not layer.unroll, "unroll=True"),
        (cell.use_bias, "use_bias=False"),
        (kernel != "gru" or cell.reset_after, "reset_after=False"),
        # Keras 3.15's lstm kernels (TensorFlow, JAX, PyTorch) take no
        # projection weights; PyTorch's own cuDNN LSTM does (weight_hr), but
        # Keras' torch path hands torch._VF.lstm four weights per layer only.
        (
            getattr(cell, "proj_size", None) is None,
            f"proj_size={getattr(cell, 'proj_size', None)} (Keras' {backend} LSTM kernel "
            "takes no projection)",
        ),
        (
            layer.state_perturbation is None,
            "a time-step probe (state_perturbation) is attached",
        ),
    ]
    blockers = [reason for passed, reason in checks if not passed]
    if not gpu_available():
        blockers.append(f"no GPU is visible to {backend}")
    return blockers


def run_fused(layer, sequences, initial_state, mask):
    """Runs `layer` through the backend's fused kernel.

    Returns `(last_output, outputs, states)` like the generic loop, or raises
    `NotImplementedError` when the backend cannot run it here.
    """
    cell = layer.cell
    common = {
        "mask": mask,
        "kernel": cell.kernel,
        "recurrent_kernel": cell.recurrent_kernel,
        "bias": cell.bias,
        "activation": cell.activation,
        "recurrent_activation": cell.recurrent_activation,
        "return_sequences": layer.return_sequences,
        "go_backwards": layer.go_backwards,
        "unroll": layer.unroll,
    }
    if layer.fused_kernel == "lstm":
        result = backend_lstm(sequences, initial_state[0], initial_state[1], **common)
    else:
        result = backend_gru(sequences, initial_state[0], reset_after=cell.reset_after, **common)
    # cuDNN ops cannot be XLA-compiled on TensorFlow (Keras does the same).
    if keras.backend.backend() == "tensorflow":
        layer.supports_jit = False
    return result


def xla_loop_blockers(layer, training: bool) -> list[str]:
    """Reasons why `layer`'s loop cannot run XLA-compiled in this call; empty if it can.

    Only inference compiles by default: a training step through the compiled
    loop has to recompute the forward pass for its gradient (TensorFlow cannot
    pass a loop's saved tensors out of an XLA cluster), which measured slower
    than the plain loop (`bench/layers.py`, README).

    Args:
        layer: An rnnkeras recurrent layer.
        training: Whether the call is in training mode.

    Returns:
        Human-readable reasons, e.g. `["training=True"]`.
    """
    backend = keras.backend.backend()
    # JAX already compiles the whole step by default; PyTorch has no XLA.
    checks = [(backend == "tensorflow", f"backend {backend!r} (the XLA loop is TensorFlow's)")]
    if backend == "tensorflow":
        import tensorflow as tf

        # An eager call would compile anew for every input shape it meets.
        checks.append((not tf.executing_eagerly(), "an eager call"))
    cell = layer.cell
    checks += [
        (not training, "training=True"),
        (getattr(layer, "use_cudnn", "auto") is not False, "use_cudnn=False"),
        (not layer.unroll, "unroll=True"),
        (
            layer.state_perturbation is None,
            "a time-step probe (state_perturbation) is attached",
        ),
        # The gradient's recomputed forward pass runs outside Keras' autocast scope.
        (
            cell.compute_dtype == cell.variable_dtype,
            f"mixed precision (dtype policy {cell.dtype_policy.name!r})",
        ),
    ]
    return [reason for passed, reason in checks if not passed]


def run_xla_loop(loop, inputs, initial_state, weights):
    """Runs `loop(inputs, states)` compiled by XLA, with a gradient that is compiled too.

    `tf.function(jit_compile=True)` alone cannot be differentiated from the
    outside (the loop's saved tensors would cross the XLA boundary), so the
    gradient recomputes the loop inside one compiled function.

    Args:
        loop: Returns `(last_output, outputs, states)` like `backend_rnn`.
        inputs: The sequences.
        initial_state: List of state tensors.
        weights: The Keras variables `loop` reads.

    Returns:
        `(last_output, outputs, states)`.
    """
    import tensorflow as tf

    read = [weight.value for weight in weights]

    def flat_loop(inputs, *states):
        last_output, outputs, new_states = loop(inputs, list(states))
        return (last_output, outputs, *new_states)

    forward = tf.function(flat_loop, jit_compile=True, autograph=False)

    @tf.function(jit_compile=True, autograph=False)
    def backward(inputs, states, upstream):
        with tf.GradientTape() as tape:
            tape.watch([inputs, *states])
            results = flat_loop(inputs, *states)
        return tape.gradient(results, [inputs, *states, *read], output_gradients=list(upstream))

    @tf.custom_gradient
    def compiled(inputs, *states):
        def gradient(*upstream, variables=None):
            grads = backward(inputs, list(states), list(upstream))
            arguments = 1 + len(states)
            by_variable = {id(v): g for v, g in zip(read, grads[arguments:], strict=True)}
            return grads[:arguments], [by_variable.get(id(v)) for v in variables or []]

        return forward(inputs, *states), gradient

    last_output, outputs, *states = compiled(inputs, *initial_state)
    return last_output, outputs, states
