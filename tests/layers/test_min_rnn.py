"""MinGRU and MinLSTM: the paper's equations, two modes with one result, the layer contract.

The parallel scan (the layers) and the step loop (the cells in `keras.layers.RNN`,
or the layers with `unroll=True`) are checked against an independent NumPy loop
(`tests/layers/min_rnn_reference.py`) and against each other for every option.
"""

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from rnnkeras.callbacks.time_step_probe import GradientProbe, find_recurrent_layers
from rnnkeras.layers.kernel_dispatch import fused_kernel_blockers
from rnnkeras.layers.min_rnn import g
from rnnkeras.layers.parallel_scan import linear_recurrence
from tests.layers import harness
from tests.layers import min_rnn_reference as reference

CELLS = {
    "MinGRU": (rl.MinGRU, rl.MinGRUCell, reference.min_gru_step, 2),
    "MinLSTM": (rl.MinLSTM, rl.MinLSTMCell, reference.min_lstm_step, 3),
}
RIGHT = harness.padding_mask()
LEFT = RIGHT[:, ::-1].copy()


def built(layer, rng):
    layer.build((None, harness.TIMESTEPS, harness.FEATURES))
    return harness.randomize(layer, rng, scale=0.8)


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("name", list(CELLS))
def test_matches_numpy_loop_of_the_papers_equations(name, go_backwards, rng):
    layer_class, _, step, _ = CELLS[name]
    layer = layer_class(
        harness.UNITS, return_sequences=True, return_state=True, go_backwards=go_backwards
    )
    weights = built(layer, rng)
    x = harness.inputs(rng)
    # A non-zero h0 with leading padding is where the backends' loops differ
    # (see test_both_modes_agree_for_every_option); the reference follows
    # TensorFlow's there, so the padded case here starts from zeros.
    h0 = np.zeros((harness.BATCH, harness.UNITS), "float32")
    if not go_backwards:
        h0 = rng.normal(size=h0.shape).astype("float32")
    for mask in (None, RIGHT):
        expected = reference.run(step(*weights), x, h0, mask, go_backwards)
        got = layer(x, initial_state=[h0], mask=mask)
        harness.assert_outputs_close(got, list(expected))


OPTIONS = [
    {"return_sequences": True, "mask": LEFT, "initial_state": True},
    {"return_sequences": True, "go_backwards": True, "mask": RIGHT, "initial_state": True},
    {"return_state": True, "go_backwards": True, "mask": LEFT, "use_bias": False},
    {"return_sequences": True, "return_state": True, "dropout": 0.5, "training": True},
]


@pytest.mark.parametrize("options", OPTIONS, ids=["left", "backwards", "no_bias", "dropout"])
@pytest.mark.parametrize("name", list(CELLS))
def test_both_modes_agree_for_every_option(name, options, rng):
    layer_class, cell_class, _, _ = CELLS[name]
    options = dict(options)
    mask, training = options.pop("mask", None), options.pop("training", False)
    initial = options.pop("initial_state", False)
    cell_options = {k: options.pop(k) for k in ("use_bias", "dropout") if k in options}
    parallel = layer_class(harness.UNITS, seed=3, **cell_options, **options)
    looped = keras.layers.RNN(cell_class(harness.UNITS, seed=3, **cell_options), **options)
    unrolled = layer_class(harness.UNITS, seed=3, unroll=True, **cell_options, **options)
    weights = built(parallel, rng)
    for layer in (looped, unrolled):
        layer.build((None, harness.TIMESTEPS, harness.FEATURES))
        layer.set_weights(weights)
    x = harness.inputs(rng)
    kwargs = {"mask": mask, "training": training}
    if initial:
        kwargs["initial_state"] = [rng.normal(size=(harness.BATCH, harness.UNITS)).astype("f4")]
    expected = looped(x, **kwargs)
    harness.assert_outputs_close(parallel(x, **kwargs), expected)
    if initial:
        # Keras' unrolled JAX loop outputs zeros before the first real step where
        # its symbolic loop repeats h0, so the unrolled layer starts from h0 = 0.
        kwargs.pop("initial_state")
        expected = looped(x, **kwargs)
    # Keras 3.15's unrolled PyTorch loop fails on any mask (our GRU and LSTM too).
    if mask is None or keras.backend.backend() != "torch":
        harness.assert_outputs_close(unrolled(x, **kwargs), expected)


