"""Every layer type exports to a builtins-only TFLite file that reproduces Keras on padded inputs."""

import sys

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from rnnkeras.export import TFLiteModel, export_tflite
from tests.export import export_models
from tests.layers import harness

FLOAT_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """``exported(name, model_factory, **options) -> (model, export)``, converted once per module."""
    cache = {}
    folder = tmp_path_factory.mktemp("tflite")

    def export(name, factory, **options):
        if name not in cache:
            model = factory()
            options.setdefault("sequence_length", export_models.TIMESTEPS)
            cache[name] = model, export_tflite(model, folder / f"{name}.tflite", **options)
        return cache[name]

    return export


def _assert_runs_like_keras(model, export, x):
    assert export.path.is_file() and export.path.stat().st_size == export.size_bytes
    assert not [name for name in export.operators if name.startswith("CUSTOM")]
    outputs = TFLiteModel(export.path, input_names=export.inputs).predict(x)
    expected = model.predict(x, verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    for output, reference in zip(outputs, expected, strict=True):
        assert np.abs(output - reference).max() <= FLOAT_TOLERANCE


CORES = export_models.cores()


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("name", list(CORES))
def test_every_layer_type_exports_builtins_only(exported, name, masked):
    model, export = exported(
        f"{name}-{masked}",
        lambda: export_models.classifier(CORES[name](), masked=masked),
        right_padded=masked,
    )
    _assert_runs_like_keras(model, export, export_models.padded_inputs())
    forms = {path.split("/")[-1]: layer for path, layer in export.forms.items()}
    assert forms, "no recurrent layer was recorded"
    for layer_name, layer in forms.items():
        expected = "fused" if layer.kind == "LSTM" else "while"
        assert layer.form == expected, (layer_name, layer)
    fused = sum(layer.form == "fused" for layer in forms.values())
    assert export.operators.get("UNIDIRECTIONAL_SEQUENCE_LSTM", 0) == fused
    assert ("WHILE" in export.operators) == (fused < len(forms))


def test_masked_lstm_stays_a_loop_unless_right_padding_is_declared(exported):
    model, export = exported(
        "lstm-masked-loop",
        lambda: export_models.classifier(export_models.recurrent("lstm", name="lstm"), masked=True),
    )
    (layer,) = export.forms.values()
    assert layer.form == "while" and "masked input" in layer.reason
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" not in export.operators
    _assert_runs_like_keras(model, export, export_models.padded_inputs())


@pytest.mark.parametrize("form", ["while", "unrolled"])
def test_forced_forms(exported, form):
    model, export = exported(
        f"forced-{form}",
        lambda: export_models.classifier(
            rl.Bidirectional(export_models.recurrent("lstm", return_sequences=True))
        ),
        form=form,
    )
    assert {layer.form for layer in export.forms.values()} == {form}
    assert ("WHILE" in export.operators) == (form == "while")
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" not in export.operators
    _assert_runs_like_keras(model, export, export_models.padded_inputs())


def test_fixed_batch_larger_than_one(exported):
    model, export = exported(
        "gru-batch3", lambda: export_models.classifier(CORES["gru"]()), batch_size=3
    )
    assert export.batch_size == 3
    _assert_runs_like_keras(model, export, export_models.padded_inputs(count=7))


def test_embedding_with_mask_zero(tmp_path):
    keras.utils.set_random_seed(0)
    tokens = keras.Input((export_models.TIMESTEPS,), dtype="int32", name="tokens")
    hidden = keras.layers.Embedding(20, 4, mask_zero=True)(tokens)
    model = keras.Model(tokens, keras.layers.Dense(2)(rl.GRU(5)(hidden)))
    ids = (
        np.random.default_rng(0).integers(1, 20, size=(6, export_models.TIMESTEPS)).astype("int32")
    )
    ids[:, 5:] = 0
    export = export_tflite(model, tmp_path / "tokens.tflite")
    _assert_runs_like_keras(model, export, ids)


def test_encoder_decoder_with_two_inputs_and_initial_state(tmp_path):
    keras.utils.set_random_seed(0)
    source = keras.Input((export_models.TIMESTEPS, export_models.FEATURES), name="source")
    target = keras.Input((5, 2), name="target")
    _, h, c = rl.LSTM(6, return_state=True, name="encoder")(source)
    decoded = rl.LSTM(6, return_sequences=True, name="decoder")(target, initial_state=[h, c])
    model = keras.Model([source, target], keras.layers.Dense(3)(decoded))
    export = export_tflite(model, tmp_path / "seq2seq.tflite", batch_size=2)
    assert (
        export.forms["encoder"].form == "while" and "return_state" in export.forms["encoder"].reason
    )
    assert export.forms["decoder"].form == "fused"
    rng = np.random.default_rng(1)
    x = [export_models.padded_inputs(4), harness.inputs(rng, 4, 5, 2)]
    _assert_runs_like_keras(model, export, x)


def test_failures_leave_the_destination_untouched(tmp_path):
    model = export_models.classifier(
        export_models.recurrent("lstm", activation="relu", name="relu_lstm")
    )
    fresh, existing = tmp_path / "fresh.tflite", tmp_path / "existing.tflite"
    existing.write_bytes(b"previous export")
    for path in (fresh, existing):
        with pytest.raises(ValueError, match="layer 'relu_lstm' cannot: activation is not tanh"):
            export_tflite(model, path, sequence_length=export_models.TIMESTEPS, form="fused")
    assert not fresh.exists() and existing.read_bytes() == b"previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.tflite"]


def test_int8_refuses_while_loops(tmp_path):
    model = export_models.classifier(export_models.recurrent("gru"))
    with pytest.raises(ValueError, match="cannot calibrate WHILE loops"):
        export_tflite(
            model,
            tmp_path / "m.tflite",
            sequence_length=export_models.TIMESTEPS,
            quantize="int8",
            representative_data=export_models.padded_inputs(),
            form="while",
        )
    assert not list(tmp_path.iterdir())


def test_fused_lstm_does_not_clip_the_cell_state(tmp_path):
    """The converter sets cell_clip=10; a cell state that grows past 10 would then flip sign."""
    model = keras.Sequential([keras.Input((40, 1)), rl.LSTM(1, name="lstm")])
    kernel = np.array([[0.0, 0.0, 20.0, 0.0]], "float32")  # the candidate follows the input
    bias = np.array([20.0, 20.0, 0.0, 20.0], "float32")  # input, forget and output gates open
    model.layers[0].set_weights([kernel, np.zeros((1, 4), "float32"), bias])
    x = np.concatenate([np.ones(20), -np.ones(15), np.zeros(5)])[None, :, None].astype("float32")
    export = export_tflite(model, tmp_path / "clip.tflite")
    assert export.forms["lstm"].form == "fused"
    expected = model.predict(x, verbose=0)
    assert expected[0, 0] > 0.99  # Keras: c = 20 - 15 = 5 > 0
    np.testing.assert_allclose(TFLiteModel(export.path).predict(x)[0], expected, atol=1e-5)


def test_runs_with_tf_lite_when_ai_edge_litert_is_missing(exported, monkeypatch):
    model, export = exported("lstm-False", lambda: export_models.classifier(CORES["lstm"]()))
    assert TFLiteModel(export.path).runtime == "ai_edge_litert"
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    runner = TFLiteModel(export.path)
    assert runner.runtime == "tf.lite.Interpreter"
    x = export_models.padded_inputs()
    assert np.abs(runner.predict(x)[0] - model.predict(x, verbose=0)).max() <= FLOAT_TOLERANCE
