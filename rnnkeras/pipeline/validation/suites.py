"""The two Great Expectations suites a prepared table must pass, built in code.

The *format* suite sees the cells as text: columns present, no empty cells, numbers that parse
(by the patterns the loader uses, `rnnkeras.pipeline.data.number_format`), labels and split
names from the known set, enough rows. The *content* suite sees the parsed numbers
(`content_frame`): finite values of a magnitude the float32 models can scale, value ranges,
time steps strictly increasing within each sequence (consecutive for a series), sequence
lengths within bounds, one label and one split per sequence (not for a series), and (without declared labels) no
label in val or test that train lacks.

`gx` is the `great_expectations` module, imported by the caller (`validate_table`).
"""

import rnnkeras.pipeline.data.number_format as number_format
import rnnkeras.pipeline.data.spec as spec_lib

# Columns derived from the table for the per-sequence checks, with what they mean to a user.
DERIVED = {
    "time_step_increase": "increase of the time step over the previous row of the sequence",
    "sequence_length": "number of rows of the sequence",
    "labels_per_sequence": "number of different labels in the sequence",
    "splits_per_sequence": "number of different splits in the sequence",
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


def format_suite(gx, table, spec: spec_lib.DatasetSpec):
    """The suite on the cells as text: columns, empty cells, number syntax, known labels, rows.

    Args:
        gx: The `great_expectations` module.
        table: The prepared table (`pandas.DataFrame`, cells as text).
        spec: The dataset spec the table must follow.
    """
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


def content_frame(table, spec: spec_lib.DatasetSpec):
    """The table with its numbers parsed and the per-sequence `DERIVED` columns added.

    Unparseable text becomes a gap, which the format suite already reports.
    """
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


def content_suite(gx, table, spec: spec_lib.DatasetSpec):
    """The suite on `content_frame(table, spec)`: magnitudes, ranges, steps, lengths, labels.

    Args:
        gx: The `great_expectations` module.
        table: The prepared table the content frame is made from (it decides which checks apply).
        spec: The dataset spec the table must follow.
    """
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
        if spec.layout == "series":
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
        # A series is split by time and may label each step; sequences have one of each.
        if column in table and spec.layout == "sequences":
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
