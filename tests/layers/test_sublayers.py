"""One sublayer walk: the monitor, export and stacking see the same layers under the same paths."""

import keras

from rnnkeras import layers as rl
from rnnkeras.callbacks.time_step_probe import find_recurrent_layers
from rnnkeras.export import support
from rnnkeras.layers import sublayers
from tests.layers import harness

# Written out by hand: the paths the monitor's records and the export's errors have always used.
PATHS = [
    "frames",
    "noise",
    "bidirectional",
    "bidirectional/forward_lstm",
    "bidirectional/backward_lstm",
    "stacked_rnn",
    "stacked_rnn/gru",
    "stacked_rnn/keras_bidirectional",
    "stacked_rnn/keras_bidirectional/forward_simple_rnn",
    "stacked_rnn/keras_bidirectional/backward_simple_rnn",
    "stacked_rnn/dropout",
    "head",
    "head/time_distributed",
    "head/time_distributed/dense",
]
RECURRENT = [path for path in PATHS if path.rsplit("/", 1)[-1].startswith(("forward", "backward"))]


def containers_model():
    """Ours and Keras' wrappers, a stack and a nested model: every kind of container."""
    head = keras.Sequential(
        [
            keras.Input((harness.TIMESTEPS, 2 * harness.UNITS)),
            keras.layers.TimeDistributed(keras.layers.Dense(1, name="dense")),
        ],
        name="head",
    )
    stack = rl.StackedRNN(
        [
            rl.GRU(harness.UNITS, name="gru"),
            keras.layers.Bidirectional(
                keras.layers.SimpleRNN(harness.UNITS, name="simple_rnn"), name="keras_bidirectional"
            ),
        ],
        dropout=0.1,
        return_sequences=True,
        return_state=True,
        name="stacked_rnn",
    )
    inputs = keras.Input((harness.TIMESTEPS, harness.FEATURES), name="frames")
    hidden = keras.layers.GaussianNoise(0.1, name="noise")(inputs)
    hidden = rl.Bidirectional(rl.LSTM(harness.UNITS, return_sequences=True), name="bidirectional")(
        hidden
    )
    outputs, *states = stack(hidden)
    return keras.Model(inputs, [head(outputs), *states]), stack


def test_monitor_export_and_stacking_walk_the_same_paths():
    keras.backend.clear_session()
    model, stack = containers_model()
    recurrent = ["stacked_rnn/gru", *RECURRENT]
    recurrent.sort(key=PATHS.index)

    assert [path for path, _ in sublayers.walk(model)] == PATHS
    assert [path for path, _ in support.recurrent_layers(model)] == recurrent
    targets = find_recurrent_layers(model)
    assert [target.name for target in targets] == recurrent
    assert [target.top_level for target in targets] == [p.split("/")[0] for p in recurrent]
    # Keras' own SimpleRNN has no per-step probe; ours do.
    assert [target.probed for target in targets] == ["simple_rnn" not in p for p in recurrent]
    # The stack returns one state per layer that loops, both directions of a wrapper.
    assert len(model.outputs) == 1 + 1 + 2
    assert stack._state_counts() == [1, 2]


def test_a_recurrent_layer_is_its_own_only_recurrent_layer():
    layer = rl.LSTM(harness.UNITS, name="lstm")
    assert sublayers.recurrent_layers(layer) == [("lstm", layer)]
    assert list(sublayers.walk(layer)) == []
