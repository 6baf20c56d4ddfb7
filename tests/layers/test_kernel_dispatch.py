"""The fused (cuDNN) path decision, tested on CPU under the current Keras backend.

`rnnkeras.layers.kernel_dispatch.fused_kernel_blockers` is the one place that decides;
`gpu_available` is its seam for "is there a GPU", replaced here to simulate one.
`tests/conformance/test_layer_suites_per_backend.py` runs this module under
TensorFlow, JAX and PyTorch.
"""

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl
from rnnkeras.layers import kernel_dispatch, recurrent
from tests.layers import harness

X = harness.inputs(np.random.default_rng(3), batch=2, timesteps=5)


@pytest.fixture
def with_gpu(monkeypatch):
    monkeypatch.setattr(kernel_dispatch, "gpu_available", lambda: True)


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_cudnn_compatible_configuration_has_no_blockers(name, with_gpu):
    assert kernel_dispatch.fused_kernel_blockers(getattr(rl, name)(4)) == []
    assert (
        kernel_dispatch.fused_kernel_blockers(
            getattr(rl, name)(4, return_sequences=True, go_backwards=True)
        )
        == []
    )
    assert (
        kernel_dispatch.fused_kernel_blockers(getattr(rl, name)(4, dropout=0.3, stateful=True))
        == []
    )


BLOCKING = [
    ({"activation": "relu"}, "activation"),
    ({"recurrent_activation": "hard_sigmoid"}, "recurrent_activation"),
    ({"recurrent_dropout": 0.2}, "recurrent_dropout"),
    ({"unroll": True}, "unroll"),
    ({"use_bias": False}, "use_bias"),
    ({"use_cudnn": False}, "use_cudnn"),
]


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
@pytest.mark.parametrize("kwargs, reason", BLOCKING, ids=[r for _, r in BLOCKING])
def test_each_incompatible_option_blocks_the_fused_kernel(name, kwargs, reason, with_gpu):
    blockers = kernel_dispatch.fused_kernel_blockers(getattr(rl, name)(4, **kwargs))
    assert len(blockers) == 1, blockers
    assert reason in blockers[0]


def test_gru_reset_before_blocks_the_fused_kernel(with_gpu):
    blockers = kernel_dispatch.fused_kernel_blockers(rl.GRU(4, reset_after=False))
    assert len(blockers) == 1 and "reset_after" in blockers[0], blockers


def test_attached_time_step_probe_blocks_the_fused_kernel(with_gpu):
    layer = rl.LSTM(4)
    layer.state_perturbation = keras.ops.zeros((2, 5, 4))
    blockers = kernel_dispatch.fused_kernel_blockers(layer)
    assert len(blockers) == 1 and "state_perturbation" in blockers[0], blockers


def test_simple_rnn_never_takes_a_fused_kernel(with_gpu):
    assert kernel_dispatch.fused_kernel_blockers(rl.SimpleRNN(4))


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_real_gpu_question_answers_on_every_backend(name):
    # Asked for real (no simulation), the question must answer, not raise; without
    # a GPU that answer is the only blocker of a cuDNN-compatible layer.
    available = kernel_dispatch.gpu_available()
    assert isinstance(available, bool)
    blockers = kernel_dispatch.fused_kernel_blockers(getattr(rl, name)(4))
    if available:
        assert blockers == []
    else:
        assert len(blockers) == 1 and "GPU" in blockers[0], blockers


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_a_mask_blocks_the_fused_kernel_where_the_backend_kernel_takes_none(name, with_gpu):
    # Keras 3.15's JAX and PyTorch kernels raise on any mask; TensorFlow's takes
    # right-padded masks (`keras.src.backend.<name>.rnn`).
    blockers = kernel_dispatch.fused_kernel_blockers(getattr(rl, name)(4), masked=True)
    if keras.backend.backend() == "tensorflow":
        assert blockers == []
    else:
        assert len(blockers) == 1 and "mask" in blockers[0], blockers


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
def test_with_simulated_gpu_layer_matches_the_builtin(name, masked, with_gpu, rng):
    # The backend's own kernel then either refuses (no real GPU) and we loop,
    # or runs its CPU fallback (Keras' JAX GRU, PyTorch LSTM/GRU): same outputs.
    mask = harness.padding_mask([5, 3], timesteps=5) if masked else None
    ours = getattr(rl, name)(4, return_sequences=True, return_state=True)
    builtin = getattr(keras.layers, name)(4, return_sequences=True, return_state=True)
    ours(X), builtin(X)
    harness.randomize(builtin, rng)
    ours.set_weights(builtin.get_weights())
    harness.assert_outputs_close(ours(X, mask=mask), builtin(X, mask=mask))


