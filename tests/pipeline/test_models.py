"""Model builders: preprocessing inside the model, masking, the recurrent core's shapes."""

import keras
import numpy as np
import pytest

from rnnkeras import layers
from rnnkeras.pipeline import tasks
from rnnkeras.pipeline.builders import (
    CELLS,
    build_classifier,
    build_forecaster,
    recurrent_core,
)


def test_a_forecaster_with_a_silent_head_predicts_no_change():
    model = build_forecaster(10, 2, 3, [1.0, 4.0], target_scale=2.0, units=4)
    head = model.get_layer("change")
    head.set_weights([np.zeros_like(w) for w in head.get_weights()])
    x = np.random.default_rng(0).normal(0, 5, (4, 10, 2)).astype("float32")
    np.testing.assert_array_equal(model(x), np.zeros((4, 3)))


def test_a_forecaster_scales_inputs_and_outputs_as_told():
    model = build_forecaster(4, 2, 2, [9.0, 0.25], target_scale=5.0, units=3)
    x = np.ones((1, 4, 2), "float32")
    scaled = model.get_layer("scale_inputs")(x).numpy()
    np.testing.assert_allclose(scaled[0, 0], [1 / 3, 2.0], rtol=1e-6)
    head = model.get_layer("change")
    kernel, bias = head.get_weights()
    head.set_weights([np.zeros_like(kernel), np.array([1.0, -2.0], "float32")])
    np.testing.assert_allclose(model(x).numpy(), [[5.0, -10.0]], rtol=1e-6)


def test_padding_does_not_change_a_classification():
    model = build_classifier(12, 3, 4, [0.1, 0.2, 0.3], [1.0, 2.0, 0.5], cell="lstm", units=5)
    sequence = np.random.default_rng(2).normal(0, 1, (7, 3)).astype("float32")
    padded = np.zeros((2, 12, 3), "float32")
    padded[0, :7] = sequence
    padded[1, 5:] = sequence  # padding in front: masked steps leave the state untouched
    short = np.zeros((1, 12, 3), "float32")
    short[0, :7] = sequence
    probabilities = model(padded).numpy()
    np.testing.assert_allclose(probabilities.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(probabilities[0], model(short).numpy()[0], rtol=1e-6)
    np.testing.assert_allclose(probabilities[1], probabilities[0], atol=1e-6)
    # The masked zeros at the end are skipped; a reference model without padding agrees.
    reference = build_classifier(7, 3, 4, [0.1, 0.2, 0.3], [1.0, 2.0, 0.5], cell="lstm", units=5)
    reference.set_weights(model.get_weights())
    np.testing.assert_allclose(probabilities[0], reference(sequence[None]).numpy()[0], atol=1e-6)


@pytest.mark.parametrize(
    ("options", "kind", "width"),
    [
        ({"cell": "simple"}, layers.SimpleRNN, 6),
        ({"cell": "gru", "bidirectional": True}, layers.Bidirectional, 12),
        ({"cell": "lstm", "depth": 3, "residual": True, "dropout": 0.1}, layers.StackedRNN, 6),
        ({"cell": "gru", "depth": 2, "bidirectional": True}, layers.StackedRNN, 12),
    ],
)
def test_recurrent_core_uses_rnnkeras_layers(options, kind, width):
    core = recurrent_core(units=6, **options)
    assert isinstance(core, kind)
    assert tuple(core(np.zeros((2, 5, 3), "float32")).shape) == (2, width)
    if kind is layers.StackedRNN:
        assert len(core.rnn_layers) == options["depth"]


def test_params_schema_offers_exactly_the_cells_the_builder_knows():
    from typing import get_args

    from rnnkeras.pipeline.params_schema import TrainParams

    assert set(get_args(TrainParams.model_fields["cell"].annotation)) == set(CELLS)


@pytest.mark.parametrize("cell", sorted(set(CELLS) - {"simple", "lstm", "gru"}))
def test_every_cell_classifies_padded_sequences_as_unpadded_ones(cell):
    model = build_classifier(6, 2, 3, [0.0, 0.0], [1.0, 1.0], cell=cell, units=4)
    assert isinstance(model.get_layer(f"{cell}_0"), CELLS[cell])
    reference = build_classifier(4, 2, 3, [0.0, 0.0], [1.0, 1.0], cell=cell, units=4)
    reference.set_weights(model.get_weights())
    sequence = np.random.default_rng(0).normal(size=(1, 4, 2)).astype("float32")
    padded = np.concatenate([sequence, np.zeros((1, 2, 2), "float32")], axis=1)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(padded)),
        keras.ops.convert_to_numpy(reference(sequence)),
        atol=1e-6,
    )


def test_recurrent_core_explains_bad_settings():
    with pytest.raises(ValueError, match="cell='rnn'"):
        recurrent_core(cell="rnn")
    with pytest.raises(ValueError, match="depth=0"):
        recurrent_core(depth=0)


def test_built_models_survive_a_keras_file_round_trip(tmp_path):
    meta = {
        "task": "forecasting",
        "window": 8,
        "features": ["a", "b"],
        "horizon": 2,
        "input_variance": [1.0, 2.0],
        "target_scale": 0.5,
        "target_index": 1,
    }
    model = tasks.get("forecasting").build_model(
        meta, {"cell": "gru", "units": 4, "depth": 2, "bidirectional": True}
    )
    x = np.random.default_rng(3).normal(0, 1, (2, 8, 2)).astype("float32")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-6)
