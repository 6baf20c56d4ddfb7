"""ESN against a NumPy loop of the leaky-integrator equation; its fixed, scaled, seeded reservoir.

Also the check IndRNN and ESN share, run once for both to save time: `.keras`
files reloading in a fresh process (their TFLite export: `test_indrnn_esn_export.py`).
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
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
    layer = rl.ESN(
        harness.UNITS,
        leaky=0.3,
        return_sequences=True,
        return_state=True,
        go_backwards=go_backwards,
    )
    kernel, recurrent_kernel, bias = built(layer, rng)
    x, mask = harness.inputs(rng), harness.padding_mask()
    h0 = rng.normal(size=(harness.BATCH, harness.UNITS)).astype("float32")
    outputs, state = layer(x, initial_state=[h0], mask=mask)
    expected, final = reference.run(
        reference.esn_step(kernel, recurrent_kernel, bias, leaky=0.3),
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


@pytest.mark.parametrize("use_norm2", [False, True])
def test_reservoir_is_sparse_scaled_and_seeded(use_norm2):
    units, connectivity = 40, 0.2

    def reservoir(seed):
        layer = rl.ESN(
            units,
            connectivity=connectivity,
            spectral_radius=0.7,
            use_norm2=use_norm2,
            seed=seed,
        )
        layer.build((None, 3, 2))
        return [harness.to_numpy(w) for w in layer.get_weights()]

    kernel, recurrent_kernel, bias = reservoir(seed=5)
    if use_norm2:
        # TFA's "norm 2" is the Frobenius norm, an upper bound of the spectral radius.
        assert np.sqrt(np.sum(recurrent_kernel.astype(np.float64) ** 2)) == pytest.approx(0.7)
        assert reference.spectral_radius(recurrent_kernel) < 0.7
    else:
        assert reference.spectral_radius(recurrent_kernel) == pytest.approx(0.7, rel=1e-5)
    # 1,600 connections kept with probability 0.2: 320 expected, sd 16.
    assert abs(np.count_nonzero(recurrent_kernel) - connectivity * units**2) < 80
    same = reservoir(seed=5)
    for ours, again in zip([kernel, recurrent_kernel, bias], same, strict=True):
        np.testing.assert_array_equal(ours, again)
    assert not np.array_equal(reservoir(seed=6)[1], recurrent_kernel)


def test_only_the_readout_learns(rng):
    esn = rl.ESN(harness.UNITS, seed=0, leaky=0.5)
    model = keras.Sequential([keras.Input((harness.TIMESTEPS, harness.FEATURES)), esn])
    model.add(keras.layers.Dense(1))
    assert esn.trainable_weights == [] and len(esn.non_trainable_weights) == 3
    assert [tuple(w.shape) for w in esn.weights] == [
        (harness.FEATURES, harness.UNITS),
        (harness.UNITS, harness.UNITS),
        (harness.UNITS,),
    ]
    reservoir = [harness.to_numpy(w) for w in esn.weights]
    readout = model.layers[-1].get_weights()[0].copy()
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    model.train_on_batch(harness.inputs(rng), np.ones((harness.BATCH, 1), "float32"))
    for before, after in zip(reservoir, esn.weights, strict=True):
        np.testing.assert_array_equal(before, harness.to_numpy(after))
    assert not np.allclose(model.layers[-1].get_weights()[0], readout)
    config = esn.get_config()
    assert rl.ESN.from_config(config).get_config() == config


def test_stateful_bidirectional_and_time_step_probe(rng):
    x = harness.inputs(rng)
    stateful = rl.ESN(harness.UNITS, leaky=0.5, stateful=True)
    step = reference.esn_step(*built(stateful, rng), leaky=0.5)
    first, second = harness.to_numpy(stateful(x)), harness.to_numpy(stateful(x))
    _, h1 = reference.run(step, x, harness.UNITS)
    _, h2 = reference.run(step, x, harness.UNITS, initial_state=h1)
    harness.assert_outputs_close([first, second], [h1, h2])
    stateful.reset_states()
    harness.assert_outputs_close(stateful(x), first)

    both = rl.Bidirectional(rl.ESN(harness.UNITS, leaky=0.5), merge_mode="sum")
    both(x)
    harness.randomize(both, rng)
    forward, backward = (
        reference.esn_step(*[w.astype(np.float64) for w in layer.get_weights()], leaky=0.5)
        for layer in (both.forward_layer, both.backward_layer)
    )
    _, h_forward = reference.run(forward, x, harness.UNITS)
    _, h_backward = reference.run(backward, x, harness.UNITS, go_backwards=True)
    harness.assert_outputs_close(both(x), h_forward + h_backward)

    layer = rl.ESN(harness.UNITS, leaky=0.5, return_sequences=True)
    weights = built(layer, rng)
    p = rng.normal(0.0, 0.5, size=(harness.BATCH, harness.TIMESTEPS, harness.UNITS))
    layer.state_perturbation = keras.ops.convert_to_tensor(p.astype("float32"))
    expected, _ = reference.run(
        reference.esn_step(*weights, leaky=0.5), x, harness.UNITS, perturbation=p
    )
    harness.assert_outputs_close(layer(x), expected)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"connectivity": -0.1}, "connectivity"),
        ({"connectivity": 1.5}, "connectivity"),
        ({"leaky": 0.0}, "leaky"),
        ({"leaky": 1.2}, "leaky"),
        ({"spectral_radius": 0.0}, "spectral_radius"),
        ({"spectral_radius": float("inf")}, "spectral_radius"),
        ({"use_norm2": "yes"}, "use_norm2"),
        ({"dtype": "int32"}, "dtype"),
    ],
)
@pytest.mark.parametrize("name", ["ESN", "ESNCell"])
def test_bad_arguments_raise_value_errors(name, kwargs, argument):
    with pytest.raises(ValueError, match=f"{name} .*'encoder'.*Received: {argument}="):
        getattr(rl, name)(4, name="encoder", **kwargs)


def test_cell_refuses_zero_units():
    with pytest.raises(ValueError, match="ESNCell .*Received: units=0"):
        rl.ESNCell(0)


LOADER = """
import json, sys
import numpy as np
import keras
import rnnkeras

