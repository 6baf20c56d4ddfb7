"""`language_model`: next-token prediction over characters or tokens."""

import keras

from rnnkeras.models.recurrent_stack import check_positive, recurrent_stack


def language_model(
    vocabulary_size: int,
    embedding_dim: int = 8,
    max_length: int | None = None,
    rnn="lstm",
    units: int = 8,
    depth: int = 1,
    dropout: float = 0.0,
    residual: bool = False,
) -> keras.Model:
    """A recurrent language model: at each step, the probabilities of the next token.

    The recurrent language model of Mikolov et al. (2010) with LSTM or GRU
    layers (Sutskever et al., 2011, and Graves, 2013, over characters): token
    ids (characters or words; `0` is padding, masked through to the loss) are
    embedded, run through the recurrent `decoder` from zero states, and a
    `Dense` softmax predicts the following token at every step. Train it on
    `(tokens[:, :-1], tokens[:, 1:])`. For generation,
    `rnnkeras.models.inference.step_model` gives the one-step form whose
    states carry over from call to call (stateful generation: a prompt is read
    once, then each new token costs one step), and `rnnkeras.models.decoding`
    samples, greedily decodes or beam-searches with it.

    Args:
        vocabulary_size: Number of token ids, `0` being padding.
        embedding_dim: Token embedding width. Default: `8`.
        max_length: Fixed number of steps, or `None` for any. Default: `None`.
        rnn: `"simple_rnn"`, `"lstm"`, `"gru"` or a recurrent layer class of
            `rnnkeras.layers`. Default: `"lstm"`.
        units: Units per layer. Default: `8`.
        depth: Stacked layers. Default: `1`.
        dropout: Dropout between stacked layers, in `[0, 1)`. Default: `0.0`.
        residual: Residual links between stacked layers. Default: `False`.

    Returns:
        An uncompiled `keras.Model`, `(batch, timesteps)` token ids to
        `(batch, timesteps, vocabulary_size)` next-token probabilities.

    Raises:
        ValueError: If a size is not a positive integer or `rnn` is unknown.

    Example:

    >>> import numpy as np
    >>> model = language_model(6, units=4)
    >>> tuple(model(np.array([[1, 2, 3], [4, 5, 0]])).shape)
    (2, 3, 6)
    """
    owner = "language_model"
    check_positive(vocabulary_size, "vocabulary_size", owner)
    check_positive(embedding_dim, "embedding_dim", owner)
    tokens = keras.Input((max_length,), dtype="int32", name="tokens")
    decoder = recurrent_stack(
        rnn,
        units,
        depth,
        return_sequences=True,
        return_state=True,
        dropout=dropout,
        residual=residual,
        name="decoder",
        owner=owner,
    )
    embedded = keras.layers.Embedding(
        vocabulary_size, embedding_dim, mask_zero=True, name="embedding"
    )(tokens)
    sequence = decoder(embedded)[0]
    probabilities = keras.layers.Dense(vocabulary_size, activation="softmax", name="next_token")(
        sequence
    )
    return keras.Model(tokens, probabilities, name=owner)
