"""The `tagging` data (Python source labelled by `tokenize`), its GE suite and per-step metrics."""

import numpy as np
import pytest

from rnnkeras.pipeline.data import code_tags
from rnnkeras.pipeline.data.ascii_characters import char_ids, decode_ids
from rnnkeras.pipeline.tasks.step_metrics import tagging_metrics
from rnnkeras.pipeline.validation.character_suite import validate_characters


def tags_of(source):
    return list(zip(source, code_tags.tag_characters(source), strict=True))


def test_each_token_type_gets_its_tag():
    source = "def f(x=1.5):  # note\n    return None if x else f'{x}' + \\\n        'a'\n"
    tags = dict(
        zip(
            ("def", "f(", "1.5", "# note", "return", "None", "f'{x}'", "\\", "'a'"),
            (
                "keyword",
                "name",
                "number",
                "comment",
                "keyword",
                "keyword",
                "string",
                "space",
                "string",
            ),
            strict=True,
        )
    )
    labelled = code_tags.tag_characters(source)
    for text, tag in tags.items():
        start = source.index(text)
        got = labelled[start : start + len(text.rstrip("("))]
        assert set(got) == {tag}, (text, got)
    assert labelled[source.index("(")] == "operator"
    assert labelled[source.index("=")] == "operator"
    assert labelled[source.index("    return") : source.index("return")] == ["space"] * 4


def test_soft_keywords_stay_names():
    assert {tag for _, tag in tags_of("match = 1\n")[:5]} == {"name"}


def test_logical_lines_follow_statements_and_comment_lines():
    source = "x = [1,\n     2]  # a\n\n# b\n# c\nif x:\n    y = 'q\\\n'\n"
    lines = [source[a:b] for a, b in code_tags.logical_lines(source)]
    assert lines == ["x = [1,\n     2]  # a", "# b", "# c", "if x:", "y = 'q\\\n'"]


def test_unreadable_source_is_refused():
    with pytest.raises(ValueError, match="tokenize cannot read"):
        code_tags.tag_characters("x = (1,\n")


@pytest.fixture(scope="module")
def table():
    return code_tags.tagging_table()


def test_every_row_is_the_character_at_its_file_line_and_column(table):
    sources = {
        path.name: path.read_text(encoding="utf-8").splitlines(keepends=True)
        for path in code_tags.SOURCE_DIR.glob("*.py.txt")
    }
    for file, line, column, code in table[["file", "line", "column", "char_code"]].itertuples(
        index=False
    ):
        assert ord(sources[file][line - 1][column - 1]) == code


def test_splits_are_whole_modules_and_lengths_fit(table):
    modules = table.groupby("split")["file"].unique()
    assert {s: sorted(m.replace(".py.txt", "") for m in modules[s]) for s in modules.index} == {
        s: sorted(m) for s, m in code_tags.SPLIT_MODULES.items()
    }
    lengths = table.groupby("sequence_id").size()
    assert lengths.max() <= code_tags.MAX_LENGTH and lengths.min() >= 1
    assert (
        table.groupby("sequence_id")["time_step"].apply(lambda s: (s.diff().dropna() == 1).all())
    ).all()


def test_arrays_hold_the_characters_and_tags_padded_with_zeros(table):
    arrays, meta = code_tags.tagging_arrays(table)
    test = arrays["test"]
    for row in (0, 7, len(test["x"]) - 1):
        n = test["lengths"][row]
        group = table[table.sequence_id == test["sequence_id"][row]]
        assert decode_ids(test["x"][row]) == "".join(map(chr, group.char_code))
        assert [meta["tags"][t] for t in test["y"][row, :n]] == group.tag.tolist()
        assert not test["x"][row, n:].any() and not test["y"][row, n:].any()
    assert meta["vocabulary_size"] == int(char_ids(meta["alphabet"]).max()) + 1


def test_validation_names_file_line_and_column(table):
    bad = table.astype(str)
    bad.loc[10, "char_code"] = "x"
    bad.loc[20, "time_step"] = "99"
    bad.loc[bad.sequence_id == "3", "split"] = ["train"] + ["test"] * int(
        (bad.sequence_id == "3").sum() - 1
    )
    report = validate_characters(bad, "tagging", (1, 120), tags=code_tags.TAGS, max_examples=2)
    assert not report["success"]
    text = "\n".join(report["failures"])
    row = table.loc[10]
    assert (
        f"column 'char_code': values must be whole numbers >= 0: 1 bad row(s), e.g. {row.file}:{row.line}:{row.column}"
        in text
    )
    assert "time steps must count up by 1 within a sequence" in text
    assert "all characters of a sequence must have the same split" in text
    assert validate_characters(table.astype(str), "tagging", (1, 120), tags=code_tags.TAGS)[
        "success"
    ]


def test_metrics_ignore_padded_steps_and_match_a_hand_count():
    y = np.array([[0, 1, 2, 0], [1, 1, 0, 0]])
    mask = np.array([[True, True, True, False], [True, True, False, False]])
    predicted = np.array([[0, 1, 1, 2], [1, 0, 2, 2]])
    probabilities = np.eye(3)[predicted]
    train, train_mask = np.array([[1, 1, 2, 0]]), np.array([[True, True, True, False]])
    metrics = tagging_metrics(y, probabilities, mask, train, train_mask, ["a", "b", "c"])
    # real steps: truth 0 1 2 1 1, predicted 0 1 1 1 0 -> 3 of 5 right
    assert metrics["accuracy"] == pytest.approx(3 / 5)
    # per tag: a P=1/2 R=1 F=2/3; b P=2/3 R=2/3 F=2/3; c F=0
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    assert metrics["baseline_tag"] == "b" and metrics["baseline_accuracy"] == pytest.approx(3 / 5)
    assert metrics["steps"] == 5 and np.sum(metrics["confusion"]) == 5
    # Anything on the padded steps changes nothing.
    noisy = probabilities.copy()
    noisy[~mask] = np.eye(3)[0]
    assert tagging_metrics(y, noisy, mask, train, train_mask, ["a", "b", "c"]) == metrics
