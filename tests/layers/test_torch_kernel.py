"""PyTorch's own fused kernel behind our SimpleRNN, LSTM and GRU on the PyTorch backend.

On the PyTorch backend `rnnkeras.layers.kernel_dispatch` sends our `LSTM` and
`GRU` to `torch._VF.lstm` / `gru` (`rnnkeras.layers.torch_kernels`) wherever
Keras' cuDNN kernel does not run, and our `SimpleRNN` (`tanh` or `relu`) to
`torch._VF.rnn_tanh` / `rnn_relu` on every device. Here each LSTM/GRU case runs
the same layer twice with the same weights, once through that kernel (a spy
proves it ran) and once through the plain loop (the decision switched off), and
compares outputs, final states and the gradients of a loss with respect to every
weight, the inputs and the initial states; each SimpleRNN case does the same
against the Keras built-in `keras.layers.SimpleRNN`, which loops. Then against
the Keras built-ins, and `fit` lowers the loss.

This module needs `KERAS_BACKEND=torch`: `tests/conformance/test_layer_suites_per_backend.py`
runs it so. The mapping of the weights alone is checked on every backend against
`torch.nn.LSTM` / `nn.GRU` / `nn.RNN` (`test_weight_mapping_matches_torch_modules`),
and so are the SimpleRNN decision's reasons.
"""

import functools

import keras
import numpy as np
import pytest
import torch

from rnnkeras import layers as rl
from rnnkeras.layers import kernel_dispatch, recurrent, torch_kernels
from tests.layers import harness, rnn_reference

TORCH = keras.backend.backend() == "torch"
needs_torch_backend = pytest.mark.skipif(
    not TORCH,
    reason="the layer runs PyTorch's kernel only under KERAS_BACKEND=torch; "
    "tests/conformance/test_layer_suites_per_backend.py runs this module so",
)


class KernelSpy:
    """Wraps `torch_kernels.run_kernel`, counting the calls that ran and those refused."""

    def __init__(self):
        self.ran = 0
        self.refused = 0
        self.wrapped = torch_kernels.run_kernel

    def __call__(self, *args, **kwargs):
        try:
            result = self.wrapped(*args, **kwargs)
        except NotImplementedError:
            self.refused += 1
            raise
        self.ran += 1
        return result


@pytest.fixture
def spy(monkeypatch):
    kernel_spy = KernelSpy()
    monkeypatch.setattr(torch_kernels, "run_kernel", kernel_spy)
    return kernel_spy


def plain_loop(monkeypatch):
    """Switches the PyTorch kernel off, so the layer runs its generic loop."""
    monkeypatch.setattr(recurrent, "torch_kernel_blockers", lambda *_, **__: ["plain loop"])


def outputs_and_gradients(layer, x, initial_state=None, mask=None, training=False):
    """The layer's outputs and d(loss)/d(weights, inputs, initial states) as NumPy arrays.

    The loss weights every output entry by a fixed pseudo-random factor, so each
    output and state contributes its own gradient.
    """
    inputs = torch.tensor(x, requires_grad=True)
    states = [torch.tensor(s, requires_grad=True) for s in initial_state or []]
    kwargs = {"training": training}
    if states:
        kwargs["initial_state"] = states
    if mask is not None:
        kwargs["mask"] = torch.tensor(mask)
    results = layer(inputs, **kwargs)
    results = list(results) if isinstance(results, (list, tuple)) else [results]
    generator = np.random.default_rng(11)
    loss = sum(
        (r * torch.tensor(generator.normal(size=tuple(r.shape)).astype("float32"))).sum()
        for r in results
    )
    sources = [w.value for w in layer.trainable_weights] + [inputs, *states]
    gradients = torch.autograd.grad(loss, sources)
    return [harness.to_numpy(r) for r in results], [g.numpy() for g in gradients]


def assert_same_run(got, expected):
    (got_outputs, got_gradients), (expected_outputs, expected_gradients) = got, expected
    harness.assert_outputs_close(got_outputs, expected_outputs)
    harness.assert_outputs_close(got_gradients, expected_gradients)


