"""Gradients on each Keras backend: the one module that knows how TensorFlow,
JAX and PyTorch differentiate and compile.

`keras.ops` has no gradient operation, so the gradient-flow probe asks this
module for a vector-Jacobian product (`vjp`) and a compiled form of its
measurement (`compiled`); everything else in `rnnkeras.callbacks` is written
with `keras.ops` and `keras.Variable`. Each public function dispatches to one
private function per backend; the framework is imported inside it, so that
`import rnnkeras` never loads a framework the user did not pick.
"""

import contextlib
import functools

import keras

SUPPORTED_BACKENDS = ("tensorflow", "jax", "torch")


def _backend(caller: str) -> str:
    name = keras.backend.backend()
    if name not in SUPPORTED_BACKENDS:
        raise ValueError(
            f"{caller} needs gradients, which the Keras `{name}` backend does not compute; "
            "set `KERAS_BACKEND` to `tensorflow`, `jax` or `torch`. "
            f"Received: KERAS_BACKEND={name!r}"
        )
    return name


def vjp(forward, variables: list, inputs: list, state: list = ()) -> tuple:
    """Evaluates `forward(inputs)` and returns its outputs with a pullback.

    Args:
        forward: Function of a list of tensors returning a flat list of
            float tensors; it may read any Keras variable.
        variables: The trainable `keras.Variable`s to differentiate with
            respect to.
        inputs: Tensors to differentiate with respect to.
        state: Other `keras.Variable`s that `forward` reads or assigns. Their
            assignments are discarded on JAX and PyTorch (JAX passes their
            current values in explicitly, so a compiled caller never bakes
            stale values in); on TensorFlow the caller restores them.

    Returns:
        `(outputs, pullback)`. `pullback(cotangents)`, with one tensor per
        output, returns `(variable_gradients, input_gradients)`: dense tensors,
        zeros where an output does not depend on them. It may be called more
        than once.

    Raises:
        ValueError: On a Keras backend without gradients (`numpy`, `openvino`).
    """
    name = _backend("GradientFlowMonitor")
    by_backend = {"tensorflow": _tensorflow_vjp, "jax": _jax_vjp, "torch": _torch_vjp}
    return by_backend[name](forward, list(variables), list(inputs), list(state))


def _tensorflow_vjp(forward, variables, inputs, state):
    import tensorflow as tf

    with tf.GradientTape(persistent=True) as tape:
        tape.watch(inputs)
        outputs = forward(inputs)

    def pullback(cotangents):
        grads = tape.gradient(
            outputs,
            [*variables, *inputs],
            output_gradients=cotangents,
            unconnected_gradients=tf.UnconnectedGradients.ZERO,
        )
        grads = [dense(g) for g in grads]
        return grads[: len(variables)], grads[len(variables) :]

    return outputs, pullback


def _jax_vjp(forward, variables, inputs, state):
    import jax

    # Read outside the pure function: inside a compiled caller these are its
    # traced values, not the variables' stored ones.
    fixed = [(v, v.value) for v in state]

    def pure(values, inputs):
        mapping = [*zip(variables, values, strict=True), *fixed]
        with keras.StatelessScope(state_mapping=mapping, collect_losses=True):
            return forward(inputs)

    outputs, pull = jax.vjp(pure, [v.value for v in variables], inputs)
    return outputs, lambda cotangents: pull(list(cotangents))


def _torch_vjp(forward, variables, inputs, state):
    import torch

    sources = [v.value for v in variables]
    inputs = [x.detach().requires_grad_(True) for x in inputs]
    # PyTorch variables are updated in place, which would break the graph
    # when the forward pass assigns one it has read (a stateful layer's
    # states, metric totals): those assignments go to a scope instead.
    # Keras reads the weights' regularization losses from the scope too, so
    # the weights are mapped as well, to themselves.
    mapping = [
        *zip(variables, sources, strict=True),
        *((v, v.value.detach().clone()) for v in state),
    ]
    # Keras callbacks may run under `torch.no_grad` (e.g. inside `predict`).
    with (
        torch.enable_grad(),
        keras.StatelessScope(state_mapping=mapping, collect_losses=True),
    ):
        outputs = forward(inputs)

    def pullback(cotangents):
        connected = [
            (output, cotangent)
            for output, cotangent in zip(outputs, cotangents, strict=True)
            if output.requires_grad
        ]
        grads = [None] * (len(sources) + len(inputs))
        if connected:
            grads = torch.autograd.grad(
                [output for output, _ in connected],
                [*sources, *inputs],
                grad_outputs=[cotangent for _, cotangent in connected],
                retain_graph=True,
                allow_unused=True,
            )
        everything = [*sources, *inputs]
        grads = [
            torch.zeros_like(x) if g is None else g for g, x in zip(grads, everything, strict=True)
        ]
        return grads[: len(sources)], grads[len(sources) :]

    return outputs, pullback


def compiled(function, variables: list, run_eagerly: bool = False):
    """`function` compiled for the backend (unless `run_eagerly`).

    TensorFlow traces it with `tf.function`; JAX jits it as a pure function of
    the current values of `variables` (every variable it reads), passed at
    each call; PyTorch runs it as is, as Keras does by default on PyTorch.

    Args:
        function: Function of tensors returning tensors (nested lists).
        variables: Every `keras.Variable` that `function` reads.
        run_eagerly: Return `function` unchanged.

    Returns:
        A function with the signature of `function`.

    Raises:
        ValueError: On a Keras backend without gradients (`numpy`, `openvino`).
    """
    name = _backend("GradientFlowMonitor")
    if run_eagerly or name == "torch":
        return function
    if name == "tensorflow":
        import tensorflow as tf

        # TensorFlow counts traces per code object, so a bound method would
        # make every probe in a process count towards one retracing warning.
        # Keras' own step functions skip AutoGraph too; nothing here needs it.
        return tf.function(functools.partial(function), reduce_retracing=True, autograph=False)
    import jax

    variables = list(variables)

    def pure(values, *args):
        with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
            return function(*args)

    jitted = jax.jit(pure)
    return lambda *args: jitted([v.value for v in variables], *args)


def dense(gradient):
    """A gradient as a dense tensor: TensorFlow gives sparse `tf.IndexedSlices`
    for gathered weights (e.g. `Embedding`); repeated indices are summed, as
    Keras' own clipping does. Other backends' gradients are already dense."""
    if gradient is None or keras.backend.backend() != "tensorflow":
        return gradient
    import tensorflow as tf

    if isinstance(gradient, tf.IndexedSlices):
        return tf.convert_to_tensor(gradient)
    return gradient


@contextlib.contextmanager
def kept_random_state():
    """Restores the framework's global random state on exit. On PyTorch,
    Keras draws unseeded dropout masks (a `SeedGenerator(seed=None)`, the
    default of every dropout layer) from PyTorch's global generator, so a
    probe's forward pass would change the masks training draws next; the other
    backends keep that state in Keras variables, which the caller restores."""
    if keras.backend.backend() != "torch":
        yield
        return
    import torch

    state = torch.random.get_rng_state()
    try:
        yield
    finally:
        torch.random.set_rng_state(state)
