"""Measures the gradients reaching a model's weights and, through time, the
hidden states of its recurrent layers, on one fixed batch.

The time-step part uses the `state_perturbation` hook of the rnnkeras
recurrent layers: a zero tensor `p` of shape `(batch, timesteps, units)` is
added to the hidden state produced at every step, so `dL/dp[:, t]` is the
total gradient reaching `h_t` through backpropagation through time (the
direct path from the output at `t` plus the recurrent path through
`h_{t+1}, h_{t+2}, ...`), while the forward pass stays unchanged.

When a layer's whole output sequence feeds the loss, that total mixes the
gradient entering directly at each step with the gradient carried back
through time, so the probe also isolates the recurrent path: the gradient
`g` that reaches the layer's last state, pulled back to every earlier
state, `g^T dh_last/dh_t`. Its decay over time is what vanishing and
exploding gradients are about.

Masks are followed per sequence. A masked step carries the previous state
over, so the perturbation there has no effect and its gradient is zero; each
sequence's last state is the one after its last real step, and that is where
the probe takes `g` for that sequence.
"""

import contextlib
import dataclasses

import keras
import numpy as np
from keras import ops, tree

import rnnkeras.callbacks.backend_gradients as backend_gradients
import rnnkeras.layers.sublayers as sublayers
from rnnkeras.callbacks.gradient_ratios import first_and_last_real_steps


@dataclasses.dataclass(frozen=True)
class RecurrentTarget:
    """A recurrent layer found in a model.

    Attributes:
        name: Path of layer names from the model's top level, e.g.
            `"bidirectional/forward_lstm"`.
        layer: The layer.
        top_level: Name of the model's top-level layer that contains it.
        probed: Whether it has the `state_perturbation` hook (rnnkeras
            layers) and so gets per-time-step gradient norms.
    """

    name: str
    layer: keras.layers.Layer
    top_level: str
    probed: bool


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    """One measurement.

    Attributes:
        loss: The model's loss on the probe batch.
        weight_grad_norms: L2 norm of the gradient of each trainable weight, in
            the order of `GradientProbe.weights` (the model's trainable weights
            when the probe was made).
        timestep_grad_norms: For each probed recurrent layer (by target name),
            an array `(batch, timesteps)`: `||dL/dh_t||` for each probe
            sequence and every time step `t` in input order, the norm taken
            over the units. Zero at masked steps.
        recurrent_grad_norms: Likewise, `||g^T dh_last/dh_t||` with `g =
            dL/dh_last`, `h_last` being the state after the sequence's last
            real step: only the gradient carried back from the last state.
            Equal to `timestep_grad_norms` when the loss reads the last
            state only.
    """

    loss: float
    weight_grad_norms: np.ndarray
    timestep_grad_norms: dict
    recurrent_grad_norms: dict


def find_recurrent_layers(model: keras.Model) -> list[RecurrentTarget]:
    """The recurrent layers of `model`, looking inside nested models and containers
    (`Bidirectional`, `StackedRNN`; see `rnnkeras.layers.sublayers`)."""
    return [
        RecurrentTarget(
            name=path,
            layer=layer,
            top_level=path.split("/", 1)[0],
            probed=hasattr(layer, "state_perturbation"),
        )
        for path, layer in sublayers.recurrent_layers(model)
    ]


def _mask_argument(args, kwargs):
    """The `mask` a recurrent layer's `call(sequences, initial_state=None,
    mask=None, training=...)` received (the first one if nested), or None."""
    mask = kwargs["mask"] if "mask" in kwargs else (args[2] if len(args) > 2 else None)
    return mask[0] if tree.is_nested(mask) else mask


@contextlib.contextmanager
def _intercepted_calls(targets, on_call):
    """Temporarily wraps each target's `call` so that
    `on_call(target, sequences, mask, outputs)` sees its input, mask and
    output."""
    wrapped = []
    try:
        for target in targets:
            original = target.layer.call

            def intercepted(*args, _target=target, _call=original, **kwargs):
                outputs = _call(*args, **kwargs)
                sequences = args[0] if args else kwargs["sequences"]
                on_call(_target, sequences, _mask_argument(args, kwargs), outputs)
                return outputs

            target.layer.call = intercepted
            wrapped.append(target.layer)
        yield
    finally:
        for layer in wrapped:
            del layer.call


