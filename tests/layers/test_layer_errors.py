"""Bad input raises a ValueError that names the layer, says what was expected and what came."""

import re

import keras
import numpy as np
import pytest

from rnnkeras import layers as rl

LAYERS = ["SimpleRNN", "LSTM", "GRU"]
X = np.zeros((2, 5, 3), "float32")


def assert_names(error, *names):
    message = str(error.value)
    assert any(re.search(rf"\b{re.escape(name)}\b", message) for name in names), (
        f"the message names none of {names}: {message}"
    )
    assert "received" in message.lower(), f"the message does not say what it received: {message}"


@pytest.mark.parametrize("units", [0, -3])
@pytest.mark.parametrize("name", LAYERS)
def test_layer_rejects_non_positive_units(name, units):
    with pytest.raises(ValueError, match="units") as error:
        getattr(rl, name)(units, name="encoder")
    assert_names(error, "encoder", name)


@pytest.mark.parametrize("name", [n + "Cell" for n in LAYERS])
def test_cell_rejects_non_positive_units(name):
    with pytest.raises(ValueError, match="units") as error:
        getattr(rl, name)(0)
    assert_names(error, name)


@pytest.mark.parametrize("shape", [(2, 5), (2, 5, 3, 1)], ids=["rank2", "rank4"])
@pytest.mark.parametrize("name", LAYERS)
def test_input_must_be_rank_3(name, shape):
    layer = getattr(rl, name)(4, name="encoder")
    with pytest.raises(ValueError, match="rank|ndim") as error:
        layer(np.zeros(shape, "float32"))
    assert_names(error, "encoder")


def test_symbolic_input_must_be_rank_3():
    with pytest.raises(ValueError, match="rank|ndim") as error:
        rl.LSTM(4, name="encoder")(keras.Input((5,)))
    assert_names(error, "encoder")


def test_wrappers_reject_rank_2_input():
    bidirectional = rl.Bidirectional(rl.GRU(4, name="inner"), name="both_ways")
    with pytest.raises(ValueError, match="rank|ndim") as error:
        bidirectional(np.zeros((2, 5), "float32"))
    assert_names(error, "both_ways", "forward_inner", "backward_inner")
    stacked = rl.StackedRNN([rl.GRU(4, name="bottom"), rl.GRU(4)], name="deep")
    with pytest.raises(ValueError, match="rank|ndim") as error:
        stacked(np.zeros((2, 5), "float32"))
    assert_names(error, "deep", "bottom")


@pytest.mark.parametrize("name", LAYERS)
def test_feature_dimension_cannot_change_after_build(name):
    layer = getattr(rl, name)(4, name="encoder")
    layer(X)
    with pytest.raises(ValueError, match=r"axis -1|feature") as error:
        layer(np.zeros((2, 5, 4), "float32"))
    assert_names(error, "encoder")


def test_bidirectional_feature_dimension_cannot_change_after_build():
    layer = rl.Bidirectional(rl.LSTM(4, name="inner"), name="both_ways")
    layer(X)
    with pytest.raises(ValueError, match=r"axis -1|feature") as error:
        layer(np.zeros((2, 5, 4), "float32"))
    assert_names(error, "both_ways", "forward_inner")


def zeros(*shape):
    return np.zeros(shape, "float32")


INITIAL_STATE_CASES = [
    ("LSTM", [zeros(2, 4)], "too_few"),
    ("LSTM", [zeros(2, 4)] * 3, "too_many"),
    ("GRU", [zeros(2, 4)] * 2, "too_many"),
    ("SimpleRNN", [zeros(2, 4)] * 2, "too_many"),
    ("LSTM", [zeros(2, 4), zeros(2, 5)], "wrong_units"),
    ("GRU", [zeros(2, 6)], "wrong_units"),
    ("SimpleRNN", [zeros(4)], "wrong_rank"),
    ("GRU", [zeros(3, 4)], "wrong_batch"),
    ("LSTM", [zeros(3, 4), zeros(3, 4)], "wrong_batch"),
]


