"""Decoding over a one-step decoder: greedy search, beam search and sampling.

Every function drives a *step function*
`step(tokens, states) -> (scores, new_states)`: `tokens` is an int32 NumPy
array `(rows,)` (the token each row emitted last), `states` a list of arrays
`(rows, ...)`, and `scores` `(rows, vocabulary_size)` are logits or
log-probabilities (the search applies `log_softmax`, which leaves
log-probabilities unchanged). `keras_step` makes one from a one-step Keras model
such as `rnnkeras.models.inference.step_model`. The step runs on the Keras
backend; the search bookkeeping (a few small arrays per step) runs in NumPy, so
the same search runs on TensorFlow, JAX and PyTorch.

Scores: a sequence's `score` is the sum of the log-probabilities the model gave
its tokens, `log p(y_1..y_n | start) = sum_t log p(y_t | y_<t)`, the end token
included when emitted (the model's own probabilities: temperature, top-k and
top-p change what is sampled, not the score). Beam search ranks finished
hypotheses by `score / length ** length_penalty` (Wu et al., 2016, divide by
a power of the length; `0` ranks by the raw sum, `1` by the mean per token).

Outputs are padded with `pad_token` after a sequence's end token; `lengths`
counts the tokens up to and including the end token.
"""

import dataclasses
from collections.abc import Callable

import keras
import numpy as np

StepFunction = Callable[[np.ndarray, list], tuple]


@dataclasses.dataclass
class Decoded:
    """What a search returns.

    Attributes:
        tokens: `(batch, max_length)`, or `(batch, beam_width, max_length)` for
            beam search (best first), padded with `pad_token`.
        scores: Summed log-probabilities, `(batch,)` or `(batch, beam_width)`.
        lengths: Tokens per sequence, end token included, same shape as `scores`.
    """

    tokens: np.ndarray
    scores: np.ndarray
    lengths: np.ndarray


def keras_step(model: keras.Model, outputs: str = "probabilities") -> StepFunction:
    """A step function from a one-step Keras model `[token (rows, 1), *states] -> [out, *states]`.

    The model may return fewer states than it takes: the trailing ones it does
    not return (a `seq2seq` decoder's encoder outputs and source tokens) are
    carried on unchanged, and beam search reorders them with the others.

    Args:
        model: The one-step decoder, e.g. `rnnkeras.models.inference.step_model(...)`.
        outputs: What the model's first output is: `"probabilities"` (a
            softmax) or `"logits"`. Default: `"probabilities"`.

    Returns:
        `step(tokens, states) -> (log_probabilities or logits, new_states)`, NumPy in and out.

    Raises:
        ValueError: If `outputs` is neither `"probabilities"` nor `"logits"`.

    Example:

    >>> import numpy as np
    >>> from rnnkeras.models import language_model
    >>> from rnnkeras.models.inference import step_model
    >>> step = keras_step(step_model(language_model(6, rnn="gru", units=4)))
    >>> scores, states = step(np.array([1, 2]), [np.zeros((2, 4), "float32")])
    >>> scores.shape, len(states)
    ((2, 6), 1)
    """
    if outputs not in ("probabilities", "logits"):
        raise ValueError(
            f"keras_step expects outputs in ('probabilities', 'logits'). Received: outputs={outputs!r}"
        )

    def step(tokens: np.ndarray, states: list) -> tuple[np.ndarray, list]:
        token = keras.ops.convert_to_tensor(np.asarray(tokens, "int32")[:, None])
        results = model([token, *(keras.ops.convert_to_tensor(s) for s in states)], training=False)
        first, *new_states = (keras.ops.convert_to_numpy(r) for r in results)
        # Inputs the model does not return (e.g. encoder outputs) stay as they are.
        new_states += list(states[len(new_states) :])
        scores = (
            np.log(np.maximum(first, np.finfo(first.dtype).tiny))
            if outputs == "probabilities"
            else first
        )
        return scores, new_states

    return step


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """Log-probabilities from logits along the last axis (stable: the maximum is subtracted)."""
    scores = np.asarray(scores, "float64")
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _check(owner: str, max_length, start_tokens) -> np.ndarray:
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
        raise ValueError(
            f"{owner} expects `max_length` to be a positive integer. Received: max_length={max_length!r}"
        )
    start = np.asarray(start_tokens)
    if start.ndim != 1 or not np.issubdtype(start.dtype, np.integer):
        raise ValueError(
            f"{owner} expects `start_tokens` as integer ids of shape (batch,). "
            f"Received: start_tokens shape={start.shape}, dtype={start.dtype}"
        )
    return start.astype("int32")


