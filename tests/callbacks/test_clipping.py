"""GradientClipping and AutoClip: the update the optimizer applies, checked
against NumPy gradients of a linear least-squares model (independent of Keras
and TensorFlow), plus logs, retracing and misuse."""

import csv
import itertools
import warnings

import keras
import numpy as np
import pytest

from rnnkeras.callbacks import AutoClip, GradientClipping

N, FEATURES = 8, 3


def linear_problem(scale=50.0, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, FEATURES)).astype("float32")
    y = (scale * rng.normal(size=(N, 1))).astype("float32")
    return x, y


def linear_model(optimizer=None, **compile_kwargs):
    model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(1)])
    model.compile(
        optimizer=optimizer or keras.optimizers.SGD(learning_rate=1.0),
        loss="mse",
        **compile_kwargs,
    )
    return model


def numpy_gradients(model, x, y):
    """Gradients of mean((x @ w + b - y)^2) with respect to [w, b]."""
    w, b = model.get_weights()
    residual = x @ w + b - y
    return [2 * x.T @ residual / len(x), 2 * residual.sum(axis=0) / len(x)]


def update_between(before, after):
    """With SGD(learning_rate=1) the update is minus the clipped gradient."""
    return [b - a for b, a in zip(before, after, strict=True)]


def applied_updates(model, before):
    return update_between(before, model.get_weights())


def global_norm(arrays):
    return float(np.sqrt(sum(np.sum(a.astype("float64") ** 2) for a in arrays)))


class RecordWeights(keras.callbacks.Callback):
    """Keeps the weights before each batch, for comparing applied updates."""

    def __init__(self):
        super().__init__()
        self.before = []

    def on_train_batch_begin(self, batch, logs=None):
        self.before.append(self.model.get_weights())


