"""The form each recurrent layer takes in an exported graph, chosen while it is traced.

Three forms run on a plain TFLite runtime (builtin ops only):

- `"fused"`: an LSTM (also with `proj_size`) or a `PeepholeLSTM` becomes
  one `UNIDIRECTIONAL_SEQUENCE_LSTM` op (`rnnkeras.export.tflite_lstm_op`);
- `"while"`: the layer's own loop, a builtin `WHILE` op once the batch and
  time axes are fixed;
- `"unrolled"`: the layer's own loop with `unroll=True`, one copy of the
  step per time step (larger files; the only loop full-int8 calibration
  survives, see `rnnkeras.export.quantization`).

The choice is made per call while the model is traced, because only then is it
known whether a mask or an initial state reaches the layer. `traced_forms`
therefore routes each recurrent layer's `call` for the duration of one
trace — containers such as `Bidirectional` and `StackedRNN` keep their own
logic and simply call the routed layers — and records what each layer became.

Example:

>>> import keras, tensorflow as tf
>>> from rnnkeras.layers import GRU, LSTM
>>> model = keras.Sequential([keras.Input((6, 2)), LSTM(4, return_sequences=True, name="lstm"), GRU(3, name="gru")])
>>> with traced_forms(model) as forms:
...     _ = tf.function(model).get_concrete_function(tf.TensorSpec((1, 6, 2)))
>>> [(f.layer, f.form) for f in forms.values()]
[('lstm', 'fused'), ('gru', 'while')]
"""

import contextlib
import dataclasses
from collections.abc import Iterator

import keras

from rnnkeras.export.support import is_lstm, recurrent_layers
from rnnkeras.export.tflite_lstm_op import fused_lstm_call, fusion_blockers
from rnnkeras.layers import PeepholeLSTM

FUSE_LSTM = ("never", "when_possible", "always")
LOOPS = ("own", "while", "unrolled")


@dataclasses.dataclass
class LayerForm:
    """What one recurrent layer became in an export.

    Attributes:
        layer: Path of the layer in the model (`"bidirectional/forward_lstm"`).
        kind: Its class name.
        form: `"fused"`, `"while"` or `"unrolled"`.
        reason: Why this form (blockers of the fused op, or the setting that chose it).
    """

    layer: str
    kind: str
    form: str
    reason: str


def _loop_form(layer, loops: str) -> tuple[str, str]:
    if loops == "own":
        return ("unrolled", "unroll=True") if layer.unroll else ("while", "the layer's own loop")
    return loops, f"loops={loops!r}"


def _routed_call(
    path: str,
    layer,
    fuse_lstm: str,
    loops: str,
    right_padded: bool,
    float_file: bool,
    records: dict,
):
    original = layer.call

    def call(sequences, initial_state=None, mask=None, training=False):
        if fuse_lstm != "never" and (is_lstm(layer) or isinstance(layer, PeepholeLSTM)):
            blockers = fusion_blockers(layer, mask, right_padded, float_file)
            if not blockers:
                reason = "masked, right-padded" if mask is not None else "fusable"
                call_index = len(records)
                records[path] = LayerForm(path, type(layer).__name__, "fused", reason)
                return fused_lstm_call(layer, sequences, initial_state, mask, call_index)
            if fuse_lstm == "always":
                raise ValueError(
                    f"form='fused' needs every LSTM to fuse, but layer '{path}' cannot: "
                    f"{'; '.join(blockers)}. Use form='auto' to export it as a loop. "
                    f"Received: blockers={blockers}"
                )
            form, _ = _loop_form(layer, loops)
            reason = "not fusable: " + "; ".join(blockers)
        else:
            form, reason = _loop_form(layer, loops)
        records[path] = LayerForm(path, type(layer).__name__, form, reason)
        saved_unroll = layer.unroll
        layer.unroll = form == "unrolled"
        try:
            return original(sequences, initial_state=initial_state, mask=mask, training=training)
        finally:
            layer.unroll = saved_unroll

    return call


@contextlib.contextmanager
def traced_forms(
    model: keras.Model,
    fuse_lstm: str = "when_possible",
    loops: str = "own",
    right_padded: bool = False,
    float_file: bool = True,
) -> Iterator[dict[str, LayerForm]]:
    """Routes every recurrent layer of `model` to its export form while the block runs.

    Trace the model inside the block; the yielded dict then maps each layer
    path to its `LayerForm`. The layers' `call` and `use_cudnn` are
    restored on exit. `use_cudnn` is off while tracing so a GPU machine
    never records a cuDNN kernel, which neither TFLite nor a CPU server can run.

    Args:
        model: The model about to be traced.
        fuse_lstm: `"never"`, `"when_possible"` or `"always"` (an LSTM
            that cannot fuse is then an error naming the reasons).
        loops: Form of the layers not fused: `"own"` (`while`, or
            `unrolled` for layers built with `unroll=True`), `"while"` or
            `"unrolled"`.
        right_padded: Masked inputs are right-padded, so masked LSTMs can fuse.
        float_file: The file keeps float32 weights (no quantization), so LSTMs
            with peephole or projection weights can fuse too.
    """
    if fuse_lstm not in FUSE_LSTM or loops not in LOOPS:
        raise ValueError(
            f"traced_forms expects fuse_lstm in {FUSE_LSTM} and loops in {LOOPS}. "
            f"Received: fuse_lstm={fuse_lstm!r}, loops={loops!r}"
        )
    records: dict[str, LayerForm] = {}
    routed = []
    try:
        for path, layer in recurrent_layers(model):
            routed.append((layer, getattr(layer, "use_cudnn", None)))
            if hasattr(layer, "use_cudnn"):
                layer.use_cudnn = False
            # An instance attribute shadows the class's call only for this trace.
            object.__setattr__(
                layer,
                "call",
                _routed_call(path, layer, fuse_lstm, loops, right_padded, float_file, records),
            )
        yield records
    finally:
        for layer, use_cudnn in routed:
            layer.__dict__.pop("call", None)
            if use_cudnn is not None:
                layer.use_cudnn = use_cudnn
