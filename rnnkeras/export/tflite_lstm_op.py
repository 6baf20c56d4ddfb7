"""Our ``LSTM`` as the fused TFLite builtin ``UNIDIRECTIONAL_SEQUENCE_LSTM``.

The TFLite converter still fuses a function that declares the Keras 2 LSTM
interface: a ``tf.function`` with the attribute ``api_implements="lstm_<id>"``
(plus ``api_preferred_device``, ``time_major`` and ``go_backwards``), taking
``(inputs, init_h, init_c, kernel, recurrent_kernel, bias)`` and returning
``(last_output, outputs, h, c, runtime)``. Its pass replaces the body with one
fused op when the model is converted through a SavedModel, the batch is fixed,
there is no mask argument and only ``last_output`` / ``outputs`` are used.

Everything the fused op does not cover is handled here or refused by
``fusion_blockers`` (the layer then keeps its own loop):

- masks: the op has no mask input. For right-padded sequences (valid steps
  first, as ``rnnkeras.pipeline.data`` pads) the masked result is recovered exactly from
  the per-sequence lengths: the backward direction reads each sequence
  reversed within its length, the last output is gathered
  at ``length - 1`` and padded steps are filled as Keras fills them;
- initial states: the op keeps them in TFLite variable tensors and writes its
  final states back, so each state is made the output of an op that runs on
  every invoke, and a plain runtime gives the same output for the same input
  without ``reset_all_variables()``;
- ``return_state``: the op returns no cell state;
- the converter sets the op's ``cell_clip`` to 10, clipping the cell state to
  [-10, 10], which Keras does not do; a cell state that grows past 10 and
  shrinks back then changes sign. ``without_cell_clip`` clears it in float
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
import tensorflow as tf

FUSED_OP = "UNIDIRECTIONAL_SEQUENCE_LSTM"

RUNTIME_CPU = 1.0
"""The ``runtime`` output of the Keras 2 interface (1 = CPU kernel), kept for the signature."""


def lstm_interface_function(go_backwards: bool):
    """A ``tf.function`` computing an LSTM behind the interface the converter fuses.

    The body is a complete LSTM (gate order input, forget, cell, output; sigmoid
    gates, tanh activations), so wherever the function is not fused (a dynamic
    batch, a plain TensorFlow run) it still computes what the layer computes.

    Args:
        go_backwards: Whether the sequence is read from the end; ``outputs``
            are then in reading order, as in Keras.

    Returns:
        A ``tf.function`` ``(inputs, init_h, init_c, kernel, recurrent_kernel,
        bias) -> (last_output, outputs, h, c, runtime)`` with batch-major inputs.
    """
    attributes = {
        "api_implements": f"lstm_{uuid.uuid4()}",
        "api_preferred_device": "CPU",
        "time_major": False,
        "go_backwards": go_backwards,
    }

    def standard_lstm(inputs, init_h, init_c, kernel, recurrent_kernel, bias):
        steps = tf.transpose(inputs, (1, 0, 2))
        if go_backwards:
            steps = tf.reverse(steps, axis=[0])
        projected = tf.einsum("tbf,fg->tbg", steps, kernel) + bias

        def step(carry, projected_t):
            h, c = carry
            z = projected_t + tf.matmul(h, recurrent_kernel)
            z_input, z_forget, z_cell, z_output = tf.split(z, 4, axis=-1)
            c = tf.sigmoid(z_forget) * c + tf.sigmoid(z_input) * tf.tanh(z_cell)
            return tf.sigmoid(z_output) * tf.tanh(c), c

        hs, cs = tf.scan(step, projected, initializer=(init_h, init_c))
        outputs = tf.transpose(hs, (1, 0, 2))
        return hs[-1], outputs, hs[-1], cs[-1], tf.constant(RUNTIME_CPU)

    return tf.function(standard_lstm, experimental_attributes=attributes, autograph=False)


def fusion_blockers(layer, mask, right_padded: bool) -> list[str]:
    """Why ``layer`` cannot become the fused op in this call; empty when it can.

    Args:
        layer: An LSTM layer (ours or ``keras.layers.LSTM``).
        mask: The mask the layer receives (``None`` when unmasked).
        right_padded: Whether masked inputs are declared right-padded.
    """
    cell = layer.cell
    checks = [
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


def _weights(cell) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    # Tensors, not variables: with resource arguments the converter's fusion
    # pass reads arguments that freezing has already removed and crashes
    # (segmentation fault, TensorFlow 2.21).
    kernel = tf.convert_to_tensor(cell.kernel.value)
    recurrent_kernel = tf.convert_to_tensor(cell.recurrent_kernel.value)
    if cell.use_bias:
        bias = tf.convert_to_tensor(cell.bias.value)
    else:
        bias = tf.zeros((4 * cell.units,), kernel.dtype)
    return kernel, recurrent_kernel, bias


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
    """What ``layer(sequences, initial_state, mask)`` returns, through the fusable function.

    Args:
        layer: An LSTM layer that passed ``fusion_blockers``.
        sequences: ``(batch, timesteps, features)`` with a fixed batch.
        initial_state: ``None`` or ``[h, c]``.
        mask: ``None``, or a right-padded ``(batch, timesteps)`` mask.
        call_index: A number unique to this call within the traced graph
            (the order in which the fused layers are traced), so that each
            fused op gets initial-state tensors of its own.

    Returns:
        The full sequence (``return_sequences``) or the last output, as Keras.
    """
    cell = layer.cell
    sequences = tf.convert_to_tensor(sequences)
    if initial_state is None:
        initial_state = [tf.zeros((sequences.shape[0], cell.units), sequences.dtype)] * 2
    h0, c0 = (
        _written_each_call(state, sequences, salt=2 * call_index + offset)
        for offset, state in enumerate(initial_state)
    )
    weights = _weights(cell)
    if mask is None:
        function = lstm_interface_function(layer.go_backwards)
        last_output, outputs, _, _, _ = function(sequences, h0, c0, *weights)
        return outputs if layer.return_sequences else last_output

    lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    if layer.go_backwards:
        sequences = _reverse_within_lengths(sequences, lengths)
    _, outputs, _, _, _ = lstm_interface_function(False)(sequences, h0, c0, *weights)
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


def without_cell_clip(content: bytes) -> bytes:
    """The ``.tflite`` file ``content`` with the fused LSTM ops' cell clipping turned off.

    ``cell_clip = 0`` means no clipping in the TFLite kernels, so the op then
    computes the Keras LSTM exactly.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    for subgraph in model.subgraphs:
        for operator in subgraph.operators or []:
            if flatbuffer_utils.opcode_to_name(model, operator.opcodeIndex) == FUSED_OP:
                operator.builtinOptions.cellClip = 0.0
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
