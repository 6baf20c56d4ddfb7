"""Our LSTM layers as the fused TFLite builtin `UNIDIRECTIONAL_SEQUENCE_LSTM`.

The TFLite converter still fuses a function that declares the Keras 2 LSTM
interface: a `tf.function` with the attribute `api_implements="lstm_<id>"`
(plus `api_preferred_device`, `time_major` and `go_backwards`), taking
`(inputs, init_h, init_c, kernel, recurrent_kernel, bias)` and returning
`(last_output, outputs, h, c, runtime)`. Its pass replaces the body with one
fused op when the model is converted through a SavedModel, the batch is fixed,
there is no mask argument and only `last_output` / `outputs` are used.

Everything the fused op does not cover is handled here or refused by
`fusion_blockers` (the layer then keeps its own loop):

- masks: the op has no mask input. For right-padded sequences (valid steps
  first, as `rnnkeras.pipeline.data` pads) the masked result is recovered exactly from
  the per-sequence lengths: the backward direction reads each sequence
  reversed within its length, the last output is gathered
  at `length - 1` and padded steps are filled as Keras fills them;
- initial states: the op keeps them in TFLite variable tensors and writes its
  final states back, so each state is made the output of an op that runs on
  every invoke, and a plain runtime gives the same output for the same input
  without `reset_all_variables()`;
- `return_state`: the op returns no cell state;
- peephole and projection weights: the op has inputs for them, but the
  converter builds it from the Keras 2 interface, which has none
  (`ConvertKerasLSTMLayer` in TensorFlow's
  `compiler/mlir/lite/utils/lstm_utils.cc` passes no weights for both; its
  `LSTMCellSimple` composite builds the one-step `LSTM` op, not the
  sequence op, with no peepholes). They follow `bias` as extra arguments,
  which the body uses and the converter ignores, and
  `with_cell_state_weights` writes them into the converted op's empty
  inputs (float32 files only: a quantized op needs them quantized with it);
- the converter sets the op's `cell_clip` to 10, clipping the cell state to
  [-10, 10], which Keras does not do; a cell state that grows past 10 and
  shrinks back then changes sign. `without_cell_clip` clears it in float
  files. Full-int8 files keep it: their int16 cell state is calibrated for it.

Example:

>>> import numpy as np, tensorflow as tf
>>> from rnnkeras.layers import LSTM
>>> layer = LSTM(4, return_sequences=True)
>>> x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
>>> keras_out = layer(x).numpy()
>>> fused_out = fused_lstm_call(layer, tf.constant(x), None, None).numpy()
>>> bool(np.abs(fused_out - keras_out).max() < 1e-5)
True
"""

import uuid

import keras
import numpy as np
import tensorflow as tf
from tensorflow.lite.python import schema_py_generated as schema

from rnnkeras.layers.peephole_lstm import PEEPHOLE_WEIGHTS, PeepholeLSTMCell

FUSED_OP = "UNIDIRECTIONAL_SEQUENCE_LSTM"

RUNTIME_CPU = 1.0
"""The `runtime` output of the Keras 2 interface (1 = CPU kernel), kept for the signature."""


