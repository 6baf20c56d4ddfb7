"""The layer contract, in the spirit of Keras' own layer tests.

Per class: build, call, output shapes (symbolic and eager), trainable weights
(`harness.run_layer_contract`), regularizers and constraints,
`get_config`/`from_config`, a short `fit` that lowers the loss. The `.keras`
round trip in a fresh process is in `test_fresh_process.py`, across Keras
backends in `test_keras_file_across_backends.py`.
"""

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from tests.layers import harness


def make(kind):
    """Layer factories by id: (layer, expected trainable weight shapes)."""
    u, f = harness.UNITS, harness.FEATURES
    return {
        "SimpleRNN": (rl.SimpleRNN(u), [(f, u), (u, u), (u,)]),
        "SimpleRNN-no_bias": (rl.SimpleRNN(u, use_bias=False), [(f, u), (u, u)]),
        "LSTM": (rl.LSTM(u), [(f, 4 * u), (u, 4 * u), (4 * u,)]),
        "GRU": (rl.GRU(u), [(f, 3 * u), (u, 3 * u), (2, 3 * u)]),
        "GRU-reset_before": (rl.GRU(u, reset_after=False), [(f, 3 * u), (u, 3 * u), (3 * u,)]),
        "Bidirectional": (
            rl.Bidirectional(rl.LSTM(u)),
            [(f, 4 * u), (u, 4 * u), (4 * u,)] * 2,
        ),
        "StackedRNN": (
            rl.StackedRNN([rl.LSTM(u), rl.GRU(u)], residual=True),
            [(f, 4 * u), (u, 4 * u), (4 * u,), (u, 3 * u), (u, 3 * u), (2, 3 * u)],
        ),
    }[kind]


KINDS = [
    "SimpleRNN",
    "SimpleRNN-no_bias",
    "LSTM",
    "GRU",
    "GRU-reset_before",
    "Bidirectional",
    "StackedRNN",
]
OUTPUT_WIDTH = {"Bidirectional": 2 * harness.UNITS}


@pytest.mark.parametrize("kind", KINDS)
def test_build_call_shapes_and_weights(kind, rng):
    layer, weight_shapes = make(kind)
    harness.run_layer_contract(
        layer,
        harness.inputs(rng),
        output_width=OUTPUT_WIDTH.get(kind, harness.UNITS),
        weight_shapes=weight_shapes,
    )


STATE_SHAPES = {
    "SimpleRNN": [(harness.BATCH, harness.UNITS)],
    "LSTM": [(harness.BATCH, harness.UNITS)] * 2,
    "GRU": [(harness.BATCH, harness.UNITS)],
}


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_sequence_and_state_shapes(name, rng):
    layer = getattr(rl, name)(harness.UNITS, return_sequences=True, return_state=True)
    symbolic = layer(keras.Input((None, harness.FEATURES)))
    assert [tuple(s.shape) for s in symbolic] == [(None, None, harness.UNITS)] + [
        (None, harness.UNITS)
    ] * len(STATE_SHAPES[name])
    eager = harness.as_list(layer(harness.inputs(rng)))
    expected = [(harness.BATCH, harness.TIMESTEPS, harness.UNITS), *STATE_SHAPES[name]]
    assert [o.shape for o in eager] == expected
    computed = layer.compute_output_shape((harness.BATCH, harness.TIMESTEPS, harness.FEATURES))
    assert [tuple(s) for s in computed] == expected


@pytest.mark.parametrize("merge_mode", ["concat", "sum", None])
def test_bidirectional_symbolic_shapes(merge_mode):
    layer = rl.Bidirectional(
        rl.GRU(harness.UNITS, return_sequences=True, return_state=True), merge_mode=merge_mode
    )
    result = layer(keras.Input((harness.TIMESTEPS, harness.FEATURES)))
    width = 2 * harness.UNITS if merge_mode == "concat" else harness.UNITS
    outputs = [(None, harness.TIMESTEPS, width)] * (2 if merge_mode is None else 1)
    assert [tuple(r.shape) for r in result] == outputs + [(None, harness.UNITS)] * 2


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_cell_contract(name, rng):
    cell = getattr(rl, name + "Cell")(harness.UNITS)
    state_count = 2 if name == "LSTM" else 1
    x = rng.normal(size=(harness.BATCH, harness.FEATURES)).astype("float32")
    states = cell.get_initial_state(harness.BATCH)
    output, new_states = cell(x, states)
    assert tuple(output.shape) == (harness.BATCH, harness.UNITS)
    assert len(harness.as_list(new_states)) == state_count
    assert len(cell.trainable_weights) == 3
    restored = type(cell).from_config(cell.get_config())
    assert restored.get_config() == cell.get_config()


