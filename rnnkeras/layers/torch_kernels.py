"""PyTorch's own fused SimpleRNN, LSTM and GRU kernels, run on weights in the Keras layout.

On the PyTorch backend a Keras recurrent loop is a Python loop of small ops per
time step. PyTorch's `nn.RNN`, `nn.LSTM` and `nn.GRU` run one native kernel per
sequence instead (cuDNN on a CUDA device, ATen's fused CPU kernel elsewhere).
They are thin wrappers around `torch._VF.rnn_tanh` / `rnn_relu`,
`torch._VF.lstm` and `torch._VF.gru`, which take the weights as a list of
tensors; that is what we call, with the Keras variables mapped on the fly, so
autograd carries gradients through the mapping to the Keras variables and `fit`
trains them. (Keras 3.15's own `keras.src.backend.torch.rnn` calls the LSTM
and GRU functions, for its cuDNN path only; it has none for SimpleRNN.)

Weight mapping (PyTorch stores `(out, in)`, Keras `(in, out)`, hence the
transposes):

- SimpleRNN (`h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`, `act`
  `tanh` for `rnn_tanh` or `relu` for `rnn_relu`): `weight_ih = kernel.T`,
  `weight_hh = recurrent_kernel.T`, `bias_ih = bias`, `bias_hh = 0` (Keras has
  one bias).
- LSTM: Keras' gate order input, forget, cell, output is PyTorch's `i, f, g, o`:
  `weight_ih = kernel.T`, `weight_hh = recurrent_kernel.T`, `bias_ih = bias`,
  `bias_hh = 0` (Keras has one bias), and with `proj_size`,
  `weight_hr = projection_kernel.T` (PyTorch infers the projection from the
  width of `h`).
- GRU (`reset_after=True` only, which is PyTorch's formulation,
  `n = tanh(x W_n + b_in + r * (h U_n + b_hn))`): Keras orders the gates
  update, reset, candidate (`z, r, n`), PyTorch `r, z, n`, so the first two
  column blocks swap; `bias[0]` is `bias_ih`, `bias[1]` is `bias_hh`.

Masks: a right-padded mask (each row `True` for a prefix of the steps, at least
one) runs as a packed sequence (`torch.nn.utils.rnn.pack_padded_sequence`),
whose final state is the state after each sequence's last valid step, as in
Keras; padded output steps are then filled as Keras fills them (zeros with
`zero_output_for_mask`, the last output included, else the last valid output).
With `go_backwards` each sequence's valid steps are reversed in place first and
their outputs moved to the end, after the zeros Keras outputs for the masked
steps it meets first. Any other mask raises
`NotImplementedError`, and the caller runs the generic loop.

Example:

>>> import torch
>>> x = torch.ones(2, 5, 3)
>>> kernel, recurrent_kernel = torch.zeros(3, 16), torch.zeros(4, 16)
>>> last, outputs, (h, c) = lstm(x, [torch.zeros(2, 4)] * 2, kernel, recurrent_kernel,
...                              torch.zeros(16), return_sequences=True)
>>> tuple(outputs.shape), tuple(c.shape)
((2, 5, 4), (2, 4))
"""

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence


def lstm_weights(kernel, recurrent_kernel, bias=None, projection_kernel=None) -> list:
    """Keras LSTM weights as the `torch._VF.lstm` weight list.

    Args:
        kernel: `(features, 4 * units)`.
        recurrent_kernel: `(units or proj_size, 4 * units)`.
        bias: `(4 * units,)` or `None`.
        projection_kernel: `(units, proj_size)` or `None`.

    Returns:
        `[weight_ih, weight_hh(, bias_ih, bias_hh)(, weight_hr)]`, views and
        new tensors that stay on the autograd graph of the arguments.
    """
    weights = [kernel.T, recurrent_kernel.T]
    if bias is not None:
        weights += [bias, torch.zeros_like(bias)]
    if projection_kernel is not None:
        weights.append(projection_kernel.T)
    return weights


def simple_rnn_weights(kernel, recurrent_kernel, bias=None) -> list:
    """Keras SimpleRNN weights as the `torch._VF.rnn_tanh` / `rnn_relu` weight list.

    Args:
        kernel: `(features, units)`.
        recurrent_kernel: `(units, units)`.
        bias: `(units,)` or `None`.

    Returns:
        `[weight_ih (units, features), weight_hh (units, units)(, bias_ih, bias_hh)]`,
        views and new tensors that stay on the autograd graph of the arguments
        (`bias_hh` is zeros: Keras' one bias is PyTorch's two summed).

    Example:

    >>> import torch
    >>> [tuple(w.shape) for w in simple_rnn_weights(torch.ones(3, 4), torch.ones(4, 4))]
    [(4, 3), (4, 4)]
    """
    weights = [kernel.T, recurrent_kernel.T]
    if bias is not None:
        weights += [bias, torch.zeros_like(bias)]
    return weights


