"""GradientFlowMonitor on masked, padded batches: each probe sequence is read
between its own first and last real step, so padding never fakes a flag."""

import math
import warnings

import keras
import numpy as np
import pytest

from rnnkeras.callbacks import GradientFlowMonitor, GradientFlowWarning
from rnnkeras.callbacks.gradient_flow_plots import log10_timestep_norms
from rnnkeras.callbacks.gradient_ratios import log10_ratio
from rnnkeras.callbacks.time_step_probe import GradientProbe, find_recurrent_layers
from rnnkeras.layers import GRU, LSTM, Bidirectional
from tests.callbacks import linear_rnn
from tests.layers import harness

STEPS = 12
# Mixed lengths, padded at the end; the sequence of length 1 has no step to
# follow back in time and is left out of the ratio.
LENGTHS = np.array([9, 4, 12, 1, 6])


def end_padded_ones(lengths=LENGTHS, steps=STEPS):
    x = np.zeros((len(lengths), steps, 1), "float32")
    for row, length in enumerate(lengths):
        x[row, :length] = 1.0
    return x


def masked_linear_recurrence(w, upstream="masking", **layer_kwargs):
    """h_t = w * h_{t-1} + x_t with one unit, behind a mask; the loss is the
    sum of the outputs."""
    if upstream == "masking":
        inputs = keras.Input((STEPS, 1))
        hidden = keras.layers.Masking(mask_value=0.0)(inputs)
    else:
        inputs = keras.Input((STEPS,), dtype="int32")
        hidden = keras.layers.Embedding(2, 1, mask_zero=True, embeddings_initializer="ones")(inputs)
    outputs = linear_rnn.linear_rnn(w, name="rnn", **layer_kwargs)(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss=linear_rnn.sum_of_outputs)
    return model


def probe_inputs(upstream, lengths=LENGTHS):
    x = end_padded_ones(lengths)
    return x[..., 0].astype("int32") if upstream == "embedding" else x


def measured(model, x, y):
    monitor = GradientFlowMonitor(probe_data=(x, y))
    monitor.set_model(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradientFlowWarning)
        return {r["layer"]: r for r in monitor.measure()}


def pooled_log10_ratio(at_first, at_last):
    """The documented aggregate, from exact per-sequence values."""
    return math.log10(math.sqrt(sum(np.square(at_first))) / math.sqrt(sum(np.square(at_last))))


@pytest.mark.parametrize("lengths", [LENGTHS, LENGTHS.clip(max=STEPS - 1)], ids=["full", "short"])
@pytest.mark.parametrize("upstream", ["masking", "embedding"])
def test_padding_does_not_fake_exploding_gradients(upstream, lengths):
    """With w = 1 every real step gets the whole gradient: the exact ratio is
    0. Before masks were followed, the last step (padding in some or, with
    "short", all sequences) read as a small or zero gradient, and with
    "short" the ratio came out near +45, flagged exploding."""
    model = masked_linear_recurrence(1.0, upstream)
    record = measured(model, probe_inputs(upstream, lengths), np.zeros((5, 1), "float32"))["rnn"]

    real_sequences = (np.arange(STEPS)[None] < lengths[:, None]).sum(axis=0)
    assert record["log10_ratio"] == pytest.approx(0.0, abs=1e-6)
    assert record["status"] == "ok"
    assert record["lengths"] == lengths.tolist()
    assert record["real_sequences"] == real_sequences.tolist()
    # dL/dh_t = 1 for every sequence real at t, 0 at its padding.
    np.testing.assert_allclose(record["timestep_grad_norms"], np.sqrt(real_sequences), rtol=1e-6)