class FusedSpy:
    """Stands in for `run_fused`: records the call, then refuses like a CPU backend."""

    def __init__(self):
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        raise NotImplementedError


@pytest.mark.parametrize(
    "kwargs, gpu, tries_fused",
    [
        ({}, True, True),
        ({}, False, False),
        ({"recurrent_dropout": 0.2}, True, False),
        ({"unroll": True}, True, False),
    ],
    ids=["allowed", "no_gpu", "recurrent_dropout", "unroll"],
)
def test_layer_follows_the_decision_and_falls_back_to_the_loop(
    kwargs, gpu, tries_fused, monkeypatch, rng
):
    spy = FusedSpy()
    monkeypatch.setattr(recurrent, "run_fused", spy)
    monkeypatch.setattr(kernel_dispatch, "gpu_available", lambda: gpu)
    ours = rl.LSTM(4, return_sequences=True, return_state=True, **kwargs)
    builtin = keras.layers.LSTM(4, return_sequences=True, return_state=True, **kwargs)
    ours(X), builtin(X)
    assert (spy.calls > 0) == tries_fused
    harness.randomize(builtin, rng)
    ours.set_weights(builtin.get_weights())
    harness.assert_outputs_close(ours(X), builtin(X))


def test_real_backend_refuses_on_cpu_and_layer_falls_back(with_gpu, rng):
    ours = rl.GRU(4, return_sequences=True)
    builtin = keras.layers.GRU(4, return_sequences=True)
    ours(X), builtin(X)
    harness.randomize(builtin, rng)
    ours.set_weights(builtin.get_weights())
    harness.assert_outputs_close(ours(X), builtin(X))


def test_use_cudnn_true_without_fused_path_raises_naming_the_layer():
    layer = rl.LSTM(4, use_cudnn=True, name="needs_cudnn")
    with pytest.raises(ValueError, match="needs_cudnn") as error:
        layer(X)
    assert "GPU" in str(error.value)


# PyTorch's own fused kernel (`torch_kernel_blockers`): asked after the cuDNN
# decision, on the PyTorch backend only. Elsewhere the backend is its one reason
# more, so the per-condition checks run on every backend.
def torch_reasons(layer, **kwargs):
    """`torch_kernel_blockers` without the reason off PyTorch, which must be there exactly then."""
    blockers = kernel_dispatch.torch_kernel_blockers(layer, **kwargs)
    off_torch = [reason for reason in blockers if "this kernel is PyTorch's" in reason]
    assert len(off_torch) == (keras.backend.backend() != "torch"), blockers
    return [reason for reason in blockers if reason not in off_torch]


@pytest.mark.parametrize(
    "name, kwargs, call",
    [
        ("LSTM", {}, {}),
        ("GRU", {}, {}),
        ("LSTM", {"proj_size": 2}, {}),
        ("LSTM", {"use_bias": False}, {}),
        ("GRU", {"use_bias": False}, {}),
        ("LSTM", {"go_backwards": True, "stateful": True, "return_state": True}, {}),
        ("GRU", {"dropout": 0.3}, {"training": True}),
        ("LSTM", {"recurrent_dropout": 0.2}, {"training": False}),
        ("LSTM", {"dtype": "float64"}, {}),
    ],
    ids=[
        "lstm",
        "gru",
        "proj_size",
        "lstm_no_bias",
        "gru_no_bias",
        "go_backwards_stateful",
        "input_dropout_training",
        "recurrent_dropout_inference",
        "float64",
    ],
)
def test_pytorch_kernel_takes_what_the_cudnn_kernel_refuses(name, kwargs, call):
    assert torch_reasons(getattr(rl, name)(4, **kwargs), **call) == []


