"""Text metrics and baselines (`rnnkeras.pipeline.text_metrics`) against a plain-Python reference."""

import doctest

import numpy as np
import pytest

import rnnkeras.pipeline.text_metrics as text_metrics
from rnnkeras.pipeline.text_metrics import (
    character_error_rate,
    exact_match,
    most_frequent_baseline,
    nearest_neighbour_baseline,
)


def edit_distance(a: str, b: str) -> int:
    """Wagner–Fischer dynamic programme: insertions, deletions, substitutions cost 1."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def random_strings(rng, count, alphabet="0123456789-ab"):
    return ["".join(rng.choice(list(alphabet), size=rng.integers(1, 12))) for _ in range(count)]


def test_docstring_examples_run():
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder(exclude_empty=True).find(text_metrics):
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_character_error_rate_is_summed_edits_over_summed_reference_length():
    rng = np.random.default_rng(0)
    references, predictions = random_strings(rng, 200), random_strings(rng, 200)
    predictions[:50] = references[:50]
    predictions[50] = ""  # an empty prediction: every reference character deleted
    expected = sum(map(edit_distance, references, predictions)) / sum(map(len, references))
    assert character_error_rate(references, predictions) == pytest.approx(expected, abs=1e-12)
    assert character_error_rate(references, references) == 0.0
    assert exact_match(references, predictions) == pytest.approx(50 / 200)


@pytest.mark.parametrize("metric", [exact_match, character_error_rate])
def test_metric_errors(metric):
    with pytest.raises(ValueError, match="Received: 2 references, 1 predictions"):
        metric(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="empty reference at index 1"):
        metric(["a", ""], ["a", "b"])


def test_nearest_neighbour_matches_a_brute_force_search():
    rng = np.random.default_rng(1)
    sources, queries = random_strings(rng, 300), random_strings(rng, 40)
    targets = [f"t{i}" for i in range(300)]
    expected = [targets[int(np.argmin([edit_distance(q, s) for s in sources]))] for q in queries]
    assert nearest_neighbour_baseline(sources, targets, queries, chunk=7) == expected


def test_baseline_errors_and_most_frequent():
    with pytest.raises(ValueError, match="Received: 2 sources, 1 targets"):
        nearest_neighbour_baseline(["a", "b"], ["x"], ["a"])
    with pytest.raises(ValueError, match="Received: none"):
        most_frequent_baseline([], 3)
    assert most_frequent_baseline(["x", "y", "y", "x", "z"], 2) == ["x", "x"]
