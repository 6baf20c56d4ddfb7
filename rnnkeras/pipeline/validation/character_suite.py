"""The Great Expectations suites of the character tables (`tagging` and `text` datasets).

Both tables have one row per character: where it stands in its source file (`file`, `line`,
`column`), its sequence and position (`sequence_id`, `time_step`), its Unicode code point
(`char_code`), its `split` and, for `tagging`, its `tag`. The *format* suite sees the cells as
text: columns present, no empty cell, whole numbers, known splits and tags. The *content* suite
sees the parsed numbers: code points that exist, nearly all of them in the models' alphabet
(`rnnkeras.pipeline.data.ascii_characters`), positions that count up by one within a
sequence, sequence lengths the model is built for, one split per sequence. Every failure names
the source file, line and column of example characters, so a bad character can be found in
the file it came from.
"""

import numpy as np

from rnnkeras.pipeline.data.ascii_characters import ALPHABET
from rnnkeras.pipeline.data.spec import SPLITS
from rnnkeras.pipeline.validation.runner import run_suites

NUMBER_COLUMNS = ("line", "column", "sequence_id", "time_step", "char_code")
WHOLE_NUMBER = r"^[0-9]{1,9}$"
# Share of characters that must lie in the alphabet (the others become the unknown id).
KNOWN_SHARE = 0.99
DERIVED = {
    "time_step_increase": "increase of time_step over the previous character of the sequence",
    "sequence_length": "number of characters of the sequence",
    "splits_per_sequence": "number of different splits in the sequence",
}


def columns(tags) -> tuple[str, ...]:
    """The columns of a character table (with `tag` when `tags` is given)."""
    return ("file", *NUMBER_COLUMNS, "split") + (("tag",) if tags else ())


def format_suite(gx, tags=None, min_rows: int = 1):
    """The suite on the cells as text (`gx` is the `great_expectations` module)."""
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name="characters_format")
    suite.add_expectation(
        gxe.ExpectTableRowCountToBeBetween(
            min_value=min_rows, description=f"the table needs at least {min_rows} rows"
        )
    )
    for column in columns(tags):
        suite.add_expectation(
            gxe.ExpectColumnToExist(column=column, description="the column must exist")
        )
        suite.add_expectation(
            gxe.ExpectColumnValuesToNotBeNull(column=column, description="cells must not be empty")
        )
    for column in NUMBER_COLUMNS:
        suite.add_expectation(
            gxe.ExpectColumnValuesToMatchRegex(
                column=column, regex=WHOLE_NUMBER, description="values must be whole numbers >= 0"
            )
        )
    sets = [("split", SPLITS)] + ([("tag", tuple(tags))] if tags else [])
    for column, values in sets:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeInSet(
                column=column, value_set=list(values), description=f"must be one of {list(values)}"
            )
        )
    suite.add_expectation(
        gxe.ExpectColumnDistinctValuesToContainSet(
            column="split",
            value_set=list(SPLITS),
            description="every split (train, val, test) needs rows",
        )
    )
    return suite


def content_frame(table):
    """The table with its numbers parsed and the per-sequence `DERIVED` columns added."""
    import pandas as pd

    frame = pd.DataFrame(index=table.index)
    for column in ("file", "split"):
        if column in table:
            frame[column] = table[column]
    for column in NUMBER_COLUMNS:
        if column in table:
            text = table[column].astype("string")
            parsed = pd.to_numeric(
                text.where(text.str.fullmatch(WHOLE_NUMBER, na=False)), errors="coerce"
            )
            frame[column] = parsed
    if "sequence_id" in table:
        groups = table["sequence_id"].fillna("")
        if "time_step" in frame:
            frame["time_step_increase"] = frame.groupby(groups, sort=False)["time_step"].diff()
        frame["sequence_length"] = frame.groupby(groups, sort=False)["sequence_id"].transform(
            "size"
        )
        if "split" in table:
            frame["splits_per_sequence"] = table.groupby(groups, sort=False)["split"].transform(
                "nunique"
            )
    return frame


def content_suite(gx, frame, sequence_length: tuple[int, int]):
    """The suite on `content_frame(table)`: code points, positions, lengths, one split each."""
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name="characters_content")
    if "char_code" in frame:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column="char_code",
                min_value=0,
                max_value=0x10FFFF,
                description="code points must exist (0 to 0x10FFFF)",
            )
        )
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeInSet(
                column="char_code",
                value_set=sorted(ord(c) for c in ALPHABET),
                mostly=KNOWN_SHARE,
                description=f"at least {KNOWN_SHARE:.1%} of the characters must be tab, newline or "
                "printable ASCII (the others read as one unknown character)",
            )
        )
    if "time_step_increase" in frame:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column="time_step_increase",
                min_value=1,
                max_value=1,
                description="time steps must count up by 1 within a sequence",
                meta={"about": "time_step"},
            )
        )
    if "sequence_length" in frame:
        low, high = sequence_length
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column="sequence_length",
                min_value=low,
                max_value=high,
                description=f"sequences must have {low} to {high} characters",
                meta={"about": "sequence_id"},
            )
        )
    if "splits_per_sequence" in frame:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeInSet(
                column="splits_per_sequence",
                value_set=[1],
                description="all characters of a sequence must have the same split",
                meta={"about": "split"},
            )
        )
    return suite