def test_global_clipnorm_applies_rescaled_gradient():
    x, y = linear_problem()
    model = linear_model()
    grads = numpy_gradients(model, x, y)
    before = model.get_weights()
    clip = GradientClipping(global_clipnorm=2.0)
    history = model.fit(x, y, batch_size=N, callbacks=[clip], verbose=0)

    norm = global_norm(grads)
    assert norm > 2.0
    expected = [g * 2.0 / norm for g in grads]
    for update, reference in zip(applied_updates(model, before), expected, strict=True):
        np.testing.assert_allclose(update, reference, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(history.history["grad_norm"], [norm], rtol=1e-5)
    assert history.history["clip_threshold"] == [2.0]
    assert history.history["clipped_fraction"] == [1.0]


def test_clipnorm_clips_each_weight_separately():
    x, y = linear_problem()
    model = linear_model()
    grads = numpy_gradients(model, x, y)
    before = model.get_weights()
    threshold = 0.5 * min(np.linalg.norm(g) for g in grads)
    model.fit(x, y, batch_size=N, callbacks=[GradientClipping(clipnorm=threshold)], verbose=0)

    for update, grad in zip(applied_updates(model, before), grads, strict=True):
        np.testing.assert_allclose(
            update, grad * threshold / np.linalg.norm(grad), rtol=1e-4, atol=1e-6
        )


def test_clipvalue_clips_each_element():
    x, y = linear_problem()
    model = linear_model()
    grads = numpy_gradients(model, x, y)
    before = model.get_weights()
    threshold = float(np.median(np.abs(np.concatenate([g.ravel() for g in grads]))))
    history = model.fit(
        x, y, batch_size=N, callbacks=[GradientClipping(clipvalue=threshold)], verbose=0
    )

    for update, grad in zip(applied_updates(model, before), grads, strict=True):
        np.testing.assert_allclose(
            update, np.clip(grad, -threshold, threshold), rtol=1e-4, atol=1e-6
        )
    assert history.history["clipped_fraction"] == [1.0]


def test_unclipped_step_is_reported_and_left_alone():
    x, y = linear_problem(scale=0.01)
    model = linear_model()
    grads = numpy_gradients(model, x, y)
    before = model.get_weights()
    history = model.fit(
        x, y, batch_size=N, callbacks=[GradientClipping(global_clipnorm=1e6)], verbose=0
    )
    for update, grad in zip(applied_updates(model, before), grads, strict=True):
        np.testing.assert_allclose(update, grad, rtol=1e-4, atol=1e-6)
    assert history.history["clipped_fraction"] == [0.0]


# On PyTorch, `jit_compile=True` means `torch.compile`: about 90 s per test on
# two cores, so it runs with the slow tests.
SLOW_ON_TORCH = [pytest.mark.slow] if keras.backend.backend() == "torch" else []


@pytest.mark.parametrize(
    "compile_kwargs",
    [
        {},
        pytest.param({"jit_compile": True}, marks=SLOW_ON_TORCH),
        {"run_eagerly": True},
    ],
    ids=["tf_function", "xla", "eager"],
)
def test_changed_threshold_changes_update_without_retracing(compile_kwargs):
    x, y = linear_problem()
    model = linear_model(**compile_kwargs)
    clip = GradientClipping(global_clipnorm=1.0)
    traces = []
    original_clip = clip._clip

    def counting_clip(grads, norm):
        traces.append(None)
        return original_clip(grads, norm)

    clip._clip = counting_clip
    thresholds = [1.0, 0.25, 3.0]

    class ChangeThreshold(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            clip.threshold = thresholds[epoch]

    record = RecordWeights()
    history = model.fit(
        x,
        y,
        batch_size=N,
        epochs=len(thresholds),
        callbacks=[ChangeThreshold(), clip, record],
        verbose=0,
    )
    snapshots = [*record.before, model.get_weights()]
    update_norms = [global_norm(update_between(*pair)) for pair in itertools.pairwise(snapshots)]
    np.testing.assert_allclose(update_norms, thresholds, rtol=1e-4)
    assert history.history["clip_threshold"] == thresholds
    # Python code inside the compiled step runs once per trace, in eager mode
    # every step; Keras runs the PyTorch train step as Python at every step.
    eager = compile_kwargs.get("run_eagerly") or keras.backend.backend() == "torch"
    assert len(traces) == (len(thresholds) if eager else 1)


def test_callback_is_removed_after_fit_and_installed_after_earlier_fit():
    x, y = linear_problem()
    model = linear_model()
    model.fit(x, y, batch_size=N, verbose=0)

    before = model.get_weights()
    model.fit(x, y, batch_size=N, callbacks=[GradientClipping(global_clipnorm=0.1)], verbose=0)
    assert global_norm(applied_updates(model, before)) == pytest.approx(0.1, rel=1e-4)

    grads = numpy_gradients(model, x, y)
    before = model.get_weights()
    model.fit(x, y, batch_size=N, verbose=0)
    np.testing.assert_allclose(
        global_norm(applied_updates(model, before)), global_norm(grads), rtol=1e-4
    )
    assert "_clip_gradients" not in vars(model.optimizer)


@pytest.mark.parametrize(
    "jit_compile", [False, pytest.param(True, marks=SLOW_ON_TORCH)], ids=["tf_function", "xla"]
)
def test_autoclip_threshold_is_percentile_of_history(jit_compile):
    x, y = linear_problem()
    model = linear_model(
        optimizer=keras.optimizers.SGD(learning_rate=0.05), jit_compile=jit_compile
    )
    autoclip = AutoClip(percentile=25)
    record = RecordWeights()
    model.fit(x, y, batch_size=2, epochs=3, shuffle=False, callbacks=[autoclip, record], verbose=0)

    norms = autoclip.norm_history
    assert norms.shape == (12,)
    expected = np.percentile(norms, 25)
    assert autoclip.threshold == pytest.approx(expected, rel=1e-5)
    # Last step: its batch is the last two rows; the update is the clipped gradient.
    grads = numpy_gradients(keras_model_with(model, record.before[-1]), x[-2:], y[-2:])
    assert global_norm(grads) == pytest.approx(norms[-1], rel=1e-4)
    update = [0.05 * g * min(1.0, expected / norms[-1]) for g in grads]
    for applied, reference in zip(applied_updates(model, record.before[-1]), update, strict=True):
        np.testing.assert_allclose(applied, reference, rtol=1e-3, atol=1e-6)


def keras_model_with(model, weights):
    clone = keras.models.clone_model(model)
    clone.set_weights(weights)
    return clone


def test_autoclip_clips_outliers_and_counts_every_step_per_execution():
    x, y = linear_problem()
    # Keras allows only one step per execution on PyTorch.
    per_execution = 1 if keras.backend.backend() == "torch" else 2
    model = linear_model(
        optimizer=keras.optimizers.SGD(learning_rate=0.01), steps_per_execution=per_execution
    )
    autoclip = AutoClip(percentile=50, history=3)
    history = model.fit(x, y, batch_size=1, shuffle=False, callbacks=[autoclip], verbose=0)
    # Eight optimizer steps (in four executions): the ring buffer keeps the last 3.
    assert autoclip.norm_history.shape == (3,)
    assert int(keras.ops.convert_to_numpy(autoclip._observed)) == N
    fraction = history.history["clipped_fraction"][0]
    assert fraction * N == pytest.approx(round(fraction * N))
    assert 0.0 < fraction < 1.0


def test_autoclip_keeps_non_finite_norms_out_of_history():
    autoclip = AutoClip(percentile=50, history=4)

    def tensor(value):
        return keras.ops.convert_to_tensor(value, "float32")

    for norm in (1.0, 3.0):
        autoclip._clip([tensor([norm])], tensor(norm))
    grads, threshold, clipped = autoclip._clip([tensor([np.inf])], tensor(np.inf))
    np.testing.assert_array_equal(autoclip.norm_history, [1.0, 3.0])
    assert float(threshold) == 2.0
    assert bool(clipped)


def test_logs_reach_history_progress_bar_csv_and_later_callbacks(tmp_path, capsys):
    x, y = linear_problem()
    model = linear_model(optimizer=keras.optimizers.SGD(learning_rate=0.01))
    seen = []
    mlflow_like = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(dict(logs))
    )
    csv_path = tmp_path / "log.csv"
    history = model.fit(
        x,
        y,
        batch_size=4,
        epochs=2,
        callbacks=[
            GradientClipping(global_clipnorm=1.0),
            keras.callbacks.CSVLogger(str(csv_path)),
            mlflow_like,
        ],
        verbose=1,
    )
    keys = ("grad_norm", "clip_threshold", "clipped_fraction")
    for key in keys:
        assert len(history.history[key]) == 2
        assert all(key in logs for logs in seen)
    progress_bar = capsys.readouterr().out
    assert all(f"{key}: " in progress_bar for key in keys)
    with open(csv_path) as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2
    assert float(rows[1]["grad_norm"]) == pytest.approx(history.history["grad_norm"][1])


def test_loss_scale_optimizer_is_clipped_through_its_inner_optimizer():
    x, y = linear_problem()
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(learning_rate=1.0))
    model = linear_model(optimizer=optimizer)
    before = model.get_weights()
    model.fit(x, y, batch_size=N, callbacks=[GradientClipping(global_clipnorm=0.5)], verbose=0)
    assert global_norm(applied_updates(model, before)) == pytest.approx(0.5, rel=1e-4)