def lstm_interface_function(go_backwards: bool, projection: bool = False):
    """A `tf.function` computing an LSTM behind the interface the converter fuses.

    The body is a complete LSTM (gate order input, forget, cell, output; sigmoid
    gates, tanh activations), so wherever the function is not fused (a dynamic
    batch, a plain TensorFlow run) it still computes what the layer computes.
    Peephole and projection weights may follow `bias`: the converter reads
    the first six arguments only, and `with_cell_state_weights` adds these
    to the fused op afterwards. They come as three peephole vectors
    `(units,)` (input, forget, output gate; Gers et al., 2002), zeros for a
    cell without peepholes, then, with `projection`, the projection kernel
    `(units, proj_size)` (Sak et al., 2014): never seven arguments, which
    the converter takes for a masked LSTM and does not fuse
    (`CheckFusableKerasLstm` in `prepare_composite_functions_tf.cc`).

    Args:
        go_backwards: Whether the sequence is read from the end; `outputs`
            are then in reading order, as in Keras.
        projection: Whether the projection kernel comes last; `init_h` and
            the outputs then have `proj_size` entries.

    Returns:
        A `tf.function` `(inputs, init_h, init_c, kernel, recurrent_kernel,
        bias, *extra) -> (last_output, outputs, h, c, runtime)` with
        batch-major inputs.
    """
    attributes = {
        "api_implements": f"lstm_{uuid.uuid4()}",
        "api_preferred_device": "CPU",
        "time_major": False,
        "go_backwards": go_backwards,
    }

    def standard_lstm(inputs, init_h, init_c, kernel, recurrent_kernel, bias, *extra):
        peepholes = extra[:3] if extra else [0.0, 0.0, 0.0]
        steps = tf.transpose(inputs, (1, 0, 2))
        if go_backwards:
            steps = tf.reverse(steps, axis=[0])
        projected = tf.einsum("tbf,fg->tbg", steps, kernel) + bias

        def step(carry, projected_t):
            h, c = carry
            z = projected_t + tf.matmul(h, recurrent_kernel)
            z_input, z_forget, z_cell, z_output = tf.split(z, 4, axis=-1)
            input_gate = tf.sigmoid(z_input + peepholes[0] * c)
            forget_gate = tf.sigmoid(z_forget + peepholes[1] * c)
            c = forget_gate * c + input_gate * tf.tanh(z_cell)
            h = tf.sigmoid(z_output + peepholes[2] * c) * tf.tanh(c)
            return (tf.matmul(h, extra[-1]) if projection else h), c

        hs, cs = tf.scan(step, projected, initializer=(init_h, init_c))
        outputs = tf.transpose(hs, (1, 0, 2))
        return hs[-1], outputs, hs[-1], cs[-1], tf.constant(RUNTIME_CPU)

    return tf.function(standard_lstm, experimental_attributes=attributes, autograph=False)


def fusion_blockers(layer, mask, right_padded: bool, float_file: bool = True) -> list[str]:
    """Why `layer` cannot become the fused op in this call; empty when it can.

    Args:
        layer: An LSTM layer (ours or `keras.layers.LSTM`) or a `PeepholeLSTM`.
        mask: The mask the layer receives (`None` when unmasked).
        right_padded: Whether masked inputs are declared right-padded.
        float_file: Whether the file keeps float32 weights (no quantization);
            peephole and projection weights can only be added to such files.
    """
    cell = layer.cell
    extra = [
        name
        for name, present in (
            ("peephole", _has_peepholes(cell)),
            ("projection", getattr(cell, "proj_size", None) is not None),
        )
        if present
    ]
    checks = [
        (
            float_file or not extra,
            f"{' and '.join(extra)} weights in a quantized file (they are added to the fused "
            "op after conversion, in float32 files only)",
        ),
        (cell.activation in (keras.activations.tanh, keras.ops.tanh), "activation is not tanh"),
        (
            cell.recurrent_activation in (keras.activations.sigmoid, keras.ops.sigmoid),
            "recurrent_activation is not sigmoid",
        ),
        (not layer.return_state, "return_state=True (the fused op returns no cell state)"),
        (
            mask is None or right_padded,
            "masked input (the fused op has no mask input; pass right_padded=True when "
            "padding is at the end of each sequence)",
        ),
        (
            getattr(layer, "state_perturbation", None) is None,
            "a time-step probe (state_perturbation) is attached",
        ),
        (cell.compute_dtype == "float32", f"compute dtype {cell.compute_dtype} (needs float32)"),
    ]
    return [reason for passed, reason in checks if not passed]


def _has_peepholes(cell) -> bool:
    return isinstance(cell, PeepholeLSTMCell)


def _weights(cell) -> list[tf.Tensor]:
    # Tensors, not variables: with resource arguments the converter's fusion
    # pass reads arguments that freezing has already removed and crashes
    # (segmentation fault, TensorFlow 2.21).
    kernel = tf.convert_to_tensor(cell.kernel.value)
    recurrent_kernel = tf.convert_to_tensor(cell.recurrent_kernel.value)
    if cell.use_bias:
        bias = tf.convert_to_tensor(cell.bias.value)
    else:
        bias = tf.zeros((4 * cell.units,), kernel.dtype)
    weights = [kernel, recurrent_kernel, bias]
    if _has_peepholes(cell):
        weights += [tf.convert_to_tensor(getattr(cell, name).value) for name in PEEPHOLE_WEIGHTS]
    if getattr(cell, "proj_size", None) is not None:
        if not _has_peepholes(cell):
            weights += [tf.zeros((cell.units,), kernel.dtype)] * 3
        weights.append(tf.convert_to_tensor(cell.projection_kernel.value))
    return weights


