"""The `translation` task's parallel text: dates written out in eight locales, paired with ISO form.

The source side is what the Unicode Common Locale Data Repository (CLDR) says a date looks like
in a language: `"jeudi 14 septembre 1987"`, `"14. März 1987"`, `"March 14, 1987"`. Babel (BSD-3-
Clause; it ships the CLDR data under the Unicode licence) formats each date with
`babel.dates.format_date(date, format=..., locale=...)`; the target is the date's ISO 8601 form
`1987-09-14`. A model must read month names in six languages, their abbreviations, weekday names,
numeric forms (`14.03.1987`) and the day/month/year order of each locale. This is the date
normalisation task that became a standard small demonstration of attention (the TensorFlow and
Keras tutorials' "human-readable dates to machine-readable dates"), here on real locale data
rather than hand-written templates.

The pairs are generated at `prepare` time, deterministically from a seed (Babel is pinned in the
`mlops` extra, so the CLDR release is too); nothing is bundled or downloaded.

Splits are by *date*: every date occurs once, in one locale and format, so a test date was never
seen in training in any writing. A lookup of the training set therefore cannot copy the answer.
"""

import datetime
from pathlib import Path

import numpy as np

import rnnkeras.pipeline.data.spec as spec_lib

LOCALES = ("en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "it_IT", "pt_BR", "nl_NL")
# `short` is left out: `3/14/87` leaves the century to guesswork.
FORMATS = ("full", "long", "medium")
FIRST_DATE = datetime.date(1950, 1, 1)
LAST_DATE = datetime.date(2049, 12, 31)
COLUMNS = ("pair_id", "locale", "format", "source", "target", "split")
ISO_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def date_pairs(count: int, seed: int = 0, val_fraction: float = 0.1, test_fraction: float = 0.15):
    """`count` distinct dates, each written in one random locale and format, with its ISO form.

    Args:
        count: Pairs (= distinct dates) to make, from 3 to the 36,524 days between
            `FIRST_DATE` (1950-01-01) and `LAST_DATE` (2049-12-31).
        seed: Seeds the choice of dates, locales, formats and splits.
        val_fraction: Share of the dates in `val`, in [0, 1).
        test_fraction: Share of the dates in `test`, in (0, 1); with `val_fraction` below 1.

    Returns:
        A `pandas.DataFrame` of strings with the columns `COLUMNS`: `pair_id` (0..count-1),
        `locale` (one of `LOCALES`), `format` (one of `FORMATS`), `source` (the written date),
        `target` (`YYYY-MM-DD`) and `split` (`train`, `val` or `test`), in pair order.

    Raises:
        ValueError: If `count` or a fraction is out of range.
        ModuleNotFoundError: Without Babel (`pip install "rnnkeras[mlops]"`).

    Example:

    >>> table = date_pairs(6, seed=0, val_fraction=0.2, test_fraction=0.2)
    >>> sorted(table.columns) == sorted(COLUMNS), table["target"].str.len().unique().tolist()
    (True, [10])
    >>> sorted(table["split"].unique())
    ['test', 'train', 'val']
    """
    import pandas as pd
    from babel.dates import format_date

    days = (LAST_DATE - FIRST_DATE).days + 1
    if isinstance(count, bool) or not isinstance(count, int) or not 3 <= count <= days:
        raise ValueError(
            f"date_pairs expects `count` to be a whole number from 3 to {days}. "
            f"Received: count={count!r}"
        )
    if not 0 <= val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError(
            "date_pairs expects 0 <= val_fraction, 0 < test_fraction and their sum below 1. "
            f"Received: val_fraction={val_fraction!r}, test_fraction={test_fraction!r}"
        )
    rng = np.random.default_rng(seed)
    offsets = rng.choice(days, size=count, replace=False)
    locales = rng.integers(len(LOCALES), size=count)
    formats = rng.integers(len(FORMATS), size=count)
    n_test = max(1, round(count * test_fraction))
    n_val = max(1, round(count * val_fraction)) if val_fraction > 0 else 0
    split = np.array(["train"] * count, dtype=object)
    order = rng.permutation(count)
    split[order[:n_test]] = "test"
    split[order[n_test : n_test + n_val]] = "val"
    rows = []
    for index in range(count):
        date = FIRST_DATE + datetime.timedelta(days=int(offsets[index]))
        locale, form = LOCALES[locales[index]], FORMATS[formats[index]]
        source = format_date(date, format=form, locale=locale)
        rows.append((str(index), locale, form, source, date.isoformat(), split[index]))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def alphabet() -> str:
    """Every character the dates of `LOCALES` and `FORMATS` can be written with, sorted.

    The ten digits, and what Babel writes for each month (the 15th) and each weekday (the first
    week of 2001) in every locale and format: the source vocabulary of the task, fixed by CLDR
    rather than by which dates happened to fall in the training split.

    Example:

    >>> characters = alphabet()
    >>> "0" in characters and "û" in characters and "ä" in characters, len(characters)
    (True, 56)
    """
    from babel.dates import format_date

    dates = [datetime.date(2001, month, 15) for month in range(1, 13)]
    dates += [datetime.date(2001, 1, day) for day in range(1, 8)]
    written = {
        format_date(date, format=form, locale=locale)
        for locale in LOCALES
        for form in FORMATS
        for date in dates
    }
    return "".join(sorted(set("0123456789").union(*written)))


def dataset_spec(prepare: dict, root: str | Path = ".") -> spec_lib.DatasetSpec:
    """The `translation` dataset's spec: task kind `translation`, generated pairs.

    Its `path` is the prepared table `data/prepared/sequences.csv` under `root` (the same path as
    `rnnkeras.pipeline.stages.paths.PREPARED_TABLE`): the pairs are made by `prepare`, so the
    validation messages name the lines of that file.

    Example:

    >>> dataset_spec({}).task, str(dataset_spec({}, "project").path)
    ('translation', 'project/data/prepared/sequences.csv')
    """
    return spec_lib.DatasetSpec(
        name="translation",
        path=Path(root) / "data" / "prepared" / "sequences.csv",
        task="translation",
        time_column="pair_id",
        feature_columns=("source",),
        sequence_column="pair_id",
    )