@pytest.mark.parametrize("upstream", ["masking", "embedding"])
def test_ratio_aggregates_the_exact_per_sequence_ratios(upstream):
    """w = 0.5: sequence i keeps 0.5^(L_i - 1) of its gradient, a log10 ratio
    of (L_i - 1) log10(0.5); g_i = 1 for every sequence."""
    w = 0.5
    model = masked_linear_recurrence(w, upstream)
    record = measured(model, probe_inputs(upstream), np.zeros((5, 1), "float32"))["rnn"]

    followed = LENGTHS[LENGTHS >= 2]
    per_sequence = (followed - 1) * math.log10(w)
    expected = pooled_log10_ratio(10.0**per_sequence, np.ones(len(followed)))
    assert record["log10_ratio"] == pytest.approx(expected, abs=1e-5)
    # Between the shortest followed sequence (-0.9) and the longest (-3.3).
    assert per_sequence.min() < expected < per_sequence.max()
    assert record["median_sequence_log10_ratio"] == pytest.approx(np.median(per_sequence), abs=1e-5)
    assert record["status"] == "ok"
    t = np.arange(STEPS)
    exact = np.where(t[None] < LENGTHS[:, None], w ** (LENGTHS[:, None] - 1 - t[None]), 0.0)
    np.testing.assert_allclose(
        record["recurrent_grad_norms"], np.sqrt(np.sum(exact**2, axis=0)), rtol=1e-5
    )


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_masked_ratio_follows_processing_order(go_backwards, return_sequences):
    """End padding read backwards comes first, so every sequence ends on its
    input 1 and starts on its input L_i; read forwards with the whole output
    sequence in the loss, the padded outputs copy the last real state and add
    (T - L_i) to its gradient g_i."""
    w = 0.5
    model = masked_linear_recurrence(
        w, go_backwards=go_backwards, return_sequences=return_sequences
    )
    y = np.zeros((5, STEPS if return_sequences else 1, 1), "float32")
    record = measured(model, end_padded_ones(), y)["rnn"]

    t = np.arange(STEPS)[None]
    lengths = LENGTHS[:, None]
    # Steps between h_t and each sequence's last state.
    distance = t if go_backwards else lengths - 1 - t
    extra = 0 if go_backwards or not return_sequences else STEPS - lengths
    last_gradient = (1 + extra) * np.ones_like(lengths)
    carried = np.where(t < lengths, last_gradient * w**distance, 0.0)
    np.testing.assert_allclose(
        record["recurrent_grad_norms"], np.sqrt(np.sum(carried**2, axis=0)), rtol=1e-5
    )
    followed = LENGTHS >= 2
    at_last = last_gradient[followed, 0]
    at_first = at_last * w ** (LENGTHS[followed] - 1)
    assert record["go_backwards"] is go_backwards
    assert record["log10_ratio"] == pytest.approx(pooled_log10_ratio(at_first, at_last), abs=1e-5)
    exact_median = np.median((LENGTHS[followed] - 1) * math.log10(w))
    assert record["median_sequence_log10_ratio"] == pytest.approx(exact_median, abs=1e-5)


def classifier(steps, seed=3, run_eagerly=False):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((steps, 3))
    hidden = keras.layers.Masking(mask_value=0.0)(inputs)
    hidden = Bidirectional(GRU(3, return_sequences=True, name="gru"), name="bidirectional")(hidden)
    hidden = LSTM(4, name="lstm")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="dense")(hidden))
    # Eager probes skip tracing, the larger cost for models this small.
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", run_eagerly=run_eagerly)
    return model


def test_padded_batch_matches_each_sequence_alone(rng):
    """Independent reference: each sequence run alone, unpadded, through the
    same weights. The padded batch's per-sequence gradients (scaled by the
    batch size, as the loss is a batch mean) must match at its real steps and
    be zero at its padding, for both halves of a Bidirectional whose whole
    output sequence is read and for the many-to-one LSTM after it."""
    steps, lengths = 7, np.array([7, 3, 5, 2])
    x = rng.normal(size=(len(lengths), steps, 3)).astype("float32")
    x[np.arange(steps)[None] >= lengths[:, None]] = 0.0
    y = np.array([0, 1, 1, 0])
    model = classifier(steps, run_eagerly=True)
    batch = GradientProbe(model, find_recurrent_layers(model), x, y).measure()
    records = measured(model, x, y)

    alone = {}
    for row, length in enumerate(lengths):
        single = classifier(int(length), run_eagerly=True)
        single.set_weights(model.get_weights())
        probe = GradientProbe(
            single, find_recurrent_layers(single), x[row : row + 1, :length], y[row : row + 1]
        )
        alone[row] = probe.measure()
    names = ["bidirectional/forward_gru", "bidirectional/backward_gru", "lstm"]
    assert sorted(batch.timestep_grad_norms) == sorted(names)
    for name in names:
        for kind in ("timestep_grad_norms", "recurrent_grad_norms"):
            for row, length in enumerate(lengths):
                ours = getattr(batch, kind)[name][row] * len(lengths)
                reference = getattr(alone[row], kind)[name][0]
                np.testing.assert_allclose(ours[:length], reference, rtol=1e-4, atol=1e-9)
                assert np.all(ours[length:] == 0.0)
        # The record's ratio, from the references' own first and last steps.
        carried = [alone[row].recurrent_grad_norms[name][0] for row in range(len(lengths))]
        first, last = (-1, 0) if name.endswith("backward_gru") else (0, -1)
        at_first, at_last = [c[first] for c in carried], [c[last] for c in carried]
        expected = pooled_log10_ratio(at_first, at_last)
        assert records[name]["log10_ratio"] == pytest.approx(expected, abs=1e-4)
        median = np.median(np.log10(at_first) - np.log10(at_last))
        assert records[name]["median_sequence_log10_ratio"] == pytest.approx(median, abs=1e-4)