x = np.load(sys.argv[1])
outputs = {}
for name, path in json.loads(sys.argv[2]).items():
    model = keras.saving.load_model(path)
    outputs[name] = np.asarray(model(x, training=False)).tolist()
print("RESULT" + json.dumps(outputs))
"""


def test_keras_files_reload_in_a_fresh_process(tmp_path, rng):
    """One TensorFlow subprocess loads an IndRNN and an ESN model (each import costs seconds)."""
    sequences = keras.Input((None, harness.FEATURES))
    models = {
        "indrnn": keras.Model(
            sequences,
            rl.StackedRNN(
                [rl.IndRNN(4, timesteps=8, dropout=0.1), rl.IndRNN(4, recurrent_max=1.5)],
                residual=True,
            )(keras.layers.Masking(0.0)(sequences)),
        ),
        "esn": keras.Sequential(
            [
                keras.Input((None, harness.FEATURES)),
                rl.ESN(6, connectivity=0.5, leaky=0.4, spectral_radius=0.8, seed=3),
                keras.layers.Dense(2),
            ]
        ),
    }
    x = harness.inputs(rng)
    x[1, 4:] = 0.0
    paths, expected = {}, {}
    for name, model in models.items():
        expected[name] = harness.to_numpy(model(x))
        paths[name] = str(tmp_path / f"{name}.keras")
        model.save(paths[name])
    np.save(tmp_path / "x.npy", x)
    completed = subprocess.run(
        [sys.executable, "-c", LOADER, str(tmp_path / "x.npy"), json.dumps(paths)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"},
        timeout=300,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, completed.stderr[-3000:]
    loaded = json.loads(lines[0][len("RESULT") :])
    for name in models:
        np.testing.assert_allclose(np.asarray(loaded[name]), expected[name], rtol=0, atol=1e-6)


def test_vowels_bench_reads_the_bundled_data_and_samples_states():
    vowels = bench_scripts.load("echo_state_vowels")
    data = vowels.load_vowels(vowels.data_path())
    assert [len(data[split]["labels"]) for split in ("train", "test")] == [270, 370]
    lengths = data["test"]["lengths"]
    assert lengths.min() == 7 and lengths.max() == 29
    assert sorted(np.unique(data["train"]["labels"])) == list(range(9))
    x, lengths = data["test"]["x"][:3], lengths[:3]
    esn = rl.ESN(2, leaky=0.5, seed=0, return_sequences=True)
    features = vowels.member_features(esn, x, lengths, points=3)
    assert features.shape == (3, 3 * (12 + 2) + 1)
    # The last sampled frame is each utterance's last real frame (input, then state).
    last = features[:, 2 * 14 : 3 * 14]
    np.testing.assert_allclose(last[:, :12], x[np.arange(3), lengths - 1])
    _, state = reference.run(
        reference.esn_step(*[w.astype(np.float64) for w in esn.get_weights()], leaky=0.5),
        x,
        2,
        mask=np.arange(x.shape[1])[None, :] < lengths[:, None],
    )
    np.testing.assert_allclose(last[:, 12:], state, atol=harness.ATOL)