def _as_arrays(states: list) -> list[np.ndarray]:
    """States as NumPy arrays, whatever the backend made them (a model's outputs, say)."""
    return [keras.ops.convert_to_numpy(state) for state in states]


def _run(step, start, states, max_length, end_token, pad_token, choose) -> Decoded:
    """The shared left-to-right loop of greedy search and sampling."""
    batch = len(start)
    tokens = np.full((batch, max_length), pad_token, "int32")
    scores = np.zeros(batch)
    lengths = np.zeros(batch, "int32")
    done = np.zeros(batch, bool)
    previous, states = start, _as_arrays(states)
    for t in range(max_length):
        log_probabilities, states = step(previous, states)
        log_probabilities = log_softmax(log_probabilities)
        chosen = choose(log_probabilities)
        live = ~done
        tokens[live, t] = chosen[live]
        scores[live] += log_probabilities[live, chosen[live]]
        lengths[live] += 1
        if end_token is not None:
            done |= chosen == end_token
        if done.all():
            break
        previous = chosen.astype("int32")
    return Decoded(tokens, scores, lengths)


def greedy_decode(
    step: StepFunction,
    start_tokens,
    states: list,
    max_length: int,
    end_token: int | None = None,
    pad_token: int = 0,
) -> Decoded:
    """Greedy search: at each step the most probable token (the first on ties).

    Args:
        step: The step function (see the module docstring).
        start_tokens: Integer ids `(batch,)` fed at the first step.
        states: The decoder's initial states `(batch, ...)`, arrays or tensors.
        max_length: Tokens to emit at most.
        end_token: A row stops after emitting it; `None` runs `max_length` steps.
        pad_token: Fills the positions after a row's end. Default: `0`.

    Returns:
        A `Decoded` with `tokens (batch, max_length)`, `scores (batch,)`, `lengths (batch,)`.

    Raises:
        ValueError: If `max_length` is not a positive integer or `start_tokens`
            is not a 1-D integer array.

    Example:

    >>> import numpy as np
    >>> table = np.log(np.array([[.1, .2, .7], [.6, .3, .1], [.2, .5, .3]]))
    >>> step = lambda tokens, states: (table[tokens], states)
    >>> greedy_decode(step, np.array([0]), [], max_length=3).tokens
    array([[2, 1, 0]], dtype=int32)
    """
    start = _check("greedy_decode", max_length, start_tokens)
    return _run(step, start, states, max_length, end_token, pad_token, lambda lp: lp.argmax(-1))


def _filtered(log_probabilities: np.ndarray, temperature: float, top_k, top_p) -> np.ndarray:
    """The sampling distribution: temperature, then top-k, then top-p (nucleus) filtering."""
    logits = log_probabilities / temperature
    if top_k is not None:
        kth = np.sort(logits, axis=-1)[:, -min(top_k, logits.shape[-1])][:, None]
        logits = np.where(logits >= kth, logits, -np.inf)
    probabilities = np.exp(log_softmax(logits))
    if top_p is not None:
        order = np.argsort(-probabilities, axis=-1, kind="stable")
        ranked = np.take_along_axis(probabilities, order, axis=-1)
        # A token stays if the tokens ranked above it hold less than top_p:
        # the smallest set whose mass reaches top_p (Holtzman et al., 2020).
        keep_ranked = np.cumsum(ranked, axis=-1) - ranked < top_p
        keep = np.zeros_like(keep_ranked)
        np.put_along_axis(keep, order, keep_ranked, axis=-1)
        probabilities = np.where(keep, probabilities, 0.0)
        probabilities /= probabilities.sum(axis=-1, keepdims=True)
    return probabilities