@pytest.mark.parametrize("name", list(CELLS))
def test_layer_contract(name, rng):
    layer_class, _, _, gates = CELLS[name]
    harness.run_layer_contract(
        layer_class(harness.UNITS),
        harness.inputs(rng),
        output_width=harness.UNITS,
        weight_shapes=[(harness.FEATURES, gates * harness.UNITS), (gates * harness.UNITS,)],
    )


@pytest.mark.parametrize("name", list(CELLS))
def test_streaming_one_step_at_a_time_continues_the_whole_sequence(name, rng):
    layer_class, _, _, _ = CELLS[name]
    whole = layer_class(harness.UNITS, return_sequences=True)
    weights = built(whole, rng)
    x = harness.inputs(rng)
    stream = layer_class(harness.UNITS, stateful=True)
    stream.build((harness.BATCH, 1, harness.FEATURES))
    stream.set_weights(weights)
    step_model = whole.streaming_model()
    h = np.zeros((harness.BATCH, harness.UNITS), "float32")
    expected = harness.to_numpy(whole(x))
    for t in range(harness.TIMESTEPS):
        harness.assert_outputs_close(stream(x[:, t : t + 1]), expected[:, t])
        h = harness.to_numpy(step_model([x[:, t : t + 1], h]))
        harness.assert_outputs_close(h, expected[:, t])
    stream.reset_states()
    harness.assert_outputs_close(stream(x[:, :1]), expected[:, 0])


def test_bidirectional_and_residual_stack_match_the_reference(rng):
    x = harness.inputs(rng)
    stack = rl.StackedRNN(
        [
            rl.Bidirectional(rl.MinGRU(harness.UNITS, return_sequences=True), merge_mode="sum"),
            rl.MinLSTM(harness.UNITS),
        ],
        residual=True,
        return_sequences=True,
    )
    stack(x, mask=RIGHT)
    harness.randomize(stack, rng, scale=0.8)
    both, top = stack.rnn_layers
    h0 = np.zeros((harness.BATCH, harness.UNITS))
    forward, _ = reference.run(
        reference.min_gru_step(*both.forward_layer.get_weights()), x, h0, RIGHT
    )
    backward, _ = reference.run(
        reference.min_gru_step(*both.backward_layer.get_weights()), x, h0, RIGHT, True
    )
    bottom = forward + backward[:, ::-1]
    upper, _ = reference.run(reference.min_lstm_step(*top.get_weights()), bottom, h0, RIGHT)
    got = harness.to_numpy(stack(x, mask=RIGHT))
    real = RIGHT[:, :, None]
    np.testing.assert_allclose(got * real, (upper + bottom) * real, atol=1e-5, rtol=0)


