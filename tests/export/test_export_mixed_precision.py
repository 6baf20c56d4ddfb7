"""Models trained under `mixed_float16` export: float32 and float16 files from the float32 weights."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnkeras import layers as rl
from rnnkeras.export import TFLiteModel, export_saved_model, export_tflite, write_export_report
from rnnkeras.export.precision import float32_model
from rnnkeras.export.saved_model import SIGNATURE
from tests.export import export_models


@pytest.fixture
def mixed_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


CORES = {
    "lstm": lambda: rl.LSTM(3),
    "gru": lambda: rl.GRU(4),
    "bidirectional_lstm": lambda: rl.Bidirectional(rl.LSTM(3)),
    "keras_lstm": lambda: keras.layers.LSTM(3),
    "keras_gru": lambda: keras.layers.GRU(4),
    "keras_bidirectional_lstm": lambda: keras.layers.Bidirectional(keras.layers.LSTM(3)),
}


def _mixed_model(core: str) -> keras.Model:
    """`Input -> Masking -> core -> Dense`, built under the mixed policy of the fixture."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, export_models.FEATURES), name="frames")
    hidden = CORES[core]()(keras.layers.Masking(0.0)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(export_models.CLASSES, dtype="float32")(hidden))
    assert model.layers[2].compute_dtype == "float16"
    return model


@pytest.mark.parametrize("core", list(CORES))
def test_mixed_precision_model_exports_to_tflite(core, mixed_float16, tmp_path):
    model = _mixed_model(core)
    keras.mixed_precision.set_global_policy("float32")
    twin = float32_model(model)
    assert {layer.compute_dtype for layer in twin._flatten_layers()} == {"float32"}
    for kept, original in zip(twin.weights, model.weights, strict=True):
        np.testing.assert_array_equal(kept.numpy(), original.numpy())
    x = export_models.padded_inputs(6)
    expected = twin.predict(x, verbose=0)
    # Keras' own mixed-precision outputs are close to the float32 twin's.
    assert np.abs(model.predict(x, verbose=0) - expected).max() < 1e-2
    export = export_tflite(
        model, tmp_path / "m.tflite", sequence_length=export_models.TIMESTEPS, right_padded=True
    )
    assert np.abs(TFLiteModel(export.path).predict(x)[0] - expected).max() <= 1e-5
    lstms = [form for form in export.forms.values() if form.kind == "LSTM"]
    assert all(form.form == "fused" for form in lstms)


def test_float16_file_saved_model_and_report(mixed_float16, tmp_path):
    model = _mixed_model("bidirectional_lstm")
    keras.mixed_precision.set_global_policy("float32")
    x = export_models.padded_inputs(6)
    expected = float32_model(model).predict(x, verbose=0)
    export = export_tflite(
        model,
        tmp_path / "f16.tflite",
        sequence_length=export_models.TIMESTEPS,
        quantize="float16",
        right_padded=True,
    )
    assert np.abs(TFLiteModel(export.path).predict(x)[0] - expected).max() <= 1e-2
    saved = export_saved_model(model, tmp_path / "serving")
    serve = tf.saved_model.load(str(saved.path)).signatures[SIGNATURE]
    served = serve(frames=tf.constant(x))["output_0"].numpy()
    assert np.abs(served - expected).max() <= 1e-5
    report = write_export_report(
        model,
        tmp_path / "export.json",
        x,
        saved_model=saved,
        tflite=[export],
        latency_runs=3,
    )
    assert report["passed"] is True
    assert report["saved_model"]["parity"]["max_abs_diff"] <= 1e-5


def test_export_works_while_the_mixed_policy_is_still_global(mixed_float16, tmp_path):
    model = _mixed_model("bidirectional_lstm")
    export = export_tflite(
        model, tmp_path / "m.tflite", sequence_length=export_models.TIMESTEPS, right_padded=True
    )
    assert export.operators["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 2
    assert keras.mixed_precision.global_policy().name == "mixed_float16"


class Unrebuildable(keras.Model):
    """A subclassed model whose constructor takes what `get_config` does not give."""

    def __init__(self, core):
        super().__init__()
        self.core = core
        self.head = keras.layers.Dense(export_models.CLASSES, dtype="float32")

    def call(self, inputs):
        return self.head(self.core(inputs))


def test_a_model_that_cannot_be_rebuilt_is_refused_up_front(mixed_float16, tmp_path):
    model = Unrebuildable(rl.LSTM(3))
    model(keras.Input((export_models.TIMESTEPS, export_models.FEATURES)))
    with pytest.raises(ValueError, match="set_global_policy\\('float32'\\)") as error:
        float32_model(model)
    assert str(error.value).endswith("Received: model='unrebuildable'")
