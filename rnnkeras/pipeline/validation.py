"""Great Expectations checks for prepared sequence tables, built in code on an ephemeral context.

Two suites run on the same rows. The *format* suite sees the cells as text: columns present,
no empty cells, numbers that parse (by the patterns the loader uses,
`rnnkeras.pipeline.data.number_format`), labels and split names from the known set, enough rows. The
*content* suite sees the parsed numbers: finite values of a magnitude the float32 models can
scale, value ranges, time steps strictly increasing within each sequence (consecutive for
forecasting), sequence lengths within bounds, one label and one split per sequence, and (without
declared labels) no label in val or test that train lacks. Every failure names the source file,
the line numbers and the column, with example values, so the user can fix the CSV they gave.

Great Expectations loads inside `validate_table` only (`import rnnkeras` stays light).
"""

import json
import os
from pathlib import Path

import numpy as np

from rnnkeras.atomic_files import atomic_path
from rnnkeras.pipeline.data import number_format
from rnnkeras.pipeline.data import spec as spec_lib

# Columns derived from the table for the per-sequence checks, with what they mean to a user.
DERIVED = {
    "time_step_increase": "increase of the time step over the previous row of the sequence",
    "sequence_length": "number of rows of the sequence",
    "labels_per_sequence": "number of different labels in the sequence",
    "splits_per_sequence": "number of different splits in the sequence",
}


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
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("prepared")
    checks = []
    for name, frame, suite in (
        ("format", table, _format_suite(gx, table, spec)),
        ("content", _content_frame(table, spec), _content_suite(gx, table, spec)),
    ):
        batch = (
            source.add_dataframe_asset(name)
            .add_batch_definition_whole_dataframe(name)
            .get_batch(batch_parameters={"dataframe": frame})
        )
        index_columns = [
            c for c in (spec_lib.SOURCE_ROW, spec_lib.SEQUENCE, spec_lib.SPLIT) if c in frame
        ]
        result = batch.validate(
            context.suites.add(suite),
            result_format={
                "result_format": "SUMMARY",
                "partial_unexpected_count": max_examples,
                "unexpected_index_column_names": index_columns,
            },
        )
        checks += [_check(r.to_json_dict(), spec, max_examples) for r in result.results]
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


def _required_columns(spec):
    columns = [spec_lib.TIME, *spec.feature_columns]
    if spec.sequence_column:
        columns.insert(0, spec_lib.SEQUENCE)
    if spec.label_column:
        columns.append(spec_lib.LABEL)
    if spec.split_column:
        columns.append(spec_lib.SPLIT)
    return columns


def _format_suite(gx, table, spec):
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name="format")
    suite.add_expectation(
        gxe.ExpectTableRowCountToBeBetween(
            min_value=spec.min_rows, description=f"the table needs at least {spec.min_rows} rows"
        )
    )
    for column in _required_columns(spec):
        suite.add_expectation(
            gxe.ExpectColumnToExist(column=column, description="the column must exist")
        )
    present = [c for c in _required_columns(spec) if c in table]
    for column in present:
        if column in spec.feature_columns and spec.missing == "interpolate":
            # Gaps were filled by prepare; a remaining gap means a sequence with < 2 values.
            description = "cells must not be empty (gaps are interpolated; too few values here)"
        else:
            description = "cells must not be empty"
        suite.add_expectation(
            gxe.ExpectColumnValuesToNotBeNull(column=column, description=description)
        )
    for column in present:
        if column in spec.feature_columns:
            suite.add_expectation(
                gxe.ExpectColumnValuesToMatchRegex(
                    column=column,
                    regex=number_format.NUMBER_PATTERN,
                    description="values must be numbers (ASCII digits, e.g. -1.5e3)",
                )
            )
    if spec_lib.TIME in table:
        suite.add_expectation(
            gxe.ExpectColumnValuesToMatchRegex(
                column=spec_lib.TIME,
                regex=number_format.INTEGER_PATTERN,
                description="time steps must be whole numbers (ASCII digits)",
            )
        )
    if spec_lib.LABEL in table and spec.labels:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeInSet(
                column=spec_lib.LABEL,
                value_set=list(spec.labels),
                description=f"labels must be one of {list(spec.labels)}",
            )
        )
    if spec_lib.SPLIT in table:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeInSet(
                column=spec_lib.SPLIT,
                value_set=list(spec_lib.SPLITS),
                description=f"split must be one of {list(spec_lib.SPLITS)}",
            )
        )
        suite.add_expectation(
            gxe.ExpectColumnDistinctValuesToContainSet(
                column=spec_lib.SPLIT,
                value_set=list(spec_lib.SPLITS),
                description="every split (train, val, test) needs rows",
            )
        )
    return suite


def _content_frame(table, spec):
    """Parses the numbers (unparseable text becomes a gap the format suite already reports)."""
    import pandas as pd

    frame = pd.DataFrame({spec_lib.SOURCE_ROW: table[spec_lib.SOURCE_ROW]})
    for column in [spec_lib.SEQUENCE, spec_lib.LABEL, spec_lib.SPLIT]:
        if column in table:
            frame[column] = table[column]
    for column, pattern in [
        (spec_lib.TIME, number_format.INTEGER_PATTERN),
        *((c, number_format.NUMBER_PATTERN) for c in spec.feature_columns),
    ]:
        if column in table:
            frame[column] = number_format.parse_numbers(table[column], pattern)
    if spec_lib.SEQUENCE not in table:
        return frame
    groups = table[spec_lib.SEQUENCE].fillna("")
    if spec_lib.TIME in frame:
        frame["time_step_increase"] = frame.groupby(groups, sort=False)[spec_lib.TIME].diff()
    frame["sequence_length"] = frame.groupby(groups, sort=False)[spec_lib.SOURCE_ROW].transform(
        "size"
    )
    for column, derived in (
        (spec_lib.LABEL, "labels_per_sequence"),
        (spec_lib.SPLIT, "splits_per_sequence"),
    ):
        if column in table:
            frame[derived] = table.groupby(groups, sort=False)[column].transform("nunique")
    return frame