TORCH_BLOCKING = [
    ("LSTM", {"activation": "relu"}, {}, "activation"),
    ("GRU", {"recurrent_activation": "hard_sigmoid"}, {}, "recurrent_activation"),
    ("LSTM", {"unroll": True}, {}, "unroll"),
    ("GRU", {"use_cudnn": False}, {}, "use_cudnn=False"),
    ("GRU", {"reset_after": False}, {}, "reset_after=False"),
    ("LSTM", {"recurrent_dropout": 0.2}, {"training": True}, "recurrent_dropout"),
    ("LSTM", {"dtype": "mixed_float16"}, {}, "float16"),
    ("GRU", {"dtype": "bfloat16"}, {}, "bfloat16"),
]


@pytest.mark.parametrize(
    "name, kwargs, call, reason", TORCH_BLOCKING, ids=[case[3] for case in TORCH_BLOCKING]
)
def test_each_condition_blocks_the_pytorch_kernel(name, kwargs, call, reason):
    blockers = torch_reasons(getattr(rl, name)(4, **kwargs), **call)
    assert len(blockers) == 1 and reason in blockers[0], blockers


def test_attached_probe_and_loop_only_layers_block_the_pytorch_kernel():
    layer = rl.GRU(4)
    layer.state_perturbation = keras.ops.zeros((2, 5, 4))
    assert "state_perturbation" in " ".join(torch_reasons(layer))
    assert kernel_dispatch.torch_kernel_blockers(rl.LayerNormSimpleRNN(4))
    assert kernel_dispatch.torch_kernel_blockers(rl.PeepholeLSTM(4))


class TorchKernelSpy:
    """Stands in for `run_torch_kernel`: records the call, then runs it."""

    def __init__(self):
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return kernel_dispatch.run_torch_kernel(*args, **kwargs)


@pytest.mark.parametrize(
    "kwargs, gpu, masked, runs_torch_kernel",
    [
        ({}, False, False, True),
        ({}, False, True, True),
        ({"go_backwards": True}, False, True, True),
        # Keras' own kernel applies first (on this CPU it runs its fallback loop).
        ({}, True, False, False),
        # Keras' PyTorch kernel refuses masks; ours takes right-padded ones.
        ({}, True, True, True),
        ({"activation": "relu"}, False, False, False),
        ({"use_cudnn": False}, False, False, False),
    ],
    ids=[
        "cpu",
        "cpu_masked",
        "cpu_masked_backwards",
        "gpu",
        "gpu_masked",
        "relu",
        "use_cudnn_false",
    ],
)
def test_layer_runs_the_pytorch_kernel_where_decided(
    kwargs, gpu, masked, runs_torch_kernel, monkeypatch, rng
):
    spy = TorchKernelSpy()
    monkeypatch.setattr(recurrent, "run_torch_kernel", spy)
    monkeypatch.setattr(kernel_dispatch, "gpu_available", lambda: gpu)
    mask = harness.padding_mask([5, 3], timesteps=5) if masked else None
    ours = rl.LSTM(4, return_sequences=True, return_state=True, **kwargs)
    builtin = keras.layers.LSTM(4, return_sequences=True, return_state=True, **kwargs)
    ours(X), builtin(X)
    harness.randomize(builtin, rng)
    ours.set_weights(builtin.get_weights())
    spy.calls = 0
    harness.assert_outputs_close(ours(X, mask=mask), builtin(X, mask=mask))
    assert (spy.calls > 0) == (runs_torch_kernel and keras.backend.backend() == "torch")