NON_DEFAULT = {
    "common": {
        "activation": "softsign",
        "use_bias": True,
        "kernel_initializer": "he_normal",
        "recurrent_initializer": "glorot_normal",
        "bias_initializer": "ones",
        "kernel_regularizer": "l2",
        "recurrent_regularizer": "l1",
        "bias_regularizer": "l1",
        "activity_regularizer": "l2",
        "kernel_constraint": "non_neg",
        "recurrent_constraint": "max_norm",
        "bias_constraint": "unit_norm",
        "dropout": 0.1,
        "recurrent_dropout": 0.2,
        "seed": 3,
        "return_sequences": True,
        "return_state": True,
        "go_backwards": True,
        "stateful": False,
        "unroll": True,
    },
    "SimpleRNN": {},
    "LSTM": {"recurrent_activation": "hard_sigmoid", "unit_forget_bias": False},
    "GRU": {"recurrent_activation": "hard_sigmoid", "reset_after": False},
}


def non_default_kwargs(name):
    return {**NON_DEFAULT["common"], **NON_DEFAULT[name]}


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_config_round_trip_keeps_every_argument(name, rng):
    kwargs = non_default_kwargs(name)
    layer = getattr(rl, name)(harness.UNITS, name="custom", **kwargs)
    config = layer.get_config()
    builtin_config = getattr(keras.layers, name)(harness.UNITS, **kwargs).get_config()
    # Keras' own SimpleRNN drops activity_regularizer and seed from its config,
    # so those are checked against what was passed.
    for key in set(kwargs) - {"activity_regularizer", "seed"}:
        assert config[key] == builtin_config[key], (key, config[key], builtin_config[key])
    assert config["seed"] == kwargs["seed"]
    expected_activity = keras.regularizers.serialize(keras.regularizers.get("l2"))
    assert config["activity_regularizer"] == expected_activity
    restored = type(layer).from_config(config)
    assert restored.get_config() == config
    x = harness.inputs(rng)
    layer(x), restored(x)
    harness.randomize(layer, rng, scale=0.3)
    restored.set_weights(layer.get_weights())
    harness.assert_outputs_close(restored(x), layer(x))
    assert set(builtin_config) <= set(config), set(builtin_config) - set(config)


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_builtin_config_loads_into_our_layer(name, rng):
    """A drop-in: the config of a Keras built-in builds our layer with the same behaviour."""
    kwargs = non_default_kwargs(name)
    builtin = getattr(keras.layers, name)(harness.UNITS, **kwargs)
    ours = getattr(rl, name).from_config(builtin.get_config())
    assert isinstance(ours, getattr(rl, name))
    x = harness.inputs(rng)
    builtin(x), ours(x)
    harness.randomize(builtin, rng, scale=0.3)
    ours.set_weights(builtin.get_weights())
    harness.assert_outputs_close(ours(x), builtin(x))


def test_wrapper_config_round_trips(rng):
    bidirectional = rl.Bidirectional(
        rl.LSTM(harness.UNITS, return_sequences=True),
        merge_mode="mul",
        backward_layer=rl.GRU(harness.UNITS, go_backwards=True, return_sequences=True),
    )
    x = harness.inputs(rng)
    bidirectional(x)
    harness.randomize(bidirectional, rng)
    config = bidirectional.get_config()
    restored = rl.Bidirectional.from_config(config)
    assert isinstance(restored.backward_layer, rl.GRU) and restored.merge_mode == "mul"
    restored(x)
    assert restored.get_config() == config
    restored.set_weights(bidirectional.get_weights())
    harness.assert_outputs_close(restored(x), bidirectional(x))


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_weight_regularizer_losses_match_builtin(name, rng):
    kwargs = {"kernel_regularizer": "l2", "recurrent_regularizer": "l1", "bias_regularizer": "l2"}
    ours, builtin = (
        getattr(rl, name)(harness.UNITS, **kwargs),
        getattr(keras.layers, name)(harness.UNITS, **kwargs),
    )
    x = harness.inputs(rng)
    ours(x), builtin(x)
    harness.randomize(builtin, rng)
    ours.set_weights(builtin.get_weights())
    assert len(ours.losses) == len(builtin.losses) == 3
    np.testing.assert_allclose(
        sorted(float(v) for v in ours.losses), sorted(float(v) for v in builtin.losses), rtol=1e-5
    )


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_activity_regularizer_penalizes_the_output(name, rng):
    """Checked against its definition (Keras divides it by the batch size).

    Not against Keras' own SimpleRNN, which accepts this argument and drops it.
    """
    layer = getattr(rl, name)(harness.UNITS, activity_regularizer=keras.regularizers.L1(0.05))
    output = harness.to_numpy(layer(harness.inputs(rng)))
    assert len(layer.losses) == 1
    expected = 0.05 * np.abs(output).sum() / harness.BATCH
    np.testing.assert_allclose(float(layer.losses[0]), expected, rtol=1e-5)


