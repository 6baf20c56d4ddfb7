"""MinGRU and MinLSTM outside the process: `.keras` files and builtins-only TFLite.

One subprocess (a TensorFlow import costs seconds) loads every saved model in
Keras' default safe mode after `import rnnkeras` and prints its predictions.
The exports use the layers' two forms: the whole-sequence model (the scan
traced into builtin ops, and the unrolled step loop) and the streaming model
that runs one step per invoke.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from rnnkeras.export import export_tflite, write_export_report
from rnnkeras.export.runtime import TFLiteModel
from tests.export import export_models
from tests.layers import harness

LOADER = """
import json, sys
import keras
import numpy as np
import rnnkeras

x = np.load(sys.argv[1])
result = {}
for name, path in json.loads(sys.argv[2]).items():
    outputs = keras.saving.load_model(path)(x, training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    result[name] = [np.asarray(o).tolist() for o in outputs]
print("RESULT" + json.dumps(result))
"""


def sequence_model(layer):
    sequences = keras.Input((None, harness.FEATURES))
    return keras.Model(sequences, layer(keras.layers.Masking(0.0)(sequences)))


def test_keras_files_reload_in_a_fresh_process(tmp_path, rng):
    models = {
        "min_gru": sequence_model(
            rl.MinGRU(4, go_backwards=True, return_state=True, dropout=0.2, use_bias=False)
        ),
        "min_lstm_stack": sequence_model(
            rl.StackedRNN(
                [rl.Bidirectional(rl.MinLSTM(3, return_sequences=True)), rl.MinGRU(6)],
                residual=True,
                return_sequences=True,
            )
        ),
        "cells_in_keras_rnn": sequence_model(
            keras.layers.RNN([rl.MinGRUCell(4), rl.MinLSTMCell(3)], return_sequences=True)
        ),
    }
    x = harness.inputs(rng, batch=3)
    x[2, 3:] = 0.0
    paths, expected = {}, {}
    for name, model in models.items():
        harness.randomize(model, rng, scale=0.5)
        expected[name] = harness.as_list(model(x, training=False))
        paths[name] = str(tmp_path / f"{name}.keras")
        model.save(paths[name])
    np.save(tmp_path / "x.npy", x)
    completed = subprocess.run(
        [sys.executable, "-c", LOADER, str(tmp_path / "x.npy"), json.dumps(paths)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"},
        timeout=300,
    )
    lines = completed.stdout.splitlines()
    result = next((json.loads(line[6:]) for line in lines if line.startswith("RESULT")), None)
    assert result is not None, completed.stderr[-3000:]
    for name in models:
        got = [np.asarray(o, dtype="float32") for o in result[name]]
        harness.assert_outputs_close(got, expected[name])


@pytest.mark.slow
def test_whole_sequence_and_streaming_exports_are_builtins_only_with_parity(tmp_path, rng):
    stack = rl.StackedRNN(
        [rl.MinGRU(5, name="min_gru"), rl.MinLSTM(5, unroll=True, name="min_lstm")], name="stack"
    )
    model = export_models.classifier(stack, masked=True)
    harness.randomize(model, rng, scale=0.5)
    export = export_tflite(
        model, tmp_path / "min_rnn.tflite", sequence_length=export_models.TIMESTEPS
    )
    forms = {path.split("/")[-1]: layer.form for path, layer in export.forms.items()}
    assert forms == {"min_gru": "while", "min_lstm": "unrolled"}
    report = write_export_report(
        model,
        tmp_path / "export.json",
        export_models.padded_inputs(),
        tflite=[export],
        latency_runs=2,
    )
    entry = report["tflite"][0]
    assert entry["builtins_only"] and entry["parity"]["passed"], entry
    assert entry["parity"]["max_abs_diff"] <= 1e-5

    # The edge form: one step per invoke, the state kept by the caller.
    layer = stack.rnn_layers[0]
    step_export = export_tflite(layer.streaming_model(), tmp_path / "min_gru_step.tflite")
    assert "WHILE" not in step_export.operators
    runner = TFLiteModel(step_export.path, input_names=step_export.inputs)
    x = export_models.padded_inputs(count=1)
    expected = harness.to_numpy(layer(x))
    h = np.zeros((1, 5), "float32")
    for t in range(export_models.TIMESTEPS):
        (h,) = runner.predict([x[:, t : t + 1], h])
        np.testing.assert_allclose(h, expected[:, t], atol=1e-5, rtol=0)
