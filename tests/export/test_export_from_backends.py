"""Export from a model trained under JAX or PyTorch: the same calls, command and report.

Each backend needs its own process (Keras picks it at import). A model is trained there, then
exported through `export_saved_model` / `export_tflite` / `write_export_report` called in that
process, or through `rnnkeras export-model`; the files are checked here, under TensorFlow,
against the outputs the model gave under its own backend.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from rnnkeras.export import export_tflite
from rnnkeras.export import tensorflow_process as process_module
from rnnkeras.export.runtime import TFLiteModel

WORKER = """
import json, sys
from pathlib import Path

import keras
import numpy as np

from rnnkeras import layers as rl

mode, out = sys.argv[1], Path(sys.argv[2])
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(24, 8, 3)).astype("float32")
for row, length in enumerate(np.arange(24) % 8 + 1):
    x[row, length:] = 0.0  # right-padded to lengths 1..8
y = rng.integers(0, 2, size=24)
frames = keras.Input((None, 3), name="frames")
hidden = keras.layers.Masking(0.0)(frames)
hidden = rl.LSTM(6, return_sequences=True, name="lstm")(hidden)
hidden = rl.GRU(4, name="gru")(hidden)
model = keras.Model(frames, keras.layers.Dense(2, activation="softmax", name="head")(hidden))
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(x, y, epochs=2, batch_size=8, verbose=0)
out.mkdir(exist_ok=True)
np.save(out / "keras_outputs.npy", keras.ops.convert_to_numpy(model(x)))
np.savez(out / "heldout.npz", x=x, y=y)
result = {"backend": keras.backend.backend()}
if mode == "save":
    model.save(out / "model.keras")
else:
    from rnnkeras.export import export_saved_model, export_tflite, write_export_report

    saved = export_saved_model(model, out / "saved_model")
    tflite = export_tflite(model, out / "model_float32.tflite", sequence_length=8,
                           right_padded=True)
    report = write_export_report(model, out / "export.json", x, y, saved_model=saved,
                                 tflite=[tflite], latency_runs=3)
    try:
        export_saved_model(model, out / "saved_model", version=1)
    except ValueError as error:
        result["error"] = str(error)
    forms = {name: form.form for name, form in tflite.forms.items()}
    result.update(forms=forms, version=saved.version, passed=report["passed"])
print("RESULT" + json.dumps(result))
"""

# `rnnkeras.pipeline.cli.main` in a process whose Keras already runs on another backend, as a Python
# caller would: the command must hand the export to a TensorFlow process.
MAIN_AFTER_KERAS = (
    "import sys, keras; from rnnkeras.pipeline.cli import main; sys.exit(main(sys.argv[1:]))"
)


def _worker(mode: str, backend: str, out: Path) -> dict:
    process = subprocess.run(
        [sys.executable, "-c", WORKER, mode, str(out)],
        env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, process.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT") :])
    assert result["backend"] == backend
    return result


def _assert_files_match_the_source_model(out: Path) -> None:
    """The SavedModel and the TFLite file compute what the model computed under its backend."""
    expected = np.load(out / "keras_outputs.npy")
    x = np.load(out / "heldout.npz")["x"]
    serve = tf.saved_model.load(str(out / "saved_model" / "1")).signatures["serving_default"]
    np.testing.assert_allclose(
        serve(frames=tf.constant(x))["output_0"].numpy(), expected, atol=1e-5
    )
    tflite = TFLiteModel(out / "model_float32.tflite").predict(x)[0]
    np.testing.assert_allclose(tflite, expected, atol=1e-5)
    report = json.loads((out / "export.json").read_text())
    assert report["passed"] and report["tflite"][0]["forms"]["lstm"]["form"] == "fused"


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_export_functions_called_under_the_backend(backend, tmp_path):
    result = _worker("export", backend, tmp_path)
    assert result["forms"] == {"lstm": "fused", "gru": "while"}
    assert result["version"] == 1 and result["passed"]
    # An error raised in the TensorFlow process comes back as it is.
    assert result["error"].startswith("export_saved_model will not overwrite version 1")
    assert result["error"].endswith("Received: version=1")
    _assert_files_match_the_source_model(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend, command",
    [
        ("jax", [str(Path(sys.executable).with_name("rnnkeras"))]),
        ("torch", [sys.executable, "-c", MAIN_AFTER_KERAS]),
    ],
    ids=["jax-console-command", "torch-main-after-keras-import"],
)
def test_export_model_command_under_the_backend(backend, command, tmp_path):
    _worker("save", backend, tmp_path)
    process = subprocess.run(
        [
            *command,
            "export-model",
            str(tmp_path / "model.keras"),
            "--data",
            str(tmp_path / "heldout.npz"),
            "--sequence-length",
            "8",
            "--right-padded",
            "--out",
            str(tmp_path),
        ],
        env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    assert "All thresholds met: True" in process.stdout
    _assert_files_match_the_source_model(tmp_path)


def test_arguments_that_cannot_reach_the_tensorflow_process_are_refused(tmp_path, monkeypatch):
    import keras

    model = keras.Sequential([keras.Input((4, 2)), keras.layers.Dense(1)])
    monkeypatch.setattr(process_module, "_backend", lambda: "jax")
    with pytest.raises(ValueError, match="runs in a TensorFlow-backend process") as error:
        export_tflite(
            model,
            tmp_path / "m.tflite",
            quantize="int8",
            representative_data=lambda: iter([np.zeros((1, 4, 2), "float32")]),
        )
    assert "rnnkeras export-model model.keras" in str(error.value)
    assert "Received: representative_data=<function" in str(error.value)
    assert not (tmp_path / "m.tflite").exists()


@pytest.mark.slow
def test_a_model_the_tensorflow_process_cannot_load_is_named_as_such(tmp_path, monkeypatch):
    import keras

    @keras.saving.register_keras_serializable(package="tests_export")
    class Doubling(keras.layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

    model = keras.Sequential([keras.Input((4, 2)), Doubling()])
    monkeypatch.setattr(process_module, "_backend", lambda: "torch")
    with pytest.raises(ValueError, match="could not load the model in its TensorFlow-backend"):
        export_tflite(model, tmp_path / "m.tflite")
    assert not (tmp_path / "m.tflite").exists()