def sample(
    step: StepFunction,
    start_tokens,
    states: list,
    max_length: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    end_token: int | None = None,
    pad_token: int = 0,
    seed: int | None = None,
) -> Decoded:
    """Ancestral sampling, with temperature, top-k and top-p (nucleus) filtering.

    At each step the log-probabilities are divided by `temperature`, reduced
    to the `top_k` most probable tokens (Fan et al., 2018), then to the smallest
    set whose probability reaches `top_p` (Holtzman et al., 2020), renormalized,
    and one token is drawn. The same `seed` gives the same sequences.

    Args:
        step: The step function (see the module docstring).
        start_tokens: Integer ids `(batch,)` fed at the first step.
        states: The decoder's initial states `(batch, ...)`, arrays or tensors.
        max_length: Tokens to emit at most.
        temperature: Above 0; below 1 sharpens, above 1 flattens. Default: `1.0`.
        top_k: Keep the `top_k` most probable tokens (ties with the `k`-th kept
            too); `None` keeps all. Default: `None`.
        top_p: Keep the nucleus of mass `top_p`, in `(0, 1]`; `None` keeps all.
            Default: `None`.
        end_token: A row stops after emitting it. Default: `None`.
        pad_token: Fills the positions after a row's end. Default: `0`.
        seed: Seed of NumPy's generator. Default: `None`.

    Returns:
        A `Decoded`; `scores` are the model's (unfiltered, temperature 1)
        summed log-probabilities of the drawn tokens.

    Raises:
        ValueError: If `temperature <= 0`, `top_k` is not a positive integer,
            `top_p` lies outside `(0, 1]`, or as `greedy_decode`.

    Example:

    >>> import numpy as np
    >>> table = np.log(np.array([[.1, .2, .7], [.6, .3, .1], [.2, .5, .3]]))
    >>> step = lambda tokens, states: (table[tokens], states)
    >>> sample(step, np.array([0, 0]), [], max_length=4, top_k=1, seed=0).tokens
    array([[2, 1, 0, 2],
           [2, 1, 0, 2]], dtype=int32)
    """
    start = _check("sample", max_length, start_tokens)
    if not isinstance(temperature, (int, float)) or temperature <= 0:
        raise ValueError(f"sample expects `temperature` > 0. Received: temperature={temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(
            f"sample expects `top_k` to be a positive integer. Received: top_k={top_k!r}"
        )
    if top_p is not None and not (isinstance(top_p, (int, float)) and 0 < top_p <= 1):
        raise ValueError(f"sample expects `top_p` in (0, 1]. Received: top_p={top_p!r}")
    generator = np.random.default_rng(seed)

    def choose(log_probabilities):
        probabilities = _filtered(log_probabilities, temperature, top_k, top_p)
        cumulative = np.cumsum(probabilities, axis=-1)
        draws = generator.random((len(probabilities), 1)) * cumulative[:, -1:]
        return (cumulative <= draws).sum(axis=-1).clip(0, probabilities.shape[-1] - 1)

    return _run(step, start, states, max_length, end_token, pad_token, choose)


def _ranked(hypotheses: list, length_penalty: float, beam_width: int) -> list:
    """The `beam_width` best `(score, tokens)` by `score / length ** length_penalty`."""
    return sorted(hypotheses, key=lambda h: -h[0] / len(h[1]) ** length_penalty)[:beam_width]


