"""`seq2seq`: the encoder–decoder (many-to-many, delayed), with or without attention."""

import keras

from rnnkeras.models.recurrent_stack import check_positive, recurrent_stack, state_sizes

ATTENTION = ("luong", "bahdanau", None)


def attend(attention: str, units: int, decoded, encoded, source_mask):
    """Attention over the encoder outputs for every decoder step; `(context, weights)`.

    Both kinds score each decoder output `h_t` against each encoder output
    `h_s`, mask the padded source steps out of a softmax over `s`, and return
    the weighted sum of the `h_s` (Luong et al., 2015, global attention):

    - `"luong"`, multiplicative: `score = h_t^T W h_s` (Luong's "general"):
      `keras.layers.Attention` (dot-product scores) reading keys `W h_s`
      from the `Dense` `attention_keys`.
    - `"bahdanau"`, additive: `score = v^T tanh(W h_t + U h_s)` (Bahdanau et
      al., 2015; Luong's "concat"): `keras.layers.AdditiveAttention`, whose
      score is `v^T tanh(query + key)` with a learned `v`, reading the
      projections `attention_query` (`W`) and `attention_keys` (`U`).
    """
    keys = keras.layers.Dense(units, use_bias=False, name="attention_keys")(encoded)
    if attention == "luong":
        layer = keras.layers.Attention(score_mode="dot", name="attention")
        query = decoded
    else:
        layer = keras.layers.AdditiveAttention(use_scale=True, name="attention")
        query = keras.layers.Dense(units, use_bias=False, name="attention_query")(decoded)
    return layer([query, encoded, keys], mask=[None, source_mask], return_attention_scores=True)


