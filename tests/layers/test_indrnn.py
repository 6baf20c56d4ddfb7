"""IndRNN against a NumPy loop of the paper's equation, its weight bound, wrappers and errors."""

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from rnnkeras.layers.indrnn import IndRNNRecurrentConstraint, recurrent_range
from rnnkeras.layers.kernel_dispatch import fused_kernel_blockers
from tests import bench_scripts
from tests.layers import harness
from tests.layers import indrnn_esn_reference as reference

X_SHAPE = (harness.BATCH, harness.TIMESTEPS, harness.FEATURES)


def built(layer, rng, scale=0.5):
    """Builds `layer` for `harness.inputs` and gives it random weights, returned in float64."""
    layer.build(X_SHAPE)
    return [w.astype(np.float64) for w in harness.randomize(layer, rng, scale=scale)]


@pytest.mark.parametrize("go_backwards", [False, True])
def test_matches_numpy_loop_with_mask_and_initial_state(go_backwards, rng):
    layer = rl.IndRNN(
        harness.UNITS, return_sequences=True, return_state=True, go_backwards=go_backwards
    )
    kernel, recurrent_kernel, bias = built(layer, rng)
    x, mask = harness.inputs(rng), harness.padding_mask()
    h0 = rng.normal(size=(harness.BATCH, harness.UNITS)).astype("float32")
    outputs, state = layer(x, initial_state=[h0], mask=mask)
    expected, final = reference.run(
        reference.indrnn_step(kernel, recurrent_kernel, bias),
        x,
        harness.UNITS,
        initial_state=h0,
        mask=mask,
        go_backwards=go_backwards,
    )
    # Padded steps keep the state (the final states agree). Outputs are compared at
    # real steps: before a row's first real step Keras' own loop emits zeros on
    # TensorFlow and PyTorch but the initial state on JAX, whatever the cell.
    real = mask[:, ::-1] if go_backwards else mask
    harness.assert_outputs_close(state, final)
    np.testing.assert_allclose(
        harness.to_numpy(outputs)[real], expected[real], rtol=0, atol=harness.ATOL
    )
    # Padded steps keep the state: each row's final state is its last real step's.
    if not go_backwards:
        last_real = expected[np.arange(harness.BATCH), np.asarray(harness.LENGTHS) - 1]
        np.testing.assert_allclose(harness.to_numpy(state), last_real, atol=harness.ATOL)


def test_layer_contract_and_vector_recurrent_weight(rng):
    # No cuDNN kernel computes these cells: the dispatch must say so, never try one.
    for layer in (rl.IndRNN(4), rl.ESN(4)):
        assert fused_kernel_blockers(layer) == [f"{type(layer).__name__} has no fused kernel"]
    harness.run_layer_contract(
        rl.IndRNN(harness.UNITS, timesteps=harness.TIMESTEPS),
        harness.inputs(rng),
        output_width=harness.UNITS,
        weight_shapes=[(harness.FEATURES, harness.UNITS), (harness.UNITS,), (harness.UNITS,)],
    )


def test_timesteps_sets_the_papers_bound_and_initialization(rng):
    timesteps = 50
    layer = rl.IndRNN(32, timesteps=timesteps)
    layer.build((None, timesteps, 2))
    bound = 2.0 ** (1.0 / timesteps)
    assert layer.recurrent_max == pytest.approx(bound)
    u = harness.to_numpy(layer.cell.recurrent_kernel)
    assert np.all((u >= 0) & (u <= bound)) and u.std() > 0
    # The optimizer's update is followed by the constraint: |u| never exceeds the bound.
    model = keras.Sequential([keras.Input((4, 2)), layer, keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=100.0), loss="mse")
    x = rng.normal(size=(8, 4, 2)).astype("float32")
    model.train_on_batch(x, np.full((8, 1), 50.0, "float32"))
    u = harness.to_numpy(layer.cell.recurrent_kernel)
    assert np.abs(u).max() <= bound + 1e-6
    assert np.isclose(np.abs(u), bound).any(), "the large step should reach the bound"


def test_constraint_clips_magnitudes_and_keeps_signs():
    clip = IndRNNRecurrentConstraint(1.5, min_abs=0.25)
    u = np.array([-3.0, -0.1, 0.0, 0.2, 1.0, 4.0], "float32")
    expected = np.sign(u + (u == 0)) * np.clip(np.abs(u), 0.25, 1.5)
    np.testing.assert_allclose(harness.to_numpy(clip(u)), expected)
    assert IndRNNRecurrentConstraint(**clip.get_config()).get_config() == clip.get_config()


def test_recurrent_range_is_the_papers_gamma_power():
    low, high = recurrent_range(1000, gamma=10.0)
    assert high**1000 == pytest.approx(10.0) and low**1000 == pytest.approx(0.1)