def test_a_mask_without_padding_changes_nothing(rng):
    """Masking in front of data without any all-zero step: the same records
    as the same model without the Masking layer."""
    x = harness.inputs(rng, 4, 6, 3)
    y = np.array([0, 1, 1, 0])
    masked = classifier(6, run_eagerly=True)
    inputs = keras.Input((6, 3))
    hidden = masked.get_layer("bidirectional")(inputs)
    hidden = masked.get_layer("lstm")(hidden)
    unmasked = keras.Model(inputs, masked.layers[-1](hidden))
    unmasked.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", run_eagerly=True)

    with_mask, without = measured(masked, x, y), measured(unmasked, x, y)
    for name in ("bidirectional/forward_gru", "bidirectional/backward_gru", "lstm"):
        for key in ("timestep_grad_norms", "recurrent_grad_norms"):
            np.testing.assert_allclose(with_mask[name][key], without[name][key], rtol=1e-6)
        carried = np.asarray(without[name]["recurrent_grad_norms"])
        first, last = (carried[-1], carried[0]) if "backward" in name else (carried[0], carried[-1])
        # Unmasked, the ratio is that of the batch's combined series, as before masks.
        assert without[name]["log10_ratio"] == pytest.approx(math.log10(first / last), abs=1e-6)
        assert with_mask[name]["log10_ratio"] == pytest.approx(
            without[name]["log10_ratio"], abs=1e-5
        )


def test_no_sequence_with_two_real_steps_gives_no_ratio():
    model = masked_linear_recurrence(0.5)
    x = end_padded_ones(lengths=np.array([1, 1, 0]))
    y = np.zeros((3, 1), "float32")
    monitor = GradientFlowMonitor(probe_data=(x, y))
    history = model.fit(x, y, callbacks=[monitor], verbose=0)
    record = monitor.records[-1]
    assert record["lengths"] == [1, 1, 0]
    assert math.isnan(record["log10_ratio"])
    assert math.isnan(record["median_sequence_log10_ratio"])
    assert record["status"] == "ok"
    assert math.isnan(history.history["grad_flow_log10_ratio_min"][0])


def test_log10_ratio_aligns_each_sequence_and_checks_the_mask_shape():
    norms = [[0.01, 0.1, 1.0], [0.01, 1.0, 0.0]]
    real = [[True, True, True], [True, True, False]]
    assert log10_ratio(norms, real_steps=real) == pytest.approx(-2.0)
    # Read backwards, the second sequence starts at its input 2 and ends at input 1.
    expected = math.log10(math.sqrt(1.0 + 1.0) / math.sqrt(0.01**2 + 0.01**2))
    assert log10_ratio(norms, go_backwards=True, real_steps=real) == pytest.approx(expected)
    with pytest.raises(ValueError, match="^log10_ratio expects.*Received: real_steps.shape"):
        log10_ratio(norms, real_steps=[[True, True, True]])


def test_heatmap_leaves_steps_padded_everywhere_blank():
    record = {"timestep_grad_norms": [0.1, 0.0, 0.0], "real_sequences": [3, 1, 0]}
    values = log10_timestep_norms(record)
    assert values[0] == pytest.approx(-1.0)
    # Real somewhere but with no gradient: the floor; padding everywhere: blank.
    assert values[1] == pytest.approx(math.log10(1e-45))
    assert math.isnan(values[2])
