"""Which models export refuses, and the fixed shapes it exports at (no conversion here)."""

import keras
import pytest

from rnnkeras import layers as rl
from rnnkeras.export.support import check_exportable, input_specs, recurrent_layers
from tests.export import export_models


def test_unsupported_layer_is_named_with_the_alternatives():
    inputs = keras.Input((export_models.TIMESTEPS, export_models.FEATURES))
    hidden = keras.layers.Conv1D(4, 3, name="conv")(inputs)
    model = keras.Model(inputs, export_models.recurrent("gru")(hidden))
    with pytest.raises(ValueError, match="layer 'conv' of type Conv1D") as error:
        check_exportable(model)
    message = str(error.value)
    assert "LSTM" in message and "Bidirectional" in message and "Dense" in message
    assert message.endswith("Received: layer=keras.src.layers.convolutional.conv1d.Conv1D")


def test_unsupported_layer_inside_a_container_is_found():
    inner = keras.Sequential(
        [
            keras.Input((export_models.TIMESTEPS, export_models.FEATURES)),
            keras.layers.Lambda(lambda x: x),
        ]
    )
    inputs = keras.Input((export_models.TIMESTEPS, export_models.FEATURES))
    model = keras.Model(inputs, export_models.recurrent("lstm")(inner(inputs)))
    with pytest.raises(ValueError, match="Lambda"):
        check_exportable(model)


def test_stateful_layers_are_refused():
    inputs = keras.Input(batch_shape=(1, export_models.TIMESTEPS, export_models.FEATURES))
    model = keras.Model(
        inputs, export_models.recurrent("lstm", stateful=True, name="memory")(inputs)
    )
    with pytest.raises(ValueError, match="stateful layer 'memory'"):
        check_exportable(model)


def test_every_shipped_layer_and_the_pipeline_layers_pass():
    stack = rl.StackedRNN([rl.Bidirectional(rl.GRU(4, return_sequences=True)), rl.LSTM(4)])
    check_exportable(export_models.classifier(stack, masked=True))
    paths = [path for path, _ in recurrent_layers(export_models.classifier(stack))]
    assert len(paths) == 3 and all(path.startswith(stack.name + "/") for path in paths)


def test_open_time_axis_needs_a_sequence_length():
    model = export_models.classifier(export_models.recurrent("gru"))
    with pytest.raises(ValueError, match="needs a sequence_length"):
        input_specs(model, sequence_length=None)
    (spec,) = input_specs(model, sequence_length=11, batch_size=2)
    assert spec.shape.as_list() == [2, 11, export_models.FEATURES] and spec.name == "frames"


def test_a_contradicting_sequence_length_is_refused():
    model = export_models.classifier(export_models.recurrent("gru"), open_time=False)
    with pytest.raises(ValueError, match=f"fixed at {export_models.TIMESTEPS} time steps"):
        input_specs(model, sequence_length=export_models.TIMESTEPS + 1)
    assert input_specs(model)[0].shape.as_list() == [
        1,
        export_models.TIMESTEPS,
        export_models.FEATURES,
    ]


@pytest.mark.parametrize("batch_size", [0, -1, 1.5])
def test_bad_batch_sizes_are_refused(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        input_specs(
            export_models.classifier(export_models.recurrent("gru")),
            sequence_length=4,
            batch_size=batch_size,
        )
