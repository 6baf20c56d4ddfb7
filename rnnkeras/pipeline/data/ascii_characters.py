"""The character ids of the `tagging` and `text` tasks: tab, newline and printable ASCII.

Id `0` is padding (masked by the models), `1` any character outside `ALPHABET`, and
`2 + ALPHABET.index(c)` the others. The ids are fixed, not learned from the data, so a
served model maps text to ids with a constant table in its TensorFlow graph
(`tensorflow_char_ids`) and needs no vocabulary file.
"""

import numpy as np

ALPHABET = "\t\n" + "".join(chr(code) for code in range(32, 127))
PAD, UNKNOWN = 0, 1
VOCABULARY_SIZE = len(ALPHABET) + 2


def id_table() -> np.ndarray:
    """The id of every code point below 128, `(128,)` int32 (`UNKNOWN` for control characters).

    Example:

    >>> int(id_table()[ord("a")]), int(id_table()[0])
    (69, 1)
    """
    table = np.full(128, UNKNOWN, np.int32)
    for index, character in enumerate(ALPHABET):
        table[ord(character)] = index + 2
    return table


def char_ids(text: str) -> np.ndarray:
    """The ids of the characters of `text`, `(len(text),)` int32.

    Example:

    >>> char_ids("a\\né").tolist()
    [69, 3, 1]
    """
    codes = np.array([ord(character) for character in text], np.int64)
    table = id_table()
    return np.where(codes < 128, table[np.minimum(codes, 127)], UNKNOWN).astype(np.int32)


def decode_ids(ids) -> str:
    """The text of ids (`UNKNOWN` as `?`, padding dropped).

    Example:

    >>> decode_ids(char_ids("hi\\n") )
    'hi\\n'
    """
    return "".join("?" if i == UNKNOWN else ALPHABET[i - 2] for i in np.asarray(ids) if i != PAD)


def tensorflow_char_ids(texts):
    """`char_ids` in TensorFlow ops, for a served SavedModel: strings in, padded ids out.

    Args:
        texts: A `tf.string` tensor `(batch,)` of UTF-8 texts.

    Returns:
        `(ids, lengths)`: int32 `(batch, longest)` ids padded with `0`, and int32 `(batch,)`
        characters per text.

    Example:

    >>> import tensorflow as tf
    >>> ids, lengths = tensorflow_char_ids(tf.constant(["ab", "é"]))
    >>> ids.numpy().tolist(), lengths.numpy().tolist()
    ([[69, 70], [1, 0]], [2, 1])
    """
    import tensorflow as tf

    codes = tf.strings.unicode_decode(texts, "UTF-8", errors="replace")
    known = codes < 128
    ids = tf.where(known, tf.gather(id_table(), tf.clip_by_value(codes, 0, 127)), UNKNOWN)
    return ids.to_tensor(PAD), tf.cast(codes.row_lengths(), tf.int32)
