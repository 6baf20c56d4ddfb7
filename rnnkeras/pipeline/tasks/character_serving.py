"""Text-in, text-out SavedModels of the `tagging` and `text` tasks, in TensorFlow ops only.

Both wrap the traced Keras forward pass (`rnnkeras.export.saved_model.serving_module`) between
the character ids of `rnnkeras.pipeline.data.ascii_characters` (`tensorflow_char_ids`) and a
string output, so the served model (`rnnkeras/pipeline/tracking/served_text_model.py`, logged
by `log_and_register_text_model`) needs TensorFlow alone:

- `tagging_text_module`: a line of Python in, one tag letter per character out (`TAG_LETTERS`);
- `continuation_text_module`: a prompt in, its greedy continuation of `length` characters out.
"""

import numpy as np

TAG_LETTERS = {
    "space": "_",
    "name": "n",
    "keyword": "k",
    "operator": "o",
    "number": "0",
    "string": "s",
    "comment": "#",
}
"""The letter that stands for each tag in the served model's answer."""


def _forward(model):
    import tensorflow as tf

    from rnnkeras.export.saved_model import serving_module

    forward, _ = serving_module(model, specs=[tf.TensorSpec((None, None), tf.int32, name="ids")])
    return forward


def tagging_text_module(model, tags: list[str]):
    """A `tf.Module` whose `__call__(text)` answers each text with one tag letter per character.

    Args:
        model: A tagger over character ids, `(batch, timesteps)` to `(batch, timesteps, tags)`.
        tags: Tag names in output order (each a key of `TAG_LETTERS`).

    Example:

    >>> import tensorflow as tf
    >>> from rnnkeras.models import sequence_tagger
    >>> module = tagging_text_module(sequence_tagger(7, vocabulary_size=99, units=4), list(TAG_LETTERS))
    >>> [len(t) for t in module(tf.constant(["x = 1", "def"])).numpy()]
    [5, 3]
    """
    import tensorflow as tf

    from rnnkeras.pipeline.data.ascii_characters import tensorflow_char_ids

    letters = tf.constant([TAG_LETTERS[tag] for tag in tags])
    forward = _forward(model)

    class TaggingText(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec((None,), tf.string, name="text")])
        def __call__(self, text):
            ids, lengths = tensorflow_char_ids(text)
            best = tf.argmax(forward(ids), axis=-1, output_type=tf.int32)
            joined = tf.strings.reduce_join(tf.gather(letters, best), axis=1)
            return tf.strings.substr(joined, tf.zeros_like(lengths), lengths)

    module = TaggingText(name="tagging_text")
    module.forward = forward
    return module


def continuation_text_module(model, length: int):
    """A `tf.Module` whose `__call__(text)` answers each prompt with its greedy continuation.

    Each step runs the language model over the prompt and the characters chosen so far and
    appends the most probable next character (padding and the unknown id excluded), `length`
    times; the answer is the `length` new characters.

    Args:
        model: A language model over character ids, `(batch, timesteps)` to
            `(batch, timesteps, vocabulary_size)`.
        length: Characters to add.

    Example:

    >>> import tensorflow as tf
    >>> from rnnkeras.models import language_model
    >>> module = continuation_text_module(language_model(99, units=4), 5)
    >>> [len(t) for t in module(tf.constant(["The ", "a"])).numpy()]
    [5, 5]
    """
    import tensorflow as tf

    from rnnkeras.pipeline.data.ascii_characters import ALPHABET, PAD, UNKNOWN, tensorflow_char_ids

    characters = tf.constant(["", "?", *ALPHABET])
    # Never choose padding or the unknown id: they stand for no character.
    blocked = tf.constant(np.isin(np.arange(len(ALPHABET) + 2), [PAD, UNKNOWN]), tf.bool)
    forward = _forward(model)

    def one(text):
        ids, _ = tensorflow_char_ids(tf.reshape(text, (1,)))

        def step(i, ids):
            scores = forward(ids)[:, -1]
            scores = tf.where(blocked, tf.cast(-1.0, scores.dtype), scores)
            chosen = tf.argmax(scores, axis=-1, output_type=tf.int32)
            return i + 1, tf.concat([ids, chosen[:, None]], axis=1)

        _, ids = tf.while_loop(
            lambda i, ids: i < length,
            step,
            (tf.constant(0), ids),
            shape_invariants=(tf.TensorShape([]), tf.TensorShape([1, None])),
        )
        return tf.strings.reduce_join(tf.gather(characters, ids[0, -length:]))

    class ContinuationText(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec((None,), tf.string, name="text")])
        def __call__(self, text):
            return tf.map_fn(one, text, fn_output_signature=tf.string)

    module = ContinuationText(name="continuation_text")
    module.forward = forward
    return module


def save_text_module(module, folder) -> None:
    """Saves a module of this file as a SavedModel with its `serving_default` signature."""
    import tensorflow as tf

    tf.saved_model.save(
        module, str(folder), signatures={"serving_default": module.__call__.get_concrete_function()}
    )
