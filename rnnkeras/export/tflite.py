"""`export_tflite`: a `.tflite` file that runs on a plain TFLite runtime (builtin ops only).

Keras 3 recurrent models do not convert as they are: with an open batch the
converter fails on `TensorListReserve`, and with Select TF ops the file needs a
Flex delegate that `ai_edge_litert` and microcontrollers do not have. Fixing
the batch and time axes turns each layer's loop into a builtin `WHILE`, and
an LSTM can become the fused `UNIDIRECTIONAL_SEQUENCE_LSTM` builtin
(`rnnkeras.export.tflite_lstm_op`), which only fuses when converted through a
SavedModel — so every export goes through one, in a scratch folder.
"""

import dataclasses
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from rnnkeras.atomic_files import atomic_path
from rnnkeras.export.flatbuffer import (
    custom_operators,
    operator_counts,
    state_carried_between_invokes,
)
from rnnkeras.export.forms import LayerForm
from rnnkeras.export.quantization import checked_mode, configure, representative_samples
from rnnkeras.export.saved_model import save_serving_module, serving_module
from rnnkeras.export.support import check_exportable, input_names, input_specs, recurrent_layers
from rnnkeras.export.tensorflow_process import runs_on_tensorflow
from rnnkeras.export.tflite_lstm_op import FUSED_OP, with_cell_state_weights, without_cell_clip

FORMS = ("auto", "fused", "while", "unrolled")
"""`export_tflite(form=...)`:

- `"auto"`: every LSTM that can fuse is fused; other layers keep their own
  loop (`WHILE`, or unrolled when built with `unroll=True`);
- `"fused"`: as `"auto"`, but an LSTM that cannot fuse is an error;
- `"while"` / `"unrolled"`: that form for every recurrent layer.

With `quantize="int8"` the loops that would be `WHILE` are unrolled, since
calibration cannot run `WHILE` loops (`rnnkeras.export.quantization`).
"""


@dataclasses.dataclass
class TFLiteExport:
    """A written `.tflite` file and what is inside it.

    Attributes:
        path: The file.
        quantize: `None`, `"float16"`, `"dynamic"` or `"int8"`.
        batch_size: The fixed batch axis.
        sequence_length: The fixed time axis of each input.
        inputs: Input names (those of the model's `Input` layers).
        size_bytes: File size.
        operators: Operator counts over all subgraphs (`operator_counts`).
        forms: What each recurrent layer became, by layer path.
    """

    path: Path
    quantize: str | None
    batch_size: int
    sequence_length: list[int]
    inputs: list[str]
    size_bytes: int
    operators: dict[str, int]
    forms: dict[str, LayerForm]


def _trace_options(form: str, quantize: str | None) -> tuple[str, str]:
    if form not in FORMS:
        raise ValueError(f"export_tflite expects form in {FORMS}. Received: form={form!r}")
    if form == "while" and quantize == "int8":
        raise ValueError(
            "quantize='int8' cannot calibrate WHILE loops (the TFLite calibrator crashes "
            "on them), so form='while' is refused. Use form='auto' (fused LSTMs, other "
            "loops unrolled) or form='unrolled'. Received: form='while', quantize='int8'"
        )
    fuse_lstm = {"auto": "when_possible", "fused": "always"}.get(form, "never")
    if form in ("while", "unrolled"):
        return fuse_lstm, form
    return fuse_lstm, "unrolled" if quantize == "int8" else "own"


def convert(
    model: keras.Model,
    specs: list[tf.TensorSpec],
    form: str = "auto",
    quantize: str | None = None,
    samples: Callable | None = None,
    right_padded: bool = False,
) -> tuple[bytes, dict[str, LayerForm]]:
    """Converts `model` at the fixed signature `specs`; returns the file's bytes and forms.

    The model is traced (with each recurrent layer routed to its form) into a
    SavedModel in a scratch folder, which the TFLite converter then reads.
    """
    fuse_lstm, loops = _trace_options(form, quantize)
    module, forms = serving_module(
        model, specs, fuse_lstm, loops, right_padded, float_file=quantize is None
    )
    with tempfile.TemporaryDirectory(prefix="rnnkeras-export-") as scratch:
        save_serving_module(module, scratch)
        converter = tf.lite.TFLiteConverter.from_saved_model(scratch)
        configure(converter, quantize, samples, specs)
        content = converter.convert()
    fused = [
        layer.cell
        for path, layer in recurrent_layers(model)
        if path in forms and forms[path].form == "fused"
    ]
    return with_cell_state_weights(content, fused), forms


