"""The three layer-normalized layers against NumPy loops of TensorFlow Addons' equations.

Weights go in as one list in the documented (TensorFlow Addons) order, drawn by
`layer_norm_reference.random_weights`; the same list drives the NumPy reference
(`layer_norm_reference`), so a layout or an equation bug fails here. Then what
every rnnkeras layer offers: the layer contract, masks, `initial_state`,
`go_backwards`, `unroll`, `stateful`, dropout, training, `Bidirectional`,
`StackedRNN`, the time-step probe and the fused-kernel decision.
"""

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from rnnkeras.callbacks.time_step_probe import GradientProbe, find_recurrent_layers
from rnnkeras.layers.kernel_dispatch import fused_kernel_blockers
from tests.layers import harness
from tests.layers import layer_norm_reference as ref
from tests.layers.rnn_reference import run_loop

LAYERS = {"lstm": rl.LayerNormLSTM, "gru": rl.LayerNormGRU, "simple_rnn": rl.LayerNormSimpleRNN}
CELLS = {
    "lstm": rl.LayerNormLSTMCell,
    "gru": rl.LayerNormGRUCell,
    "simple_rnn": rl.LayerNormSimpleRNNCell,
}
NAMES = list(LAYERS)
# At these sizes tracing a train step costs more than it saves, except on JAX, whose
# op-by-op (eager) execution measured slower still (20 s against 44 s for the probe test).
EAGER = keras.backend.backend() != "jax"


def built(cell, rng, **options):
    """A built layer holding `random_weights` (set in the documented order) and those weights."""
    layer = LAYERS[cell](harness.UNITS, **options)
    layer.build((harness.BATCH, harness.TIMESTEPS, harness.FEATURES))
    weights = ref.random_weights(cell, rng, harness.FEATURES, harness.UNITS)
    layer.set_weights(weights)
    return layer, weights


def garbage_padded(rng):
    """Inputs whose padded steps hold large values, and the mask that hides them."""
    x = harness.inputs(rng)
    mask = harness.padding_mask()
    return np.where(mask[:, :, None], x, rng.normal(3.0, 2.0, size=x.shape)).astype("float32"), mask


@pytest.mark.parametrize(
    "options",
    # Not both at once: Keras' PyTorch loop fails on masked, unrolled, backward runs
    # (for keras.layers.SimpleRNN too).
    [{"unroll": True}, {"go_backwards": True}],
    ids=["unrolled", "backwards"],
)
@pytest.mark.parametrize("cell", NAMES)
def test_layer_matches_reference_with_mask_and_initial_state(cell, options, rng):
    layer, weights = built(cell, rng, return_sequences=True, return_state=True, **options)
    x, mask = garbage_padded(rng)
    states = [
        rng.normal(size=(harness.BATCH, harness.UNITS)).astype("float32")
        for _ in range(ref.STATE_COUNT[cell])
    ]
    got = harness.as_list(layer(x, initial_state=states, mask=mask))
    backwards = options.get("go_backwards", False)
    outputs, final = run_loop(
        ref.STEPS[cell](weights), x, states, mask=mask, go_backwards=backwards
    )
    # Outputs at real steps only: what a masked step emits before the first real one is
    # the backend loop's convention (zeros on TensorFlow, the initial state on JAX).
    real = (mask[:, ::-1] if backwards else mask)[:, :, None]
    harness.assert_outputs_close(
        [np.where(real, got[0], 0.0), *got[1:]], [np.where(real, outputs, 0.0), *final]
    )


@pytest.mark.parametrize("cell", NAMES)
def test_cell_inside_keras_rnn_matches_reference(cell, rng):
    rnn = keras.layers.RNN(CELLS[cell](harness.UNITS), return_sequences=True)
    rnn.build((None, harness.TIMESTEPS, harness.FEATURES))
    weights = ref.random_weights(cell, rng, harness.FEATURES, harness.UNITS)
    rnn.set_weights(weights)
    x = harness.inputs(rng)
    zeros = [np.zeros((harness.BATCH, harness.UNITS))] * ref.STATE_COUNT[cell]
    outputs, _ = run_loop(ref.STEPS[cell](weights), x, zeros)
    harness.assert_outputs_close(rnn(x), outputs)


@pytest.mark.parametrize("cell", NAMES)
def test_layer_contract(cell, rng):
    harness.run_layer_contract(
        LAYERS[cell](harness.UNITS),
        harness.inputs(rng),
        output_width=harness.UNITS,
        weight_shapes=ref.weight_shapes(cell, harness.FEATURES, harness.UNITS),
    )


@pytest.mark.parametrize("cell", NAMES)
def test_stateful_layer_continues_and_resets(cell, rng):
    layer, _ = built(cell, rng, stateful=True, return_sequences=True)
    x = harness.inputs(rng)
    whole = harness.to_numpy(layer(x))
    layer.reset_states()
    first = harness.to_numpy(layer(x[:, :3]))
    second = harness.to_numpy(layer(x[:, 3:]))
    harness.assert_outputs_close(np.concatenate([first, second], axis=1), whole)
    layer.reset_states()
    harness.assert_outputs_close(layer(x[:, :3]), first)


