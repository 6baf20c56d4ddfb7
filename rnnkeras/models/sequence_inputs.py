"""The input end every builder shares: float features or token ids, with the padding masked."""

import keras

from rnnkeras.models.recurrent_stack import check_positive


def sequence_inputs(
    owner: str,
    features: int | None = None,
    vocabulary_size: int | None = None,
    embedding_dim: int = 8,
    max_length: int | None = None,
    name: str = "sequences",
) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """An `Input` and the masked sequence the recurrent layers read.

    Exactly one of `features` and `vocabulary_size` is given:

    - `features`: float inputs `(batch, timesteps, features)`; an all-zero step
      is padding (`keras.layers.Masking(0.0)`).
    - `vocabulary_size`: integer token ids `(batch, timesteps)`; id `0` is
      padding (`keras.layers.Embedding(mask_zero=True)`, `embedding_dim` wide).

    Either way the mask travels with the tensor, so the recurrent layers skip
    padded steps and a per-step output carries it on to the loss and metrics.

    Args:
        owner: How errors name the builder.
        features: Float features per step.
        vocabulary_size: Number of token ids, padding `0` included.
        embedding_dim: Width of the token embedding. Default: `8`.
        max_length: Time steps, or `None` for any length. Default: `None`.
        name: Name of the `Input`. Default: `"sequences"`.

    Returns:
        `(inputs, sequences)`: the `keras.Input` and the masked float sequence.

    Raises:
        ValueError: Unless exactly one of `features` and `vocabulary_size` is a
            positive integer (and `embedding_dim` too, for tokens).
    """
    if (features is None) == (vocabulary_size is None):
        raise ValueError(
            f"{owner} expects exactly one of `features` (float inputs) and "
            f"`vocabulary_size` (token ids). Received: features={features!r}, "
            f"vocabulary_size={vocabulary_size!r}"
        )
    if features is not None:
        check_positive(features, "features", owner)
        inputs = keras.Input((max_length, features), name=name)
        return inputs, keras.layers.Masking(0.0, name="padding_mask")(inputs)
    check_positive(vocabulary_size, "vocabulary_size", owner)
    check_positive(embedding_dim, "embedding_dim", owner)
    inputs = keras.Input((max_length,), dtype="int32", name=name)
    embedding = keras.layers.Embedding(
        vocabulary_size, embedding_dim, mask_zero=True, name="embedding"
    )
    return inputs, embedding(inputs)
