"""What a fresh Python process sees: `import rnnkeras` stays light, `.keras` files reload.

One subprocess (each TensorFlow import costs seconds) does `import rnnkeras`,
records which heavy packages that pulled in, then loads every saved model in
Keras' default safe mode and prints its predictions and layer classes.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from tests.layers import harness

HEAVY_PACKAGES = ["mlflow", "great_expectations", "dvc", "torch", "ai_edge_litert"]

LOADER = """
import json, sys
import numpy as np
import rnnkeras

heavy = [name for name in json.loads(sys.argv[3]) if name in sys.modules]
print("HEAVY" + json.dumps(heavy))
import keras

x = np.load(sys.argv[1])
result = {}
for name, path in json.loads(sys.argv[2]).items():
    model = keras.saving.load_model(path)
    outputs = model(x[name], training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    modules = sorted(
        {type(layer).__module__ for layer in model._flatten_layers(include_self=False)}
    )
    result[name] = {"outputs": [np.asarray(o).tolist() for o in outputs], "modules": modules}
print("RESULT" + json.dumps(result))
"""


def sequence_model(layer, masking=False):
    sequences = keras.Input((None, harness.FEATURES))
    hidden = keras.layers.Masking(0.0)(sequences) if masking else sequences
    return keras.Model(sequences, layer(hidden))


def build_models():
    """name -> model; each uses a different class and non-default options."""
    tokens = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(9, harness.FEATURES, mask_zero=True)(tokens)
    return {
        "simple_rnn": sequence_model(
            rl.SimpleRNN(4, activation="relu", return_sequences=True, go_backwards=True)
        ),
        "lstm_states_masking": sequence_model(
            rl.LSTM(4, unit_forget_bias=False, return_state=True, recurrent_dropout=0.1),
            masking=True,
        ),
        "gru_reset_before_embedding": keras.Model(
            tokens, rl.GRU(4, reset_after=False, unroll=True, return_sequences=True)(embedded)
        ),
        "bidirectional_backward_layer": sequence_model(
            rl.Bidirectional(
                rl.LSTM(4, return_sequences=True),
                merge_mode="ave",
                backward_layer=rl.GRU(4, go_backwards=True, return_sequences=True),
            )
        ),
        "stacked_residual": sequence_model(
            rl.StackedRNN(
                # The top layer widens 4 -> 5: its residual link has a projection.
                [rl.LSTM(4), rl.GRU(4), rl.SimpleRNN(5)],
                residual=True,
                dropout=0.2,
                return_sequences=True,
            )
        ),
        "cells_in_keras_rnn": sequence_model(
            keras.layers.RNN(
                [rl.LSTMCell(4), rl.GRUCell(4, reset_after=False), rl.SimpleRNNCell(3)],
                return_state=True,
            )
        ),
    }


MODEL_NAMES = list(build_models())
EXPECTED_MODULE = {
    "simple_rnn": "rnnkeras.layers.simple_rnn",
    "lstm_states_masking": "rnnkeras.layers.lstm",
    "gru_reset_before_embedding": "rnnkeras.layers.gru",
    "bidirectional_backward_layer": "rnnkeras.layers.bidirectional",
    "stacked_residual": "rnnkeras.layers.stacked",
}


def model_input(name, rng):
    if name == "gru_reset_before_embedding":
        ids = rng.integers(1, 9, size=(3, harness.TIMESTEPS))
        ids[1, 4:] = 0
        return ids.astype("int32")
    x = rng.normal(size=(3, harness.TIMESTEPS, harness.FEATURES)).astype("float32")
    x[2, 3:] = 0.0
    return x


@pytest.fixture(scope="module")
def fresh_process(tmp_path_factory):
    """(predictions in this process, what the fresh process printed) per model."""
    rng = np.random.default_rng(11)
    folder = tmp_path_factory.mktemp("keras_files")
    inputs, paths, expected = {}, {}, {}
    for name, model in build_models().items():
        harness.randomize(model, rng, scale=0.4)
        inputs[name] = model_input(name, rng)
        expected[name] = harness.as_list(model(inputs[name], training=False))
        paths[name] = str(folder / f"{name}.keras")
        model.save(paths[name])
    np.savez(folder / "inputs.npz", **inputs)
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"}
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            LOADER,
            str(folder / "inputs.npz"),
            json.dumps(paths),
            json.dumps(HEAVY_PACKAGES),
        ],
        capture_output=True,
        text=True,
        cwd=folder,
        env=environment,
        timeout=300,
    )
    lines = completed.stdout.splitlines()
    heavy = next((json.loads(line[5:]) for line in lines if line.startswith("HEAVY")), None)
    result = next((json.loads(line[6:]) for line in lines if line.startswith("RESULT")), None)
    return {"expected": expected, "heavy": heavy, "loaded": result, "stderr": completed.stderr}


def test_import_rnnkeras_pulls_in_no_heavy_package(fresh_process):
    assert fresh_process["heavy"] is not None, fresh_process["stderr"][-3000:]
    assert fresh_process["heavy"] == []


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_keras_file_reloads_in_fresh_process(name, fresh_process):
    assert fresh_process["loaded"] is not None, fresh_process["stderr"][-3000:]
    loaded, expected = fresh_process["loaded"][name], fresh_process["expected"][name]
    got = [np.asarray(o, dtype="float32") for o in loaded["outputs"]]
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=0, atol=1e-6)
    modules = loaded["modules"]
    assert EXPECTED_MODULE.get(name, "rnnkeras.layers") in " ".join(modules), modules


ONE_LINER = """
import sys
import keras
import numpy as np

try:
    keras.saving.load_model(sys.argv[1])
except TypeError:
    print("PLAIN_LOAD_FAILS")
import rnnkeras

model = rnnkeras.load_model(sys.argv[1])
np.save(sys.argv[3], keras.ops.convert_to_numpy(model(np.load(sys.argv[2]))))
"""


def test_rnnkeras_load_model_loads_where_plain_keras_cannot(tmp_path, rng):
    model = sequence_model(rl.StackedRNN([rl.Bidirectional(rl.LSTM(4)), rl.GRU(4)], residual=True))
    harness.randomize(model, rng)
    x = rng.normal(size=(2, harness.TIMESTEPS, harness.FEATURES)).astype("float32")
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "x.npy", x)
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            ONE_LINER,
            *(str(tmp_path / n) for n in ("model.keras", "x.npy", "y.npy")),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"},
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    # Without `import rnnkeras` Keras cannot find the classes: the reason for the one-liner.
    assert "PLAIN_LOAD_FAILS" in completed.stdout
    np.testing.assert_allclose(
        np.load(tmp_path / "y.npy"), harness.as_list(model(x))[0], rtol=0, atol=1e-6
    )
