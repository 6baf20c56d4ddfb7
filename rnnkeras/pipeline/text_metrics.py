"""Scores of predicted text against references, and the baselines a text model must beat.

- `exact_match`: the share of predictions equal to their reference, character for character.
- `character_error_rate`: jiwer's corpus CER, the Levenshtein edits (substitutions, deletions,
  insertions) summed over all pairs divided by the reference characters summed (so long
  references weigh more); `0` is perfect, and it can exceed `1` (long wrong predictions).
- `nearest_neighbour_baseline`: for each query, the target of the training source closest to
  it in Levenshtein distance (rapidfuzz): a model that memorised the training set perfectly
  and generalises by string similarity alone.
- `most_frequent_baseline`: the commonest training target for every query.

jiwer (Apache-2.0) and rapidfuzz (MIT) are imported inside the functions that use them.
"""

import collections

import numpy as np


def _checked(references, predictions, owner: str) -> tuple[list[str], list[str]]:
    references, predictions = [str(r) for r in references], [str(p) for p in predictions]
    if len(references) != len(predictions) or not references:
        raise ValueError(
            f"{owner} expects as many predictions as references, at least one. "
            f"Received: {len(references)} references, {len(predictions)} predictions"
        )
    if any(not reference for reference in references):
        raise ValueError(
            f"{owner} expects non-empty references (the error rate divides by their length). "
            f"Received: an empty reference at index {references.index('')}"
        )
    return references, predictions


def exact_match(references, predictions) -> float:
    """The share of `predictions` equal to their `references` (strings), in [0, 1].

    Raises:
        ValueError: If the two differ in length, are empty or a reference is empty.

    Example:

    >>> exact_match(["1987-03-14", "2001-01-01"], ["1987-03-14", "2001-01-02"])
    0.5
    """
    references, predictions = _checked(references, predictions, "exact_match")
    return float(np.mean([r == p for r, p in zip(references, predictions, strict=True)]))


def character_error_rate(references, predictions) -> float:
    """Corpus character error rate: summed edit distance over summed reference length (jiwer).

    Raises:
        ValueError: As `exact_match`.

    Example:

    >>> character_error_rate(["1987-03-14", "2001-01-01"], ["1987-03-14", "2001-01-0"])
    0.05
    """
    import jiwer

    references, predictions = _checked(references, predictions, "character_error_rate")
    return float(jiwer.cer(references, predictions))


def nearest_neighbour_baseline(
    train_sources, train_targets, queries, chunk: int = 512
) -> list[str]:
    """For each query, the target of the training source nearest in Levenshtein distance.

    Ties go to the earliest training pair, so the result is deterministic.

    Args:
        train_sources: Training source strings.
        train_targets: Their targets, same length.
        queries: Source strings to answer.
        chunk: Queries compared at once (memory: `chunk * len(train_sources)` int32s).

    Returns:
        One target per query.

    Raises:
        ValueError: If the training lists differ in length or are empty.

    Example:

    >>> nearest_neighbour_baseline(["14 March 1987", "2 May 2001"], ["1987-03-14", "2001-05-02"],
    ...                            ["15 March 1987"])
    ['1987-03-14']
    """
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import cdist

    train_sources, train_targets = list(train_sources), list(train_targets)
    if len(train_sources) != len(train_targets) or not train_sources:
        raise ValueError(
            "nearest_neighbour_baseline expects one target per training source, at least one. "
            f"Received: {len(train_sources)} sources, {len(train_targets)} targets"
        )
    queries = list(queries)
    answers = []
    for start in range(0, len(queries), chunk):
        distances = cdist(
            queries[start : start + chunk], train_sources, scorer=Levenshtein.distance, workers=1
        )
        answers += [train_targets[int(i)] for i in np.argmin(distances, axis=1)]
    return answers


def most_frequent_baseline(train_targets, count: int) -> list[str]:
    """The commonest training target (the first seen on ties), `count` times.

    Example:

    >>> most_frequent_baseline(["a", "b", "b"], 2)
    ['b', 'b']
    """
    counts = collections.Counter(train_targets)
    if not counts:
        raise ValueError("most_frequent_baseline expects training targets. Received: none")
    return [counts.most_common(1)[0][0]] * count
