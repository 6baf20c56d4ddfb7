"""Greedy search, beam search and sampling over a real one-step Keras decoder.

The reference is exhaustive: every token sequence of a 4-token vocabulary up to
3 tokens is scored by running the decoder over it, and the best is picked by
hand; beam search with a beam as wide as the search space must return it.
"""

import itertools

import keras
import numpy as np
import pytest

from rnnkeras.models import language_model
from rnnkeras.models.decoding import beam_search, greedy_decode, keras_step, log_softmax, sample
from rnnkeras.models.inference import step_model

VOCABULARY, LENGTH, UNITS = 4, 3, 3
START = np.array([1, 2], "int32")


@pytest.fixture(scope="module")
def step():
    keras.utils.set_random_seed(3)
    model = language_model(VOCABULARY, embedding_dim=3, rnn="gru", units=UNITS)
    rng = np.random.default_rng(4)
    # Larger weights than the initializers' spread the next-token distributions.
    model.set_weights(
        [rng.normal(0, 1.5, size=w.shape).astype("float32") for w in model.get_weights()]
    )
    return keras_step(step_model(model))


def zeros(rows):
    return [np.zeros((rows, UNITS), "float32")]


def all_log_probabilities(step, start):
    """Log-probabilities at each position of every full-length sequence, in one batch."""
    sequences = np.array(list(itertools.product(range(VOCABULARY), repeat=LENGTH)), "int32")
    previous, states, per_step = np.full(len(sequences), start, "int32"), zeros(len(sequences)), []
    for t in range(LENGTH):
        scores, states = step(previous, states)
        per_step.append(log_softmax(scores)[np.arange(len(sequences)), sequences[:, t]])
        previous = sequences[:, t]
    return sequences, np.stack(per_step, axis=1)


def brute_force_best(step, start, end_token, length_penalty):
    """The best sequence and its summed log-probability, by enumeration."""
    sequences, log_probabilities = all_log_probabilities(step, start)
    candidates = {}
    for sequence, scores in zip(sequences, log_probabilities, strict=True):
        for length in range(1, LENGTH + 1):
            prefix = tuple(int(token) for token in sequence[:length])
            ended = end_token is not None and prefix[-1] == end_token
            if end_token is not None and end_token in prefix[:-1]:
                continue
            if ended or length == LENGTH:
                candidates[prefix] = float(scores[:length].sum())
    best = max(candidates, key=lambda p: candidates[p] / len(p) ** length_penalty)
    return best, candidates[best]


@pytest.mark.parametrize(("end_token", "length_penalty"), [(None, 0.0), (3, 0.0), (3, 1.0)])
def test_wide_beam_finds_the_brute_force_best(step, end_token, length_penalty):
    result = beam_search(
        step,
        START,
        zeros(len(START)),
        beam_width=VOCABULARY**LENGTH,
        max_length=LENGTH,
        end_token=end_token,
        length_penalty=length_penalty,
    )
    for row, start in enumerate(START):
        best, score = brute_force_best(step, start, end_token, length_penalty)
        length = result.lengths[row, 0]
        assert tuple(result.tokens[row, 0, :length]) == best
        assert result.scores[row, 0] == pytest.approx(score, abs=1e-5)
    # Hypotheses that end early are among those ranked, so the end token is exercised.
    assert (result.lengths[:, 1:] < LENGTH).any() == (end_token is not None)


@pytest.mark.parametrize("end_token", [None, 3])
def test_beam_width_one_is_greedy(step, end_token):
    greedy = greedy_decode(step, START, zeros(2), max_length=LENGTH, end_token=end_token)
    beam = beam_search(step, START, zeros(2), beam_width=1, max_length=LENGTH, end_token=end_token)
    np.testing.assert_array_equal(beam.tokens[:, 0], greedy.tokens)
    np.testing.assert_array_equal(beam.lengths[:, 0], greedy.lengths)
    np.testing.assert_allclose(beam.scores[:, 0], greedy.scores, rtol=0, atol=1e-6)


def test_greedy_scores_are_summed_log_probabilities(step):
    greedy = greedy_decode(step, START, zeros(2), max_length=LENGTH)
    sequences, log_probabilities = all_log_probabilities(step, START[0])
    row = [tuple(s) for s in sequences].index(tuple(greedy.tokens[0]))
    assert greedy.scores[0] == pytest.approx(log_probabilities[row].sum(), abs=1e-5)


def first_step_probabilities(step):
    scores, _ = step(START, zeros(2))
    return np.exp(log_softmax(scores))


def drawn_first_tokens(step, **options):
    rows = 64
    start = np.repeat(START[:1], rows)
    return set(sample(step, start, zeros(rows), max_length=1, seed=5, **options).tokens[:, 0])


def test_top_k_draws_only_the_k_most_probable(step):
    probabilities = first_step_probabilities(step)[0]
    top_two = set(np.argsort(-probabilities)[:2])
    assert drawn_first_tokens(step, top_k=2) == top_two


def test_top_k_beyond_the_vocabulary_keeps_every_token(step):
    assert drawn_first_tokens(step, top_k=VOCABULARY + 3) == drawn_first_tokens(step)


def test_top_p_draws_only_the_nucleus(step):
    probabilities = first_step_probabilities(step)[0]
    order = np.argsort(-probabilities)
    mass = np.cumsum(probabilities[order])
    top_p = float((mass[0] + mass[1]) / 2)  # strictly between the first two cumulative masses
    nucleus = set(order[:2])
    assert drawn_first_tokens(step, top_p=top_p) == nucleus
    assert drawn_first_tokens(step, top_p=float(mass[0]) / 2) == set(order[:1])


def test_sampling_is_reproducible_with_a_seed(step):
    first = sample(step, START, zeros(2), max_length=LENGTH, temperature=2.0, seed=7)
    again = sample(step, START, zeros(2), max_length=LENGTH, temperature=2.0, seed=7)
    np.testing.assert_array_equal(first.tokens, again.tokens)
    draws = {
        tuple(sample(step, START, zeros(2), max_length=LENGTH, seed=s).tokens.ravel())
        for s in range(6)
    }
    assert len(draws) > 1, "different seeds should draw different sequences"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: beam_search(s, START, zeros(2), beam_width=0, max_length=2), "beam_width=0"),
        (lambda s: beam_search(s, START, zeros(2), 2, 2, length_penalty=-1), "length_penalty=-1"),
        (lambda s: greedy_decode(s, START, zeros(2), max_length=0), "max_length=0"),
        (lambda s: sample(s, START, zeros(2), 2, temperature=0), "temperature=0"),
        (lambda s: sample(s, START, zeros(2), 2, top_p=1.5), "top_p=1.5"),
        (lambda s: sample(s, START, zeros(2), 2, top_k=0), "top_k=0"),
        (lambda s: greedy_decode(s, np.array([[1]]), zeros(1), 2), r"shape=\(1, 1\)"),
    ],
)
def test_bad_search_arguments_are_refused(step, call, message):
    with pytest.raises(ValueError, match=message):
        call(step)