def test_sparse_embedding_gradients_are_clipped():
    model = keras.Sequential(
        [
            keras.Input((4,), dtype="int32"),
            keras.layers.Embedding(10, 2),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse")
    x = np.array([[1, 2, 3, 4], [4, 5, 6, 7]], dtype="int32")
    y = np.array([[100.0], [-100.0]], dtype="float32")
    record = RecordWeights()
    model.fit(x, y, callbacks=[GradientClipping(clipvalue=0.01), record], verbose=0)
    largest = max(np.abs(u).max() for u in applied_updates(model, record.before[0]))
    assert largest == pytest.approx(0.01, rel=1e-4)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"clipnorm": 1.0, "clipvalue": 1.0},
        {"clipnorm": 0.0},
        {"global_clipnorm": -1.0},
        {"clipvalue": float("nan")},
        {"clipnorm": "1"},
    ],
)
def test_gradient_clipping_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="GradientClipping.*Received"):
        GradientClipping(**kwargs)


def test_threshold_setter_rejects_non_positive():
    clip = GradientClipping(clipnorm=1.0)
    with pytest.raises(ValueError, match="Received: threshold=0"):
        clip.threshold = 0
    assert clip.threshold == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"percentile": 0},
        {"percentile": 100.5},
        {"percentile": -5},
        {"history": 0},
        {"history": 2.5},
    ],
)
def test_autoclip_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="AutoClip.*Received"):
        AutoClip(**kwargs)


@pytest.mark.parametrize("option", ["clipnorm", "clipvalue", "global_clipnorm"])
@pytest.mark.parametrize("callback", [GradientClipping(clipnorm=1.0), AutoClip()])
def test_optimizer_that_already_clips_is_refused(option, callback):
    x, y = linear_problem()
    model = linear_model(optimizer=keras.optimizers.SGD(**{option: 1.0}))
    with pytest.raises(ValueError, match=f"already clips with `{option}`.*Received: {option}=1.0"):
        model.fit(x, y, callbacks=[callback], verbose=0)


def test_two_clipping_callbacks_in_one_fit_are_refused():
    x, y = linear_problem()
    model = linear_model()
    with pytest.raises(ValueError, match="already clipped by another clipping callback"):
        model.fit(x, y, callbacks=[GradientClipping(clipnorm=1.0), AutoClip()], verbose=0)


def test_threshold_changed_between_batches_reaches_the_next_step():
    """Within an epoch too: on JAX the step is a pure function of state that
    `fit` holds outside the variables, so a new threshold must be synced in."""
    x, y = linear_problem()
    model = linear_model()
    clip = GradientClipping(global_clipnorm=1.0)
    thresholds = [1.0, 0.25, 3.0, 0.5]

    class ChangeThreshold(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            clip.threshold = thresholds[batch]

    record = RecordWeights()
    model.fit(
        x, y, batch_size=2, shuffle=False, callbacks=[ChangeThreshold(), clip, record], verbose=0
    )
    snapshots = [*record.before, model.get_weights()]
    update_norms = [global_norm(update_between(*pair)) for pair in itertools.pairwise(snapshots)]
    np.testing.assert_allclose(update_norms, thresholds, rtol=1e-4)
    assert clip.threshold == thresholds[-1]


def test_checkpoints_written_during_fit_hold_the_optimizer_variables_only(tmp_path):
    """The callback's state rides in the optimizer's variables during `fit`;
    a checkpoint must still load into an optimizer that never saw it."""
    x, y = linear_problem()
    model = linear_model(optimizer=keras.optimizers.Adam(learning_rate=0.01))
    path = tmp_path / "model.keras"
    checkpoint = keras.callbacks.ModelCheckpoint(str(path))
    model.fit(x, y, batch_size=4, epochs=2, callbacks=[AutoClip(), checkpoint], verbose=0)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = keras.saving.load_model(path)
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)
    for saved, trained in zip(loaded.optimizer.variables, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(saved), keras.ops.convert_to_numpy(trained)
        )
