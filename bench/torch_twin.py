"""A PyTorch twin of a model's recurrent stack, for batch-1 latency at the same shape.

`bench/export.py` times it beside Keras and the TFLite files. The twin copies
the recurrent layers (`SimpleRNN`/`LSTM`/`GRU`, `Bidirectional`, `StackedRNN`)
and `Dense` layers of the model in order, with their Keras weights, and skips
the other layers (masking, normalization, reshaping), which cost little next
to the loop. For a model made only of those layers it computes the same
function (`tests/export/test_torch_twin.py` checks it for every layer type), so
the benchmark compares like with like. PyTorch comes with the `dev` extra.

Example:

>>> import keras, numpy as np, torch
>>> from rnnkeras.layers import GRU
>>> model = keras.Sequential([keras.Input((6, 3)), GRU(4), keras.layers.Dense(2)])
>>> twin = build_twin(model)
>>> x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
>>> with torch.no_grad():
...     y = twin(torch.from_numpy(x)).numpy()
>>> bool(np.abs(y - model.predict(x, verbose=0)).max() < 1e-5)
True
"""

import keras
import numpy as np
import torch

from rnnkeras.layers.sublayers import recurrent_layers

ACTIVATIONS = {
    "linear": torch.nn.Identity,
    "relu": torch.nn.ReLU,
    "tanh": torch.nn.Tanh,
    "sigmoid": torch.nn.Sigmoid,
    "softmax": lambda: torch.nn.Softmax(dim=-1),
}


def _gates_to_torch(matrix: np.ndarray, order: tuple[int, ...], units: int) -> np.ndarray:
    blocks = [matrix[..., index * units : (index + 1) * units] for index in order]
    return np.concatenate(blocks, axis=-1)


def _recurrent_weights(layer) -> dict[str, np.ndarray]:
    """Keras weights in the layout of `torch.nn.RNN`/`LSTM`/`GRU` (`*_ih`, `*_hh`)."""
    cell = layer.cell
    units = cell.units
    kernel = keras.ops.convert_to_numpy(cell.kernel)
    recurrent = keras.ops.convert_to_numpy(cell.recurrent_kernel)
    width = kernel.shape[-1]
    bias_ih = bias_hh = np.zeros(width, np.float32)
    if cell.use_bias:
        bias = keras.ops.convert_to_numpy(cell.bias)
        if bias.ndim == 2:
            bias_ih, bias_hh = bias
        else:
            bias_ih = bias
    if width == 3 * units:
        # Keras GRU gates are (update, reset, candidate); PyTorch's are (reset, update, new).
        order = (1, 0, 2)
        kernel, recurrent = (_gates_to_torch(m, order, units) for m in (kernel, recurrent))
        bias_ih, bias_hh = (_gates_to_torch(b, order, units) for b in (bias_ih, bias_hh))
    return {
        "weight_ih": kernel.T,
        "weight_hh": recurrent.T,
        "bias_ih": bias_ih,
        "bias_hh": bias_hh,
    }


def _torch_rnn(layer, input_size: int, bidirectional_with=None) -> torch.nn.Module:
    width = layer.cell.kernel.shape[-1] // layer.cell.units
    kind = {1: torch.nn.RNN, 3: torch.nn.GRU, 4: torch.nn.LSTM}[width]
    module = kind(
        input_size, layer.cell.units, batch_first=True, bidirectional=bidirectional_with is not None
    )
    directions = [("l0", layer)]
    if bidirectional_with is not None:
        directions.append(("l0_reverse", bidirectional_with))
    with torch.no_grad():
        for suffix, direction in directions:
            for name, value in _recurrent_weights(direction).items():
                getattr(module, f"{name}_{suffix}").copy_(
                    torch.from_numpy(np.ascontiguousarray(value))
                )
    return module


class OneWay(torch.nn.Module):
    """One recurrent layer: its last output, or all of them with `return_sequences`."""

    def __init__(self, rnn, layer):
        super().__init__()
        self.rnn, self.go_backwards = rnn, layer.go_backwards
        self.return_sequences = layer.return_sequences

    def forward(self, x):
        if self.go_backwards:
            x = torch.flip(x, dims=[1])
        outputs = self.rnn(x)[0]
        return outputs if self.return_sequences else outputs[:, -1]


