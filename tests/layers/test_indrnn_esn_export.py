"""IndRNN and ESN export builtins-only to TFLite (`WHILE` loops) with parity, in one model."""

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from tests.layers import harness

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        keras.backend.backend() != "tensorflow",
        reason="the TFLite converter traces a TensorFlow model; tests/export covers other backends",
    ),
]


def test_indrnn_and_esn_export_builtins_only_with_parity(tmp_path, rng):
    from rnnkeras.export import TFLiteModel, export_tflite

    model = keras.Sequential(
        [
            keras.Input((None, harness.FEATURES)),
            rl.IndRNN(4, timesteps=harness.TIMESTEPS, return_sequences=True, name="indrnn"),
            rl.ESN(5, connectivity=0.5, leaky=0.5, seed=1, name="esn"),
            keras.layers.Dense(1),
        ]
    )
    export = export_tflite(model, tmp_path / "model.tflite", sequence_length=harness.TIMESTEPS)
    assert not [name for name in export.operators if name.startswith("CUSTOM")]
    assert {name: form.form for name, form in export.forms.items()} == {
        "indrnn": "while",
        "esn": "while",
    }
    x = harness.inputs(rng)
    (output,) = TFLiteModel(export.path, input_names=export.inputs).predict(x)
    np.testing.assert_allclose(output, model.predict(x, verbose=0), rtol=0, atol=1e-5)