def test_time_step_probe_is_the_same_through_the_scan_and_the_loop(rng):
    x = harness.inputs(rng)
    x[~RIGHT] = 0.0
    y = rng.integers(0, 2, size=harness.BATCH)
    norms = []
    for unroll in (False, True):
        keras.utils.set_random_seed(5)
        sequences = keras.Input((harness.TIMESTEPS, harness.FEATURES))
        hidden = sequences
        # Keras 3.15's unrolled PyTorch loop fails on any mask (our GRU and LSTM too).
        if keras.backend.backend() != "torch":
            hidden = keras.layers.Masking(0.0)(sequences)
        hidden = rl.MinLSTM(harness.UNITS, return_sequences=True, unroll=unroll, name="lstm")(
            hidden
        )
        hidden = rl.MinGRU(harness.UNITS, go_backwards=True, unroll=unroll, name="gru")(hidden)
        model = keras.Model(sequences, keras.layers.Dense(2, activation="softmax")(hidden))
        model.compile(loss="sparse_categorical_crossentropy")
        result = GradientProbe(model, find_recurrent_layers(model), x, y).measure()
        norms.append(result)
    parallel, looped = norms
    assert sorted(parallel.timestep_grad_norms) == sorted(looped.timestep_grad_norms)
    for name, values in looped.timestep_grad_norms.items():
        assert np.abs(values).max() > 0
        np.testing.assert_allclose(parallel.timestep_grad_norms[name], values, atol=1e-6)
        np.testing.assert_allclose(
            parallel.recurrent_grad_norms[name], looped.recurrent_grad_norms[name], atol=1e-6
        )


def test_state_perturbation_enters_each_step(rng):
    layer = rl.MinGRU(harness.UNITS, return_sequences=True, go_backwards=True)
    weights = built(layer, rng)
    x = harness.inputs(rng)
    p = rng.normal(0.0, 0.5, size=(harness.BATCH, harness.TIMESTEPS, harness.UNITS))
    layer.state_perturbation = keras.ops.convert_to_tensor(p.astype("float32"))
    h0 = np.zeros((harness.BATCH, harness.UNITS))
    expected, _ = reference.run(reference.min_gru_step(*weights), x, h0, None, True, p)
    harness.assert_outputs_close(layer(x), expected)


@pytest.mark.parametrize("steps", [1, 2, 37])
def test_parallel_scan_matches_a_loop(steps, rng):
    a = rng.uniform(0.0, 1.0, size=(2, steps, 3)).astype("float32")
    b = rng.normal(size=(2, steps, 3)).astype("float32")
    h0 = rng.normal(size=(2, 3)).astype("float32")
    h = h0.astype(np.float64)
    expected = []
    for t in range(steps):
        h = a[:, t] * h + b[:, t]
        expected.append(h)
    got = linear_recurrence(a, b, h0)
    np.testing.assert_allclose(harness.to_numpy(got), np.stack(expected, 1), atol=1e-5, rtol=0)


def test_g_is_the_papers_activation():
    x = np.array([-30.0, -2.0, -1e-3, 0.0, 1e-3, 3.0], "float32")
    np.testing.assert_allclose(harness.to_numpy(g(x)), reference.g(x), rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, argument",
    [({"units": 0}, "units"), ({"units": 4, "dropout": 1.0}, "dropout")],
)
@pytest.mark.parametrize("name", ["MinGRU", "MinGRUCell", "MinLSTM", "MinLSTMCell"])
def test_bad_arguments_raise_value_errors(name, kwargs, argument):
    with pytest.raises(ValueError, match=f"{name}.*'encoder'.*Received: {argument}="):
        getattr(rl, name)(name="encoder", **kwargs)


def test_bad_calls_raise_value_errors(rng):
    layer = rl.MinGRU(harness.UNITS, name="encoder")
    with pytest.raises(ValueError, match="MinGRU layer 'encoder'.*Received: built=False"):
        layer.streaming_model()
    with pytest.raises(ValueError, match="'encoder' expects `initial_state`.*Received"):
        layer(harness.inputs(rng), initial_state=[np.zeros((harness.BATCH, 2), "float32")])
    with pytest.raises(ValueError, match="'decoder' expects inputs of rank 3.*Received"):
        rl.MinLSTM(harness.UNITS, name="decoder")(np.zeros((2, 3), "float32"))


def test_never_sent_to_a_fused_kernel():
    for layer in (rl.MinGRU(harness.UNITS), rl.MinLSTM(harness.UNITS)):
        assert f"{type(layer).__name__} has no fused kernel" in fused_kernel_blockers(layer)