def gru_weights(kernel, recurrent_kernel, bias=None) -> list:
    """Keras GRU weights (`reset_after=True`) as the `torch._VF.gru` weight list.

    Args:
        kernel: `(features, 3 * units)`, gates `z, r, n`.
        recurrent_kernel: `(units, 3 * units)`.
        bias: `(2, 3 * units)` (input row, recurrent row) or `None`.

    Returns:
        `[weight_ih, weight_hh(, bias_ih, bias_hh)]` with the gates in
        PyTorch's order `r, z, n`.
    """

    def reorder(columns):
        update, reset, candidate = torch.chunk(columns, 3, dim=-1)
        return torch.cat([reset, update, candidate], dim=-1)

    weights = [reorder(kernel).T, reorder(recurrent_kernel).T]
    if bias is not None:
        weights += [reorder(bias[0]), reorder(bias[1])]
    return weights


def right_padded_lengths(mask):
    """Sequence lengths of a right-padded mask, or `None` if no packing is needed.

    Args:
        mask: Boolean `(batch, timesteps)`.

    Returns:
        `None` when no step is masked, else the lengths `(batch,)` (int64, CPU).

    Raises:
        NotImplementedError: If some row is not a prefix of `True`s or is all
            `False`; the caller then runs the generic loop.
    """
    mask = mask.to(torch.bool)
    lengths = mask.sum(dim=1)
    steps = torch.arange(mask.shape[1], device=mask.device)
    if not bool(torch.equal(mask, steps[None, :] < lengths[:, None])):
        raise NotImplementedError("the mask is not right-padded")
    lengths = lengths.cpu()
    if int(lengths.min()) == 0:
        raise NotImplementedError("a sequence is fully masked")
    if int(lengths.min()) == mask.shape[1]:
        return None
    return lengths


def reverse_valid_steps(inputs, lengths):
    """Each sequence's first `length` steps in reverse order, its padding left after them.

    This is what Keras' `go_backwards` reads from a right-padded sequence once
    its (then leading) masked steps, which change nothing, are skipped.
    """
    steps = torch.arange(inputs.shape[1], device=inputs.device)[None, :]
    lengths = lengths.to(inputs.device)[:, None]
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)
    return torch.gather(inputs, 1, index[:, :, None].expand(-1, -1, inputs.shape[2]))


def move_to_end(outputs, lengths):
    """Shifts each sequence's first `length` outputs to the end, zeros before them.

    With `go_backwards` Keras meets the masked steps first: they output zeros
    (there is no previous output yet) and the valid steps fill the last places.
    """
    timesteps = outputs.shape[1]
    steps = torch.arange(timesteps, device=outputs.device)[None, :]
    source = steps - (timesteps - lengths.to(outputs.device)[:, None])
    gathered = torch.gather(
        outputs, 1, source.clamp(min=0)[:, :, None].expand(-1, -1, outputs.shape[2])
    )
    return torch.where((source >= 0)[:, :, None], gathered, torch.zeros_like(gathered))


def run_packed(kernel_function, inputs, hidden, weights, has_biases, lengths, train):
    """`kernel_function` (as in `run_kernel`) over right-padded sequences.

    Returns:
        `(outputs, hidden)`: outputs `(batch, timesteps, width)` with zeros after
        each sequence's end, and the final hidden tensor(s) `(1, batch, width)`
        taken at each sequence's last valid step, in the input's batch order.
    """
    packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
    order, restore = packed.sorted_indices, packed.unsorted_indices
    hidden = tuple(state.index_select(1, order) for state in hidden)
    data, *final = kernel_function(
        packed.data,
        packed.batch_sizes,
        hidden if len(hidden) > 1 else hidden[0],
        weights,
        has_biases,
        1,
        0.0,
        train,
        False,
    )
    outputs, _ = pad_packed_sequence(
        PackedSequence(data, packed.batch_sizes, order, restore),
        batch_first=True,
        total_length=inputs.shape[1],
    )
    return outputs, [state.index_select(1, restore) for state in final]


