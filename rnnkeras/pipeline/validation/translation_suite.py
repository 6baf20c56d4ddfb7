"""The Great Expectations suites of the `translation` table (written dates and their ISO form).

The *format* suite sees the cells as text: the columns, no empty cell, locales, formats and
splits from the known sets, one row per pair, ISO targets `YYYY-MM-DD`, source lengths the model
is built for. The *content* suite sees what the text means: each target a real calendar date in
the generated range, each date once (so no test date was seen in training), and no source
character outside the alphabet of the locales' date formats (`locale_dates.alphabet()`, the
model's source vocabulary). Failures are worded by `rnnkeras.pipeline.validation.checks.readable_check`: file, line,
column and example values, as for the sequence tables.
"""

import types
from pathlib import Path

import rnnkeras.pipeline.data.locale_dates as locale_dates
import rnnkeras.pipeline.data.spec as spec_lib
from rnnkeras.pipeline.validation.checks import _display_path, readable_check
from rnnkeras.pipeline.validation.runner import run_suites

# What a source may hold: the longest date Babel writes in `LOCALES` is 38 characters.
MAX_SOURCE_LENGTH = 48
# The column names are those of the prepared CSV: no renaming to report.
_SAME_NAMES = types.SimpleNamespace(source_names={})


def format_suite(gx, min_rows: int = 1):
    """The suite on the cells as text (`gx` is the `great_expectations` module)."""
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name="translation_format")
    suite.add_expectation(
        gxe.ExpectTableRowCountToBeBetween(
            min_value=min_rows, description=f"the table needs at least {min_rows} rows"
        )
    )
    for column in locale_dates.COLUMNS:
        suite.add_expectation(
            gxe.ExpectColumnToExist(column=column, description="the column must exist")
        )
        suite.add_expectation(
            gxe.ExpectColumnValuesToNotBeNull(column=column, description="cells must not be empty")
        )
    for column, values in (
        ("locale", locale_dates.LOCALES),
        ("format", locale_dates.FORMATS),
        ("split", spec_lib.SPLITS),
    ):
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeInSet(
                column=column, value_set=list(values), description=f"must be one of {list(values)}"
            )
        )
    suite.add_expectation(
        gxe.ExpectColumnDistinctValuesToContainSet(
            column="split",
            value_set=list(spec_lib.SPLITS),
            description="every split (train, val, test) needs rows",
        )
    )
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeUnique(column="pair_id", description="each pair id once")
    )
    suite.add_expectation(
        gxe.ExpectColumnValuesToMatchRegex(
            column="target",
            regex=locale_dates.ISO_PATTERN,
            description="targets must be ISO dates YYYY-MM-DD",
        )
    )
    suite.add_expectation(
        gxe.ExpectColumnValueLengthsToBeBetween(
            column="source",
            min_value=1,
            max_value=MAX_SOURCE_LENGTH,
            description=f"sources must have 1 to {MAX_SOURCE_LENGTH} characters",
        )
    )
    return suite


def content_frame(table):
    """`source_row`, `split`, the parsed target year, the targets that are no calendar date and
    the number of each source's characters outside `locale_dates.alphabet()`."""
    import pandas as pd

    frame = pd.DataFrame({spec_lib.SOURCE_ROW: table[spec_lib.SOURCE_ROW]})
    for column in ("split", "target"):
        if column in table:
            frame[column] = table[column]
    if "target" in table:
        dates = pd.to_datetime(table["target"], format="%Y-%m-%d", errors="coerce")
        frame["target_year"] = (
            dates.dt.year.astype("Float64").astype(object).where(dates.notna(), None)
        )
        # The text of each target that is no calendar date (a check that it is empty shows it).
        frame["not_a_date"] = table["target"].where(dates.isna() & table["target"].notna(), None)
    if "source" in table:
        known = set(locale_dates.alphabet())
        sources = table["source"].fillna("")
        frame["unknown_characters"] = [sum(c not in known for c in text) for text in sources]
    return frame


def content_suite(gx, frame):
    """The suite on `content_frame(table)`: real dates in range, each once, known characters."""
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name="translation_content")
    low, high = locale_dates.FIRST_DATE.year, locale_dates.LAST_DATE.year
    if "target_year" in frame:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeNull(
                column="not_a_date",
                description="targets must be real calendar dates",
                meta={"about": "target"},
            )
        )
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column="target_year",
                min_value=low,
                max_value=high,
                description=f"target years must lie in {low}..{high}",
                meta={"about": "target"},
            )
        )
    if "target" in frame:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeUnique(
                column="target",
                description="each date once (a test date must be unseen in training)",
            )
        )
    if "unknown_characters" in frame:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeInSet(
                column="unknown_characters",
                value_set=[0],
                description="sources must use only the characters of the locales' date "
                "formats (number of others shown)",
                meta={"about": "source"},
            )
        )
    return suite


def validate_pairs(table, path: str | Path, max_examples: int = 5) -> dict:
    """Runs both suites on a prepared translation table; the report `validate_table` gives.

    Args:
        table: The prepared table (`pandas.DataFrame`, cells as text) with `source_row`, the
            line of each row in `path`.
        path: The CSV file the table was read from (named in every failure).
        max_examples: Bad values (with their line numbers) kept per failed expectation.

    Returns:
        A dict with `success`, `dataset` (`"translation"`), `file`, `rows`, `sequences` (pairs),
        `checks` and `failures` (one line per failed check: file, column, description, lines and
        values), as `rnnkeras.pipeline.validation.validate_table`.

    Example:

    >>> from rnnkeras.pipeline.data.locale_dates import date_pairs
    >>> table = date_pairs(40, seed=1)
    >>> table.insert(0, "source_row", range(2, 42))
    >>> table.loc[3, "target"] = "2001-02-30"
    >>> print(validate_pairs(table, "sequences.csv")["failures"][0])
    sequences.csv: column 'target': targets must be real calendar dates: 1 bad row(s), e.g. line 5: '2001-02-30'
    """
    content = content_frame(table)
    results = run_suites(
        lambda gx: [
            ("format", table, format_suite(gx)),
            ("content", content, content_suite(gx, content)),
        ],
        max_examples,
        index_columns=(spec_lib.SOURCE_ROW,),
    )
    checks = [readable_check(result, _SAME_NAMES, max_examples) for result in results]
    file = _display_path(Path(path))
    failures = [f"{file}: {c['message']}" for c in checks if not c["success"]]
    return {
        "success": not failures,
        "dataset": "translation",
        "file": file,
        "rows": int(len(table)),
        "sequences": int(len(table)),
        "failures": failures,
        "checks": checks,
    }
