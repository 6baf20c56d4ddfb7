"""`RecurrentLayer`: the loop shared by `SimpleRNN`, `LSTM` and `GRU`.

It extends `keras.layers.RNN` (which already owns states, `stateful`,
`initial_state`, masks and `return_state`) with:

- the kernel dispatch of `rnnkeras.layers.kernel_dispatch` (cuDNN, PyTorch's own
  fused kernel on the PyTorch backend, the XLA-compiled loop), keyed by the
  layer's `fused_kernel` and `torch_kernel`;
- a time-step probe, `state_perturbation`, used by the gradient-flow monitor;
- errors that name the layer for malformed inputs and initial states.
"""

import keras
from keras import ops, regularizers, tree

from rnnkeras.layers.cell import check_float_dtype, check_units
from rnnkeras.layers.keras_internals import backend_rnn
from rnnkeras.layers.kernel_dispatch import (
    fused_kernel_blockers,
    run_fused,
    run_torch_kernel,
    run_xla_loop,
    torch_kernel_blockers,
    xla_loop_blockers,
)


def cell_property(name: str) -> property:
    """A read-only layer attribute forwarded to the cell (as Keras layers do)."""
    return property(lambda self: getattr(self.cell, name), doc=f"The cell's `{name}`.")


LAYER_ARGUMENTS = (
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "unroll",
    "activity_regularizer",
    "use_cudnn",
)


def describe_layer(layer_class: type, kwargs: dict) -> str:
    """How errors name a layer that is still being constructed."""
    name = kwargs.get("name")
    return f"{layer_class.__name__} layer" + (f" '{name}'" if name else "")


def check_timesteps(sequences_shape, owner: str) -> None:
    """Raises a ValueError if the (static) time axis of the input is empty.

    A loop over no steps has no last output and no final state; the backends
    would fail with an error about slicing instead.
    """
    if len(sequences_shape) > 1 and sequences_shape[1] == 0:
        raise ValueError(
            f"{owner} expects at least one time step (axis 1 of the input). "
            f"Received: input_shape={tuple(sequences_shape)}"
        )


