"""The XLA-compiled inference loop on TensorFlow (issue 11, speed).

`rnnkeras.layers.kernel_dispatch.xla_loop_blockers` decides, next to the cuDNN decision,
when a layer's loop runs compiled by XLA: inference inside a compiled function
(`predict`, `predict_on_batch`, a `tf.function`), never eagerly, in training,
with `use_cudnn=False` (how export asks for the plain loop), `unroll`, the
gradient-flow probe or mixed precision. These tests check that decision, that
the default user path takes it, and that outputs and gradients stay those of
the plain loop. Its speed is measured in `bench/layers.py`, not here.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnkeras import layers as rl
from rnnkeras.layers import kernel_dispatch, recurrent
from tests.layers.harness import BATCH, FEATURES, TIMESTEPS, UNITS

KINDS = ["SimpleRNN", "LSTM", "GRU"]


@pytest.fixture
def x(rng):
    return rng.normal(size=(BATCH, TIMESTEPS, FEATURES)).astype("float32")


@pytest.fixture
def spy(monkeypatch):
    """Counts the calls that took the compiled loop."""
    calls = []
    original = recurrent.run_xla_loop

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(recurrent, "run_xla_loop", counting)
    return calls


def blockers_in_graph(layer, training=False):
    """`xla_loop_blockers` asked while tracing, as a layer call inside `predict` asks it."""
    answer = []

    @tf.function
    def ask():
        answer.extend(kernel_dispatch.xla_loop_blockers(layer, training))
        return tf.constant(0)

    ask()
    return answer


@pytest.mark.parametrize("name", KINDS)
def test_default_layer_compiles_its_inference_loop(name):
    assert blockers_in_graph(getattr(rl, name)(4)) == []


BLOCKING = [
    ({"unroll": True}, {}, "unroll=True"),
    ({}, {"training": True}, "training=True"),
]


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize("kwargs, call, reason", BLOCKING, ids=[r for *_, r in BLOCKING])
def test_each_blocking_condition_is_named(name, kwargs, call, reason):
    assert blockers_in_graph(getattr(rl, name)(4, **kwargs), **call) == [reason]


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_use_cudnn_false_keeps_the_plain_loop(name):
    # Export traces with use_cudnn=False: TFLite cannot hold an XLA cluster.
    assert blockers_in_graph(getattr(rl, name)(4, use_cudnn=False)) == ["use_cudnn=False"]


def test_eager_call_probe_and_mixed_precision_block_it():
    assert kernel_dispatch.xla_loop_blockers(rl.LSTM(4), training=False) == ["an eager call"]
    probed = rl.GRU(4)
    probed.state_perturbation = keras.ops.zeros((2, 5, 4))
    assert "state_perturbation" in " ".join(blockers_in_graph(probed))
    mixed = rl.SimpleRNN(4, dtype="mixed_float16")
    assert "mixed precision" in " ".join(blockers_in_graph(mixed))


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize("masked", [False, True], ids=["dense", "masked"])
def test_predict_on_batch_takes_the_compiled_loop_with_the_same_outputs(name, masked, x, spy):
    layer = getattr(rl, name)(UNITS, return_sequences=True, go_backwards=True)
    model = keras.Sequential(
        [keras.Input((TIMESTEPS, FEATURES)), layer, keras.layers.Dense(2)]
        if not masked
        else [
            keras.Input((TIMESTEPS, FEATURES)),
            keras.layers.Masking(),
            layer,
            keras.layers.Dense(2),
        ]
    )
    if masked:
        x[1, 3:] = 0.0
    eager = keras.ops.convert_to_numpy(model(x))
    assert spy == []
    compiled = model.predict_on_batch(x)
    assert len(spy) == 1
    np.testing.assert_allclose(compiled, eager, atol=1e-5)


@pytest.mark.parametrize("name", KINDS)
def test_gradients_through_the_compiled_loop_match_the_plain_loop(name, x, spy):
    layer = getattr(rl, name)(UNITS, return_state=True)
    layer.build((None, TIMESTEPS, FEATURES))
    state = [tf.random.normal((BATCH, UNITS), seed=1) for _ in layer.state_size]

    def loss_and_gradients():
        inputs = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch([inputs, *state])
            output, *final = layer(inputs, initial_state=state, training=False)
            loss = tf.reduce_sum(output**2) + sum(tf.reduce_sum(s * 0.5) for s in final)
        return loss, tape.gradient(loss, [inputs, *state, *layer.trainable_weights])

    plain_loss, plain = loss_and_gradients()
    assert spy == []
    compiled_loss, compiled = tf.function(loss_and_gradients)()
    assert len(spy) == 1
    np.testing.assert_allclose(compiled_loss, plain_loss, rtol=1e-5)
    for got, want in zip(compiled, plain, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_training_step_keeps_the_plain_loop(x, spy):
    model = keras.Sequential(
        [
            keras.Input((TIMESTEPS, FEATURES)),
            rl.LSTM(UNITS),
            keras.layers.Dense(1),
        ]
    )
    model.compile("adam", "mse")
    model.train_on_batch(x, np.zeros((BATCH, 1), "float32"))
    assert spy == []
