"""`PeepholeLSTM` / `PeepholeLSTMCell` against a NumPy loop written from Gers et al. (2002).

Backend-agnostic: `tests/conformance/test_layer_suites_per_backend.py` can rerun
this module under JAX and PyTorch.
"""

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from rnnkeras.layers import kernel_dispatch
from tests.layers import harness
from tests.layers import peephole_projection_reference as reference

B, T, F, U = harness.BATCH, harness.TIMESTEPS, harness.FEATURES, harness.UNITS


def with_random_weights(layer, rng, peephole=True, proj_size=None, batch=None):
    """Builds `layer` and loads per-gate reference weights into it; returns them."""
    gates = reference.random_gates(
        rng, F, U, proj_size or U, peephole=peephole, projection=proj_size is not None
    )
    layer.build((batch, T, F))
    layer.set_weights(reference.keras_weights(gates))
    return gates


@pytest.mark.parametrize("proj_size", [None, 3], ids=["peephole", "peephole+projection"])
def test_matches_the_numpy_reference_with_initial_state(proj_size, rng):
    layer = rl.PeepholeLSTM(U, proj_size=proj_size, return_sequences=True, return_state=True)
    gates = with_random_weights(layer, rng, proj_size=proj_size)
    x = harness.inputs(rng)
    h0 = rng.normal(size=(B, proj_size or U)).astype("float32")
    c0 = rng.normal(size=(B, U)).astype("float32")
    outputs, h, c = reference.run(gates, x, h0, c0)
    harness.assert_outputs_close(layer(x, initial_state=[h0, c0]), [outputs, h, c])


def test_weights_carry_the_keras_2_names_in_order(rng):
    layer = rl.PeepholeLSTM(U)
    layer.build((None, T, F))
    names = [w.path.split("/")[-1] for w in layer.weights]
    assert names == [
        "kernel",
        "recurrent_kernel",
        "bias",
        "input_gate_peephole_weights",
        "forget_gate_peephole_weights",
        "output_gate_peephole_weights",
    ]


def test_peepholes_change_the_result(rng):
    # With zero peephole weights the cell is a plain LSTM; the references differ otherwise.
    layer = rl.PeepholeLSTM(U, return_sequences=True)
    gates = with_random_weights(layer, rng)
    plain = rl.LSTM(U, return_sequences=True)
    plain.build((None, T, F))
    plain.set_weights(layer.get_weights()[:3])
    x = harness.inputs(rng)
    assert np.abs(harness.to_numpy(layer(x)) - harness.to_numpy(plain(x))).max() > 1e-3
    gates["p"] = {g: np.zeros(U) for g in "ifo"}
    layer.set_weights(reference.keras_weights(gates))
    harness.assert_outputs_close(layer(x), plain(x))


@pytest.mark.parametrize("go_backwards", [False, True])
def test_padded_steps_keep_the_state(go_backwards, rng):
    layer = rl.PeepholeLSTM(U, return_state=True, go_backwards=go_backwards)
    gates = with_random_weights(layer, rng)
    x = harness.inputs(rng)
    mask = harness.padding_mask()
    steps = [x[b, : harness.LENGTHS[b]] for b in range(B)]
    if go_backwards:
        steps = [s[::-1] for s in steps]
    expected = [reference.run(gates, s[None]) for s in steps]
    output, h, c = layer(x, mask=mask)
    harness.assert_outputs_close(
        [output, h, c],
        [np.concatenate([e[i] if i else e[0][:, -1] for e in expected]) for i in range(3)],
    )


def test_cell_in_keras_rnn_unroll_and_dropout(rng):
    layer = rl.PeepholeLSTM(U, return_sequences=True, dropout=0.3, recurrent_dropout=0.3, seed=1)
    with_random_weights(layer, rng)
    rnn = keras.layers.RNN(rl.PeepholeLSTMCell(U), return_sequences=True, unroll=True)
    rnn.build((None, T, F))
    rnn.set_weights(layer.get_weights())
    x = harness.inputs(rng)
    harness.assert_outputs_close(rnn(x), layer(x))
    assert np.abs(harness.to_numpy(layer(x, training=True)) - harness.to_numpy(layer(x))).max() > 0


def test_layer_contract(rng):
    harness.run_layer_contract(
        rl.PeepholeLSTM(U),
        harness.inputs(rng),
        output_width=U,
        weight_shapes=[(F, 4 * U), (U, 4 * U), (4 * U,), (U,), (U,), (U,)],
    )


def test_stateful_and_reset_states(rng):
    layer = rl.PeepholeLSTM(U, stateful=True)
    gates = with_random_weights(layer, rng, batch=B)
    x = harness.inputs(rng)
    first, second = layer(x[:, :3]), layer(x[:, 3:])
    harness.assert_outputs_close(
        [first, second], [reference.run(gates, x)[0][:, i] for i in (2, 5)]
    )
    layer.reset_states()
    harness.assert_outputs_close(layer(x[:, 3:]), reference.run(gates, x[:, 3:])[0][:, -1])


def test_in_bidirectional_and_stacked_rnn(rng):
    x = harness.inputs(rng)
    both = rl.Bidirectional(rl.PeepholeLSTM(U, proj_size=2, return_sequences=True))
    assert tuple(both(x).shape) == (B, T, 4)
    stacked = rl.StackedRNN([rl.PeepholeLSTM(U), rl.PeepholeLSTM(U)], residual=True)
    assert tuple(stacked(x).shape) == (B, U)


def test_time_step_probe_reaches_each_hidden_state(rng):
    layer = rl.PeepholeLSTM(U, proj_size=3, return_sequences=True)
    gates = with_random_weights(layer, rng, proj_size=3)
    x = harness.inputs(rng)
    layer.state_perturbation = keras.ops.zeros((B, T, 3))
    harness.assert_outputs_close(layer(x), reference.run(gates, x)[0])
    nudge = np.zeros((B, T, 3), "float32")
    nudge[:, 2] = 1.0
    layer.state_perturbation = keras.ops.convert_to_tensor(nudge)
    nudged = harness.to_numpy(layer(x))
    np.testing.assert_allclose(nudged[:, :2], reference.run(gates, x)[0][:, :2], atol=1e-5)
    assert np.abs(nudged[:, 2:] - reference.run(gates, x)[0][:, 2:]).min() > 0


def test_never_sent_to_a_fused_kernel(monkeypatch):
    monkeypatch.setattr(kernel_dispatch, "gpu_available", lambda: True)
    assert kernel_dispatch.fused_kernel_blockers(rl.PeepholeLSTM(4)) == [
        "PeepholeLSTM has no fused kernel"
    ]
    assert "use_cudnn" not in rl.PeepholeLSTM(4).get_config()


@pytest.mark.parametrize("proj_size", [0, 5, 2.0, True])
@pytest.mark.parametrize("cls", ["PeepholeLSTM", "PeepholeLSTMCell"])
def test_bad_proj_size_is_refused(cls, proj_size):
    with pytest.raises(ValueError, match=r"proj_size.*Received: proj_size=") as error:
        getattr(rl, cls)(5, proj_size=proj_size, name="encoder")
    assert "encoder" in str(error.value)


def test_bad_units_and_initial_state_are_refused():
    with pytest.raises(ValueError, match="PeepholeLSTM layer 'encoder'.*units"):
        rl.PeepholeLSTM(0, name="encoder")
    layer = rl.PeepholeLSTM(U, proj_size=2, name="encoder")
    with pytest.raises(ValueError, match=r"'encoder' expects `initial_state`.*Received"):
        layer(np.zeros((B, T, F), "float32"), initial_state=[np.zeros((B, U), "float32")] * 2)