@runs_on_tensorflow
def export_tflite(
    model: keras.Model,
    path: str | Path,
    sequence_length: int | Sequence[int] | None = None,
    batch_size: int = 1,
    quantize: str | None = None,
    representative_data: np.ndarray | list | Callable[[], Iterable] | None = None,
    form: str = "auto",
    right_padded: bool = False,
) -> TFLiteExport:
    """Writes `model` as a builtins-only `.tflite` file with fixed batch and length.

    The file is checked before it is written: it must contain builtin operators
    only (no Flex/Select or other custom ops), every LSTM reported as fused
    must be a `UNIDIRECTIONAL_SEQUENCE_LSTM` op in it, and no state may carry
    over from one invoke to the next (`state_carried_between_invokes`), so
    a plain runtime that never calls `reset_all_variables()` gives the same
    output for the same input on every invoke. It is written next to
    `path` and moved into place only when complete, so a failure leaves
    `path` as it was.

    Args:
        model: A built model whose layers pass `support.check_exportable`.
        path: The `.tflite` file to write.
        sequence_length: Time steps (one per input for several inputs). Needed
            when the model's time axis is open; must agree when it is fixed.
            Shorter sequences are padded to it (mask them in the model).
        batch_size: The fixed batch (1 for edge inference).
        quantize: `None`, `"float16"`, `"dynamic"` or `"int8"`
            (`rnnkeras.export.quantization`).
        representative_data: For `"int8"`: training inputs as an array
            `(samples, timesteps, ...)` (a list of arrays for several inputs),
            or a callable returning an iterable of samples or batches.
        form: How recurrent layers are exported, one of `FORMS`.
        right_padded: Declares that masked inputs are padded at the end (valid
            steps first), as `rnnkeras.pipeline.data` pads them; masked LSTMs can then
            fuse. Leave `False` for other padding: masked LSTMs stay loops.

    Returns:
        A `TFLiteExport` (path, size, operators, form of each layer).

    Example:

    >>> import keras, tempfile, os
    >>> from rnnkeras.layers import LSTM
    >>> model = keras.Sequential([keras.Input((None, 3)), LSTM(8, name="lstm"), keras.layers.Dense(2)])
    >>> export = export_tflite(model, os.path.join(tempfile.mkdtemp(), "m.tflite"),
    ...                        sequence_length=20)
    >>> export.operators["UNIDIRECTIONAL_SEQUENCE_LSTM"], export.forms["lstm"].form
    (1, 'fused')
    """
    check_exportable(model)
    quantize = checked_mode(quantize)
    specs = input_specs(model, sequence_length, batch_size)
    samples = representative_samples(representative_data, specs) if quantize == "int8" else None
    content, forms = convert(model, specs, form, quantize, samples, right_padded)
    operators = operator_counts(content)
    custom = custom_operators(operators)
    if custom:
        raise ValueError(
            "The converted model needs operators a plain TFLite runtime does not have, so "
            f"it was not written. Received: custom operators={custom}"
        )
    fused = sorted(path for path, layer in forms.items() if layer.form == "fused")
    if operators.get(FUSED_OP, 0) != len(fused):
        raise RuntimeError(
            f"The converter fused {operators.get(FUSED_OP, 0)} LSTM op(s) where the export "
            f"planned one per fused layer, so the file was not written. Received: fused "
            f"layers={fused}"
        )
    carried = state_carried_between_invokes(content)
    if carried:
        raise RuntimeError(
            "The converted model keeps state from one invoke to the next (a plain TFLite "
            "runtime would give different outputs for the same input), so the file was not "
            f"written. Received: variable tensors={carried}"
        )
    if fused and quantize != "int8":
        content = without_cell_clip(content)
    with atomic_path(path) as staging:
        staging.write_bytes(content)
    return TFLiteExport(
        path=Path(path),
        quantize=quantize,
        batch_size=batch_size,
        sequence_length=[int(spec.shape[1]) for spec in specs],
        inputs=input_names(model),
        size_bytes=len(content),
        operators=operators,
        forms=forms,
    )