class BothWays(torch.nn.Module):
    """A bidirectional layer merged by concatenation, as Keras' `merge_mode="concat"`."""

    def __init__(self, rnn, return_sequences, units):
        super().__init__()
        self.rnn, self.return_sequences, self.units = rnn, return_sequences, units

    def forward(self, x):
        outputs = self.rnn(x)[0]
        if self.return_sequences:
            return outputs
        # The backward direction's last state sits at input position 0.
        return torch.cat([outputs[:, -1, : self.units], outputs[:, 0, self.units :]], dim=-1)


class Stack(torch.nn.Module):
    """Layers in sequence, adding the input where `StackedRNN` has a residual link."""

    def __init__(self, layers, residual):
        super().__init__()
        self.stack, self.residual = torch.nn.ModuleList(layers), residual

    def forward(self, x):
        for index, module in enumerate(self.stack):
            y = module(x)
            x = y + x if self.residual[index] else y
        return x


def _make_recurrent(layer, input_size: int) -> tuple[torch.nn.Module, int]:
    """`(module, output_size)` for a recurrent layer, a `Bidirectional` or a `StackedRNN`."""
    if hasattr(layer, "rnn_layers"):
        modules, residual = [], []
        for index, inner in enumerate(layer.rnn_layers):
            module, size = _make_recurrent(inner, input_size)
            modules.append(module)
            residual.append(layer.residual and index > 0 and inner.return_sequences)
            input_size = size
        return Stack(modules, residual), input_size
    if hasattr(layer, "forward_layer"):
        forward, backward = layer.forward_layer, layer.backward_layer
        if getattr(layer, "merge_mode", "concat") != "concat" or forward.go_backwards:
            raise ValueError(
                f"The PyTorch twin supports Bidirectional with merge_mode='concat' only. "
                f"Received: layer={layer.name!r}, merge_mode={layer.merge_mode!r}"
            )
        rnn = _torch_rnn(forward, input_size, bidirectional_with=backward)
        return BothWays(rnn, layer.return_sequences, forward.cell.units), 2 * forward.cell.units
    return OneWay(_torch_rnn(layer, input_size), layer), layer.cell.units


def _make_dense(layer) -> torch.nn.Module:
    activation = layer.get_config()["activation"]
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"The PyTorch twin supports Dense activations {tuple(ACTIVATIONS)}. "
            f"Received: layer={layer.name!r}, activation={activation!r}"
        )
    linear = torch.nn.Linear(layer.kernel.shape[0], layer.units, bias=layer.use_bias)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(keras.ops.convert_to_numpy(layer.kernel).T.copy()))
        if layer.use_bias:
            linear.bias.copy_(torch.from_numpy(keras.ops.convert_to_numpy(layer.bias)))
    return torch.nn.Sequential(linear, ACTIVATIONS[activation]())


def _top_layers(model) -> list:
    """The model's layers in order, nested models flattened (a stack stays one layer)."""
    layers = []
    for layer in model.layers:
        layers.extend(_top_layers(layer) if isinstance(layer, keras.Model) else [layer])
    return layers


def build_twin(model: keras.Model) -> torch.nn.Module:
    """A `torch.nn.Module` running the model's recurrent and `Dense` layers in order.

    Args:
        model: A single-input model of float sequences.

    Returns:
        An eval-mode module taking a `(batch, timesteps, features)` float tensor.

    Raises:
        ValueError: If the model has several inputs or a non-float one, a
            bidirectional layer merges other than by concatenation, or a `Dense`
            layer has an activation outside `ACTIVATIONS`.
    """
    if len(model.inputs) != 1 or not model.inputs[0].dtype.startswith("float"):
        raise ValueError(
            "The PyTorch twin needs a model with one float sequence input. "
            f"Received: inputs={[(t.shape, t.dtype) for t in model.inputs]}"
        )
    size = model.inputs[0].shape[-1]
    modules = []
    for layer in _top_layers(model):
        if recurrent_layers(layer):
            module, size = _make_recurrent(layer, size)
            modules.append(module)
        elif isinstance(layer, keras.layers.Dense):
            modules.append(_make_dense(layer))
            size = layer.units
    return torch.nn.Sequential(*modules).eval()