def twin_layers(name, rng, **kwargs):
    """Two built layers with the same random weights (and dropout seed)."""
    layers = [getattr(rl, name)(harness.UNITS, seed=5, **kwargs) for _ in range(2)]
    batch = harness.BATCH
    for layer in layers:
        layer.build((batch, harness.TIMESTEPS, harness.FEATURES))
    layers[1].set_weights(harness.randomize(layers[0], rng))
    return layers


CASES = [
    ("LSTM", {}),
    ("LSTM", {"return_sequences": True, "return_state": True}),
    ("LSTM", {"go_backwards": True, "return_sequences": True, "return_state": True}),
    ("LSTM", {"use_bias": False, "return_state": True}),
    ("LSTM", {"proj_size": 2, "return_sequences": True, "return_state": True}),
    ("LSTM", {"proj_size": 2, "go_backwards": True, "return_state": True}),
    ("GRU", {}),
    ("GRU", {"return_sequences": True, "return_state": True}),
    ("GRU", {"go_backwards": True, "return_sequences": True, "return_state": True}),
    ("GRU", {"use_bias": False, "return_sequences": True, "return_state": True}),
]
IDS = [f"{name}-{'-'.join(kwargs) or 'default'}" for name, kwargs in CASES]


def initial_states(layer, rng):
    return [rng.normal(size=(harness.BATCH, size)).astype("float32") for size in layer.state_size]


@needs_torch_backend
@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
@pytest.mark.parametrize("initial", [False, True], ids=["zero_state", "initial_state"])
def test_kernel_equals_plain_loop_with_gradients(name, kwargs, initial, spy, monkeypatch, rng):
    fused, looped = twin_layers(name, rng, **kwargs)
    x = harness.inputs(rng)
    states = initial_states(fused, rng) if initial else None
    got = outputs_and_gradients(fused, x, states)
    assert spy.ran == 1
    plain_loop(monkeypatch)
    expected = outputs_and_gradients(looped, x, states)
    assert spy.ran == 1
    assert_same_run(got, expected)


SIMPLE_RNN_CASES = [
    {},
    {"return_sequences": True, "return_state": True},
    {"activation": "relu", "return_sequences": True, "return_state": True},
    {"go_backwards": True, "return_sequences": True, "return_state": True},
    {"activation": "relu", "go_backwards": True, "return_state": True},
    {"use_bias": False, "return_sequences": True, "return_state": True},
    {"zero_output_for_mask": True, "return_sequences": True},
]
SIMPLE_RNN_IDS = [
    "-".join(f"{key}={value}" if key == "activation" else key for key, value in kwargs.items())
    or "default"
    for kwargs in SIMPLE_RNN_CASES
]


def builtin_twins(name, rng, **kwargs):
    """Ours and the Keras built-in, built, with the built-in's random weights copied to ours."""
    ours = getattr(rl, name)(harness.UNITS, **kwargs)
    builtin = getattr(keras.layers, name)(harness.UNITS, **kwargs)
    for layer in (ours, builtin):
        layer.build((harness.BATCH, harness.TIMESTEPS, harness.FEATURES))
    ours.set_weights(harness.randomize(builtin, rng))
    return ours, builtin


@needs_torch_backend
@pytest.mark.parametrize("kwargs", SIMPLE_RNN_CASES, ids=SIMPLE_RNN_IDS)
@pytest.mark.parametrize("call", ["zero_state", "initial_state", "right_padded_mask"])
def test_simple_rnn_kernel_equals_keras_builtin_with_gradients(kwargs, call, spy, rng):
    # Keras' SimpleRNN has no fused kernel: on the PyTorch backend it runs its
    # eager loop, an implementation independent of ours.
    ours, builtin = builtin_twins("SimpleRNN", rng, **kwargs)
    x = harness.inputs(rng)
    states = initial_states(ours, rng) if call == "initial_state" else None
    mask = harness.padding_mask() if call == "right_padded_mask" else None
    got = outputs_and_gradients(ours, x, states, mask=mask)
    assert (spy.ran, spy.refused) == (1, 0)
    assert_same_run(got, outputs_and_gradients(builtin, x, states, mask=mask))