class RecurrentLayer(keras.layers.RNN):
    """Base of the rnnkeras recurrent layers (not used directly).

    Attributes:
        state_perturbation: `None`, or a tensor `(batch, timesteps,
            cell.output_size)` (`units`, or `proj_size` for a projection LSTM)
            added to the hidden state produced at each step (index `t` is the
            state after input `t`, in input order, also with
            `go_backwards`). With zeros the outputs are unchanged and the
            gradient of a loss with respect to it is the total gradient
            reaching each `h_t` through backpropagation through time.
    """

    # Name of the Keras backend (cuDNN) kernel that computes this layer's cell
    # (`"lstm"`, `"gru"`), or None; it also decides whether the layer has `use_cudnn`.
    fused_kernel = None

    @property
    def torch_kernel(self):
        """Which PyTorch fused kernel computes this layer's cell (`torch_kernels`), or `None`.

        The cuDNN kernel's name where the layer has one (`"lstm"`, `"gru"`);
        `SimpleRNN` sets `"simple_rnn"` (Keras has no fused SimpleRNN kernel,
        PyTorch has `nn.RNN`'s).
        """
        return self.fused_kernel

    def __init__(self, cell_class, cell_name: str, arguments: dict, **kwargs):
        """Builds the cell from the subclass's constructor arguments.

        Args:
            cell_class: The cell type (e.g. `LSTMCell`).
            cell_name: Name of the cell inside the layer (as in Keras).
            arguments: The subclass constructor's `locals()`: the arguments
                named in `LAYER_ARGUMENTS` configure the layer, the others
                the cell. This keeps each subclass's explicit signature (what
                users and IDEs read) without repeating it in a cell call.
            **kwargs: Base layer arguments (`name`, `dtype`, `trainable`...).
        """
        arguments = {
            key: value
            for key, value in arguments.items()
            if key not in ("self", "kwargs", "__class__")
        }
        layer_arguments = {key: arguments.pop(key) for key in LAYER_ARGUMENTS if key in arguments}
        use_cudnn = layer_arguments.pop("use_cudnn", "auto")
        kwargs.pop("implementation", None)
        check_units(arguments["units"], describe_layer(type(self), kwargs))
        check_float_dtype(kwargs.get("dtype"), describe_layer(type(self), kwargs))
        cell = cell_class(
            **arguments,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name=cell_name,
        )
        super().__init__(cell, **layer_arguments, **kwargs)
        if use_cudnn not in ("auto", True, False):
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects `use_cudnn` in "
                f"('auto', True, False). Received: use_cudnn={use_cudnn!r}"
            )
        # Only layers with a fused kernel carry `use_cudnn`, as in Keras
        # (`Bidirectional` copies it to its directions only when present).
        if self.fused_kernel is not None:
            self.use_cudnn = use_cudnn
        self.state_perturbation = None

    units = cell_property("units")
    use_bias = cell_property("use_bias")
    kernel_initializer = cell_property("kernel_initializer")
    recurrent_initializer = cell_property("recurrent_initializer")
    bias_initializer = cell_property("bias_initializer")
    kernel_regularizer = cell_property("kernel_regularizer")
    recurrent_regularizer = cell_property("recurrent_regularizer")
    bias_regularizer = cell_property("bias_regularizer")
    kernel_constraint = cell_property("kernel_constraint")
    recurrent_constraint = cell_property("recurrent_constraint")
    bias_constraint = cell_property("bias_constraint")
    dropout = cell_property("dropout")
    recurrent_dropout = cell_property("recurrent_dropout")

    def _describe(self) -> str:
        return f"{type(self).__name__} layer '{self.name}'"

    def build(self, sequences_shape, initial_state_shape=None):
        if len(sequences_shape) != 3:
            raise ValueError(
                f"{self._describe()} expects inputs of rank 3 (batch, timesteps, "
                f"features). Received: input_shape={tuple(sequences_shape)}"
            )
        check_timesteps(sequences_shape, self._describe())
        super().build(sequences_shape, initial_state_shape)
        self.input_spec = keras.InputSpec(ndim=3, axes={-1: sequences_shape[-1]})

    def call(self, sequences, initial_state=None, mask=None, training=False):
        check_timesteps(sequences.shape, self._describe())
        if initial_state is not None:
            initial_state = self._checked_initial_state(initial_state, sequences.shape[0])
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def _checked_initial_state(self, initial_state, batch_size):
        states = (
            list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        )
        expected = [(batch_size, size) for size in self.state_size]
        received = [tuple(state.shape) for state in states]

        def matches(shape, want):
            if len(shape) != 2 or shape[-1] != want[-1]:
                return False
            return None in (shape[0], want[0]) or shape[0] == want[0]

        if len(states) != len(expected) or not all(
            matches(shape, want) for shape, want in zip(received, expected, strict=True)
        ):
            raise ValueError(
                f"{self._describe()} expects `initial_state` to be {len(expected)} "
                f"tensor(s) of shape {expected}. Received: initial_state shapes={received}"
            )
        return states

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if tree.is_nested(mask):
            mask = mask[0]
        if self.stateful and keras.backend.backend() == "torch":
            # The final states are assigned in place to the variables these
            # were read from, which autograd saved for the backward pass (Keras
            # copies them too).
            initial_state = [ops.copy(state) for state in initial_state]
        if self.fused_kernel is not None:
            blockers = fused_kernel_blockers(self, masked=mask is not None)
            if self.use_cudnn is True and blockers:
                raise ValueError(
                    f"{self._describe()} was built with use_cudnn=True but cannot use the "
                    f"fused kernel here. Received blockers: {blockers}"
                )
            if not blockers:
                try:
                    return run_fused(
                        self, self._dropped_inputs(sequences, training), initial_state, mask
                    )
                except NotImplementedError:
                    pass
        if not torch_kernel_blockers(self, training=training):
            try:
                return run_torch_kernel(
                    self, self._dropped_inputs(sequences, training), initial_state, mask
                )
            except NotImplementedError:
                pass
        return self._loop(sequences, initial_state, mask, training)

    def _dropped_inputs(self, sequences, training):
        if not (training and self.cell.dropout > 0):
            return sequences
        return sequences * ops.expand_dims(self.cell.get_dropout_mask(sequences[:, 0, :]), 1)

    def _loop(self, sequences, initial_state, mask, training):
        cell = self.cell
        recurrent_mask = None
        if training and cell.recurrent_dropout > 0:
            recurrent_mask = cell.get_recurrent_dropout_mask(initial_state[0])
        perturbation = self._checked_perturbation(sequences)

        # The input projection is computed inside the step, as Keras does:
        # projecting all steps before the loop measured slower on CPU, in the
        # plain loop and in the XLA-compiled one alike (see the README).
        def step(step_inputs, states):
            if perturbation is None:
                return cell.step(cell.project_inputs(step_inputs), list(states), recurrent_mask)
            inputs_t, perturbation_t = step_inputs
            output, new_states = cell.step(
                cell.project_inputs(inputs_t), list(states), recurrent_mask
            )
            output = output + perturbation_t
            return output, [output, *new_states[1:]]

        inputs = self._dropped_inputs(sequences, training)

        def loop(inputs, states):
            return backend_rnn(
                step,
                inputs if perturbation is None else (inputs, perturbation),
                states,
                go_backwards=self.go_backwards,
                mask=mask,
                unroll=self.unroll,
                input_length=sequences.shape[1],
                zero_output_for_mask=self.zero_output_for_mask,
                return_all_outputs=self.return_sequences,
            )

        if xla_loop_blockers(self, training):
            return loop(inputs, list(initial_state))
        return run_xla_loop(loop, inputs, list(initial_state), cell.weights)

    def _checked_perturbation(self, sequences):
        perturbation = self.state_perturbation
        if perturbation is None:
            return None
        expected = (sequences.shape[0], sequences.shape[1], self.cell.output_size)
        received = tuple(perturbation.shape)
        if len(received) != 3 or not all(
            None in (got, want) or got == want for got, want in zip(received, expected, strict=True)
        ):
            raise ValueError(
                f"{self._describe()} expects `state_perturbation` of shape {expected}. "
                f"Received: state_perturbation.shape={received}"
            )
        return ops.cast(perturbation, self.cell.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.pop("cell")
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        config.update(cell_config)
        config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if self.fused_kernel is not None:
            config["use_cudnn"] = self.use_cudnn
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
