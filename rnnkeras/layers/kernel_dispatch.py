"""The one place that decides how a layer runs: a fused kernel, an XLA loop or the plain loop.

Which kernel runs where, for our `LSTM` and `GRU` (our `SimpleRNN` takes the right-hand
column everywhere, as Keras has no cuDNN SimpleRNN; the other layers always loop):

| backend | GPU (cuDNN-compatible layer) | CPU, or a GPU layer Keras' kernel refuses |
|---|---|---|
| TensorFlow | Keras' cuDNN kernel | the loop, XLA-compiled for inference in a compiled function |
| JAX | Keras' cuDNN kernel | the loop (JAX compiles the whole step) |
| PyTorch | Keras' cuDNN kernel | PyTorch's own fused kernel (`torch._VF.lstm`, `gru`, `rnn_*`) |

1. `fused_kernel_blockers`: our `LSTM` and `GRU` keep the Keras weight
   layout, so on a GPU they hand their weights to the same fused (cuDNN)
   kernels the Keras built-ins use (`keras.src.backend.<name>.rnn`, Keras
   3.15). An empty list means the layer tries it (and still falls back if
   the backend refuses at run time).
2. `torch_kernel_blockers`: on the PyTorch backend, everywhere Keras' kernel
   does not run (every CPU; on a GPU a mask or `proj_size`, which Keras'
   torch kernel refuses), PyTorch's own fused kernel runs the layer, the one
   behind `torch.nn.LSTM` / `nn.GRU` (`rnnkeras.layers.torch_kernels` maps the
   weights). It takes `proj_size`, `use_bias=False`, `go_backwards`,
   `stateful`, input dropout and right-padded masks (also with `go_backwards`).
   `SimpleRNN` with `tanh` or `relu` runs it too (`torch._VF.rnn_tanh` /
   `rnn_relu`, behind `torch.nn.RNN`), on every device: Keras has no fused
   SimpleRNN kernel.
3. `xla_loop_blockers`: where no fused kernel applies on TensorFlow, the loop
   runs compiled by XLA for inference: on TensorFlow's CPU, Keras leaves
   `jit_compile="auto"` off, so a default `predict` would otherwise run the
   loop op by op.

Each function returns the readable reasons a path does not apply.

Example:

>>> from rnnkeras.layers import GRU
>>> "reset_after=False" in " ".join(fused_kernel_blockers(GRU(4, reset_after=False)))
True
"""

import keras
from keras import activations, ops

from rnnkeras.layers.keras_internals import backend_gru, backend_lstm

_TANH = (activations.tanh, ops.tanh)
_RELU = (activations.relu, ops.relu)
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


# PyTorch's CPU kernel computes in these; half precision would leave its
# fused path (or fail) and mixed policies read variables in another dtype.
_TORCH_KERNEL_DTYPES = ("float32", "float64")