@pytest.mark.parametrize(
    "name, states, problem",
    INITIAL_STATE_CASES,
    ids=[f"{n}-{p}" for n, _, p in INITIAL_STATE_CASES],
)
def test_initial_state_count_and_shape_are_checked(name, states, problem):
    layer = getattr(rl, name)(4, name="encoder")
    with pytest.raises(ValueError, match="initial_state") as error:
        layer(X, initial_state=states)
    assert_names(error, "encoder")


def test_bidirectional_initial_state_count_is_checked():
    layer = rl.Bidirectional(rl.LSTM(4), name="both_ways")
    with pytest.raises(ValueError, match="initial.state") as error:
        layer(X, initial_state=[zeros(2, 4)] * 3)
    assert_names(error, "both_ways")


def test_stacked_initial_state_count_is_checked():
    layer = rl.StackedRNN([rl.GRU(4), rl.LSTM(4)], name="deep")
    with pytest.raises(ValueError, match="initial.state") as error:
        layer(X, initial_state=[zeros(2, 4)] * 2)
    assert_names(error, "deep")


@pytest.mark.parametrize("merge_mode", ["max", "Concat", ""])
def test_unknown_merge_mode(merge_mode):
    with pytest.raises(ValueError, match="merge_mode") as error:
        rl.Bidirectional(rl.LSTM(4), merge_mode=merge_mode, name="both_ways")
    assert_names(error, "both_ways")
    assert repr(merge_mode) in str(error.value) or f"={merge_mode}" in str(error.value)


@pytest.mark.parametrize("argument", ["dropout", "recurrent_dropout"])
def test_dropout_rate_must_lie_in_unit_interval(argument):
    with pytest.raises(ValueError, match=argument):
        rl.GRU(4, **{argument: 1.5})


def test_stacked_rnn_dropout_is_checked_as_a_cell_rate_is():
    with pytest.raises(ValueError) as error:
        rl.StackedRNN([rl.GRU(4)], dropout=1.0, name="deep")
    assert (
        str(error.value) == "StackedRNN 'deep' expects `dropout` in [0, 1). Received: dropout=1.0"
    )


NON_FLOAT_DTYPES = ["string", "int32", "bool", "uint8", "complex64"]
ALL_CLASSES = {
    **{name: lambda layer=name, **kw: getattr(rl, layer)(4, **kw) for name in LAYERS},
    **{
        f"{name}Cell": lambda layer=name, **kw: getattr(rl, f"{layer}Cell")(4, **kw)
        for name in LAYERS
    },
    "Bidirectional": lambda **kw: rl.Bidirectional(rl.LSTM(4), **kw),
    "StackedRNN": lambda **kw: rl.StackedRNN([rl.GRU(4)], **kw),
}


@pytest.mark.parametrize("dtype", NON_FLOAT_DTYPES)
@pytest.mark.parametrize("name", ALL_CLASSES)
def test_non_float_dtype_is_refused_at_construction(name, dtype):
    with pytest.raises(ValueError, match=f"Received: dtype='{dtype}'") as error:
        ALL_CLASSES[name](dtype=dtype)
    assert_names(error, name)


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU", "Bidirectional", "StackedRNN"])
def test_zero_time_steps_are_refused_naming_the_layer(name):
    with pytest.raises(ValueError, match="at least one time step") as error:
        ALL_CLASSES[name](name="no_steps")(np.zeros((2, 0, 3), "float32"))
    assert_names(error, "no_steps")
    with pytest.raises(ValueError, match="at least one time step"):
        ALL_CLASSES[name]()(keras.Input((0, 3)))


def test_zero_time_steps_after_build_are_refused():
    layer = rl.GRU(4, name="built_first")
    layer(X)
    with pytest.raises(ValueError, match="at least one time step") as error:
        layer(np.zeros((2, 0, 3), "float32"))
    assert_names(error, "built_first")
