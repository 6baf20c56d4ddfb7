"""A PyTorch twin of a model's recurrent stack, for batch-1 latency at the same shape.

PyTorch is a development dependency (the ``dev`` extra), imported only here and
only when the export report asks for it. The twin copies the recurrent layers
(``SimpleRNN``/``LSTM``/``GRU``, ``Bidirectional``, ``StackedRNN``) and ``Dense``
layers of the model in order, with their Keras weights, and skips the other
layers (masking, normalization, reshaping), which cost little next to the
loop. For a model made only of those layers it computes the same function,
which ``build_twin`` callers can check.

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

import numpy as np

from rnnkeras.layers.sublayers import children, is_recurrent

ACTIVATIONS = ("linear", "relu", "tanh", "sigmoid", "softmax")


def _gates_to_torch(matrix: np.ndarray, order: tuple[int, ...], units: int) -> np.ndarray:
    blocks = [matrix[..., index * units : (index + 1) * units] for index in order]
    return np.concatenate(blocks, axis=-1)


def _recurrent_weights(layer) -> dict[str, np.ndarray]:
    """Keras weights in the layout of ``torch.nn.RNN``/``LSTM``/``GRU`` (``*_ih``, ``*_hh``)."""
    cell = layer.cell
    units = cell.units
    kernel = np.asarray(cell.kernel.numpy())
    recurrent = np.asarray(cell.recurrent_kernel.numpy())
    width = kernel.shape[-1]
    bias_ih = bias_hh = np.zeros(width, np.float32)
    if cell.use_bias:
        bias = np.asarray(cell.bias.numpy())
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


def _torch_rnn(layer, input_size: int, bidirectional_with=None):
    import torch

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


def _make_recurrent(layer, input_size: int):
    """``(module, output_size)`` for a recurrent layer, a ``Bidirectional`` or a ``StackedRNN``."""
    import torch

    class Recurrent(torch.nn.Module):
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
        def __init__(self, rnn, return_sequences, units):
            super().__init__()
            self.rnn, self.return_sequences, self.units = rnn, return_sequences, units

        def forward(self, x):
            outputs = self.rnn(x)[0]
            if self.return_sequences:
                return outputs
            return torch.cat([outputs[:, -1, : self.units], outputs[:, 0, self.units :]], dim=-1)

    class Stack(torch.nn.Module):
        def __init__(self, layers, residual):
            super().__init__()
            self.stack, self.residual = torch.nn.ModuleList(layers), residual

        def forward(self, x):
            for index, module in enumerate(self.stack):
                y = module(x)
                x = y + x if self.residual[index] else y
            return x

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
    return Recurrent(_torch_rnn(layer, input_size), layer), layer.cell.units


def _make_dense(layer):
    import torch

    activation = layer.get_config()["activation"]
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"The PyTorch twin supports Dense activations {ACTIVATIONS}. "
            f"Received: layer={layer.name!r}, activation={activation!r}"
        )
    linear = torch.nn.Linear(layer.kernel.shape[0], layer.units, bias=layer.use_bias)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(np.asarray(layer.kernel.numpy()).T.copy()))
        if layer.use_bias:
            linear.bias.copy_(torch.from_numpy(np.asarray(layer.bias.numpy())))
    functions = {
        "linear": torch.nn.Identity(),
        "relu": torch.nn.ReLU(),
        "tanh": torch.nn.Tanh(),
        "sigmoid": torch.nn.Sigmoid(),
        "softmax": torch.nn.Softmax(dim=-1),
    }
    return torch.nn.Sequential(linear, functions[activation])


def _top_layers(model) -> list:
    layers = []
    for layer in children(model):
        if hasattr(layer, "layers") and not hasattr(layer, "rnn_layers"):
            layers.extend(_top_layers(layer))
        else:
            layers.append(layer)
    return layers


def build_twin(model):
    """A ``torch.nn.Module`` running the model's recurrent and ``Dense`` layers in order.

    Args:
        model: A single-input model of float sequences.

    Returns:
        An eval-mode module taking a ``(batch, timesteps, features)`` float tensor.
    """
    import torch

    if len(model.inputs) != 1 or not model.inputs[0].dtype.startswith("float"):
        raise ValueError(
            "The PyTorch twin needs a model with one float sequence input. "
            f"Received: inputs={[(t.shape, t.dtype) for t in model.inputs]}"
        )
    size = model.inputs[0].shape[-1]
    modules = []
    for layer in _top_layers(model):
        recurrent = (
            is_recurrent(layer) or hasattr(layer, "forward_layer") or hasattr(layer, "rnn_layers")
        )
        if recurrent:
            module, size = _make_recurrent(layer, size)
            modules.append(module)
        elif layer.__class__.__name__ == "Dense":
            modules.append(_make_dense(layer))
            size = layer.units
    return torch.nn.Sequential(*modules).eval()