@needs_torch_backend
@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
@pytest.mark.parametrize("zero_output", [False, True], ids=["repeat_output", "zero_output"])
def test_right_padded_mask_runs_packed_and_equals_plain_loop(
    name, kwargs, zero_output, spy, monkeypatch, rng
):
    fused, looped = twin_layers(name, rng, **kwargs)
    for layer in (fused, looped):
        # What `Bidirectional` sets with `return_sequences`.
        layer.zero_output_for_mask = zero_output
    x, mask = harness.inputs(rng), harness.padding_mask()
    got = outputs_and_gradients(fused, x, mask=mask)
    assert (spy.ran, spy.refused) == (1, 0)
    plain_loop(monkeypatch)
    assert_same_run(got, outputs_and_gradients(looped, x, mask=mask))


@needs_torch_backend
@pytest.mark.parametrize(
    "lengths_or_mask",
    [
        np.array([[True, False, True, True, True, True]] * harness.BATCH),
        harness.padding_mask([6, 0, 3, 2]),
    ],
    ids=["hole_in_mask", "fully_masked_row"],
)
@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
def test_other_masks_fall_back_to_the_loop(name, lengths_or_mask, spy, monkeypatch, rng):
    fused, looped = twin_layers(name, rng, return_sequences=True, return_state=True)
    x = harness.inputs(rng)
    got = outputs_and_gradients(fused, x, mask=lengths_or_mask)
    assert (spy.ran, spy.refused) == (0, 1)
    plain_loop(monkeypatch)
    assert_same_run(got, outputs_and_gradients(looped, x, mask=lengths_or_mask))


@needs_torch_backend
@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
def test_stateful_layer_carries_states_across_calls(name, spy, monkeypatch, rng):
    fused, looped = twin_layers(name, rng, stateful=True, return_state=True)
    first, second = harness.inputs(rng), harness.inputs(rng)
    fused(first)
    got = outputs_and_gradients(fused, second)
    assert spy.ran == 2
    plain_loop(monkeypatch)
    looped(first)
    assert_same_run(got, outputs_and_gradients(looped, second))
    harness.assert_outputs_close(
        [s.numpy() for s in fused.states], [s.numpy() for s in looped.states]
    )


@needs_torch_backend
@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
def test_input_dropout_in_training_draws_the_loops_mask(name, spy, monkeypatch, rng):
    fused, looped = twin_layers(name, rng, dropout=0.4, return_sequences=True)
    x = harness.inputs(rng)
    got = outputs_and_gradients(fused, x, training=True)
    assert spy.ran == 1
    plain_loop(monkeypatch)
    assert_same_run(got, outputs_and_gradients(looped, x, training=True))


@needs_torch_backend
@pytest.mark.parametrize("name", ["LSTM", "GRU"])
@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
def test_equals_keras_builtin_with_the_same_weights(name, masked, spy, rng):
    kwargs = {"return_sequences": True, "return_state": True}
    ours = getattr(rl, name)(harness.UNITS, **kwargs)
    builtin = getattr(keras.layers, name)(harness.UNITS, **kwargs)
    x = harness.inputs(rng)
    mask = harness.padding_mask() if masked else None
    ours(x), builtin(x)
    harness.randomize(builtin, rng)
    ours.set_weights(builtin.get_weights())
    spy.ran = 0
    harness.assert_outputs_close(ours(x, mask=mask), builtin(x, mask=mask))
    assert spy.ran == 1


@needs_torch_backend
@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
def test_integer_inputs_give_the_plain_loops_outputs(name, spy, monkeypatch, rng):
    kernel_layer, loop_layer = twin_layers(name, rng, return_sequences=True)
    x = rng.integers(-3, 4, size=(harness.BATCH, harness.TIMESTEPS, harness.FEATURES))
    from_kernel = harness.to_numpy(kernel_layer(x.astype("int32")))
    assert spy.ran == 1
    plain_loop(monkeypatch)
    from_loop = harness.to_numpy(loop_layer(x.astype("float32")))
    harness.assert_outputs_close([from_kernel], [from_loop])


