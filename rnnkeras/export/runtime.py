"""Running `.tflite` files the way a device does: `ai_edge_litert`, builtin ops only.

`ai_edge_litert` is the standalone TFLite runtime; `tf.lite.Interpreter` is
used only when it is not installed. `TFLiteModel` feeds float inputs of any
batch size to a file with a fixed batch (padding the last batch), and quantizes
and dequantizes the int8 inputs and outputs of full-integer files.

`TFLiteModel` never calls `reset_all_variables()`, as Android, iOS and
microcontroller code usually does not: every file `export_tflite` writes
gives the same output for the same input on every invoke (a fused LSTM's state
tensors are rewritten by the graph itself, `rnnkeras.export.tflite_lstm_op`), and
`invoke_stability` checks it on the plain interpreter and the signature runner.

Example:

>>> import keras, numpy as np, os, tempfile
>>> from rnnkeras.export import export_tflite
>>> from rnnkeras.layers import GRU
>>> model = keras.Sequential([keras.Input((5, 2)), GRU(3)])
>>> path = os.path.join(tempfile.mkdtemp(), "gru.tflite")
>>> _ = export_tflite(model, path)
>>> x = np.ones((3, 5, 2), "float32")
>>> bool(np.allclose(TFLiteModel(path).predict(x)[0], model.predict(x, verbose=0), atol=1e-5))
True
"""

import time
from pathlib import Path

import numpy as np


def interpreter_class() -> tuple[type, str]:
    """The interpreter class to use and the runtime's name."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "ai_edge_litert"
    except ImportError:
        import tensorflow as tf

        return tf.lite.Interpreter, "tf.lite.Interpreter"


def _quantize(array: np.ndarray, detail: dict) -> np.ndarray:
    if detail["dtype"] != np.int8:
        return array.astype(detail["dtype"])
    scale, zero_point = detail["quantization"]
    info = np.iinfo(np.int8)
    return np.clip(np.round(array / scale + zero_point), info.min, info.max).astype(np.int8)


def _dequantize(array: np.ndarray, detail: dict) -> np.ndarray:
    if detail["dtype"] != np.int8:
        return array
    scale, zero_point = detail["quantization"]
    return (array.astype(np.float32) - zero_point) * scale


class TFLiteModel:
    """A `.tflite` file loaded into the TFLite runtime.

    Args:
        path: The file.
        num_threads: Interpreter threads (1, as on most edge devices).
        input_names: The order in which `predict` receives a list of inputs
            (the model's input order, `TFLiteExport.inputs`); by default the
            signature's order.

    Attributes:
        runtime: `"ai_edge_litert"` or `"tf.lite.Interpreter"`.
        batch_size: The file's fixed batch.
    """

    def __init__(
        self, path: str | Path, num_threads: int = 1, input_names: list[str] | None = None
    ):
        interpreter, self.runtime = interpreter_class()
        self.interpreter = interpreter(model_path=str(path), num_threads=num_threads)
        self.interpreter.allocate_tensors()
        # The serving signature names the inputs after the model's inputs and
        # the outputs output_0, output_1...; the raw tensor lists may be in
        # another order.
        signature = self.interpreter.get_signature_runner()
        self.input_names = list(input_names or signature.get_input_details())
        inputs, outputs = signature.get_input_details(), signature.get_output_details()
        self.input_details = [inputs[name] for name in self.input_names]
        self.output_details = [
            outputs[name] for name in sorted(outputs, key=lambda name: int(name.rsplit("_", 1)[1]))
        ]
        self.batch_size = int(self.input_details[0]["shape"][0])

    def _ordered_inputs(self, inputs) -> list[np.ndarray]:
        if isinstance(inputs, dict):
            inputs = [inputs[name] for name in self.input_names]
        arrays = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(arrays) != len(self.input_details):
            raise ValueError(
                f"TFLiteModel expects {len(self.input_details)} input array(s). "
                f"Received: {len(arrays)} array(s)"
            )
        return [np.asarray(array) for array in arrays]

    def _invoke(self, batch: list[np.ndarray]) -> list[np.ndarray]:
        for array, detail in zip(batch, self.input_details, strict=True):
            self.interpreter.set_tensor(detail["index"], _quantize(array, detail))
        self.interpreter.invoke()
        return [
            _dequantize(self.interpreter.get_tensor(detail["index"]), detail)
            for detail in self.output_details
        ]

    def predict(self, inputs) -> list[np.ndarray]:
        """Runs any number of samples; returns one array per model output.

        Args:
            inputs: An array `(samples, timesteps, ...)`, or a list (or a
                dict by input name) with one per model input, at the file's
                sequence length.
        """
        arrays = self._ordered_inputs(inputs)
        count = len(arrays[0])
        results: list[list[np.ndarray]] = []
        for start in range(0, count, self.batch_size):
            batch = [array[start : start + self.batch_size] for array in arrays]
            missing = self.batch_size - len(batch[0])
            if missing:
                batch = [
                    np.concatenate([part, np.repeat(part[:1] * 0, missing, 0)]) for part in batch
                ]
            outputs = self._invoke(batch)
            results.append([output[: self.batch_size - missing] for output in outputs])
        return [np.concatenate(parts) for parts in zip(*results, strict=True)]

    def latency_ms(self, inputs, runs: int = 200, warmup: int = 20) -> float:
        """Median wall time of one invoke on the first batch of `inputs`, in milliseconds."""
        batch = [array[: self.batch_size] for array in self._ordered_inputs(inputs)]
        for array, detail in zip(batch, self.input_details, strict=True):
            self.interpreter.set_tensor(detail["index"], _quantize(array, detail))
        for _ in range(warmup):
            self.interpreter.invoke()
        timings = []
        for _ in range(runs):
            start = time.perf_counter()
            self.interpreter.invoke()
            timings.append(time.perf_counter() - start)
        return float(np.median(timings) * 1000)

    def invoke_stability(self, inputs, invokes: int = 3) -> dict[str, bool]:
        """Whether repeated invokes on the first batch of `inputs` give identical outputs.

        Checked twice, with no reset in between: on the plain interpreter
        (`set_tensor`, `invoke`, `get_tensor`) and through the signature
        runner, the two ways a device app calls a file.

        Args:
            inputs: As for `predict`; only the first batch is used.
            invokes: Invokes per check.

        Returns:
            `{"plain_interpreter": bool, "signature_runner": bool}`.
        """
        batch = [array[: self.batch_size] for array in self._ordered_inputs(inputs)]
        plain = [self._invoke(batch) for _ in range(invokes)]
        runner = self.interpreter.get_signature_runner()
        feed = {
            name: _quantize(array, detail)
            for name, array, detail in zip(self.input_names, batch, self.input_details, strict=True)
        }
        signature = [
            [np.copy(value) for _, value in sorted(runner(**feed).items())] for _ in range(invokes)
        ]

        def identical(runs: list[list[np.ndarray]]) -> bool:
            return all(
                np.array_equal(first, other)
                for run in runs[1:]
                for first, other in zip(runs[0], run, strict=True)
            )

        return {"plain_interpreter": identical(plain), "signature_runner": identical(signature)}