def test_config_keeps_what_the_user_passed():
    initializer = keras.initializers.RandomUniform(*recurrent_range(20), seed=3)
    layer = rl.IndRNN(4, recurrent_max=1.2, recurrent_initializer=initializer, dropout=0.1)
    config = layer.get_config()
    assert config["recurrent_max"] == 1.2 and config["timesteps"] is None
    assert config["recurrent_constraint"] is None
    clone = rl.IndRNN.from_config(config)
    assert clone.get_config() == config
    assert clone.cell.recurrent_constraint.max_abs == 1.2


def test_stateful_dropout_and_deep_residual_stack(rng):
    x = harness.inputs(rng)
    stateful = rl.IndRNN(harness.UNITS, stateful=True)
    kernel, recurrent_kernel, bias = built(stateful, rng)
    step = reference.indrnn_step(kernel, recurrent_kernel, bias)
    first = harness.to_numpy(stateful(x))
    second = harness.to_numpy(stateful(x))
    _, h1 = reference.run(step, x, harness.UNITS)
    _, h2 = reference.run(step, x, harness.UNITS, initial_state=h1)
    harness.assert_outputs_close([first, second], [h1, h2])
    stateful.reset_states()
    harness.assert_outputs_close(stateful(x), first)

    dropped = rl.IndRNN(harness.UNITS, dropout=0.5, recurrent_dropout=0.5, seed=1)
    built(dropped, rng)
    inference = harness.to_numpy(dropped(x))
    assert not np.allclose(harness.to_numpy(dropped(x, training=True)), inference)
    harness.assert_outputs_close(dropped(x), inference)

    # Deep residual IndRNN (the paper's section 4): layer l adds its input to its output.
    layers = [rl.IndRNN(harness.UNITS) for _ in range(3)]
    deep = rl.StackedRNN(layers, residual=True, return_sequences=True)
    deep(x)
    harness.randomize(deep, rng)
    sequence = x.astype(np.float64)
    for index, layer in enumerate(layers):
        weights = [w.astype(np.float64) for w in layer.get_weights()]
        output, _ = reference.run(reference.indrnn_step(*weights), sequence, harness.UNITS)
        sequence = output + sequence if index > 0 else output
    harness.assert_outputs_close(deep(x), sequence)


def test_bidirectional_and_time_step_probe(rng):
    x = harness.inputs(rng)
    both = rl.Bidirectional(rl.IndRNN(harness.UNITS, return_sequences=True))
    both(x)
    harness.randomize(both, rng)
    forward, backward = both.forward_layer, both.backward_layer
    fw, _ = reference.run(
        reference.indrnn_step(*[w.astype(np.float64) for w in forward.get_weights()]),
        x,
        harness.UNITS,
    )
    bw, _ = reference.run(
        reference.indrnn_step(*[w.astype(np.float64) for w in backward.get_weights()]),
        x,
        harness.UNITS,
        go_backwards=True,
    )
    harness.assert_outputs_close(both(x), np.concatenate([fw, bw[:, ::-1]], axis=-1))

    layer = rl.IndRNN(harness.UNITS, return_sequences=True)
    weights = built(layer, rng)
    p = rng.normal(0.0, 0.5, size=(harness.BATCH, harness.TIMESTEPS, harness.UNITS))
    layer.state_perturbation = keras.ops.convert_to_tensor(p.astype("float32"))
    expected, _ = reference.run(reference.indrnn_step(*weights), x, harness.UNITS, perturbation=p)
    harness.assert_outputs_close(layer(x), expected)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"recurrent_max": 0.0}, "recurrent_max"),
        ({"recurrent_max": "2"}, "recurrent_max"),
        ({"timesteps": 0}, "timesteps"),
        ({"timesteps": 10, "recurrent_constraint": "non_neg"}, "recurrent_constraint"),
        ({"recurrent_max": 1.1, "recurrent_constraint": "non_neg"}, "recurrent_constraint"),
    ],
)
@pytest.mark.parametrize("name", ["IndRNN", "IndRNNCell"])
def test_bad_arguments_raise_value_errors(name, kwargs, argument):
    with pytest.raises(ValueError, match=f"{name} .*'encoder'.*Received: .*{argument}"):
        getattr(rl, name)(4, name="encoder", **kwargs)


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: recurrent_range(0), "timesteps"),
        (lambda: recurrent_range(10, gamma=1.0), "gamma"),
        (lambda: IndRNNRecurrentConstraint(0.0), "max_abs"),
        (lambda: IndRNNRecurrentConstraint(1.0, min_abs=2.0), "min_abs"),
    ],
)
def test_helpers_raise_value_errors(call, argument):
    with pytest.raises(ValueError, match=f"Received: {argument}="):
        call()


def test_adding_problem_bench_takes_any_layer_by_name():
    adding_problem = bench_scripts.load("adding_problem")
    layer = adding_problem.recurrent_layer("IndRNN", 4, steps=100)
    assert isinstance(layer, rl.IndRNN) and layer.timesteps == 100
    assert isinstance(adding_problem.recurrent_layer("ESN", 4, steps=100), rl.ESN)
    with pytest.raises(ValueError, match="Received: cell='IndRnn'"):
        adding_problem.recurrent_layer("IndRnn", 4, steps=100)
