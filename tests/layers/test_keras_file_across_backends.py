"""A `.keras` file saved under any Keras backend loads under each other one with the same outputs.

The whole matrix, for every rnnkeras layer type: one fresh process per backend builds the
models with random weights, saves them and records their outputs on fixed inputs; then one
fresh process per backend loads the files the other two saved (`rnnkeras.load_model`) and
computes those outputs again. A backend is chosen when Keras is imported, hence the processes.
"""

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

BACKENDS = ("tensorflow", "jax", "torch")

WORKER = """
import json, sys
from pathlib import Path

import keras
import numpy as np

import rnnkeras
from rnnkeras import layers as rl


def sequence_model(layer, masking=True):
    sequences = keras.Input((None, 3))
    hidden = keras.layers.Masking(0.0)(sequences) if masking else sequences
    return keras.Model(sequences, layer(hidden))


def models():
    return {
        "simple_rnn": sequence_model(rl.SimpleRNN(4, return_sequences=True)),
        "simple_rnn_backwards": sequence_model(rl.SimpleRNN(4, go_backwards=True), masking=False),
        "lstm": sequence_model(rl.LSTM(4, return_sequences=True)),
        "gru": sequence_model(rl.GRU(4)),
        "gru_reset_before": sequence_model(rl.GRU(4, reset_after=False, go_backwards=True)),
        "bidirectional_lstm": sequence_model(rl.Bidirectional(rl.LSTM(4, return_sequences=True))),
        "bidirectional_gru_sum": sequence_model(rl.Bidirectional(rl.GRU(3), merge_mode="sum")),
        "stacked": sequence_model(rl.StackedRNN([rl.LSTM(4), rl.GRU(4), rl.SimpleRNN(4)])),
        # From 3 features to 6 units: the residual link needs its learned projection.
        "stacked_residual": sequence_model(
            rl.StackedRNN([rl.LSTM(6), rl.GRU(6), rl.Bidirectional(rl.LSTM(3))], residual=True)
        ),
        "cells_in_keras_rnn": sequence_model(
            keras.layers.RNN([rl.LSTMCell(4), rl.GRUCell(3), rl.SimpleRNNCell(2)])
        ),
    }


def outputs(model, x):
    return keras.ops.convert_to_numpy(model(x))


mode, folder = sys.argv[1], Path(sys.argv[2])
backend = keras.backend.backend()
x = np.load(folder / "inputs.npy")
if mode == "save":
    (folder / backend).mkdir()
    rng = np.random.default_rng(5)
    results = {}
    for name, model in models().items():
        # Random weights everywhere (biases too), so no weight can be lost unnoticed.
        for variable in model.weights:
            variable.assign(rng.normal(0.0, 0.5, size=variable.shape).astype("float32"))
        results[name] = outputs(model, x)
        model.save(folder / backend / f"{name}.keras")
    np.savez(folder / backend / "outputs.npz", **results)
else:
    results = {
        f"{path.parent.name}.{path.stem}": outputs(rnnkeras.load_model(path), x)
        for path in sorted(folder.glob("*/*.keras"))
        if path.parent.name != backend
    }
    np.savez(folder / f"loaded_by_{backend}.npz", **results)
print("BACKEND " + json.dumps(backend))
"""


def _run(mode: str, backend: str, folder) -> None:
    process = subprocess.run(
        [sys.executable, "-c", WORKER, mode, str(folder)],
        env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert f'BACKEND "{backend}"' in process.stdout, process.stderr[-3000:]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keras_files")
    x = np.random.default_rng(3).normal(size=(3, 7, 3)).astype("float32")
    x[1, 4:] = 0.0  # right-padded, for the masked models
    x[2, 1:] = 0.0  # one valid step
    np.save(folder / "inputs.npy", x)
    for backend in BACKENDS:
        _run("save", backend, folder)
    return folder


@pytest.fixture(scope="module")
def loaded(folder):
    """`loaded(backend)`: the outputs of the other backends' files loaded there (one process)."""
    results = {}

    def load(backend):
        if backend not in results:
            _run("load", backend, folder)
            with np.load(folder / f"loaded_by_{backend}.npz") as arrays:
                results[backend] = {name: arrays[name] for name in arrays.files}
        return results[backend]

    return load


@pytest.mark.slow
@pytest.mark.parametrize(
    "saved_under, loaded_under",
    [pair for pair in itertools.product(BACKENDS, BACKENDS) if pair[0] != pair[1]],
)
def test_keras_file_loads_under_another_backend_with_the_same_outputs(
    saved_under, loaded_under, folder, loaded
):
    with np.load(folder / saved_under / "outputs.npz") as arrays:
        expected = {name: arrays[name] for name in arrays.files}
    results = loaded(loaded_under)
    names = sorted(key.split(".", 1)[1] for key in results if key.startswith(f"{saved_under}."))
    assert names == sorted(expected) and len(names) == 10
    for name in names:
        np.testing.assert_allclose(
            results[f"{saved_under}.{name}"],
            expected[name],
            rtol=0,
            atol=1e-5,
            err_msg=f"{name}: saved under {saved_under}, loaded under {loaded_under}",
        )
    # The outputs differ between models, so equal outputs are not a constant passing by.
    assert not np.allclose(expected["lstm"][:, -1], expected["simple_rnn"][:, -1])
