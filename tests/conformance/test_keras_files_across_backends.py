"""A `.keras` file saved under TensorFlow loads under JAX and PyTorch with the same outputs.

The models are built and saved here (TensorFlow, the suite's backend); a fresh process per
other backend loads them with `rnnkeras.load_model` and returns its predictions.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl

LOADER = """
import json, sys
import keras
import numpy as np
import rnnkeras

paths = json.loads(sys.argv[1])
inputs = np.load(sys.argv[2])
outputs = {
    name: keras.ops.convert_to_numpy(rnnkeras.load_model(path)(inputs[name])).tolist()
    for name, path in paths.items()
}
print("RESULT" + json.dumps({"backend": keras.backend.backend(), "outputs": outputs}))
"""


def models():
    def sequence_model(layer, masking=False):
        sequences = keras.Input((None, 3))
        hidden = keras.layers.Masking(0.0)(sequences) if masking else sequences
        return keras.Model(sequences, layer(hidden))

    return {
        "simple_rnn_backwards": sequence_model(rl.SimpleRNN(4, go_backwards=True)),
        "lstm_masked": sequence_model(rl.LSTM(4, return_sequences=True), masking=True),
        "gru_reset_before": sequence_model(rl.GRU(4, reset_after=False)),
        "bidirectional_stack": sequence_model(
            rl.StackedRNN([rl.Bidirectional(rl.LSTM(4)), rl.GRU(4)], residual=True)
        ),
        "cells_in_keras_rnn": sequence_model(
            keras.layers.RNN([rl.LSTMCell(4), rl.GRUCell(3), rl.SimpleRNNCell(2)])
        ),
    }


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keras_files")
    rng = np.random.default_rng(21)
    paths, inputs, expected = {}, {}, {}
    for name, model in models().items():
        for variable in model.weights:
            variable.assign(rng.normal(0.0, 0.4, size=variable.shape).astype("float32"))
        x = rng.normal(size=(2, 6, 3)).astype("float32")
        x[1, 4:] = 0.0
        inputs[name], expected[name] = x, keras.ops.convert_to_numpy(model(x))
        paths[name] = str(folder / f"{name}.keras")
        model.save(paths[name])
    np.savez(folder / "inputs.npz", **inputs)
    return paths, folder / "inputs.npz", expected


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_files_saved_under_tensorflow_load_with_the_same_outputs(backend, saved):
    paths, inputs, expected = saved
    process = subprocess.run(
        [sys.executable, "-c", LOADER, json.dumps(paths), str(inputs)],
        env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, process.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT") :])
    assert result["backend"] == backend
    for name, output in result["outputs"].items():
        np.testing.assert_allclose(
            np.asarray(output), expected[name], rtol=0, atol=1e-5, err_msg=name
        )
    assert sorted(result["outputs"]) == sorted(expected)
