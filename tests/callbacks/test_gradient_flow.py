"""GradientFlowMonitor: exact per-time-step gradients, layer discovery and
naming, flags and warnings, logs, files, and that probing leaves training alone."""

import importlib.util
import json
import sys
import warnings

import keras
import numpy as np
import pytest

from rnnkeras.callbacks import GradientFlowMonitor, GradientFlowWarning, backend_gradients
from rnnkeras.layers import GRU, LSTM, Bidirectional, SimpleRNN, StackedRNN
from tests.callbacks import linear_rnn
from tests.layers import harness


def linear_recurrence(w, steps, run_eagerly=False, **layer_kwargs):
    """h_t = w * h_{t-1} + x_t with one unit; the loss is h_T itself."""
    model = keras.Sequential([keras.Input((steps, 1)), linear_rnn.linear_rnn(w, **layer_kwargs)])
    model.compile(optimizer="sgd", loss=linear_rnn.sum_of_outputs, run_eagerly=run_eagerly)
    return model


def measured(model, x, y, **kwargs):
    monitor = GradientFlowMonitor(probe_data=(x, y), **kwargs)
    monitor.set_model(model)
    return monitor, {r["layer"]: r for r in monitor.measure()}


@pytest.mark.parametrize("run_eagerly", [False, True], ids=["tf_function", "eager"])
@pytest.mark.parametrize(
    ("w", "status"), [(0.5, "vanishing"), (1.0, "ok"), (1.5, "exploding"), (-1.5, "exploding")]
)
def test_linear_recurrence_gradients_are_powers_of_w(w, status, run_eagerly):
    steps = 16
    model = linear_recurrence(w, steps, run_eagerly)
    x = np.random.default_rng(0).normal(size=(1, steps, 1)).astype("float32")
    _, records = measured(model, x, np.zeros((1, 1), "float32"))
    record = records["simple_rnn"]

    t = np.arange(1, steps + 1)
    expected = np.abs(w) ** (steps - t)
    np.testing.assert_allclose(record["timestep_grad_norms"], expected, rtol=1e-5)
    np.testing.assert_allclose(record["recurrent_grad_norms"], expected, rtol=1e-5)
    assert record["log10_ratio"] == pytest.approx((steps - 1) * np.log10(abs(w)), abs=1e-4)
    assert record["status"] == status


def test_backwards_layer_gradients_follow_processing_order():
    steps, w = 10, 0.5
    model = linear_recurrence(w, steps, go_backwards=True)
    x = np.ones((1, steps, 1), "float32")
    _, records = measured(model, x, np.zeros((1, 1), "float32"))
    record = records["simple_rnn"]
    # The last state read is the one after input 1; input t is t - 1 steps before it.
    t = np.arange(1, steps + 1)
    np.testing.assert_allclose(record["timestep_grad_norms"], w ** (t - 1), rtol=1e-5)
    assert record["go_backwards"]
    assert record["log10_ratio"] == pytest.approx((steps - 1) * np.log10(w), abs=1e-4)


def split_reference_gradients(builtin_layer, head, x, y):
    """||dL/dh_t|| for a many-to-one model, without the perturbation hook:
    run the Keras built-in layer on x[:, :t], then differentiate the loss
    with respect to the state h_t while running the remaining inputs from it
    (a fresh, independent computation per t, through the backend's own
    autodiff)."""
    states_after = keras.layers.RNN(builtin_layer.cell, return_state=True, unroll=True)
    norms = []
    for t in range(1, x.shape[1] + 1):
        _, *states = states_after(x[:, :t])
        states = [keras.ops.convert_to_tensor(keras.ops.convert_to_numpy(s)) for s in states]

        def loss_from(inputs, t=t, rest=states[1:]):
            (h_t,) = inputs
            last = builtin_layer(x[:, t:], initial_state=[h_t, *rest]) if t < x.shape[1] else h_t
            return [keras.ops.mean(keras.losses.mean_squared_error(y, head(last)))]

        (loss,), pullback = backend_gradients.vjp(loss_from, [], [states[0]])
        _, (gradient,) = pullback([keras.ops.ones_like(loss)])
        norms.append(float(np.linalg.norm(keras.ops.convert_to_numpy(gradient))))
    return np.array(norms)