def torch_kernel_blockers(layer, training: bool = False) -> list[str]:
    """Reasons why `layer` cannot run PyTorch's own fused kernel in this call; empty if it can.

    Asked only where `fused_kernel_blockers` found a reason (Keras' cuDNN
    kernel comes first; `SimpleRNN` has none). PyTorch's kernels
    (`torch._VF.lstm`, `gru`, `rnn_tanh`, `rnn_relu`, what `torch.nn.LSTM`,
    `nn.GRU` and `nn.RNN` run: cuDNN on a CUDA device, ATen's fused kernel on
    the CPU) compute exactly our LSTM and GRU cells with `tanh` and `sigmoid`,
    the GRU only in its `reset_after=True` form, and our SimpleRNN cell with
    `tanh` or `relu` (`nn.RNN`'s `nonlinearity`). Which kernel a layer has is
    its `torch_kernel` attribute. A mask does not block it: a right-padded one
    runs as packed sequences, any other falls back to the loop at run time
    (`run_torch_kernel` raises `NotImplementedError`).

    Args:
        layer: An rnnkeras recurrent layer.
        training: Whether the call is in training mode.

    Returns:
        Human-readable reasons, e.g. `["backend 'jax' (this kernel is PyTorch's)"]`.

    Example:

    >>> from rnnkeras.layers import LSTM
    >>> any("unroll" in reason for reason in torch_kernel_blockers(LSTM(4, unroll=True)))
    True
    >>> from rnnkeras.layers import SimpleRNN
    >>> any("activation" in reason for reason in torch_kernel_blockers(SimpleRNN(4, "relu")))
    False
    """
    kernel = getattr(layer, "torch_kernel", None)
    if kernel is None:
        return [f"{type(layer).__name__} has no fused kernel"]
    backend = keras.backend.backend()
    cell = layer.cell
    if kernel == "simple_rnn":
        activation_checks = [
            (cell.activation in _TANH + _RELU, "activation is not tanh or relu"),
        ]
    else:
        activation_checks = [
            (cell.activation in _TANH, "activation is not tanh"),
            (cell.recurrent_activation in _SIGMOID, "recurrent_activation is not sigmoid"),
        ]
    checks = [
        (backend == "torch", f"backend {backend!r} (this kernel is PyTorch's)"),
        # SimpleRNN has no `use_cudnn` (nor has Keras'); export switches it off where present.
        (getattr(layer, "use_cudnn", "auto") is not False, "use_cudnn=False (the plain loop)"),
        *activation_checks,
        (
            not (training and cell.recurrent_dropout > 0),
            f"recurrent_dropout={cell.recurrent_dropout} while training",
        ),
        (not layer.unroll, "unroll=True"),
        (kernel != "gru" or cell.reset_after, "reset_after=False (PyTorch's GRU resets after)"),
        (
            cell.compute_dtype in _TORCH_KERNEL_DTYPES,
            f"compute dtype {cell.compute_dtype!r} (takes float32 or float64)",
        ),
        (
            layer.state_perturbation is None,
            "a time-step probe (state_perturbation) is attached",
        ),
    ]
    return [reason for passed, reason in checks if not passed]


def run_torch_kernel(layer, sequences, initial_state, mask):
    """Runs `layer` through PyTorch's fused kernel (`rnnkeras.layers.torch_kernels`).

    Args:
        layer: An rnnkeras `LSTM`, `GRU` or `SimpleRNN` with no `torch_kernel_blockers`.
        sequences: `(batch, timesteps, features)`, input dropout already applied.
        initial_state: The states, `[h, c]` or `[h]`.
        mask: `None` or boolean `(batch, timesteps)`.

    Returns:
        `(last_output, outputs, states)` like the generic loop.

    Raises:
        NotImplementedError: For a mask that is not right-padded or that
            masks a whole sequence; the caller then loops.
    """
    import rnnkeras.layers.torch_kernels as torch_kernels

    cell = layer.cell
    weights = [ops.convert_to_tensor(cell.kernel), ops.convert_to_tensor(cell.recurrent_kernel)]
    # Integer inputs reach the layer uncast (Keras casts only floats to the compute
    # dtype); the loop's matrix products promote them, PyTorch's kernel would refuse.
    sequences = ops.cast(sequences, weights[0].dtype)
    if cell.use_bias:
        weights.append(ops.convert_to_tensor(cell.bias))
    options = {
        "mask": mask,
        "go_backwards": layer.go_backwards,
        "zero_output_for_mask": layer.zero_output_for_mask,
        "return_sequences": layer.return_sequences,
    }
    if layer.torch_kernel == "simple_rnn":
        activation = "relu" if cell.activation in _RELU else "tanh"
        return torch_kernels.simple_rnn(
            sequences, initial_state, *weights, activation=activation, **options
        )
    if layer.torch_kernel == "gru":
        return torch_kernels.gru(sequences, initial_state, *weights, **options)
    if not cell.use_bias:
        weights.append(None)
    projection = None
    if cell.proj_size is not None:
        projection = ops.convert_to_tensor(cell.projection_kernel)
    return torch_kernels.lstm(sequences, initial_state, *weights, projection, **options)


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
