"""`LSTM(units, proj_size=P)` against `torch.nn.LSTM(proj_size=P)` and a NumPy loop (Sak et al., 2014).

Backend-agnostic: `tests/conformance/test_layer_suites_per_backend.py` can rerun
this module under JAX and PyTorch.
"""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import torch

from rnnkeras import layers as rl
from rnnkeras.layers import kernel_dispatch
from tests.layers import harness
from tests.layers import peephole_projection_reference as reference

B, T, F, U, P = harness.BATCH, harness.TIMESTEPS, harness.FEATURES, harness.UNITS, 3


def test_matches_torch_with_mapped_weights_and_initial_state(rng):
    module = torch.nn.LSTM(F, U, batch_first=True, proj_size=P)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.from_numpy(rng.normal(0, 0.5, parameter.shape)))
    layer = rl.LSTM(U, proj_size=P, return_sequences=True, return_state=True)
    layer.build((None, T, F))
    layer.set_weights(reference.keras_weights(reference.torch_weights_to_gates(module)))
    x = harness.inputs(rng)
    h0 = rng.normal(size=(B, P)).astype("float32")
    c0 = rng.normal(size=(B, U)).astype("float32")
    with torch.no_grad():
        outputs, (h, c) = module(
            torch.from_numpy(x), (torch.from_numpy(h0)[None], torch.from_numpy(c0)[None])
        )
    harness.assert_outputs_close(
        layer(x, initial_state=[h0, c0]), [outputs.numpy(), h[0].numpy(), c[0].numpy()]
    )


@pytest.mark.parametrize("go_backwards", [False, True])
def test_padded_steps_keep_the_state(go_backwards, rng):
    layer = rl.LSTM(U, proj_size=P, return_state=True, go_backwards=go_backwards)
    gates = reference.random_gates(rng, F, U, P, peephole=False, projection=True)
    layer.build((None, T, F))
    layer.set_weights(reference.keras_weights(gates))
    x = harness.inputs(rng)
    steps = [x[b, : harness.LENGTHS[b]] for b in range(B)]
    if go_backwards:
        steps = [s[::-1] for s in steps]
    expected = [reference.run(gates, s[None]) for s in steps]
    harness.assert_outputs_close(
        layer(x, mask=harness.padding_mask()),
        [np.concatenate([e[i] if i else e[0][:, -1] for e in expected]) for i in range(3)],
    )


def test_layer_contract(rng):
    harness.run_layer_contract(
        rl.LSTM(U, proj_size=P),
        harness.inputs(rng),
        output_width=P,
        weight_shapes=[(F, 4 * U), (P, 4 * U), (4 * U,), (U, P)],
    )


def test_without_proj_size_the_layer_is_unchanged():
    layer = rl.LSTM(4)
    layer.build((None, T, F))
    config = layer.get_config()
    assert "proj_size" not in config and layer.proj_size is None
    # Keras' LSTM keeps `use_cudnn` out of its config; ours records it.
    assert set(config) - {"use_cudnn"} == set(keras.layers.LSTM(4).get_config())
    assert [w.path.split("/")[-1] for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert rl.LSTM.from_config({**config, "proj_size": 2}).proj_size == 2


def test_cell_in_keras_rnn_with_dropout_and_wrappers(rng):
    x = harness.inputs(rng)
    layer = rl.LSTM(U, proj_size=P, return_sequences=True, recurrent_dropout=0.3, seed=2)
    layer.build((None, T, F))
    rnn = keras.layers.RNN(rl.LSTMCell(U, proj_size=P), return_sequences=True, unroll=True)
    rnn.build((None, T, F))
    rnn.set_weights(layer.get_weights())
    harness.assert_outputs_close(rnn(x), layer(x))
    assert np.abs(harness.to_numpy(layer(x, training=True)) - harness.to_numpy(layer(x))).max() > 0
    assert tuple(rl.Bidirectional(rl.LSTM(U, proj_size=P))(x).shape) == (B, 2 * P)
    stacked = rl.StackedRNN([rl.LSTM(U, proj_size=P), rl.GRU(U)], return_sequences=True)
    assert tuple(stacked(x).shape) == (B, T, U)


def test_proj_size_blocks_the_fused_kernel(monkeypatch):
    monkeypatch.setattr(kernel_dispatch, "gpu_available", lambda: True)
    blockers = kernel_dispatch.fused_kernel_blockers(rl.LSTM(4, proj_size=2))
    assert len(blockers) == 1 and "proj_size=2" in blockers[0], blockers


@pytest.mark.parametrize("proj_size", [0, 5, 7, 2.5, True, "2"])
@pytest.mark.parametrize("cls", ["LSTM", "LSTMCell"])
def test_bad_proj_size_is_refused(cls, proj_size):
    with pytest.raises(ValueError, match=r"proj_size.*Received: proj_size=") as error:
        getattr(rl, cls)(5, proj_size=proj_size, name="encoder")
    assert "encoder" in str(error.value)


def test_initial_state_of_the_wrong_width_is_refused():
    layer = rl.LSTM(U, proj_size=P, name="encoder")
    with pytest.raises(ValueError, match=r"'encoder' expects `initial_state`.*Received"):
        layer(np.zeros((B, T, F), "float32"), initial_state=[np.zeros((B, U), "float32")] * 2)


LOADER = """
import json, sys
import keras, numpy as np
import rnnkeras  # registers the classes the files name
x = np.load(sys.argv[1])
outputs = [keras.saving.load_model(path)(x) for path in sys.argv[2:]]
print(json.dumps([keras.ops.convert_to_numpy(output).tolist() for output in outputs]))
"""


def test_keras_files_load_in_a_fresh_process(tmp_path, rng):
    x = harness.inputs(rng)
    layers = {
        "peephole": rl.PeepholeLSTM(U, return_sequences=True, dropout=0.1),
        "projection": rl.LSTM(U, proj_size=P, go_backwards=True),
        "peephole_projection_cells": keras.layers.RNN(rl.PeepholeLSTMCell(U, proj_size=P)),
    }
    paths, expected = [], []
    for name, layer in layers.items():
        model = keras.Sequential([keras.Input((None, F)), layer])
        harness.randomize(model, rng)
        paths.append(str(tmp_path / f"{name}.keras"))
        model.save(paths[-1])
        expected.append(harness.to_numpy(model(x)))
    np.save(tmp_path / "x.npy", x)
    result = subprocess.run(
        [sys.executable, "-c", LOADER, str(tmp_path / "x.npy"), *paths],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    for got, want in zip(loaded, expected, strict=True):
        np.testing.assert_allclose(np.asarray(got), want, atol=1e-5)


def test_gradient_flow_monitor_probes_the_projected_state(rng):
    from rnnkeras.callbacks import GradientFlowMonitor

    x, y = harness.inputs(rng), rng.normal(size=(B, 1)).astype("float32")
    layer = rl.LSTM(U, proj_size=P, name="projected")
    model = keras.Sequential([keras.Input((T, F)), layer, keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    monitor = GradientFlowMonitor(probe_data=(x, y), every_n_batches=1)
    model.fit(x, y, epochs=1, batch_size=B, verbose=0, callbacks=[monitor])
    records = [r for r in monitor.records if r["layer"] == "projected"]
    assert records and len(records[0]["timestep_grad_norms"]) == T
