"""The `text` data (Python reference prose), its GE suite, the n-gram baseline and the served ids."""

import numpy as np
import pytest

from rnnkeras.pipeline.data import reference_text
from rnnkeras.pipeline.data.ascii_characters import (
    VOCABULARY_SIZE,
    char_ids,
    decode_ids,
    tensorflow_char_ids,
)
from rnnkeras.pipeline.tasks.char_ngram import (
    CharacterNgram,
    best_order,
    bits_per_character,
    model_log2_probabilities,
)
from rnnkeras.pipeline.validation.character_suite import validate_characters


@pytest.fixture(scope="module")
def table():
    return reference_text.text_table()


def test_chunks_cover_the_text_once_with_one_character_overlap(table):
    text = reference_text.SOURCE.read_text(encoding="utf-8")
    width = reference_text.SEQUENCE_LENGTH + 1
    chunks = table.char_code.to_numpy().reshape(-1, width)
    assert "".join(map(chr, chunks[0])) == text[:width]
    assert (chunks[1:, 0] == chunks[:-1, -1]).all()
    lines = text.splitlines(keepends=True)
    for line, column, code in table.sample(500, random_state=0)[
        ["line", "column", "char_code"]
    ].itertuples(index=False):
        assert ord(lines[line - 1][column - 1]) == code
    order = table.drop_duplicates("sequence_id").split.tolist()
    assert order == sorted(order, key=["train", "val", "test"].index)  # contiguous blocks


def test_arrays_are_next_character_pairs(table):
    arrays, meta = reference_text.text_arrays(table)
    x, y = arrays["val"]["x"], arrays["val"]["y"]
    assert x.shape == y.shape == (meta["counts"]["val"], reference_text.SEQUENCE_LENGTH)
    assert (x[:, 1:] == y[:, :-1]).all()
    assert decode_ids(np.concatenate([x[0], y[0, -1:]])) == "".join(
        map(
            chr, table[table.sequence_id == table[table.split == "val"].sequence_id.min()].char_code
        )
    ).replace("’", "?").replace("“", "?").replace("”", "?").replace("—", "?")


def test_validation_names_file_line_and_column(table):
    bad = table.astype(str)
    bad.loc[3, "char_code"] = "-5"
    report = validate_characters(bad, "text", (101, 101))
    row = table.loc[3]
    assert not report["success"]
    assert f"e.g. {row.file}:{row.line}:{row.column} (sequence 0): '-5'" in report["failures"][0]
    short = table[table.sequence_id != 1].astype(str)
    short = short.drop(short[short.sequence_id == "2"].index[:3])
    report = validate_characters(short, "text", (101, 101))
    assert "sequences must have 101 to 101 characters" in "\n".join(report["failures"])


def test_ngram_distributions_sum_to_one():
    rng = np.random.default_rng(0)
    sequences = rng.integers(1, 6, size=(20, 30))
    for order in (1, 2, 4):
        model = CharacterNgram(order, vocabulary_size=7).fit(sequences)
        for context in [(), (1,), (3, 2, 5), (6, 6, 6), tuple(sequences[0, :9])]:
            total = sum(model.probability(context, c) for c in range(7))
            assert total == pytest.approx(1.0, abs=1e-12)


def test_a_lower_order_view_equals_a_model_counted_at_that_order():
    rng = np.random.default_rng(2)
    sequences = rng.integers(1, 5, size=(10, 25))
    high = CharacterNgram(5, vocabulary_size=6).fit(sequences)
    for order in (1, 2, 3):
        own = CharacterNgram(order, vocabulary_size=6).fit(sequences)
        view = high.with_order(order)
        assert np.array_equal(
            view.log2_probabilities(sequences[:3, :-1], sequences[:3, 1:]),
            own.log2_probabilities(sequences[:3, :-1], sequences[:3, 1:]),
        )
    with pytest.raises(ValueError, match="order from 1 to 5"):
        high.with_order(6)


def test_ngram_matches_hand_computed_witten_bell():
    model = CharacterNgram(3, vocabulary_size=5).fit([np.array([1, 2, 3, 1, 2, 4, 1, 2, 3])])
    unigram = (2 + 1) / (9 + 5)  # counts 1:3 2:3 3:2 4:1, N = 9, V = 5
    bigram = (2 + 2 * unigram) / (3 + 2)  # after 2: 3, 4, 3 -> C=3, T=2, C(2 3)=2
    trigram = (2 + 2 * bigram) / (3 + 2)  # after (1 2): 3, 4, 3
    assert model.probability((1, 2), 3) == pytest.approx(trigram)
    assert model.probability((5, 2), 3) == pytest.approx(bigram)  # (5 2) unseen: back off


def test_bits_per_character_equals_log_loss_in_bits():
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(1)
    probabilities = rng.dirichlet(np.ones(5), size=(3, 4))
    targets = rng.integers(0, 5, size=(3, 4))
    bits = bits_per_character(model_log2_probabilities(probabilities, targets))
    expected = log_loss(targets.ravel(), probabilities.reshape(-1, 5), labels=range(5)) / np.log(2)
    assert bits == pytest.approx(expected, rel=1e-6)


def test_best_order_beats_the_unigram_on_real_text(table):
    arrays, _ = reference_text.text_arrays(table)
    train = arrays["train"]["x"][:300]
    model, bits = best_order(
        train, arrays["val"]["x"][:20], arrays["val"]["y"][:20], VOCABULARY_SIZE, orders=(1, 3)
    )
    assert model.order == 3 and bits[3] < bits[1] - 1.0
    assert 3.5 < bits[1] < 5.5  # English letters: about 4.1 bits under a unigram


def test_tensorflow_ids_equal_python_ids():
    import tensorflow as tf

    texts = ["def f(x):\n\treturn x", "é ünïcode — 1", "", "a" * 7]
    ids, lengths = tf.function(tensorflow_char_ids)(tf.constant(texts))
    for row, text in enumerate(texts):
        assert lengths.numpy()[row] == len(text)
        assert ids.numpy()[row, : len(text)].tolist() == char_ids(text).tolist()
        assert not ids.numpy()[row, len(text) :].any()


@pytest.mark.parametrize(
    "module", ["rnnkeras.pipeline.data.reference_text", "rnnkeras.pipeline.tasks.text"]
)
def test_docstring_examples_hold_for_the_bundled_text(module):
    """The split sizes the docstrings quote are those of the bundled file."""
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
