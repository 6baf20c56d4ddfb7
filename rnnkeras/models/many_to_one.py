"""Many-to-one models: a whole sequence to one label (`sequence_classifier`) or value
(`sequence_regressor`)."""

import keras

from rnnkeras.models.recurrent_stack import check_positive, recurrent_stack
from rnnkeras.models.sequence_inputs import sequence_inputs


def _many_to_one(
    owner, outputs, activation, features, vocabulary_size, embedding_dim, max_length, core, name
):
    inputs, sequences = sequence_inputs(owner, features, vocabulary_size, embedding_dim, max_length)
    summary = recurrent_stack(**core, owner=owner)(sequences)
    head = keras.layers.Dense(outputs, activation=activation, name="head")(summary)
    return keras.Model(inputs, head, name=name)


def sequence_classifier(
    classes: int,
    features: int | None = None,
    vocabulary_size: int | None = None,
    embedding_dim: int = 8,
    max_length: int | None = None,
    **core,
) -> keras.Model:
    """A many-to-one classifier: the last state of a recurrent encoder to class probabilities.

    The encoder reads the sequence up to its last valid step (padding is
    masked) and a `Dense` softmax reads its final output, as in sentiment
    classification. Pair it with `sparse_categorical_crossentropy`.

    Args:
        classes: Number of classes, at least 2.
        features: Float features per step (all-zero steps are padding); give
            this or `vocabulary_size`.
        vocabulary_size: Number of token ids, `0` being padding; give this or
            `features`.
        embedding_dim: Token embedding width. Default: `8`.
        max_length: Fixed number of steps, or `None` for any. Default: `None`.
        **core: `recurrent_stack` arguments: `rnn` (`"simple_rnn"`, `"lstm"`,
            `"gru"` or a layer class), `units`, `depth`, `bidirectional`,
            `dropout`, `residual`.

    Returns:
        An uncompiled `keras.Model`, `(batch, timesteps[, features])` to
        `(batch, classes)` probabilities.

    Raises:
        ValueError: If `classes` is below 2, the input is not described by
            exactly one of `features` and `vocabulary_size`, or `core` is invalid.

    Example:

    >>> import numpy as np
    >>> model = sequence_classifier(3, vocabulary_size=6, rnn="gru", units=4, bidirectional=True)
    >>> probabilities = model(np.array([[1, 2, 3, 0], [4, 5, 0, 0]]))
    >>> tuple(probabilities.shape)
    (2, 3)
    """
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
        raise ValueError(
            f"sequence_classifier expects `classes` to be an integer of at least 2. "
            f"Received: classes={classes!r}"
        )
    return _many_to_one(
        "sequence_classifier",
        classes,
        "softmax",
        features,
        vocabulary_size,
        embedding_dim,
        max_length,
        core,
        "sequence_classifier",
    )


def sequence_regressor(
    outputs: int = 1,
    features: int | None = None,
    vocabulary_size: int | None = None,
    embedding_dim: int = 8,
    max_length: int | None = None,
    **core,
) -> keras.Model:
    """A many-to-one regressor: the last state of a recurrent encoder to `outputs` real values.

    The same encoder as `sequence_classifier`, with a linear `Dense` head; pair
    it with a regression loss such as `"mse"`.

    Args:
        outputs: Number of predicted values. Default: `1`.
        features: Float features per step (all-zero steps are padding); give
            this or `vocabulary_size`.
        vocabulary_size: Number of token ids, `0` being padding; give this or
            `features`.
        embedding_dim: Token embedding width. Default: `8`.
        max_length: Fixed number of steps, or `None` for any. Default: `None`.
        **core: `recurrent_stack` arguments (`rnn`, `units`, `depth`,
            `bidirectional`, `dropout`, `residual`).

    Returns:
        An uncompiled `keras.Model`, `(batch, timesteps[, features])` to `(batch, outputs)`.

    Raises:
        ValueError: If `outputs` is not a positive integer, the input is not
            described by exactly one of `features` and `vocabulary_size`, or
            `core` is invalid.

    Example:

    >>> import numpy as np
    >>> model = sequence_regressor(2, features=3, rnn="lstm", units=4, depth=2)
    >>> tuple(model(np.ones((2, 5, 3), "float32")).shape)
    (2, 2)
    """
    check_positive(outputs, "outputs", "sequence_regressor")
    return _many_to_one(
        "sequence_regressor",
        outputs,
        None,
        features,
        vocabulary_size,
        embedding_dim,
        max_length,
        core,
        "sequence_regressor",
    )
