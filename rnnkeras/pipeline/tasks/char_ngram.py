"""A smoothed character n-gram model: the baseline a character language model must beat.

Interpolated Witten-Bell smoothing (Witten & Bell, 1991; as described by Chen & Goodman, 1999,
"An empirical study of smoothing techniques for language modeling", section 2.5): with `h`
the last `k` characters and `h'` the last `k - 1`,

    p(c | h) = (C(h c) + T(h) p(c | h')) / (C(h) + T(h)),

where `C` counts in the training text and `T(h)` is the number of different characters seen
after `h`; an unseen context falls back to `p(c | h')`. The recursion ends in the add-one
unigram `p(c) = (C(c) + 1) / (N + V)` over the `V` ids of the vocabulary, so every id gets
a probability and each distribution sums to 1. Contexts never reach back across the start of a
sequence, as the recurrent model starts each sequence from zero states.

Scores are bits per character, `mean(-log2 p(target))`, and perplexity `2 ** bits`.
"""

from collections import Counter, defaultdict

import numpy as np


class CharacterNgram:
    """An order-`order` interpolated Witten-Bell model over ids `0 .. vocabulary_size - 1`.

    Args:
        order: Characters per n-gram, context included (`1`: the unigram).
        vocabulary_size: Number of ids every distribution covers.

    Raises:
        ValueError: If `order` or `vocabulary_size` is not a positive integer.

    Example:

    >>> model = CharacterNgram(2, vocabulary_size=4).fit([np.array([1, 2, 1, 2, 1, 3])])
    >>> round(model.probability((1,), 2), 4)
    0.52
    >>> round(sum(model.probability((1,), c) for c in range(4)), 6)
    1.0
    """

    def __init__(self, order: int, vocabulary_size: int):
        for name, value in (("order", order), ("vocabulary_size", vocabulary_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"CharacterNgram expects `{name}` to be a positive integer. "
                    f"Received: {name}={value!r}"
                )
        self.order = order
        self.vocabulary_size = vocabulary_size
        self._counts: dict[tuple, Counter] = defaultdict(Counter)

    def fit(self, sequences) -> "CharacterNgram":
        """Counts the n-grams of each id sequence (padding ids `0` at the end are skipped)."""
        for sequence in sequences:
            ids = [int(i) for i in np.asarray(sequence) if i != 0]
            for position, character in enumerate(ids):
                for k in range(min(self.order - 1, position) + 1):
                    self._counts[tuple(ids[position - k : position])][character] += 1
        self._totals = {context: sum(c.values()) for context, c in self._counts.items()}
        return self

    def with_order(self, order: int) -> "CharacterNgram":
        """This model at a lower `order`, sharing its counts (a model counted at order `n`
        holds every shorter context's counts too): no second pass over the text.

        Raises:
            ValueError: If `order` is not in `1 .. self.order`.
        """
        if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= self.order:
            raise ValueError(
                f"CharacterNgram.with_order expects an order from 1 to {self.order}. "
                f"Received: order={order!r}"
            )
        lower = CharacterNgram(order, self.vocabulary_size)
        lower._counts, lower._totals = self._counts, self._totals
        return lower

    def probability(self, context: tuple, character: int) -> float:
        """`p(character | context)`; only the last `order - 1` ids of `context` are used."""
        unigram = self._counts.get((), Counter())
        p = (unigram[character] + 1) / (self._totals.get((), 0) + self.vocabulary_size)
        context = tuple(context)[len(context) - self.order + 1 :] if self.order > 1 else ()
        for k in range(1, len(context) + 1):
            h = context[len(context) - k :]
            counts = self._counts.get(h)
            if counts is None:
                break
            types = len(counts)
            p = (counts[character] + types * p) / (self._totals[h] + types)
        return p

    def log2_probabilities(self, inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """`log2 p(targets[i, t] | inputs[i, :t+1])` for every step, `(n, timesteps)`.

        As a language model's training pairs: `targets[:, t]` follows `inputs[:, t]`.
        """
        inputs, targets = np.asarray(inputs), np.asarray(targets)
        result = np.zeros(targets.shape)
        for row, (x, y) in enumerate(zip(inputs.tolist(), targets.tolist(), strict=True)):
            for t, target in enumerate(y):
                context = tuple(x[max(0, t + 2 - self.order) : t + 1])
                result[row, t] = np.log2(self.probability(context, target))
        return result


def bits_per_character(log2_probabilities: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean of `-log2 p` over the real steps (`mask` `True`; all steps without a mask).

    Example:

    >>> bits_per_character(np.log2([[0.5, 0.25, 1.0]]), np.array([[True, True, False]]))
    1.5
    """
    values = np.asarray(log2_probabilities, np.float64)
    values = values[np.asarray(mask, bool)] if mask is not None else values.ravel()
    return float(-values.mean())


def model_log2_probabilities(probabilities: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """`log2` of the probability a model gave each target, `(n, timesteps)`.

    Example:

    >>> model_log2_probabilities(np.array([[[0.5, 0.5], [0.25, 0.75]]]), np.array([[1, 0]])).tolist()
    [[-1.0, -2.0]]
    """
    chosen = np.take_along_axis(np.asarray(probabilities), np.asarray(targets)[..., None], -1)
    return np.log2(np.maximum(chosen[..., 0].astype(np.float64), np.finfo(np.float32).tiny))


def best_order(
    train: np.ndarray,
    val_inputs: np.ndarray,
    val_targets: np.ndarray,
    vocabulary_size: int,
    orders=range(1, 8),
) -> tuple[CharacterNgram, dict[int, float]]:
    """The n-gram model whose order gives the fewest bits per character on the validation split.

    Args:
        train: `(n, timesteps + 1)` (or any) id sequences to count.
        val_inputs, val_targets: The validation split's language-model pairs.
        vocabulary_size: Number of ids.
        orders: The orders tried.

    Returns:
        `(model, bits)`: the chosen fitted model and the validation bits per character of each
        order tried.
    """
    bits, models = {}, {}
    mask = np.asarray(val_targets) != 0
    counted = CharacterNgram(max(orders), vocabulary_size).fit(train)
    for order in orders:
        model = counted.with_order(order)
        bits[order] = bits_per_character(model.log2_probabilities(val_inputs, val_targets), mask)
        models[order] = model
    best = min(bits, key=bits.get)
    return models[best], bits
