"""One-to-many: a fixed vector conditions the decoder's initial state (`sequence_generator`)."""

import keras

from rnnkeras.models.recurrent_stack import check_positive, recurrent_stack, state_sizes


def sequence_generator(
    condition_features: int,
    vocabulary_size: int,
    embedding_dim: int = 8,
    max_length: int | None = None,
    rnn="lstm",
    units: int = 8,
    depth: int = 1,
    dropout: float = 0.0,
    residual: bool = False,
) -> keras.Model:
    """A one-to-many generator: a vector sets the initial state, the decoder emits tokens.

    As in image captioning (Vinyals et al., 2015, "Show and Tell"; Karpathy &
    Fei-Fei, 2015, who also condition through the initial state), each state of
    the decoder starts at `tanh(condition @ W + b)` (one `Dense` per state,
    `initial_state_<i>`) and at step `t` the decoder reads the previous token
    (teacher forcing: the target shifted right, a start token first) and
    predicts token `t`. Token `0` is padding and masked through to the loss.
    `rnnkeras.models.inference.generator_inference` splits it into an
    initial-state model and a one-step decoder for `rnnkeras.models.decoding`.

    Args:
        condition_features: Width of the conditioning vector.
        vocabulary_size: Number of token ids, `0` being padding.
        embedding_dim: Token embedding width. Default: `8`.
        max_length: Fixed number of steps, or `None` for any. Default: `None`.
        rnn: `"simple_rnn"`, `"lstm"`, `"gru"` or a recurrent layer class of
            `rnnkeras.layers`. Default: `"lstm"`.
        units: Units per decoder layer. Default: `8`.
        depth: Stacked decoder layers. Default: `1`.
        dropout: Dropout between stacked layers, in `[0, 1)`. Default: `0.0`.
        residual: Residual links between stacked layers. Default: `False`.

    Returns:
        An uncompiled `keras.Model` with inputs `[condition (batch,
        condition_features), previous_tokens (batch, timesteps)]` and output
        `(batch, timesteps, vocabulary_size)` next-token probabilities.

    Raises:
        ValueError: If a size is not a positive integer or `rnn` is unknown.

    Example:

    >>> import numpy as np
    >>> model = sequence_generator(3, vocabulary_size=6, rnn="gru", units=4)
    >>> probabilities = model([np.ones((2, 3), "float32"), np.array([[1, 2, 3], [1, 4, 0]])])
    >>> tuple(probabilities.shape)
    (2, 3, 6)
    """
    owner = "sequence_generator"
    check_positive(condition_features, "condition_features", owner)
    check_positive(vocabulary_size, "vocabulary_size", owner)
    check_positive(embedding_dim, "embedding_dim", owner)
    condition = keras.Input((condition_features,), name="condition")
    previous = keras.Input((max_length,), dtype="int32", name="previous_tokens")
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
    initial_state = [
        keras.layers.Dense(size, activation="tanh", name=f"initial_state_{index}")(condition)
        for index, size in enumerate(state_sizes(decoder))
    ]
    embedded = keras.layers.Embedding(
        vocabulary_size, embedding_dim, mask_zero=True, name="embedding"
    )(previous)
    sequence = decoder(embedded, initial_state=initial_state)[0]
    probabilities = keras.layers.Dense(vocabulary_size, activation="softmax", name="next_token")(
        sequence
    )
    return keras.Model([condition, previous], probabilities, name=owner)
