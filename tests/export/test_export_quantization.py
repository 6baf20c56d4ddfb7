"""Each quantization mode on trained models: smaller files that keep the task metric."""

import keras
import numpy as np
import pytest

from rnnkeras.export import TFLiteModel, export_tflite
from rnnkeras.export.parity import FLOAT_MAX_ABS_DIFF, METRIC_TOLERANCE, compare
from rnnkeras.export.quantization import representative_samples
from rnnkeras.export.support import input_specs
from tests.export import export_models
from tests.layers import harness


def _task(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded sequences of 2..8 steps; the label says whether feature 0 sums above zero."""
    rng = np.random.default_rng(seed)
    x = harness.inputs(rng, count, export_models.TIMESTEPS, export_models.FEATURES)
    lengths = rng.integers(2, export_models.TIMESTEPS + 1, size=count)
    for row, length in enumerate(lengths):
        x[row, length:] = 0.0
    return x, (x[:, :, 0].sum(axis=1) > 0).astype("int32")


def _trained(core) -> keras.Model:
    model = export_models.classifier(core, masked=True, open_time=False)
    model.compile(
        keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    x, y = _task(768, seed=1)
    model.fit(x, y, epochs=12, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="module")
def lstm_model():
    return _trained(export_models.recurrent("lstm", units=32, name="lstm"))


@pytest.fixture(scope="module")
def lstm_exports(lstm_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("quantized")
    calibration, _ = _task(256, seed=2)
    return {
        mode: export_tflite(
            lstm_model,
            folder / f"lstm_{mode}.tflite",
            quantize=mode,
            representative_data=calibration,
            right_padded=True,
        )
        for mode in (None, "float16", "dynamic", "int8")
    }


def test_the_trained_model_learned_the_task(lstm_model):
    x, y = _task(400, seed=3)
    assert lstm_model.evaluate(x, y, verbose=0)[1] > 0.9


@pytest.mark.parametrize("mode", [None, "float16", "dynamic", "int8"])
def test_every_mode_keeps_the_task_metric(lstm_model, lstm_exports, mode):
    export = lstm_exports[mode]
    assert export.forms["lstm"].form == "fused"
    assert export.operators["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 1
    x, y = _task(400, seed=3)
    result = compare(
        lstm_model.predict(x, verbose=0), TFLiteModel(export.path).predict(x)[0], mode, y
    )
    assert result["passed"], result
    if mode is None:
        assert result["max_abs_diff"] <= FLOAT_MAX_ABS_DIFF
    else:
        assert -result["metric_change"] <= METRIC_TOLERANCE[mode]["accuracy"]


@pytest.mark.parametrize("mode", ["float16", "dynamic", "int8"])
def test_quantized_files_are_smaller(lstm_exports, mode):
    assert lstm_exports[mode].size_bytes < 0.75 * lstm_exports[None].size_bytes


def test_int8_is_integer_end_to_end(lstm_exports):
    runner = TFLiteModel(lstm_exports["int8"].path)
    assert runner.input_details[0]["dtype"] == np.int8
    assert runner.output_details[0]["dtype"] == np.int8
    lstm = next(
        op for op in runner.interpreter._get_ops_details() if op["op_name"].endswith("LSTM")
    )
    tensors = {t["index"]: t["dtype"] for t in runner.interpreter.get_tensor_details()}
    assert tensors[lstm["inputs"][0]] == np.int8 and tensors[lstm["inputs"][1]] == np.int8


def test_int8_unrolls_loops_it_cannot_fuse(tmp_path):
    model = _trained(export_models.recurrent("gru", units=16, name="gru"))
    calibration, _ = _task(128, seed=2)

    def samples():
        yield from calibration

    export = export_tflite(
        model, tmp_path / "gru_int8.tflite", quantize="int8", representative_data=samples
    )
    assert export.forms["gru"].form == "unrolled" and "WHILE" not in export.operators
    x, y = _task(400, seed=3)
    result = compare(model.predict(x, verbose=0), TFLiteModel(export.path).predict(x)[0], "int8", y)
    assert result["passed"], result


def test_representative_data_is_checked():
    specs = input_specs(
        export_models.classifier(export_models.recurrent("gru")),
        sequence_length=export_models.TIMESTEPS,
    )
    with pytest.raises(ValueError, match="Pass representative_data"):
        representative_samples(None, specs)
    wrong = representative_samples(
        np.zeros((4, export_models.TIMESTEPS, export_models.FEATURES + 1), "float32"), specs
    )
    with pytest.raises(ValueError, match=r"sample shape \(8, 3\)"):
        next(wrong())
    batches = list(
        representative_samples(
            np.zeros((3, export_models.TIMESTEPS, export_models.FEATURES)), specs
        )()
    )
    assert len(batches) == 3 and batches[0][0].shape == (
        1,
        export_models.TIMESTEPS,
        export_models.FEATURES,
    )
    assert batches[0][0].dtype == np.float32


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["float16", "dynamic", "int8"])
@pytest.mark.parametrize("name", list(export_models.cores()))
def test_every_layer_type_in_every_mode(tmp_path, name, mode):
    """Structure for every pair; the task-metric checks are on the trained models above."""
    model = export_models.classifier(export_models.cores()[name](), masked=True)
    x = export_models.padded_inputs(24)
    export = export_tflite(
        model,
        tmp_path / f"{name}.tflite",
        sequence_length=export_models.TIMESTEPS,
        quantize=mode,
        representative_data=x,
        right_padded=True,
    )
    assert not [op for op in export.operators if op.startswith("CUSTOM")]
    loop = "unrolled" if mode == "int8" else "while"
    for layer in export.forms.values():
        assert layer.form == ("fused" if layer.kind == "LSTM" else loop)
    runner = TFLiteModel(export.path)
    assert (runner.input_details[0]["dtype"] == np.int8) == (mode == "int8")
    difference = np.abs(runner.predict(x)[0] - model.predict(x, verbose=0)).max()
    # Untrained probabilities: float16 and dynamic stay close; int8 only has to be sane.
    assert difference <= (0.5 if mode == "int8" else 0.02)