def _reverse_within_lengths(sequences, lengths):
    # tf.reverse_sequence as a gather: TFLite's REVERSE_SEQUENCE has no int8 kernel.
    steps = tf.range(sequences.shape[1])[None, :]
    indices = tf.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)
    return tf.gather(sequences, indices, axis=1, batch_dims=1)


def _written_each_call(state, sequences, salt: int):
    # The fused op keeps its initial states in TFLite *variable* tensors and
    # writes its final states into them. A constant initial state (zeros) is
    # written once, at load, so every later invoke of a plain interpreter (one
    # that never calls reset_all_variables) would start from the previous
    # sequence's state. Selecting the state by a condition computed from this
    # call's input makes the variable tensor the output of an op that runs on
    # every invoke. The condition `x > salt and x < salt` is false for every x
    # (NaN and inf included, and in int8 arithmetic), the converter cannot fold
    # it, and its threshold is unique to this state so that common-subexpression
    # elimination cannot merge two states into one tensor. A select keeps the
    # state's own type (an int16 cell state in full-int8 files); arithmetic
    # here would not (the converter then feeds int8 into an int16 ADD). States
    # the graph computes go through it too: one tensor given as two states, or
    # to two layers, must still become a variable of each op's own.
    state = tf.convert_to_tensor(state)
    first = sequences[:, 0, :1]
    salt = tf.constant(float(salt), sequences.dtype)
    never = tf.logical_and(first > salt, first < salt)
    return tf.where(never, tf.ones_like(state), state)


def fused_lstm_call(layer, sequences, initial_state, mask, call_index: int = 0):
    """What `layer(sequences, initial_state, mask)` returns, through the fusable function.

    Args:
        layer: An LSTM layer that passed `fusion_blockers`.
        sequences: `(batch, timesteps, features)` with a fixed batch.
        initial_state: `None` or `[h, c]`.
        mask: `None`, or a right-padded `(batch, timesteps)` mask.
        call_index: A number unique to this call within the traced graph
            (the order in which the fused layers are traced), so that each
            fused op gets initial-state tensors of its own.

    Returns:
        The full sequence (`return_sequences`) or the last output, as Keras.
    """
    cell = layer.cell
    sequences = tf.convert_to_tensor(sequences)
    if initial_state is None:
        initial_state = [
            tf.zeros((sequences.shape[0], size), sequences.dtype) for size in cell.state_size
        ]
    h0, c0 = (
        _written_each_call(state, sequences, salt=2 * call_index + offset)
        for offset, state in enumerate(initial_state)
    )
    weights = _weights(cell)
    options = {"projection": getattr(cell, "proj_size", None) is not None}
    if mask is None:
        function = lstm_interface_function(layer.go_backwards, **options)
        last_output, outputs, _, _, _ = function(sequences, h0, c0, *weights)
        return outputs if layer.return_sequences else last_output

    lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    if layer.go_backwards:
        sequences = _reverse_within_lengths(sequences, lengths)
    _, outputs, _, _, _ = lstm_interface_function(False, **options)(sequences, h0, c0, *weights)
    valid = tf.sequence_mask(lengths, maxlen=sequences.shape[1])[:, :, None]
    last_index = tf.maximum(lengths - 1, 0)
    last_output = tf.gather(outputs, last_index, axis=1, batch_dims=1)
    # Keras' masked loop emits zeros until the first valid step: all-padding rows read zero.
    last_output = tf.where(lengths[:, None] > 0, last_output, tf.zeros_like(last_output))
    if not layer.return_sequences:
        if layer.zero_output_for_mask and not layer.go_backwards:
            # Keras then returns the output of the final step, zero for a padded row.
            full = lengths[:, None] == sequences.shape[1]
            return tf.where(full, last_output, tf.zeros_like(last_output))
        return last_output
    if layer.go_backwards:
        # Keras returns the backward sequence in reading order: padded steps
        # (read first) as zeros, then the valid steps from the last to the first.
        in_input_order = tf.where(valid, _reverse_within_lengths(outputs, lengths), 0.0)
        return tf.reverse(in_input_order, axis=[1])
    padding_value = 0.0 if layer.zero_output_for_mask else last_output[:, None, :]
    return tf.where(valid, outputs, padding_value)