@pytest.mark.parametrize("cell", NAMES)
def test_bidirectional_matches_both_references(cell, rng):
    layer = rl.Bidirectional(LAYERS[cell](harness.UNITS))
    layer.build((None, harness.TIMESTEPS, harness.FEATURES))
    forward = ref.random_weights(cell, rng, harness.FEATURES, harness.UNITS)
    backward = ref.random_weights(cell, rng, harness.FEATURES, harness.UNITS)
    layer.set_weights(forward + backward)
    x, mask = garbage_padded(rng)
    zeros = [np.zeros((harness.BATCH, harness.UNITS))] * ref.STATE_COUNT[cell]
    ahead, _ = run_loop(ref.STEPS[cell](forward), x, zeros, mask=mask)
    behind, _ = run_loop(ref.STEPS[cell](backward), x, zeros, mask=mask, go_backwards=True)
    expected = np.concatenate([ahead[:, -1], behind[:, -1]], axis=-1)
    harness.assert_outputs_close(layer(x, mask=mask), expected)


def test_stacked_rnn_of_all_three_matches_chained_references(rng):
    stack = rl.StackedRNN(
        [
            rl.LayerNormLSTM(harness.UNITS),
            rl.LayerNormGRU(harness.UNITS),
            rl.LayerNormSimpleRNN(harness.UNITS),
        ],
        return_sequences=True,
    )
    stack.build((None, harness.TIMESTEPS, harness.FEATURES))
    sequence = harness.inputs(rng).astype("float64")
    x = sequence.astype("float32")
    weights = []
    for cell in NAMES:
        features = sequence.shape[-1]
        layer_weights = ref.random_weights(cell, rng, features, harness.UNITS)
        weights += layer_weights
        zeros = [np.zeros((harness.BATCH, harness.UNITS))] * ref.STATE_COUNT[cell]
        sequence, _ = run_loop(ref.STEPS[cell](layer_weights), sequence, zeros)
    stack.set_weights(weights)
    harness.assert_outputs_close(stack(x), sequence)


@pytest.mark.parametrize("cell", NAMES)
def test_dropout_acts_in_training_only_and_every_weight_learns(cell, rng):
    layer = LAYERS[cell](harness.UNITS, dropout=0.3, recurrent_dropout=0.3, seed=3)
    model = keras.Sequential([keras.Input((harness.TIMESTEPS, harness.FEATURES)), layer])
    x = harness.inputs(rng)
    inference = harness.to_numpy(model(x))
    harness.assert_outputs_close(model(x, training=False), inference, atol=0)
    assert not np.allclose(harness.to_numpy(model(x, training=True)), inference, atol=1e-4)
    before = [w.copy() for w in layer.get_weights()]
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", run_eagerly=EAGER)
    model.train_on_batch(x, np.ones((harness.BATCH, harness.UNITS), "float32"))
    unchanged = [
        w.path
        for w, old in zip(layer.weights, before, strict=True)
        if np.allclose(harness.to_numpy(w), old)
    ]
    assert not unchanged, f"no gradient reached {unchanged}"


def perturbed(step, perturbation):
    """A reference step that adds `perturbation[:, t]` to h (not to c) at step t."""
    t = iter(range(perturbation.shape[1]))

    def wrapped(x_t, states):
        _, new_states = step(x_t, states)
        h = new_states[0] + perturbation[:, next(t)]
        return h, [h, *new_states[1:]]

    return wrapped


@pytest.mark.parametrize("cell", NAMES)
def test_time_step_probe_adds_to_each_state(cell, rng):
    layer, weights = built(cell, rng, return_sequences=True)
    x = harness.inputs(rng)
    expected = harness.to_numpy(layer(x))
    layer.state_perturbation = keras.ops.zeros((harness.BATCH, harness.TIMESTEPS, harness.UNITS))
    harness.assert_outputs_close(layer(x), expected, atol=1e-6)
    p = rng.normal(0.0, 0.3, size=(harness.BATCH, harness.TIMESTEPS, harness.UNITS))
    layer.state_perturbation = keras.ops.convert_to_tensor(p.astype("float32"))
    zeros = [np.zeros((harness.BATCH, harness.UNITS))] * ref.STATE_COUNT[cell]
    outputs, _ = run_loop(perturbed(ref.STEPS[cell](weights), p), x, zeros)
    harness.assert_outputs_close(layer(x), outputs)


def test_gradient_flow_monitor_measures_every_step_of_each_layer(rng):
    stack = rl.StackedRNN([rl.LayerNormLSTM(4), rl.LayerNormGRU(4), rl.LayerNormSimpleRNN(4)])
    model = keras.Sequential([keras.Input((harness.TIMESTEPS, harness.FEATURES)), stack])
    model.compile(optimizer="sgd", loss="mse", run_eagerly=EAGER)
    targets = find_recurrent_layers(model)
    assert [t.probed for t in targets] == [True] * 3
    x, y = harness.inputs(rng), np.ones((harness.BATCH, 4), "float32")
    norms = GradientProbe(model, targets, x, y).measure().timestep_grad_norms
    for target in targets:
        per_step = norms[target.name]
        assert per_step.shape == (harness.BATCH, harness.TIMESTEPS)
        assert np.isfinite(per_step).all() and (per_step > 0).all(), (target.name, per_step)


@pytest.mark.parametrize("cell", NAMES)
def test_no_fused_kernel_is_ever_chosen(cell):
    layer = LAYERS[cell](harness.UNITS)
    assert f"{type(layer).__name__} has no fused kernel" in fused_kernel_blockers(layer)
    assert not hasattr(layer, "use_cudnn")
