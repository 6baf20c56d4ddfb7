"""Many-to-many synchronized: one label per input step (`sequence_tagger`)."""

import keras

from rnnkeras.models.recurrent_stack import recurrent_stack
from rnnkeras.models.sequence_inputs import sequence_inputs


def sequence_tagger(
    tags: int,
    features: int | None = None,
    vocabulary_size: int | None = None,
    embedding_dim: int = 8,
    max_length: int | None = None,
    **core,
) -> keras.Model:
    """A sequence tagger: tag probabilities at every step, padded steps masked through to the loss.

    A recurrent encoder returns its whole sequence (bidirectional, it sees the
    left and right context of each step, as in Graves & Schmidhuber, 2005, for
    framewise labelling) and a `Dense` softmax is applied at every step. The
    padding mask made at the input (`Masking` or `Embedding(mask_zero=True)`)
    travels with the per-step output, and Keras turns an output's mask into
    sample weights for the compiled loss and metrics: padded steps count in
    neither the sum nor the average (`loss = mean over valid steps`), on every
    backend.

    Args:
        tags: Number of tags, at least 2.
        features: Float features per step (all-zero steps are padding); give
            this or `vocabulary_size`.
        vocabulary_size: Number of token ids, `0` being padding; give this or
            `features`.
        embedding_dim: Token embedding width. Default: `8`.
        max_length: Fixed number of steps, or `None` for any. Default: `None`.
        **core: `recurrent_stack` arguments (`rnn`, `units`, `depth`,
            `bidirectional`, `dropout`, `residual`).

    Returns:
        An uncompiled `keras.Model`, `(batch, timesteps[, features])` to
        `(batch, timesteps, tags)` probabilities.

    Raises:
        ValueError: If `tags` is below 2, the input is not described by exactly
            one of `features` and `vocabulary_size`, or `core` is invalid.

    Example:

    >>> import numpy as np
    >>> model = sequence_tagger(4, vocabulary_size=6, units=4, bidirectional=True)
    >>> tuple(model(np.array([[1, 2, 3, 0], [4, 5, 0, 0]])).shape)
    (2, 4, 4)
    """
    if isinstance(tags, bool) or not isinstance(tags, int) or tags < 2:
        raise ValueError(
            f"sequence_tagger expects `tags` to be an integer of at least 2. Received: tags={tags!r}"
        )
    inputs, sequences = sequence_inputs(
        "sequence_tagger", features, vocabulary_size, embedding_dim, max_length
    )
    states = recurrent_stack(**core, return_sequences=True, owner="sequence_tagger")(sequences)
    probabilities = keras.layers.Dense(tags, activation="softmax", name="tags")(states)
    return keras.Model(inputs, probabilities, name="sequence_tagger")