def beam_search(
    step: StepFunction,
    start_tokens,
    states: list,
    beam_width: int,
    max_length: int,
    end_token: int | None = None,
    length_penalty: float = 0.0,
    pad_token: int = 0,
) -> Decoded:
    """Beam search: the `beam_width` best prefixes are extended at each step, batched.

    Each live prefix is extended by every token; the extensions ending with
    `end_token` join the finished hypotheses, and the `beam_width` best of the
    others stay live. After `max_length` tokens the live prefixes are finished
    too. Hypotheses are ranked by `score / length ** length_penalty` (the
    module docstring defines both). With `length_penalty=0` the search stops
    early once no live prefix can beat the `beam_width`-th finished one (a
    prefix's score only falls as it grows). With a beam as wide as the number
    of prefixes the search is exhaustive, and `beam_width=1` is greedy search.

    Args:
        step: The step function (see the module docstring), called on
            `batch * beam_width` rows.
        start_tokens: Integer ids `(batch,)` fed at the first step.
        states: The decoder's initial states `(batch, ...)`, arrays or tensors.
        beam_width: Live prefixes kept per batch row, a positive integer.
        max_length: Tokens to emit at most.
        end_token: The token that finishes a hypothesis. Default: `None`.
        length_penalty: `alpha >= 0` of the ranking. Default: `0.0`.
        pad_token: Fills the positions after a hypothesis' end. Default: `0`.

    Returns:
        A `Decoded`: `tokens (batch, beam_width, max_length)`, `scores` and
        `lengths (batch, beam_width)`, best first. Where fewer than
        `beam_width` hypotheses exist, the rest have score `-inf`, length `0`.

    Raises:
        ValueError: If `beam_width` is not a positive integer, `length_penalty`
            is negative, or as `greedy_decode`.

    Example:

    >>> import numpy as np
    >>> table = np.log(np.array([[.1, .2, .7], [.6, .3, .1], [.2, .5, .3]]))
    >>> step = lambda tokens, states: (table[tokens], states)
    >>> best = beam_search(step, np.array([0]), [], beam_width=2, max_length=2)
    >>> best.tokens[0], np.exp(best.scores[0]).round(2)
    (array([[2, 1],
           [2, 2]], dtype=int32), array([0.35, 0.21]))
    """
    start = _check("beam_search", max_length, start_tokens)
    if isinstance(beam_width, bool) or not isinstance(beam_width, int) or beam_width < 1:
        raise ValueError(
            f"beam_search expects `beam_width` to be a positive integer. Received: beam_width={beam_width!r}"
        )
    if not isinstance(length_penalty, (int, float)) or length_penalty < 0:
        raise ValueError(
            f"beam_search expects `length_penalty` >= 0. Received: length_penalty={length_penalty!r}"
        )
    batch, width = len(start), beam_width
    states = [np.repeat(state, width, axis=0) for state in _as_arrays(states)]
    previous = np.repeat(start, width)
    # Only the first copy of each row is live at first, so no prefix is found twice.
    live_scores = np.full((batch, width), -np.inf)
    live_scores[:, 0] = 0.0
    live_tokens = np.zeros((batch, width, 0), "int32")
    finished = [[] for _ in range(batch)]
    for t in range(max_length):
        log_probabilities, states = step(previous, states)
        log_probabilities = log_softmax(log_probabilities).reshape(batch, width, -1)
        vocabulary = log_probabilities.shape[-1]
        candidates = live_scores[:, :, None] + log_probabilities
        scores = np.full((batch, width), -np.inf)
        sources = np.zeros((batch, width), "int64")
        chosen = np.zeros((batch, width), "int32")
        for row in range(batch):
            flat = candidates[row].ravel()
            kept = 0
            for index in np.argsort(-flat, kind="stable"):
                if not np.isfinite(flat[index]):
                    break
                beam, token = divmod(int(index), vocabulary)
                tokens = np.append(live_tokens[row, beam], token)
                if token == end_token or t == max_length - 1:
                    finished[row].append((float(flat[index]), tokens))
                elif kept < width:
                    scores[row, kept], sources[row, kept], chosen[row, kept] = (
                        flat[index],
                        beam,
                        token,
                    )
                    kept += 1
            if length_penalty == 0 and len(finished[row]) >= width:
                worst_kept = _ranked(finished[row], 0.0, width)[-1][0]
                scores[row, scores[row] <= worst_kept] = -np.inf
        if not np.isfinite(scores).any():
            break
        rows = (np.arange(batch)[:, None] * width + sources).ravel()
        states = [state[rows] for state in _as_arrays(states)]
        live_tokens = np.concatenate(
            [np.take_along_axis(live_tokens, sources[:, :, None], axis=1), chosen[:, :, None]],
            axis=-1,
        )
        live_scores, previous = scores, chosen.ravel()
    tokens = np.full((batch, width, max_length), pad_token, "int32")
    best_scores = np.full((batch, width), -np.inf)
    lengths = np.zeros((batch, width), "int32")
    for row in range(batch):
        for rank, (score, sequence) in enumerate(_ranked(finished[row], length_penalty, width)):
            tokens[row, rank, : len(sequence)] = sequence
            best_scores[row, rank], lengths[row, rank] = score, len(sequence)
    return Decoded(tokens, best_scores, lengths)