def _fused_ops(model):
    from tensorflow.lite.tools import flatbuffer_utils

    for subgraph in model.subgraphs:
        for operator in subgraph.operators or []:
            if flatbuffer_utils.opcode_to_name(model, operator.opcodeIndex) == FUSED_OP:
                yield subgraph, operator


def _constant(model, subgraph, index: int) -> np.ndarray | None:
    tensor = subgraph.tensors[index]
    data = model.buffers[tensor.buffer].data
    if tensor.type != schema.TensorType.FLOAT32 or data is None or not len(data):
        return None
    return np.frombuffer(bytes(data), np.float32).reshape(tensor.shape)


def _add_constant(model, subgraph, values: np.ndarray, name: str) -> int:
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(np.ascontiguousarray(values, np.float32).tobytes(), np.uint8)
    model.buffers.append(buffer)
    tensor = schema.TensorT()
    tensor.shape = np.asarray(values.shape, np.int32)
    tensor.type = schema.TensorType.FLOAT32
    tensor.buffer = len(model.buffers) - 1
    tensor.name = name.encode()
    subgraph.tensors.append(tensor)
    return len(subgraph.tensors) - 1


def with_cell_state_weights(content: bytes, cells: list) -> bytes:
    """The float `.tflite` file `content` with peephole and projection weights in its fused ops.

    The converter builds each fused op from the Keras 2 interface, which has
    no peephole or projection argument (TensorFlow's `ConvertKerasLSTMLayer`,
    `compiler/mlir/lite/utils/lstm_utils.cc`, passes none for both), so the
    op computes a plain LSTM. The op itself has inputs for them (9–11: cell to
    input, forget and output gate; 16: projection weights `(proj_size,
    units)`), filled here with constant tensors; the TFLite kernel then computes
    the peephole and projection LSTM. Each op is matched to its cell by its
    input and recurrent weights, which the converter stores unchanged in a
    float file.

    Args:
        content: A converted float32 file.
        cells: The cells of the layers exported as the fused op.

    Returns:
        The completed file (`content` itself if no cell has such weights).

    Raises:
        RuntimeError: If a cell's op cannot be found in the file.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    cells = [
        cell
        for cell in cells
        if _has_peepholes(cell) or getattr(cell, "proj_size", None) is not None
    ]
    if not cells:
        return content
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    operators = list(_fused_ops(model))
    for cell in cells:
        units = cell.units
        kernel = np.asarray(cell.kernel.value)
        recurrent_kernel = np.asarray(cell.recurrent_kernel.value)
        found = None
        for subgraph, operator in operators:
            weights = [_constant(model, subgraph, operator.inputs[i]) for i in (1, 5)]
            if all(w is not None for w in weights) and all(
                np.array_equal(w, expected)
                for w, expected in zip(
                    weights, (kernel[:, :units].T, recurrent_kernel[:, :units].T), strict=True
                )
            ):
                found = subgraph, operator
                break
        if found is None:
            raise RuntimeError(
                f"No fused LSTM op in the converted file has the weights of cell '{cell.name}', "
                "so its peephole/projection weights cannot be added. Received: "
                f"{len(operators)} fused op(s)"
            )
        operators.remove(found)
        subgraph, operator = found
        inputs = list(operator.inputs)
        if _has_peepholes(cell):
            for index, name in zip((9, 10, 11), PEEPHOLE_WEIGHTS, strict=True):
                inputs[index] = _add_constant(
                    model, subgraph, np.asarray(getattr(cell, name).value), f"{cell.name}/{name}"
                )
        if getattr(cell, "proj_size", None) is not None:
            inputs[16] = _add_constant(
                model,
                subgraph,
                np.asarray(cell.projection_kernel.value).T,
                f"{cell.name}/projection_kernel",
            )
        operator.inputs = np.asarray(inputs, np.int32)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def without_cell_clip(content: bytes) -> bytes:
    """The `.tflite` file `content` with the fused LSTM ops' cell clipping turned off.

    `cell_clip = 0` means no clipping in the TFLite kernels, so the op then
    computes the Keras LSTM exactly.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    for subgraph in model.subgraphs:
        for operator in subgraph.operators or []:
            if flatbuffer_utils.opcode_to_name(model, operator.opcodeIndex) == FUSED_OP:
                operator.builtinOptions.cellClip = 0.0
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