def run_kernel(
    kernel_function,
    inputs,
    initial_state,
    weights,
    has_biases,
    mask=None,
    go_backwards=False,
    zero_output_for_mask=False,
    return_sequences=False,
):
    """Runs `torch._VF.lstm` / `gru` / `rnn_tanh` / `rnn_relu` with Keras' loop conventions.

    Args:
        kernel_function: `torch._VF.lstm`, `gru`, `rnn_tanh` or `rnn_relu`.
        inputs: `(batch, timesteps, features)`.
        initial_state: The Keras states, `[h, c]` or `[h]`, `(batch, width)` each.
        weights: From `lstm_weights`, `gru_weights` or `simple_rnn_weights`.
        has_biases: Whether `weights` hold the two biases.
        mask: `None` or boolean `(batch, timesteps)`, right-padded.
        go_backwards: Read the steps in reverse (outputs stay in that order, as
            in Keras).
        zero_output_for_mask: Masked output steps are zeros instead of the last
            valid output.
        return_sequences: Whether the caller wants every step's output.

    Returns:
        `(last_output, outputs, states)` like Keras' `backend.rnn`.

    Raises:
        NotImplementedError: For a mask that is not right-padded or a fully
            masked sequence.
    """
    lengths = None if mask is None else right_padded_lengths(mask)
    if go_backwards:
        if lengths is None:
            inputs = torch.flip(inputs, dims=[1])
        else:
            inputs = reverse_valid_steps(inputs, lengths)
    hidden = tuple(state.unsqueeze(0) for state in initial_state)
    train = torch.is_grad_enabled()
    if lengths is None:
        outputs, *final = kernel_function(
            inputs,
            hidden if len(hidden) > 1 else hidden[0],
            weights,
            has_biases,
            1,
            0.0,
            train,
            False,
            True,
        )
    else:
        outputs, final = run_packed(
            kernel_function, inputs, hidden, weights, has_biases, lengths, train
        )
    states = [state.squeeze(0) for state in final]
    last_output = states[0]
    if lengths is None:
        return last_output, outputs if return_sequences else last_output[:, None], states
    if go_backwards:
        # The valid steps come last, so the last output is the final `h` either way.
        outputs = move_to_end(outputs, lengths) if return_sequences else last_output[:, None]
        return last_output, outputs, states
    if zero_output_for_mask:
        # Keras' loop then outputs zeros at padded steps, its last step included.
        last_output = outputs[:, -1]
    elif return_sequences:
        valid = mask.to(torch.bool)[:, :, None]
        outputs = torch.where(valid, outputs, last_output[:, None, :])
    return last_output, outputs if return_sequences else last_output[:, None], states


def lstm(
    inputs,
    initial_state,
    kernel,
    recurrent_kernel,
    bias=None,
    projection_kernel=None,
    **options,
):
    """A Keras-layout LSTM (tanh, sigmoid) through PyTorch's fused kernel.

    Args:
        inputs: `(batch, timesteps, features)`.
        initial_state: `[h, c]`, `(batch, units or proj_size)` and `(batch, units)`.
        kernel, recurrent_kernel, bias, projection_kernel: As in `lstm_weights`.
        **options: `mask`, `go_backwards`, `zero_output_for_mask`,
            `return_sequences`, as in `run_kernel`.

    Returns:
        `(last_output, outputs, [h, c])`.

    Raises:
        NotImplementedError: As `run_kernel`.
    """
    weights = lstm_weights(kernel, recurrent_kernel, bias, projection_kernel)
    return run_kernel(torch._VF.lstm, inputs, initial_state, weights, bias is not None, **options)


def gru(inputs, initial_state, kernel, recurrent_kernel, bias=None, **options):
    """A Keras-layout GRU (`reset_after=True`, tanh, sigmoid) through PyTorch's fused kernel.

    Args:
        inputs: `(batch, timesteps, features)`.
        initial_state: `[h]`, `(batch, units)`.
        kernel, recurrent_kernel, bias: As in `gru_weights`.
        **options: As in `run_kernel`.

    Returns:
        `(last_output, outputs, [h])`.

    Raises:
        NotImplementedError: As `run_kernel`.
    """
    weights = gru_weights(kernel, recurrent_kernel, bias)
    return run_kernel(torch._VF.gru, inputs, initial_state, weights, bias is not None, **options)


# PyTorch's Elman kernels, by the activation they apply (`nn.RNN(nonlinearity=...)`).
SIMPLE_RNN_KERNELS = {"tanh": torch._VF.rnn_tanh, "relu": torch._VF.rnn_relu}


def simple_rnn(
    inputs, initial_state, kernel, recurrent_kernel, bias=None, activation="tanh", **options
):
    """A Keras-layout SimpleRNN (`tanh` or `relu`) through PyTorch's fused kernel.

    Computes `h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`,
    as `torch.nn.RNN(nonlinearity=activation)` does with the mapped weights.

    Args:
        inputs: `(batch, timesteps, features)`.
        initial_state: `[h]`, `(batch, units)`.
        kernel, recurrent_kernel, bias: As in `simple_rnn_weights`.
        activation: `"tanh"` (`torch._VF.rnn_tanh`) or `"relu"` (`rnn_relu`).
        **options: As in `run_kernel`.

    Returns:
        `(last_output, outputs, [h])`.

    Raises:
        ValueError: If `activation` is neither `"tanh"` nor `"relu"`.
        NotImplementedError: As `run_kernel`.

    Example:

    >>> x = torch.ones(2, 5, 3)
    >>> last, outputs, (h,) = simple_rnn(x, [torch.zeros(2, 4)], torch.zeros(3, 4),
    ...                                  torch.zeros(4, 4), activation="relu")
    >>> tuple(outputs.shape), tuple(h.shape)
    ((2, 1, 4), (2, 4))
    """
    if activation not in SIMPLE_RNN_KERNELS:
        raise ValueError(
            f"simple_rnn expects `activation` in {tuple(SIMPLE_RNN_KERNELS)} (PyTorch's Elman "
            f"kernels). Received: activation={activation!r}"
        )
    weights = simple_rnn_weights(kernel, recurrent_kernel, bias)
    return run_kernel(
        SIMPLE_RNN_KERNELS[activation], inputs, initial_state, weights, bias is not None, **options
    )