def _at_steps(sequences, steps):
    """`(batch, time, units)` -> `(batch, units)`: each sequence's vector at
    its own step `steps[i]`."""
    index = ops.broadcast_to(
        ops.reshape(ops.convert_to_tensor(steps), (-1, 1, 1)),
        (sequences.shape[0], 1, sequences.shape[2]),
    )
    return ops.take_along_axis(sequences, index, axis=1)[:, 0]


def _last_state(outputs, positions):
    """Each sequence's last hidden state: the first returned state with
    `return_state` (masked steps carry the state over), else the output at
    `positions`, the processing position of its last real step (Keras
    returns sequences in processing order, also with `go_backwards`, and
    may zero the outputs at masked steps), else the last output."""
    if isinstance(outputs, (list, tuple)):
        return outputs[1]
    if len(outputs.shape) == 3:
        return _at_steps(outputs, positions)
    return outputs


def _reads_more_than_last_state(layer) -> bool:
    """Whether the rest of the model may read more of the layer than its last
    hidden state; if not, the total gradient is all carried from that state
    and the probe saves a second backward pass."""
    return bool(getattr(layer, "return_sequences", True) or getattr(layer, "return_state", True))


def _norms_per_step(gradient):
    """(batch, time, units) -> (batch, time): L2 norm over the units."""
    return ops.sqrt(ops.sum(ops.square(ops.cast(gradient, "float32")), axis=2))


def _norm(gradient):
    return ops.sqrt(ops.sum(ops.square(ops.cast(gradient, "float32"))))


@contextlib.contextmanager
def _restored(variables: list):
    """Puts `variables` (and the framework's global random state) back to
    their values on entry, so that training goes on exactly as without the
    probe."""
    saved = [ops.convert_to_numpy(v) for v in variables]
    try:
        with backend_gradients.kept_random_state():
            yield
    finally:
        for variable, value in zip(variables, saved, strict=True):
            variable.assign(value)