def seq2seq(
    source_vocabulary_size: int,
    target_vocabulary_size: int,
    attention: str | None = "luong",
    embedding_dim: int = 8,
    rnn="lstm",
    units: int = 8,
    depth: int = 1,
    bidirectional_encoder: bool = False,
    max_source_length: int | None = None,
    max_target_length: int | None = None,
) -> keras.Model:
    """An encoder–decoder for sequence-to-sequence tasks, trained with teacher forcing.

    The encoder reads the source tokens (`0` is padding, masked); its final
    states start the decoder (Sutskever et al., 2014; with a bidirectional
    encoder, a `Dense` tanh bridge `bridge_<i>` maps the concatenated final
    states of both directions to each decoder state, as Bahdanau et al.
    initialize theirs from the backward encoder). The decoder reads the target
    shifted right (a start token first: teacher forcing) and at each step `t`:

    - without attention, a softmax over its output `h_t` predicts token `t`;
    - with attention (`attend`), the context `c_t` over all encoder outputs
      gives the attentional state `tanh(W_c [c_t; h_t])` (`attention_output`)
      that the softmax reads: Luong et al. (2015)'s global attention, with the
      multiplicative (`"luong"`) or additive (`"bahdanau"`) score. As in
      Luong's model the score uses the current decoder output `h_t`; Bahdanau's
      feeding of `c_t` back into the recurrence (and Luong's input feeding) is
      not done, which keeps teacher forcing one pass of the decoder layer.

    `attention_weights_model` returns the weights `(batch, target steps,
    source steps)` for plotting; `rnnkeras.models.inference.seq2seq_inference`
    splits the model into an encoder and a one-step decoder for decoding.

    Args:
        source_vocabulary_size: Source token ids, `0` being padding.
        target_vocabulary_size: Target token ids, `0` being padding.
        attention: `"luong"`, `"bahdanau"` or `None`. Default: `"luong"`.
        embedding_dim: Width of both embeddings. Default: `8`.
        rnn: `"simple_rnn"`, `"lstm"`, `"gru"` or a recurrent layer class of
            `rnnkeras.layers`, for encoder and decoder. Default: `"lstm"`.
        units: Units per layer (per direction in the encoder). Default: `8`.
        depth: Stacked layers in the encoder and in the decoder. Default: `1`.
        bidirectional_encoder: Read the source in both directions. Default: `False`.
        max_source_length: Fixed source steps, or `None`. Default: `None`.
        max_target_length: Fixed target steps, or `None`. Default: `None`.

    Returns:
        An uncompiled `keras.Model` with inputs `[source_tokens (batch, source
        steps), previous_tokens (batch, target steps)]` and output
        `(batch, target steps, target_vocabulary_size)` probabilities; padded
        target steps are masked through to the loss.

    Raises:
        ValueError: If `attention` is not one of `ATTENTION`, a size is not a
            positive integer or `rnn` is unknown.

    Example:

    >>> import numpy as np
    >>> model = seq2seq(6, 5, attention="bahdanau", rnn="gru", units=4)
    >>> source, previous = np.array([[3, 4, 5, 0]]), np.array([[1, 2, 2]])
    >>> tuple(model([source, previous]).shape)
    (1, 3, 5)
    >>> tuple(attention_weights_model(model)([source, previous]).shape)
    (1, 3, 4)
    """
    owner = "seq2seq"
    if attention not in ATTENTION:
        raise ValueError(
            f"seq2seq expects `attention` in {ATTENTION}. Received: attention={attention!r}"
        )
    for name, value in [
        ("source_vocabulary_size", source_vocabulary_size),
        ("target_vocabulary_size", target_vocabulary_size),
        ("embedding_dim", embedding_dim),
    ]:
        check_positive(value, name, owner)
    source = keras.Input((max_source_length,), dtype="int32", name="source_tokens")
    previous = keras.Input((max_target_length,), dtype="int32", name="previous_tokens")
    encoder = recurrent_stack(
        rnn,
        units,
        depth,
        bidirectional=bidirectional_encoder,
        return_sequences=True,
        return_state=True,
        name="encoder",
        owner=owner,
    )
    decoder = recurrent_stack(
        rnn, units, depth, return_sequences=True, return_state=True, name="decoder", owner=owner
    )
    embedded = keras.layers.Embedding(
        source_vocabulary_size, embedding_dim, mask_zero=True, name="source_embedding"
    )(source)
    encoded, *final_states = encoder(embedded)
    if bidirectional_encoder:
        joined = keras.layers.Concatenate(name="encoder_states")(final_states)
        final_states = [
            keras.layers.Dense(size, activation="tanh", name=f"bridge_{index}")(joined)
            for index, size in enumerate(state_sizes(decoder))
        ]
    target = keras.layers.Embedding(
        target_vocabulary_size, embedding_dim, mask_zero=True, name="target_embedding"
    )(previous)
    decoded = decoder(target, initial_state=final_states)[0]
    if attention is not None:
        context, _ = attend(attention, units, decoded, encoded, keras.ops.not_equal(source, 0))
        joined = keras.layers.Concatenate(name="context_and_output")([context, decoded])
        decoded = keras.layers.Dense(units, activation="tanh", name="attention_output")(joined)
    probabilities = keras.layers.Dense(
        target_vocabulary_size, activation="softmax", name="next_token"
    )(decoded)
    return keras.Model([source, previous], probabilities, name=f"seq2seq_{attention or 'plain'}")


def attention_weights_model(model: keras.Model) -> keras.Model:
    """A model giving the attention weights of a `seq2seq` model, for plotting.

    Args:
        model: A `seq2seq` model with attention.

    Returns:
        A `keras.Model` with the same inputs, returning the weights `(batch,
        target steps, source steps)`; each row sums to one over the valid source
        steps and is zero on padded ones.

    Raises:
        ValueError: If `model` has no `attention` layer.

    Example:

    >>> import keras, numpy as np
    >>> model = seq2seq(6, 5, attention="luong", units=4)
    >>> weights = attention_weights_model(model)([np.array([[3, 4, 0]]), np.array([[1, 2]])])
    >>> keras.ops.convert_to_numpy(weights)[0].sum(axis=-1).round(5)
    array([1., 1.], dtype=float32)
    """
    if "attention" not in {layer.name for layer in model.layers}:
        raise ValueError(
            f"attention_weights_model expects a seq2seq model with attention. Received: "
            f"model {model.name!r} without an 'attention' layer"
        )
    weights = model.get_layer("attention").output[1]
    return keras.Model(model.inputs, weights, name=f"{model.name}_attention_weights")