def test_constraints_are_applied_by_the_optimizer(rng):
    layer = rl.GRU(harness.UNITS, kernel_constraint="non_neg", recurrent_constraint="non_neg")
    layer.build((None, harness.TIMESTEPS, harness.FEATURES))
    harness.randomize(layer, rng)
    optimizer = keras.optimizers.SGD(0.1)
    weights = layer.trainable_variables
    optimizer.apply([keras.ops.ones(w.shape) for w in weights], weights)
    kernel, recurrent_kernel, bias = layer.get_weights()
    assert kernel.min() >= 0 and recurrent_kernel.min() >= 0
    assert bias.min() < 0, "the unconstrained bias should keep its negative entries"


def fit_model(kind):
    return {
        "SimpleRNN": lambda: rl.SimpleRNN(8),
        "LSTM": lambda: rl.LSTM(8, dropout=0.1),
        "GRU": lambda: rl.GRU(8, reset_after=False),
        "Bidirectional": lambda: rl.Bidirectional(rl.GRU(4)),
        "StackedRNN": lambda: rl.StackedRNN([rl.LSTM(8), rl.GRU(8)], residual=True, dropout=0.1),
        "keras.layers.RNN(cells)": lambda: keras.layers.RNN([rl.LSTMCell(8), rl.SimpleRNNCell(8)]),
    }[kind]()


@pytest.mark.parametrize(
    "kind", ["SimpleRNN", "LSTM", "GRU", "Bidirectional", "StackedRNN", "keras.layers.RNN(cells)"]
)
def test_fit_lowers_the_loss(kind):
    data = np.random.default_rng(0)
    x = data.normal(size=(64, harness.TIMESTEPS, harness.FEATURES)).astype("float32")
    y = np.tanh(x[:, :, 0].sum(axis=1, keepdims=True) - x[:, -1, 1:2])
    model = keras.Sequential(
        [keras.Input((harness.TIMESTEPS, harness.FEATURES)), fit_model(kind), keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.Adam(0.02), "mse")
    before = model.evaluate(x, y, verbose=0, batch_size=64)
    model.fit(x, y, batch_size=16, epochs=4, verbose=0)
    after = model.evaluate(x, y, verbose=0, batch_size=64)
    assert np.isfinite(after)
    assert after < 0.8 * before, f"loss {before:.4f} -> {after:.4f}"


def test_graph_mode_predict_matches_eager_call_with_masks(rng):
    """`predict` traces the layers into a graph with unknown batch and time sizes."""
    sequences = keras.Input((None, harness.FEATURES))
    hidden = keras.layers.Masking(0.0)(sequences)
    hidden = rl.Bidirectional(rl.LSTM(harness.UNITS, return_sequences=True))(hidden)
    hidden = rl.StackedRNN(
        [rl.GRU(harness.UNITS, reset_after=False), rl.SimpleRNN(harness.UNITS)], residual=True
    )(hidden)
    model = keras.Model(sequences, keras.layers.Dense(1)(hidden))
    harness.randomize(model, rng, scale=0.4)
    x = harness.inputs(rng, batch=8)
    x[3, 2:] = 0.0
    x[5, 4:] = 0.0
    np.testing.assert_allclose(
        model.predict(x, batch_size=4, verbose=0), harness.to_numpy(model(x)), rtol=0, atol=1e-5
    )