class GradientProbe:
    """Gradient measurements of `model` on a fixed batch.

    The measurement is compiled for the backend (`tf.function` on
    TensorFlow, `jax.jit` on JAX, traced once as the batch is fixed; PyTorch
    runs it eagerly) unless the model is compiled with `run_eagerly=True`,
    and takes its gradients with the backend's own autodiff
    (`rnnkeras.callbacks.backend_gradients`). The model
    runs with `training=False` so that dropout does not add noise to the
    measurement, and the loss is `model.compute_loss` (compiled loss plus
    regularization losses).

    Args:
        model: A built, compiled Keras model.
        targets: Its recurrent layers, from `find_recurrent_layers`.
        x, y, sample_weight: The probe batch.

    Attributes:
        real_steps: For each probed layer (by target name), a boolean array
            `(batch, timesteps)`: the mask the layer receives on the probe
            batch, all True when it receives none.
    """

    def __init__(self, model: keras.Model, targets: list, x, y, sample_weight=None) -> None:
        self.model = model
        self.weights = list(model.trainable_weights)
        self.x = tree.map_structure(ops.convert_to_tensor, x)
        self.y = tree.map_structure(ops.convert_to_tensor, y)
        self.sample_weight = (
            None
            if sample_weight is None
            else tree.map_structure(ops.convert_to_tensor, sample_weight)
        )
        self.batch_size = int(tree.flatten(self.x)[0].shape[0])
        self.real_steps = {}
        probed = [t for t in targets if t.probed]

        def note_steps(target, sequences, mask, outputs):
            shape = (self.batch_size, int(sequences.shape[1]))
            real = np.ones(shape, bool) if mask is None else keras.ops.convert_to_numpy(mask)
            self.real_steps[target.name] = np.asarray(real, bool)

        with (
            _restored(self._preserved_variables(probed)),
            _intercepted_calls(probed, note_steps),
        ):
            model(self.x, training=False)
        self.targets = [t for t in probed if t.name in self.real_steps]
        self.unreached = [t for t in probed if t.name not in self.real_steps]
        # The probed state is h, the layer's output: `proj_size` wide in a projection LSTM.
        self.shapes = {
            t.name: (*self.real_steps[t.name].shape, t.layer.cell.output_size) for t in self.targets
        }
        # Where each sequence's last state is, as an input-order step (to read
        # dL/dh_last) and as a processing position (to read h_last itself).
        self._last_steps, self._last_positions = {}, {}
        for target in self.targets:
            real = self.real_steps[target.name]
            backwards = bool(getattr(target.layer, "go_backwards", False))
            last = first_and_last_real_steps(real, backwards)[1].astype("int32")
            self._last_steps[target.name] = last
            self._last_positions[target.name] = real.shape[1] - 1 - last if backwards else last
        read = {id(v): v for v in [*model.variables, *self._preserved_variables(self.targets)]}
        trainable = {id(v) for v in self.weights}
        self._state = [v for key, v in read.items() if key not in trainable]
        self._gradients = backend_gradients.compiled(
            self._compute_gradients, list(read.values()), model.run_eagerly
        )

    def matches(self, model: keras.Model) -> bool:
        """Whether this probe still measures `model` as it is now (same model,
        same trainable weights)."""
        current = [id(v) for v in model.trainable_weights]
        return model is self.model and current == [id(v) for v in self.weights]

    def _preserved_variables(self, targets) -> list:
        """Variables a forward pass in inference mode may still change:
        metric accumulators (`compute_loss` updates per-output loss trackers),
        random-generator states (Keras' RNN layers draw dropout masks even
        when not training) and the states of stateful layers."""
        metrics = [v for metric in self.model.metrics for v in metric.variables]
        generators = [v for v in self.model.non_trainable_variables if "int" in str(v.dtype)]
        stateful = [
            v for t in targets if getattr(t.layer, "stateful", False) for v in t.layer.states
        ]
        return metrics + generators + stateful

    def _forward(self, x, y, sample_weight, perturbations) -> list:
        """`[loss, *last states]` with `perturbations` added to the states."""
        last_states = {}

        def note_last_state(target, sequences, mask, outputs):
            last_states[target.name] = _last_state(outputs, self._last_positions[target.name])

        for target, perturbation in zip(self.targets, perturbations, strict=True):
            target.layer.state_perturbation = perturbation
        try:
            with _intercepted_calls(self.targets, note_last_state):
                y_pred = self.model(x, training=False)
        finally:
            for target in self.targets:
                target.layer.state_perturbation = None
        loss = self.model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
        return [loss, *(last_states[t.name] for t in self.targets)]

    def _compute_gradients(self, x, y, sample_weight):
        perturbations = [ops.zeros(self.shapes[t.name]) for t in self.targets]
        outputs, pullback = backend_gradients.vjp(
            lambda p: self._forward(x, y, sample_weight, p),
            self.weights,
            perturbations,
            self._state,
        )
        loss, last_states = outputs[0], outputs[1:]
        no_state_gradient = [ops.zeros_like(s) for s in last_states]
        weight_grads, totals = pullback([ops.ones_like(loss), *no_state_gradient])
        weight_norms = ops.stack([_norm(g) for g in weight_grads]) if weight_grads else ops.zeros(0)
        timestep_norms = [_norms_per_step(total) for total in totals]
        separate = [_reads_more_than_last_state(t.layer) for t in self.targets]
        if not any(separate):
            return loss, weight_norms, timestep_norms, timestep_norms
        # dL/dh_last is the perturbation's gradient at the sequence's last
        # real step: later (masked) steps only pass the state on to it.
        last_gradients = [
            _at_steps(total, self._last_steps[t.name]) if needed else zero
            for t, total, needed, zero in zip(
                self.targets, totals, separate, no_state_gradient, strict=True
            )
        ]
        _, carried = pullback([ops.zeros_like(loss), *last_gradients])
        recurrent_norms = [
            _norms_per_step(c) if needed else n
            for c, n, needed in zip(carried, timestep_norms, separate, strict=True)
        ]
        return loss, weight_norms, timestep_norms, recurrent_norms

    def measure(self) -> ProbeResult:
        """Runs the probe batch forward and backward once."""
        with _restored(self._preserved_variables(self.targets)):
            loss, weight_norms, timestep_norms, recurrent_norms = self._gradients(
                self.x, self.y, self.sample_weight
            )

        def as_numpy(tensor):
            return ops.convert_to_numpy(tensor).astype("float64")

        return ProbeResult(
            loss=float(as_numpy(loss)),
            weight_grad_norms=as_numpy(weight_norms),
            timestep_grad_norms={
                t.name: as_numpy(norms)
                for t, norms in zip(self.targets, timestep_norms, strict=True)
            },
            recurrent_grad_norms={
                t.name: as_numpy(norms)
                for t, norms in zip(self.targets, recurrent_norms, strict=True)
            },
        )
