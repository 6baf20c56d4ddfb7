"""Inference graphs: a trained generator or language model split into the models decoding calls.

Training reads a whole target sequence at once (teacher forcing); generating
needs the decoder one step at a time, its states handed from step to step. The
functions here build those one-step models from the trained model's own layers
(same weights, no copy), as ordinary Keras models a server can load or
`rnnkeras.export` can export.
"""

import keras

from rnnkeras.models.recurrent_stack import state_sizes


def step_model(model: keras.Model) -> keras.Model:
    """The one-step decoder of a `sequence_generator` or `language_model`.

    Args:
        model: A model from `sequence_generator` or `language_model` (layers
            `embedding`, `decoder` and `next_token`).

    Returns:
        A `keras.Model` with inputs `[token (batch, 1), *states]` and outputs
        `[probabilities (batch, vocabulary_size), *new_states]`, the states in
        the decoder's `initial_state` order (each `(batch, size)`).

    Raises:
        ValueError: If `model` lacks one of the three layers.

    Example:

    >>> import numpy as np
    >>> from rnnkeras.models import language_model
    >>> step = step_model(language_model(6, rnn="lstm", units=4))
    >>> probabilities, h, c = step([np.array([[3]]), np.zeros((1, 4)), np.zeros((1, 4))])
    >>> tuple(probabilities.shape), tuple(c.shape)
    ((1, 6), (1, 4))
    """
    names = {layer.name for layer in model.layers}
    missing = sorted({"embedding", "decoder", "next_token"} - names)
    if missing:
        raise ValueError(
            f"step_model expects a model from sequence_generator or language_model "
            f"(layers embedding, decoder, next_token). Received: model {model.name!r} "
            f"without {missing}"
        )
    decoder = model.get_layer("decoder")
    token = keras.Input((1,), dtype="int32", name="token")
    states = [
        keras.Input((size,), name=f"state_{index}")
        for index, size in enumerate(state_sizes(decoder))
    ]
    embedded = model.get_layer("embedding")(token)
    sequence, *new_states = decoder(embedded, initial_state=states)
    probabilities = model.get_layer("next_token")(sequence[:, 0])
    return keras.Model([token, *states], [probabilities, *new_states], name=f"{model.name}_step")


def initial_state_model(model: keras.Model) -> keras.Model:
    """The part of a `sequence_generator` that maps the condition to the decoder's initial states.

    Args:
        model: A model from `sequence_generator`.

    Returns:
        A `keras.Model` from `condition (batch, condition_features)` to the list
        of initial states that `step_model(model)` takes.

    Raises:
        ValueError: If `model` has no `condition` input.

    Example:

    >>> import numpy as np
    >>> from rnnkeras.models import sequence_generator
    >>> states = initial_state_model(sequence_generator(3, 6, rnn="lstm", units=4))(np.ones((2, 3)))
    >>> [tuple(state.shape) for state in states]
    [(2, 4), (2, 4)]
    """
    conditions = [tensor for tensor in model.inputs if tensor.name.startswith("condition")]
    if not conditions:
        raise ValueError(
            f"initial_state_model expects a model from sequence_generator (an input named "
            f"'condition'). Received: model {model.name!r} with inputs "
            f"{[tensor.name for tensor in model.inputs]}"
        )
    count = len(state_sizes(model.get_layer("decoder")))
    states = [model.get_layer(f"initial_state_{index}").output for index in range(count)]
    return keras.Model(conditions[0], states, name=f"{model.name}_initial_state")


def _attended(model: keras.Model, decoded, encoded, source):
    """The attention head of a `seq2seq` model applied to new tensors (its own layers)."""
    keys = model.get_layer("attention_keys")(encoded)
    names = {layer.name for layer in model.layers}
    query = model.get_layer("attention_query")(decoded) if "attention_query" in names else decoded
    context, _ = model.get_layer("attention")(
        [query, encoded, keys],
        mask=[None, keras.ops.not_equal(source, 0)],
        return_attention_scores=True,
    )
    joined = model.get_layer("context_and_output")([context, decoded])
    return model.get_layer("attention_output")(joined)


def seq2seq_inference(model: keras.Model) -> tuple[keras.Model, keras.Model]:
    """A `seq2seq` model split into an encoder and a one-step decoder, sharing its weights.

    Decoding calls the encoder once per source and the one-step decoder once
    per emitted token. Their states list is what `rnnkeras.models.decoding`
    carries from step to step: `[*decoder_states, encoder_outputs,
    source_tokens]` with attention (the last two pass through unchanged: the
    step decoder does not return them, and `keras_step` carries inputs a model
    does not return), `[*decoder_states]` without.

    Args:
        model: A model from `rnnkeras.models.seq2seq`.

    Returns:
        `(encoder, step)`: `encoder` maps `source_tokens (batch, steps)` to the
        decoder's initial states (followed, with attention, by the encoder
        outputs); `step` maps `[token (batch, 1), *states]` to
        `[probabilities (batch, vocabulary), *new_decoder_states]`.

    Raises:
        ValueError: If `model` is not a `seq2seq` model.

    Example:

    >>> import numpy as np
    >>> from rnnkeras.models.seq2seq import seq2seq
    >>> from rnnkeras.models.decoding import greedy_decode, keras_step
    >>> encoder, step = seq2seq_inference(seq2seq(6, 5, rnn="gru", units=4))
    >>> source = np.array([[3, 4, 5, 0]], "int32")
    >>> states = [*encoder(source), source]
    >>> greedy_decode(keras_step(step), np.array([1]), states, max_length=3).tokens.shape
    (1, 3)
    """
    names = {layer.name for layer in model.layers}
    if not {"encoder", "decoder", "source_embedding", "target_embedding"} <= names:
        raise ValueError(
            f"seq2seq_inference expects a model from seq2seq. Received: model {model.name!r}"
        )
    attention = "attention" in names
    source = keras.Input((None,), dtype="int32", name="source_tokens")
    encoded, *final_states = model.get_layer("encoder")(model.get_layer("source_embedding")(source))
    if "encoder_states" in names:
        joined = model.get_layer("encoder_states")(final_states)
        count = len(state_sizes(model.get_layer("decoder")))
        final_states = [model.get_layer(f"bridge_{index}")(joined) for index in range(count)]
    encoder = keras.Model(
        source,
        [*final_states, encoded] if attention else final_states,
        name=f"{model.name}_encoder",
    )
    decoder = model.get_layer("decoder")
    token = keras.Input((1,), dtype="int32", name="token")
    states = [
        keras.Input((size,), name=f"state_{index}")
        for index, size in enumerate(state_sizes(decoder))
    ]
    inputs = [token, *states]
    decoded, *new_states = decoder(model.get_layer("target_embedding")(token), initial_state=states)
    if attention:
        memory = keras.Input((None, encoded.shape[-1]), name="encoder_outputs")
        memory_source = keras.Input((None,), dtype="int32", name="source")
        inputs += [memory, memory_source]
        decoded = _attended(model, decoded, memory, memory_source)
    probabilities = model.get_layer("next_token")(decoded[:, 0])
    step = keras.Model(inputs, [probabilities, *new_states], name=f"{model.name}_step")
    return encoder, step