@needs_torch_backend
def test_float64_layer_runs_the_kernel_in_float64(spy, rng):
    layer = rl.LSTM(harness.UNITS, dtype="float64")
    output = layer(harness.inputs(rng).astype("float64"))
    assert spy.ran == 1 and output.dtype == torch.float64


@needs_torch_backend
@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
def test_fit_lowers_the_loss_through_the_kernel(name, spy, rng):
    x = harness.inputs(rng, batch=32)
    y = x.sum(axis=(1, 2))[:, None] / 4
    model = keras.Sequential(
        [keras.Input(x.shape[1:]), getattr(rl, name)(8), keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.Adam(0.02), "mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.5 * before
    assert spy.ran > 20


# name: (torch module, its Keras-layout weights (`rnn_reference`), our kernel function).
TORCH_MODULES = {
    "LSTM": (torch.nn.LSTM, rnn_reference.keras_weights_from_torch_lstm, torch_kernels.lstm),
    "GRU": (torch.nn.GRU, rnn_reference.keras_weights_from_torch_gru, torch_kernels.gru),
    "RNN-tanh": (
        torch.nn.RNN,
        rnn_reference.keras_weights_from_torch_rnn,
        torch_kernels.simple_rnn,
    ),
    "RNN-relu": (
        functools.partial(torch.nn.RNN, nonlinearity="relu"),
        rnn_reference.keras_weights_from_torch_rnn,
        functools.partial(torch_kernels.simple_rnn, activation="relu"),
    ),
}


@pytest.mark.parametrize("name", list(TORCH_MODULES))
@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
def test_weight_mapping_matches_torch_modules(name, masked, rng):
    # Independent of Keras: Keras-layout weights made from a torch module by the
    # test references (`rnn_reference`, which sums nn.RNN's two biases into
    # Keras' one), run through our mapping, against the module.
    module_class, to_keras, run = TORCH_MODULES[name]
    module = module_class(harness.FEATURES, harness.UNITS, batch_first=True)
    rnn_reference.randomize_torch(module, rng)
    module = module.float()
    weights = [torch.from_numpy(w) for w in to_keras(module)]
    x = torch.from_numpy(harness.inputs(rng))
    state_count = 2 if name == "LSTM" else 1
    states = [torch.from_numpy(s) for s in initial_states_like(rng, state_count)]
    hidden = tuple(s[None] for s in states) if name == "LSTM" else states[0][None]
    mask = harness.padding_mask() if masked else None
    _, outputs, final = run(
        x,
        states,
        *weights,
        mask=None if mask is None else torch.from_numpy(mask),
        zero_output_for_mask=True,
        return_sequences=True,
    )
    with torch.no_grad():
        if masked:
            packed = torch.nn.utils.rnn.pack_padded_sequence(
                x, harness.LENGTHS, batch_first=True, enforce_sorted=False
            )
            expected, expected_final = module(packed, hidden)
            expected, _ = torch.nn.utils.rnn.pad_packed_sequence(
                expected, batch_first=True, total_length=harness.TIMESTEPS
            )
        else:
            expected, expected_final = module(x, hidden)
    expected_final = expected_final if name == "LSTM" else (expected_final,)
    harness.assert_outputs_close(
        [outputs.detach(), *(s.detach() for s in final)],
        [expected, *(s[0] for s in expected_final)],
    )


def initial_states_like(rng, count):
    return [rng.normal(size=(harness.BATCH, harness.UNITS)).astype("float32") for _ in range(count)]


@needs_torch_backend
@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
def test_masked_bidirectional_runs_both_directions_through_the_kernel(name, spy, rng):
    # The backward direction reads the right-padded mask with go_backwards.
    ours = rl.Bidirectional(getattr(rl, name)(harness.UNITS, return_sequences=True))
    builtin = keras.layers.Bidirectional(
        getattr(keras.layers, name)(harness.UNITS, return_sequences=True)
    )
    x, mask = harness.inputs(rng), harness.padding_mask()
    ours(x), builtin(x)
    harness.randomize(builtin, rng)
    ours.set_weights(builtin.get_weights())
    spy.ran = 0
    harness.assert_outputs_close(ours(x, mask=mask), builtin(x, mask=mask))
    assert (spy.ran, spy.refused) == (2, 0)


def test_simple_rnn_kernel_refuses_other_activations_by_name():
    with pytest.raises(ValueError, match=r"Received: activation='sigmoid'"):
        torch_kernels.simple_rnn(
            torch.ones(1, 2, 3),
            [torch.zeros(1, 4)],
            torch.ones(3, 4),
            torch.ones(4, 4),
            activation="sigmoid",
        )


# The SimpleRNN decision: (constructor arguments, call arguments, the reason that
# blocks PyTorch's kernel or None). Keras has no fused SimpleRNN kernel, so a GPU
# changes nothing; on other backends the backend is the one reason more.
SIMPLE_RNN_DECISIONS = [
    ({}, {}, None),
    ({"activation": "relu"}, {}, None),
    ({"use_bias": False, "go_backwards": True}, {}, None),
    ({"dropout": 0.3}, {"training": True}, None),
    ({"recurrent_dropout": 0.3}, {"training": False}, None),
    ({"dtype": "float64"}, {}, None),
    ({"activation": "sigmoid"}, {}, "activation"),
    ({"activation": None}, {}, "activation"),
    ({"unroll": True}, {}, "unroll"),
    ({"recurrent_dropout": 0.3}, {"training": True}, "recurrent_dropout"),
    ({"dtype": "mixed_float16"}, {}, "float16"),
]
DECISION_IDS = [
    "tanh",
    "relu",
    "no_bias_backwards",
    "input_dropout_training",
    "recurrent_dropout_inference",
    "float64",
    "sigmoid",
    "linear",
    "unroll",
    "recurrent_dropout_training",
    "mixed_float16",
]


@pytest.mark.parametrize("kwargs, call, reason", SIMPLE_RNN_DECISIONS, ids=DECISION_IDS)
@pytest.mark.parametrize("gpu", [False, True], ids=["no_gpu", "simulated_gpu"])
def test_simple_rnn_decision_names_each_blocking_condition(kwargs, call, reason, gpu, monkeypatch):
    monkeypatch.setattr(kernel_dispatch, "gpu_available", lambda: gpu)
    layer = rl.SimpleRNN(harness.UNITS, **kwargs)
    blockers = kernel_dispatch.torch_kernel_blockers(layer, **call)
    off_torch = [b for b in blockers if "this kernel is PyTorch's" in b]
    assert len(off_torch) == (not TORCH), blockers
    blockers = [b for b in blockers if b not in off_torch]
    if reason is None:
        assert blockers == []
    else:
        assert len(blockers) == 1 and reason in blockers[0], blockers


@needs_torch_backend
@pytest.mark.parametrize("kwargs, call, reason", SIMPLE_RNN_DECISIONS, ids=DECISION_IDS)
def test_simple_rnn_runs_the_kernel_exactly_when_decided(kwargs, call, reason, spy, rng):
    layer = rl.SimpleRNN(harness.UNITS, return_sequences=True, **kwargs)
    x = harness.inputs(rng).astype(layer.compute_dtype)
    outputs = layer(x, **call)
    assert spy.ran == (reason is None)
    assert tuple(outputs.shape) == (harness.BATCH, harness.TIMESTEPS, harness.UNITS)


@needs_torch_backend
def test_simple_rnn_with_attached_probe_runs_the_loop(spy, rng):
    layer = rl.SimpleRNN(harness.UNITS)
    layer.state_perturbation = torch.zeros(harness.BATCH, harness.TIMESTEPS, harness.UNITS)
    assert "state_perturbation" in " ".join(kernel_dispatch.torch_kernel_blockers(layer))
    layer(harness.inputs(rng))
    assert spy.ran == 0
