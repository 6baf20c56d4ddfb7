"""`.keras` files of the layer-normalized layers and cells reload in a fresh process.

One subprocess (a TensorFlow import costs seconds) loads every file in Keras'
default safe mode after `import rnnkeras` and prints each model's predictions
and the modules of its layers.
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

LOADER = """
import json, sys
import keras
import numpy as np
import rnnkeras

x = np.load(sys.argv[1])
result = {}
for name, path in json.loads(sys.argv[2]).items():
    model = keras.saving.load_model(path)
    outputs = model(x, training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    modules = sorted({type(l).__module__ for l in model._flatten_layers(include_self=False)})
    cells = sorted({type(l.cell).__name__ for l in model.layers if hasattr(l, "cell")})
    result[name] = {"outputs": [np.asarray(o).tolist() for o in outputs], "modules": modules,
                    "cells": cells}
print("RESULT" + json.dumps(result))
"""


def sequence_model(layer):
    sequences = keras.Input((None, harness.FEATURES))
    return keras.Model(sequences, layer(keras.layers.Masking(0.0)(sequences)))


def build_models():
    """name -> model; each with non-default options that must survive the file."""
    return {
        "layer_norm_lstm": sequence_model(
            rl.LayerNormLSTM(
                4,
                return_state=True,
                recurrent_dropout=0.1,
                unit_forget_bias=False,
                norm_epsilon=1e-2,
                norm_beta_initializer="ones",
            )
        ),
        "layer_norm_gru": sequence_model(
            rl.LayerNormGRU(4, go_backwards=True, return_sequences=True, norm_epsilon=1e-4)
        ),
        "layer_norm_simple_rnn": sequence_model(
            rl.LayerNormSimpleRNN(
                4, activation="relu", layernorm_epsilon=1e-3, gamma_regularizer="l2"
            )
        ),
        "bidirectional_stacked": sequence_model(
            rl.StackedRNN(
                [rl.Bidirectional(rl.LayerNormGRU(3, return_sequences=True)), rl.LayerNormLSTM(4)],
                residual=True,
            )
        ),
        "cells_in_keras_rnn": sequence_model(
            keras.layers.RNN(
                [rl.LayerNormLSTMCell(4), rl.LayerNormGRUCell(3), rl.LayerNormSimpleRNNCell(2)],
                return_state=True,
            )
        ),
    }


@pytest.fixture(scope="module")
def reloaded(tmp_path_factory):
    """(predictions here, what the fresh process printed, its stderr)."""
    rng = np.random.default_rng(12)
    folder = tmp_path_factory.mktemp("layer_norm_files")
    x = rng.normal(size=(3, harness.TIMESTEPS, harness.FEATURES)).astype("float32")
    x[2, 3:] = 0.0
    paths, expected = {}, {}
    for name, model in build_models().items():
        harness.randomize(model, rng, scale=0.5)
        expected[name] = harness.as_list(model(x, training=False))
        paths[name] = str(folder / f"{name}.keras")
        model.save(paths[name])
    np.save(folder / "x.npy", x)
    completed = subprocess.run(
        [sys.executable, "-c", LOADER, str(folder / "x.npy"), json.dumps(paths)],
        capture_output=True,
        text=True,
        cwd=folder,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"},
        timeout=300,
    )
    lines = completed.stdout.splitlines()
    result = next((json.loads(line[6:]) for line in lines if line.startswith("RESULT")), None)
    return expected, result, completed.stderr


@pytest.mark.parametrize("name", list(build_models()))
def test_keras_file_reloads_in_fresh_process(name, reloaded):
    expected, result, stderr = reloaded
    assert result is not None, stderr[-3000:]
    got = [np.asarray(o, dtype="float32") for o in result[name]["outputs"]]
    # The loader runs on TensorFlow; saved under JAX or PyTorch, round-off differs a little.
    harness.assert_outputs_close(got, expected[name])
    if name.startswith("layer_norm_"):
        assert f"rnnkeras.layers.{name}" in result[name]["modules"], result[name]["modules"]
    elif name == "cells_in_keras_rnn":
        assert result[name]["cells"] == ["StackedRNNCells"]
