"""What is inside a `.tflite` file: its operators and what the GPU delegate would make of them.

Example:

>>> import tensorflow as tf
>>> square = tf.function(lambda x: x * x).get_concrete_function(tf.TensorSpec((2,)))
>>> content = tf.lite.TFLiteConverter.from_concrete_functions([square]).convert()
>>> operator_counts(content)
{'MUL': 1}
>>> custom_operators(operator_counts(content))
[]
"""

import contextlib
import io


def operator_counts(content: bytes) -> dict[str, int]:
    """Counts every operator in every subgraph (loop bodies included), by name.

    Builtin operators appear under their TFLite name (`"WHILE"`,
    `"UNIDIRECTIONAL_SEQUENCE_LSTM"`); anything else as `"CUSTOM:<code>"`
    (Flex/Select TensorFlow ops are `"CUSTOM:Flex..."`).

    Args:
        content: The bytes of a `.tflite` file.
    """
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    names = {value: name for name, value in vars(schema.BuiltinOperator).items() if name.isupper()}
    counts: dict[str, int] = {}
    for subgraph in model.subgraphs:
        for operator in subgraph.operators or []:
            code = model.operatorCodes[operator.opcodeIndex]
            if code.customCode:
                name = f"CUSTOM:{code.customCode.decode()}"
            else:
                name = names[max(code.builtinCode, code.deprecatedBuiltinCode)]
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def state_carried_between_invokes(content: bytes) -> list[str]:
    """Variable tensors whose value one invoke leaves for the next: empty for an invoke-stable file.

    A TFLite *variable* tensor keeps its value across invokes; an op such as
    `UNIDIRECTIONAL_SEQUENCE_LSTM` reads its initial state from one and
    writes its final state back. Unless some op of the same subgraph writes the
    tensor first on every invoke (or it is a subgraph input the caller sets),
    the next invoke starts from the previous one's state on any runtime that
    does not call `reset_all_variables()`. A variable read by several ops is
    listed too: each would see the others' state.

    Args:
        content: The bytes of a `.tflite` file.

    Returns:
        `"<subgraph>:<tensor name>"` for each such tensor.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    carried = []
    for number, subgraph in enumerate(model.subgraphs):
        operators = subgraph.operators or []
        written = {
            int(index)
            for op in operators
            for index in (op.outputs if op.outputs is not None else [])
        }
        written |= {
            int(index) for index in (subgraph.inputs if subgraph.inputs is not None else [])
        }
        readers: dict[int, int] = {}
        for op in operators:
            for index in op.inputs if op.inputs is not None else []:
                if index >= 0 and subgraph.tensors[index].isVariable:
                    readers[int(index)] = readers.get(int(index), 0) + 1
        for index, count in sorted(readers.items()):
            if index not in written or count > 1:
                name = subgraph.tensors[index].name
                carried.append(f"{number}:{name.decode() if isinstance(name, bytes) else name}")
    return carried


def custom_operators(counts: dict[str, int]) -> list[str]:
    """The operators of `operator_counts` that a plain TFLite runtime does not have."""
    return [name for name in counts if name.startswith("CUSTOM:") or name == "CUSTOM"]


GPU_DELEGATE_OPS = frozenset(
    [
        "ABS",
        "ADD",
        "ADD_N",
        "ATAN2",
        "AVERAGE_POOL_2D",
        "BATCH_MATMUL",
        "CAST",
        "CEIL",
        "CONCATENATION",
        "CONV_2D",
        "COS",
        "CUMSUM",
        "DENSIFY",
        "DEPTHWISE_CONV_2D",
        "DEPTH_TO_SPACE",
        "DEQUANTIZE",
        "DIV",
        "DYNAMIC_UPDATE_SLICE",
        "ELU",
        "EMBEDDING_LOOKUP",
        "EQUAL",
        "EXP",
        "FLOOR",
        "FLOOR_DIV",
        "FLOOR_MOD",
        "FULLY_CONNECTED",
        "GATHER",
        "GELU",
        "GREATER",
        "GREATER_EQUAL",
        "HARD_SWISH",
        "LEAKY_RELU",
        "LESS",
        "LESS_EQUAL",
        "LOG",
        "LOGICAL_AND",
        "LOGISTIC",
        "LSTM",
        "MAXIMUM",
        "MAX_POOL_2D",
        "MEAN",
        "MINIMUM",
        "MIRROR_PAD",
        "MUL",
        "NEG",
        "NOT_EQUAL",
        "ONE_HOT",
        "PACK",
        "PAD",
        "PADV2",
        "POW",
        "PRELU",
        "QUANTIZE",
        "REDUCE_MAX",
        "REDUCE_MIN",
        "REDUCE_PROD",
        "RELU",
        "RELU6",
        "RELU_N1_TO_1",
        "RESHAPE",
        "RESIZE_BILINEAR",
        "RESIZE_NEAREST_NEIGHBOR",
        "RSQRT",
        "SELECT",
        "SELECT_V2",
        "SIGN",
        "SIN",
        "SLICE",
        "SOFTMAX",
        "SPACE_TO_DEPTH",
        "SPLIT",
        "SPLIT_V",
        "SQRT",
        "SQUARE",
        "SQUARED_DIFFERENCE",
        "STABLEHLO_CLAMP",
        "STRIDED_SLICE",
        "SUB",
        "SUM",
        "TANH",
        "TILE",
        "TRANSPOSE",
        "TRANSPOSE_CONV",
    ]
)
"""Builtin ops the TFLite GPU delegate accepts at all, after the cases of its
compatibility checker (`tensorflow/lite/tools/versioning/gpu_compatibility.cc`).
`WHILE`, `UNPACK` and `UNIDIRECTIONAL_SEQUENCE_LSTM` are not among them."""


def gpu_compatibility(content: bytes) -> dict:
    """Whether the GPU delegate could take every op of the file.

    Two verdicts: the TFLite analyzer's (`tf.lite.experimental.Analyzer` with
    `gpu_compatibility=True`), and a check of every op name in every subgraph
    against `GPU_DELEGATE_OPS`. The analyzer in the TensorFlow 2.21 wheel
    reported no warning for any model we tried, Flex ops included, so the op
    check is the one to read; it cannot see the per-op shape and parameter
    rules, so it can say "no" with certainty but "yes" only as "possibly".

    Args:
        content: The bytes of a `.tflite` file.

    Returns:
        `{"ops_supported": bool, "unsupported_ops": [...], "analyzer_warnings": [...]}`.
    """
    import tensorflow as tf

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        tf.lite.experimental.Analyzer.analyze(model_content=content, gpu_compatibility=True)
    warnings = [
        line.split("GPU COMPATIBILITY WARNING:", 1)[1].strip()
        for line in printed.getvalue().splitlines()
        if "GPU COMPATIBILITY WARNING:" in line
    ]
    unsupported = [name for name in operator_counts(content) if name not in GPU_DELEGATE_OPS]
    return {
        "ops_supported": not unsupported,
        "unsupported_ops": unsupported,
        "analyzer_warnings": warnings,
    }