@pytest.mark.parametrize(
    ("ours", "builtin"),
    [(LSTM, keras.layers.LSTM), (GRU, keras.layers.GRU), (SimpleRNN, keras.layers.SimpleRNN)],
)
def test_gradients_match_split_sequence_reference(ours, builtin, rng):
    steps, features, units = 7, 3, 5
    layer = ours(units)
    model = keras.Sequential([keras.Input((steps, features)), layer, keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = harness.inputs(rng, 4, steps, features)
    y = rng.normal(size=(4, 1)).astype("float32")
    _, records = measured(model, x, y)

    # Unrolled: on JAX an eager scan compiles anew for every length.
    reference = builtin(units, unroll=True)
    reference.build((None, None, features))
    reference.set_weights(layer.get_weights())
    expected = split_reference_gradients(reference, model.layers[-1], x, y)
    np.testing.assert_allclose(
        records[layer.name]["timestep_grad_norms"], expected, rtol=1e-4, atol=1e-7
    )


def test_whole_sequence_loss_keeps_direct_gradients_out_of_the_ratio():
    """With a loss at every step, the total gradient at t = 1 includes the
    direct term, but the summary only follows what is carried back in time."""
    steps, w = 12, 0.5
    model = linear_recurrence(w, steps, return_sequences=True)
    x = np.ones((1, steps, 1), "float32")
    _, records = measured(model, x, np.zeros((1, steps, 1), "float32"))
    record = records["simple_rnn"]
    t = np.arange(1, steps + 1)
    # dL/dh_t = sum over s >= t of w^(s - t); carried from h_T only: w^(T - t).
    direct_and_carried = (1 - w ** (steps - t + 1)) / (1 - w)
    np.testing.assert_allclose(record["timestep_grad_norms"], direct_and_carried, rtol=1e-5)
    np.testing.assert_allclose(record["recurrent_grad_norms"], w ** (steps - t), rtol=1e-5)
    assert record["status"] == "vanishing"


def test_bidirectional_and_stacked_layers_are_probed_and_named(rng):
    steps = 6
    encoder = keras.Sequential(
        [keras.Input((steps, 3)), GRU(4, return_sequences=True)], name="encoder"
    )
    inputs = keras.Input((steps, 3))
    hidden = encoder(inputs)
    hidden = Bidirectional(LSTM(3, return_sequences=True))(hidden)
    hidden = StackedRNN([SimpleRNN(4), GRU(2)], residual=False)(hidden)
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    model.compile(optimizer="adam", loss="mse")
    x = harness.inputs(rng, 5, steps, 3)
    y = rng.normal(size=(5, 1)).astype("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradientFlowWarning)
        warnings.filterwarnings("ignore", "GradientFlowMonitor: vanishing")
        monitor, records = measured(model, x, y)

    recurrent = {
        "encoder/gru",
        "bidirectional/forward_lstm",
        "bidirectional/backward_lstm",
        "stacked_rnn/simple_rnn",
        "stacked_rnn/gru_1",
    }
    assert recurrent | {"encoder", "bidirectional", "stacked_rnn", "dense"} == set(records)
    for name in recurrent:
        assert len(records[name]["timestep_grad_norms"]) == steps
        assert records[name]["weight_grad_norm"] > 0
    assert records["bidirectional/backward_lstm"]["go_backwards"]
    assert monitor.unprobed_layers == []
    # Layer norms combine their weights' norms; the global norm combines all weights.
    layer_norms = [records[name]["weight_grad_norm"] for name in ("encoder", "bidirectional")]
    per_weight = records["bidirectional"]["weight_grad_norms"].values()
    assert layer_norms[1] == pytest.approx(np.sqrt(sum(n * n for n in per_weight)))
    top_level = [records[name]["weight_grad_norm"] for name in ("stacked_rnn", "dense")]
    assert records["dense"]["global_grad_norm"] == pytest.approx(
        np.sqrt(sum(n * n for n in layer_norms + top_level))
    )


def test_builtin_recurrent_layers_get_weight_norms_and_one_warning(rng):
    model = keras.Sequential(
        [
            keras.Input((5, 2)),
            keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True)),
            LSTM(2, name="ours"),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    x = harness.inputs(rng, 4, 5, 2)
    y = rng.normal(size=(4, 2)).astype("float32")
    monitor = GradientFlowMonitor(probe_data=(x, y))
    monitor.set_model(model)
    with pytest.warns(GradientFlowWarning) as caught:
        monitor.measure()
        last = {r["layer"]: r for r in monitor.measure()}
    unprobed = [
        w for w in caught if w.category is GradientFlowWarning and "cannot" in str(w.message)
    ]
    assert len(unprobed) == 1
    assert "bidirectional/forward_lstm" in str(unprobed[0].message)
    assert monitor.unprobed_layers == ["bidirectional/forward_lstm", "bidirectional/backward_lstm"]
    assert last["bidirectional/forward_lstm"]["weight_grad_norm"] > 0
    assert "timestep_grad_norms" not in last["bidirectional/forward_lstm"]
    assert len(last["ours"]["timestep_grad_norms"]) == 5


def frozen_vanishing_model(steps=16):
    inputs = keras.Input((steps, 1))
    hidden = SimpleRNN(
        1,
        activation="linear",
        use_bias=False,
        kernel_initializer="ones",
        recurrent_initializer=keras.initializers.Constant(0.3),
        trainable=False,
    )(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_schedule_logs_and_a_single_warning_per_condition(tmp_path):
    x = np.ones((8, 16, 1), "float32")
    y = np.ones((8, 1), "float32")
    model = frozen_vanishing_model()
    monitor = GradientFlowMonitor(probe_data=(x[:2], y[:2]), every_n_batches=3)
    csv_path = tmp_path / "log.csv"
    with pytest.warns(GradientFlowWarning) as caught:
        history = model.fit(
            x,
            y,
            batch_size=2,
            epochs=3,
            callbacks=[monitor, keras.callbacks.CSVLogger(str(csv_path))],
            verbose=0,
        )
    flow_warnings = [w for w in caught if w.category is GradientFlowWarning]
    assert len(flow_warnings) == 1
    assert "vanishing gradients in layer 'simple_rnn' at step 3" in str(flow_warnings[0].message)
    steps = [r["step"] for r in monitor.records if r["layer"] == "simple_rnn"]
    triggers = [r["trigger"] for r in monitor.records if r["layer"] == "simple_rnn"]
    # Four batches per epoch: every third batch, plus epoch ends not already measured.
    assert steps == [0, 3, 4, 6, 8, 9, 12]
    assert triggers == ["train_begin", "batch", "epoch_end", "batch", "epoch_end", "batch", "batch"]
    assert history.history["grad_flow_vanishing"] == [1.0, 1.0, 1.0]
    expected_ratio = 15 * np.log10(0.3)
    np.testing.assert_allclose(history.history["grad_flow_log10_ratio_min"], expected_ratio, 1e-4)
    assert history.history["grad_flow_exploding"] == [0.0, 0.0, 0.0]
    header = csv_path.read_text().splitlines()[0]
    assert "grad_flow_global_norm" in header and "grad_flow_vanishing" in header


def test_probing_leaves_training_unchanged(rng):
    """Same weights and the same logged metrics with and without the monitor:
    the probe batch must not reach the per-output loss trackers of a
    multi-output model, nor advance the dropout random generator."""
    x = harness.inputs(rng, 8, 6, 2)
    y = rng.normal(size=(8, 1)).astype("float32")

    def trained(callbacks):
        keras.backend.clear_session()
        keras.utils.set_random_seed(3)
        inputs = keras.Input((6, 2))
        hidden = GRU(4, dropout=0.2)(inputs)
        model = keras.Model(inputs, [keras.layers.Dense(1)(hidden), keras.layers.Dense(1)(hidden)])
        model.compile(optimizer="adam", loss=["mse", "mae"], metrics=[["mae"], ["mse"]])
        history = model.fit(x, [y, y], batch_size=4, shuffle=False, callbacks=callbacks, verbose=0)
        return model.get_weights(), history.history

    weights, plain = trained([])
    monitor = GradientFlowMonitor(probe_data=(x[:3], [y[:3] * 10, y[:3] * 10]), every_n_batches=1)
    monitored_weights, monitored = trained([monitor])
    for a, b in zip(weights, monitored_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    for key, values in plain.items():
        np.testing.assert_array_equal(values, monitored[key], err_msg=key)
    assert len(monitor.records) > 0


def test_later_fit_continues_steps_and_follows_frozen_layers(rng):
    x = harness.inputs(rng, 8, 5, 2)
    y = rng.normal(size=(8, 1)).astype("float32")
    model = keras.Sequential([keras.Input((5, 2)), GRU(3), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    monitor = GradientFlowMonitor(probe_data=(x, y), every_n_batches=100)
    model.fit(x, y, batch_size=4, callbacks=[monitor], verbose=0)
    model.layers[0].trainable = False
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=4, callbacks=[monitor], verbose=0)

    gru = [r for r in monitor.records if r["layer"] == "gru"]
    assert [r["step"] for r in gru] == [0, 2, 4]
    assert gru[1]["weight_grad_norm"] > 0
    assert gru[2]["weight_grad_norms"] == {} and gru[2]["weight_grad_norm"] == 0.0
    assert gru[2]["timestep_grad_norms"][-1] > 0


def test_measurements_during_fit_see_the_latest_weights_and_regularization(rng):
    """On JAX, `fit` keeps the weights outside the model between steps: the
    probe must measure the latest ones. Its loss counts regularization, as
    `evaluate` does, on every backend."""
    x = harness.inputs(rng, 8, 5, 2)
    y = rng.normal(size=(8, 1)).astype("float32")
    dense = keras.layers.Dense(1, kernel_regularizer=keras.regularizers.L2(0.5))
    model = keras.Sequential([keras.Input((5, 2)), GRU(3), dense])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    monitor = GradientFlowMonitor(probe_data=(x[:4], y[:4]), every_n_batches=1)
    model.fit(x, y, batch_size=4, shuffle=False, callbacks=[monitor], verbose=0)

    last = monitor.records[-1]
    assert (last["step"], last["trigger"]) == (2, "batch")
    expected = model.evaluate(x[:4], y[:4], verbose=0)
    assert last["probe_loss"] == pytest.approx(expected, rel=1e-5)
    assert monitor.records[0]["probe_loss"] != pytest.approx(expected, rel=1e-3)


def test_stateful_layer_keeps_its_states(rng):
    x = harness.inputs(rng, 2, 5, 3)
    layer = LSTM(3, stateful=True)
    model = keras.Sequential([keras.Input((5, 3), batch_size=2), layer])
    model.compile(optimizer="sgd", loss="mse")
    model.predict(x, verbose=0)
    before = [s.numpy() for s in layer.states]
    measured(model, x, np.zeros((2, 3), "float32"))
    for state, value in zip(layer.states, before, strict=True):
        np.testing.assert_array_equal(state.numpy(), value)


def test_files_are_strict_json_and_pictures(tmp_path):
    x = np.ones((4, 16, 1), "float32")
    y = np.ones((4, 1), "float32")
    model = frozen_vanishing_model()
    monitor = GradientFlowMonitor(probe_data=(x, y), every_n_batches=1, log_dir=tmp_path / "gf")
    with pytest.warns(GradientFlowWarning):
        model.fit(x, y, batch_size=2, epochs=2, callbacks=[monitor], verbose=0)

    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    document = json.loads(
        (tmp_path / "gf" / "gradient_flow.json").read_text(), parse_constant=refuse
    )
    assert document["vanishing_threshold"] == -2.0
    assert len(document["records"]) == len(monitor.records)
    for name in ("timestep_heatmap.png", "layer_grad_norms.png"):
        assert (tmp_path / "gf" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_matplotlib_it_writes_json_and_warns(tmp_path, monkeypatch):
    monitor = GradientFlowMonitor(probe_data=(np.ones((2, 3, 1)), np.ones((2, 1))))
    monitor.records = [{"step": 0, "layer": "dense", "weight_grad_norm": 1.0}]
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "matplotlib" else real_find_spec(name, *args),
    )
    with pytest.warns(GradientFlowWarning, match="matplotlib is not installed"):
        paths = monitor.save(tmp_path)
    assert [p.name for p in paths] == ["gradient_flow.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradient_flow.json"]


@pytest.mark.slow
def test_artifacts_go_to_an_active_mlflow_run(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment("gf", artifact_location=(tmp_path / "art").as_uri())
    x = np.ones((4, 16, 1), "float32")
    y = np.ones((4, 1), "float32")
    model = frozen_vanishing_model()
    monitor = GradientFlowMonitor(probe_data=(x, y))
    try:
        with mlflow.start_run(experiment_id=experiment) as run, pytest.warns(GradientFlowWarning):
            model.fit(x, y, batch_size=2, callbacks=[monitor], verbose=0)
        logged = {
            a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "gradient_flow")
        }
    finally:
        mlflow.set_tracking_uri(None)
    assert logged == {
        "gradient_flow/gradient_flow.json",
        "gradient_flow/timestep_heatmap.png",
        "gradient_flow/layer_grad_norms.png",
    }


def test_without_mlflow_imported_it_is_never_imported(monkeypatch):
    # A None entry in sys.modules makes any `import mlflow` fail.
    monkeypatch.setitem(sys.modules, "mlflow", None)
    x, y = np.ones((4, 5, 2), "float32"), np.ones((4, 1), "float32")
    model = keras.Sequential([keras.Input((5, 2)), GRU(2), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    monitor = GradientFlowMonitor((x, y))
    model.fit(x, y, callbacks=[monitor], verbose=0)
    assert len(monitor.records) == 2 * 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"probe_data": np.ones((2, 3, 1))},
        {"probe_data": (np.ones((2, 3, 1)),)},
        {"every_n_batches": 0},
        {"every_n_batches": 2.5},
        {"vanishing_threshold": 1.0},
        {"exploding_threshold": -1.0},
    ],
)
def test_rejects_bad_arguments(kwargs):
    arguments = {"probe_data": (np.ones((2, 3, 1)), np.ones((2, 1))), **kwargs}
    with pytest.raises(ValueError, match="GradientFlowMonitor expects.*Received"):
        GradientFlowMonitor(**arguments)


@pytest.mark.parametrize("backend", ["numpy", "openvino"])
def test_backend_without_gradients_is_named_in_the_error(backend, monkeypatch):
    model = linear_recurrence(0.5, 4)
    x, y = np.ones((1, 4, 1), "float32"), np.zeros((1, 1), "float32")
    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    with pytest.raises(
        ValueError, match=f"`{backend}` backend.*Received: KERAS_BACKEND='{backend}'"
    ):
        measured(model, x, y)