def _content_suite(gx, table, spec):
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name="content")
    # Whatever value_range says: beyond FEATURE_MAX the float32 arrays or the scaling statistics
    # the models embed overflow.
    for column in spec.feature_columns:
        if column in table:
            suite.add_expectation(
                gxe.ExpectColumnValuesToBeBetween(
                    column=column,
                    min_value=-number_format.FEATURE_MAX,
                    max_value=number_format.FEATURE_MAX,
                    description=(
                        f"values must be finite, of magnitude at most {number_format.FEATURE_MAX:g} "
                        "(the models scale them by their float32 variance)"
                    ),
                )
            )
    if spec_lib.TIME in table:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column=spec_lib.TIME,
                min_value=-number_format.TIME_STEP_MAX,
                max_value=number_format.TIME_STEP_MAX,
                description=f"time steps must have a magnitude of at most {number_format.TIME_STEP_MAX}",
            )
        )
    if spec.value_range is not None:
        low, high = spec.value_range
        for column in spec.feature_columns:
            if column in table:
                suite.add_expectation(
                    gxe.ExpectColumnValuesToBeBetween(
                        column=column,
                        min_value=low,
                        max_value=high,
                        description=f"values must lie in [{low}, {high}]",
                    )
                )
    _add_train_labels_check(gxe, suite, table, spec)
    if spec_lib.SEQUENCE not in table:
        return suite
    if spec_lib.TIME in table:
        if spec.task == "forecasting":
            step = {"min_value": 1, "max_value": 1}
            description = "time steps must be consecutive within a sequence (each +1)"
        else:
            step = {"min_value": 0, "strict_min": True}
            description = "time steps must strictly increase within a sequence"
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column="time_step_increase",
                description=description,
                meta={"about": spec_lib.TIME},
                **step,
            )
        )
    if spec.sequence_length is not None:
        low, high = spec.sequence_length
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column="sequence_length",
                min_value=low,
                max_value=high,
                description=f"sequences must have {low} to {high} rows",
                meta={"about": spec_lib.SEQUENCE},
            )
        )
    for column, derived, what in (
        (spec_lib.LABEL, "labels_per_sequence", "label"),
        (spec_lib.SPLIT, "splits_per_sequence", "split"),
    ):
        if column in table and (column != spec_lib.SPLIT or spec.task == "classification"):
            suite.add_expectation(
                gxe.ExpectColumnValuesToBeInSet(
                    column=derived,
                    value_set=[1],
                    description=f"all rows of a sequence must have the same {what}",
                    meta={"about": column},
                )
            )
    return suite


def _add_train_labels_check(gxe, suite, table, spec):
    """Without declared labels the classes are those of the train split: a label that occurs
    only in val or test would silently become a class the model never saw in training."""
    if spec.labels or spec_lib.LABEL not in table or spec_lib.SPLIT not in table:
        return
    train_labels = sorted(
        table.loc[table[spec_lib.SPLIT] == "train", spec_lib.LABEL].dropna().unique().tolist()
    )
    if not train_labels:
        return  # no train split: the split expectations report it
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeInSet(
            column=spec_lib.LABEL,
            value_set=train_labels,
            description=(
                f"labels must be among those of the train split {train_labels} "
                "(labels: null takes the classes from train)"
            ),
        )
    )


def _check(result: dict, spec, max_examples: int) -> dict:
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


def write_report(report: dict, json_path: str | Path, summary_path: str | Path) -> None:
    """Writes the report as JSON and as a short Markdown summary a person reads first.

    Example:

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> report = {"success": True, "dataset": "co2", "file": "co2.csv", "rows": 3,
    ...           "sequences": 1, "failures": [], "checks": []}
    >>> write_report(report, folder / "v.json", folder / "v.md")
    >>> (folder / "v.md").read_text().splitlines()[0]
    '# Validation of co2.csv: passed'
    """
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")
    with atomic_path(summary_path) as tmp:
        tmp.write_text(summarize(report))


def summarize(report: dict) -> str:
    """The Markdown summary of a validation report (also printed by the validate stage)."""
    status = "passed" if report["success"] else "FAILED"
    lines = [
        f"# Validation of {report['file']}: {status}",
        "",
        f"Dataset `{report['dataset']}`: {report['rows']} rows, {report['sequences']} sequences, "
        f"{len(report['checks'])} expectations, {len(report['failures'])} failed.",
        "",
    ]
    if report["failures"]:
        lines += ["## Failed expectations", ""] + [f"- {f}" for f in report["failures"]] + [""]
    lines += ["## All expectations", ""]
    lines += [f"- {'ok  ' if c['success'] else 'FAIL'} {c['message']}" for c in report["checks"]]
    return "\n".join(lines) + "\n"
