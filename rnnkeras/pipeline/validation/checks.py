"""Runs the validation suites on a prepared table and words each outcome for the user.

Every failure names the source file, the line numbers and the column, with example values,
so the user can fix the CSV they gave. Great Expectations loads inside `validate_table` only
(`import rnnkeras` stays light), on an ephemeral context: no `gx/` folder.
"""

from pathlib import Path

import numpy as np

import rnnkeras.pipeline.data.spec as spec_lib
from rnnkeras.pipeline.validation.runner import run_suites
from rnnkeras.pipeline.validation.suites import (
    DERIVED,
    content_frame,
    content_suite,
    format_suite,
)


def validate_table(table, spec: spec_lib.DatasetSpec, max_examples: int = 5) -> dict:
    """Runs the format and content suites on a prepared table and returns a JSON-ready report.

    Args:
        table: the prepared table (`prepare_table`), cells as text, with `source_row`.
        spec: the dataset spec the table must follow.
        max_examples: how many bad values (with their line numbers) to keep per failure.

    Returns:
        A dict with `success`, `file`, `dataset`, `rows`, `sequences`, `checks` (every
        expectation with its outcome) and `failures` (one readable line per failed check).

    Example:

    >>> import pandas as pd
    >>> from rnnkeras.pipeline.data import bundled_spec, prepare_table
    >>> table = prepare_table(bundled_spec("japanese_vowels"), {"val_fraction": 0.2})
    >>> table.loc[5, "lpc_03"] = "n/a"
    >>> report = validate_table(table, bundled_spec("japanese_vowels"))
    >>> report["success"]
    False
    >>> print(report["failures"][0].split(": ", 1)[1])
    column 'lpc_03': values must be numbers (ASCII digits, e.g. -1.5e3): 1 bad row(s), e.g. line 7 (sequence 1): 'n/a'
    """
    results = run_suites(
        lambda gx: [
            ("format", table, format_suite(gx, table, spec)),
            ("content", content_frame(table, spec), content_suite(gx, table, spec)),
        ],
        max_examples,
        index_columns=(spec_lib.SOURCE_ROW, spec_lib.SEQUENCE, spec_lib.SPLIT),
    )
    checks = [readable_check(result, spec, max_examples) for result in results]
    file = _display_path(spec.path)
    failures = [f"{file}: {c['message']}" for c in checks if not c["success"]]
    return {
        "success": not failures,
        "dataset": spec.name,
        "file": file,
        "rows": int(len(table)),
        "sequences": int(table[spec_lib.SEQUENCE].nunique()) if spec_lib.SEQUENCE in table else 0,
        "failures": failures,
        "checks": checks,
    }


def readable_check(result: dict, spec: spec_lib.DatasetSpec, max_examples: int) -> dict:
    """One readable entry per expectation: what was checked, where it failed, example values."""
    config = result["expectation_config"]
    kwargs = config.get("kwargs", {})
    column = kwargs.get("column")
    about = (config.get("meta") or {}).get("about", column)
    source_column = spec.source_names.get(about, about)
    description = config.get("description") or config["type"]
    details = result.get("result") or {}
    examples, seen_sequences = [], set()
    for item in details.get("partial_unexpected_index_list") or []:
        if column in DERIVED:
            # A per-sequence value repeats on every row of the sequence: show each sequence once.
            if item.get(spec_lib.SEQUENCE) in seen_sequences:
                continue
            seen_sequences.add(item.get(spec_lib.SEQUENCE))
        example = {"line": _plain(item.get(spec_lib.SOURCE_ROW))}
        if spec_lib.SEQUENCE in item and about != spec_lib.SEQUENCE:
            example["sequence"] = _plain(item.get(spec_lib.SEQUENCE))
        if about == spec_lib.LABEL and spec_lib.SPLIT in item:
            example["split"] = _plain(item.get(spec_lib.SPLIT))
        example["value"] = _plain(item.get(column))
        examples.append(example)
    exception = (result.get("exception_info") or {}).get("exception_message")
    check = {
        "expectation": config["type"],
        "column": source_column,
        "description": description,
        "success": bool(result["success"]),
        "unexpected_count": _plain(details.get("unexpected_count")),
        "observed_value": _plain(details.get("observed_value")),
        "examples": examples,
    }
    where = f"column '{source_column}': " if source_column else ""
    if check["success"]:
        check["message"] = f"{where}{description}: ok"
    elif config["type"] == "expect_column_to_exist":
        check["message"] = f"column '{source_column}' is missing from the file"
    elif examples:
        shown = ", ".join(_describe(e, column) for e in examples)
        check["message"] = (
            f"{where}{description}: {check['unexpected_count']} bad row(s), e.g. {shown}"
        )
    elif exception:
        check["message"] = f"{where}{description}: could not be checked ({exception})"
    elif check["observed_value"] is not None:
        check["message"] = f"{where}{description}: found {check['observed_value']!r}"
    else:
        check["message"] = f"{where}{description}: failed"
    return check


def _describe(example: dict, column: str) -> str:
    text = f"line {example['line']}"
    context = [f"{key} {example[key]}" for key in ("sequence", "split") if key in example]
    if context:
        text += f" ({', '.join(context)})"
    value = example["value"]
    if column in DERIVED:
        return f"{text}: {DERIVED[column]} = {value!r}"
    return f"{text}: {'empty' if value is None else repr(value)}"


def _plain(value):
    """JSON-friendly Python scalars (NumPy numbers, NaN as None, infinities as text)."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if np.isnan(value):
            return None
        if np.isinf(value):
            return str(value)  # strict JSON has no infinity
        # Whole numbers print as integers, except where that would spell out a huge float.
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _display_path(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
