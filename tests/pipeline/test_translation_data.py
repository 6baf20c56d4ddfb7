"""The `translation` task's data: CLDR date pairs, character vocabularies, the GE suites."""

import datetime
import doctest
import importlib

import numpy as np
import pytest

from rnnkeras.pipeline.data.characters import END, PAD, START, UNKNOWN, CharacterVocabulary
from rnnkeras.pipeline.data.locale_dates import COLUMNS, FORMATS, LOCALES, alphabet, date_pairs
from rnnkeras.pipeline.validation.translation_suite import validate_pairs


@pytest.fixture(scope="module")
def pairs():
    return date_pairs(400, seed=3, val_fraction=0.1, test_fraction=0.2)


@pytest.mark.parametrize(
    "module",
    [
        "rnnkeras.pipeline.data.locale_dates",
        "rnnkeras.pipeline.data.characters",
        "rnnkeras.pipeline.validation.translation_suite",
    ],
)
def test_docstring_examples_run(module):
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder(exclude_empty=True).find(importlib.import_module(module)):
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_pairs_are_deterministic_distinct_dates_split_by_date(pairs):
    assert list(pairs.columns) == list(COLUMNS)
    assert pairs.equals(date_pairs(400, seed=3, val_fraction=0.1, test_fraction=0.2))
    assert not pairs.equals(date_pairs(400, seed=4, val_fraction=0.1, test_fraction=0.2))
    assert pairs["target"].is_unique  # each date once: no test date is in train
    assert pairs["split"].value_counts().to_dict() == {"train": 280, "test": 80, "val": 40}
    assert set(pairs["locale"]) == set(LOCALES) and set(pairs["format"]) == set(FORMATS)
    years = pairs["target"].str[:4].astype(int)
    assert years.between(1950, 2049).all()


# Independent of Babel: the C library's English month names and numeric patterns.
STRPTIME = {
    ("en_US", "long"): "%B %d, %Y",
    ("en_US", "full"): "%A, %B %d, %Y",
    ("en_GB", "long"): "%d %B %Y",
    ("de_DE", "medium"): "%d.%m.%Y",
}


def test_each_source_writes_its_target_date():
    pairs = date_pairs(3000, seed=0)
    checked = 0
    for row in pairs.itertuples():
        pattern = STRPTIME.get((row.locale, row.format))
        if pattern:
            written = datetime.datetime.strptime(row.source, pattern).date()
            assert written.isoformat() == row.target, row
            checked += 1
    assert checked > 200
    assert set("".join(pairs["source"])) <= set(alphabet())
    french = pairs[(pairs.locale == "fr_FR") & (pairs.format == "long")].iloc[0]
    year, month, day = (int(part) for part in french.target.split("-"))
    assert french.source.split()[0] == str(day) and french.source.endswith(str(year))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"count": 2}, "Received: count=2"),
        ({"count": 40_000}, "Received: count=40000"),
        ({"count": 10, "test_fraction": 0.0}, "test_fraction=0.0"),
        ({"count": 10, "val_fraction": 0.5, "test_fraction": 0.5}, "val_fraction=0.5"),
    ],
)
def test_pair_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        date_pairs(**kwargs)


def test_vocabulary_round_trip_and_unknown_characters(pairs):
    source = CharacterVocabulary.from_texts(pairs["source"])
    target = CharacterVocabulary.from_texts(pairs["target"], (PAD, START, END))
    assert target.characters == tuple("-0123456789") and target.size == 14
    ids = target.encode(pairs["target"], end=True)
    assert ids.shape == (400, 11) and (ids[:, -1] == target.id_of(END)).all()
    assert target.decode(ids) == pairs["target"].tolist()
    encoded = source.encode(["14 ∑ 1987"])
    assert encoded[0, 3] == source.id_of(UNKNOWN) and encoded.dtype == np.int32
    assert CharacterVocabulary.from_dict(source.to_dict()) == source


def test_vocabulary_errors():
    target = CharacterVocabulary(tuple("0123"), (PAD, START, END))
    with pytest.raises(ValueError, match="Received: texts\\[1\\]='0x'"):
        target.encode(["0", "0x"])
    with pytest.raises(ValueError, match="longer than length=2"):
        target.encode(["012"], length=2)
    with pytest.raises(ValueError, match="specials to start with '<pad>'"):
        CharacterVocabulary(("a",), (START,))
    with pytest.raises(ValueError, match="distinct single characters"):
        CharacterVocabulary(("a", "a"))


def with_lines(pairs):
    table = pairs.copy()
    table.insert(0, "source_row", np.arange(2, len(table) + 2))
    return table


def test_suite_passes_the_generated_table(pairs):
    report = validate_pairs(with_lines(pairs), "sequences.csv")
    assert report["success"], report["failures"]
    assert report["rows"] == 400 and len(report["checks"]) >= 20


def test_suite_names_file_line_column_and_value_of_each_fault(pairs):
    table = with_lines(pairs)
    table.loc[0, "locale"] = "xx_XX"
    table.loc[1, "target"] = "1987-3-14"
    table.loc[2, "target"] = "2001-02-30"
    table.loc[3, "target"] = "2100-01-01"
    table.loc[4, "source"] = "x" * 49
    table.loc[5, "target"] = table.loc[6, "target"]
    table.loc[8, "source"] = "14 ∑ 1987"
    table.loc[7, "split"] = None
    failures = validate_pairs(table, "data/prepared/sequences.csv")["failures"]
    line = {row: row + 2 for row in range(8)}
    expected = [
        f"column 'locale': must be one of {list(LOCALES)}: 1 bad row(s), e.g. line {line[0]}: 'xx_XX'",
        f"column 'target': targets must be ISO dates YYYY-MM-DD: 1 bad row(s), e.g. line {line[1]}: '1987-3-14'",
        f"column 'target': targets must be real calendar dates: 1 bad row(s), e.g. line {line[2]}: '2001-02-30'",
        f"column 'target': target years must lie in 1950..2049: 1 bad row(s), e.g. line {line[3]}: 2100",
        f"column 'source': sources must have 1 to 48 characters: 1 bad row(s), e.g. line {line[4]}",
        f"column 'target': each date once (a test date must be unseen in training): 2 bad row(s), e.g. line {line[5]}",
        "column 'source': sources must use only the characters of the locales' date formats (number of others shown): 1 bad row(s), e.g. line 10: 1",
        f"column 'split': cells must not be empty: 1 bad row(s), e.g. line {line[7]}: empty",
    ]
    for text in expected:
        assert any(text in f for f in failures), f"{text!r} not in {failures}"
    assert all(f.startswith("data/prepared/sequences.csv: column '") for f in failures)


def test_suite_reports_a_missing_column(pairs):
    failures = validate_pairs(with_lines(pairs).drop(columns="format"), "t.csv")["failures"]
    assert "t.csv: column 'format' is missing from the file" in failures