def validate_characters(
    table,
    dataset: str,
    sequence_length: tuple[int, int],
    tags=None,
    max_examples: int = 5,
    min_rows: int = 1,
) -> dict:
    """Runs both suites on a prepared character table; the report `validate_table` gives.

    Args:
        table: The prepared table, cells as text (as the validate stage reads it).
        dataset: Its name in the report (`"tagging"` or `"text"`).
        sequence_length: `(min, max)` characters per sequence.
        tags: The allowed tags (`tagging`), or `None` for a table without a `tag` column.
        max_examples: Bad characters (with file, line and column) kept per failed expectation.
        min_rows: The smallest acceptable number of rows.

    Returns:
        A dict with `success`, `dataset`, `file` (the source files), `rows`, `sequences`,
        `checks` and `failures` (one line per failed check, naming the column, what was
        expected, and `file:line:column` of example characters).

    Example:

    >>> import pandas as pd
    >>> from rnnkeras.pipeline.data.code_tags import TAGS, tagging_table
    >>> table = tagging_table().astype(str)
    >>> table.loc[5, "tag"] = "verb"
    >>> report = validate_characters(table, "tagging", (1, 120), tags=TAGS)
    >>> print(report["failures"][0])
    column 'tag': must be one of ['space', 'name', 'keyword', 'operator', 'number', 'string', 'comment']: 1 bad row(s), e.g. calendar.py.txt:8:6 (sequence 0): 'verb'
    """
    table = table.reset_index(drop=True)
    content = content_frame(table)
    located = [c for c in ("file", "line", "column", "sequence_id") if c in table]
    results = run_suites(
        lambda gx: [
            ("format", table, format_suite(gx, tags, min_rows)),
            ("content", content, content_suite(gx, content, sequence_length)),
        ],
        max_examples,
    )
    checks = [_readable(result, table, located) for result in results]
    failures = [c["message"] for c in checks if not c["success"]]
    files = sorted(table["file"].dropna().unique().tolist()) if "file" in table else []
    return {
        "success": not failures,
        "dataset": dataset,
        "file": ", ".join(files) or "(no file column)",
        "rows": int(len(table)),
        "sequences": int(table["sequence_id"].nunique()) if "sequence_id" in table else 0,
        "failures": failures,
        "checks": checks,
    }


def _readable(result: dict, table, located: list[str]) -> dict:
    config = result["expectation_config"]
    column = config.get("kwargs", {}).get("column")
    about = (config.get("meta") or {}).get("about", column)
    description = config.get("description") or config["type"]
    details = result.get("result") or {}
    examples, seen = [], set()
    for row in details.get("partial_unexpected_index_list") or []:
        row = int(row) if not isinstance(row, dict) else None
        if row is None:
            continue
        key = (
            table["sequence_id"].iloc[row] if column in DERIVED and "sequence_id" in table else row
        )
        if key in seen:
            continue
        seen.add(key)
        where = ":".join(
            str(table[c].iloc[row]) for c in ("file", "line", "column") if c in located
        )
        sequence = (
            f" (sequence {table['sequence_id'].iloc[row]})" if "sequence_id" in located else ""
        )
        value = table[column].iloc[row] if column in table else None
        if column in DERIVED:
            shown = f"{DERIVED[column]} differs"
        else:
            shown = (
                "empty"
                if value is None or (isinstance(value, float) and np.isnan(value))
                else repr(value)
            )
        examples.append(f"{where or 'row ' + str(row)}{sequence}: {shown}")
    check = {
        "expectation": config["type"],
        "column": about,
        "description": description,
        "success": bool(result["success"]),
        "unexpected_count": details.get("unexpected_count"),
        "examples": examples,
    }
    prefix = f"column '{about}': " if about else ""
    if check["success"]:
        check["message"] = f"{prefix}{description}: ok"
    elif config["type"] == "expect_column_to_exist":
        check["message"] = f"column '{about}' is missing from the file"
    elif examples:
        check["message"] = (
            f"{prefix}{description}: {check['unexpected_count']} bad row(s), e.g. {', '.join(examples)}"
        )
    else:
        observed = details.get("observed_value")
        check["message"] = f"{prefix}{description}: failed" + (
            f" (found {observed!r})" if observed is not None else ""
        )
    return check
