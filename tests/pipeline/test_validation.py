"""The Great Expectations suites: every kind of bad input is reported with file, line, column."""

import json

import numpy as np
import pandas as pd
import pytest

from rnnkeras.pipeline.data import prepare_table, spec_from_params
from rnnkeras.pipeline.data.number_format import FEATURE_MAX
from rnnkeras.pipeline.tasks import table_to_arrays
from rnnkeras.pipeline.validation import summarize, validate_table
from tests.pipeline.tiny_params import classification_params, forecasting_params


def check(csv_path, params=None, corrupt=None):
    """Corrupts the CSV (a function of the DataFrame of strings), prepares and validates it."""
    if corrupt is not None:
        table = pd.read_csv(csv_path, dtype=str)
        table = corrupt(table)
        table.to_csv(csv_path, index=False)
    params = params or classification_params(csv_path)
    spec = spec_from_params(params["prepare"])
    return validate_table(prepare_table(spec, params["prepare"]), spec, max_examples=3)


def only_failure(report):
    assert not report["success"]
    assert len(report["failures"]) == 1, report["failures"]
    return report["failures"][0]


def test_clean_tables_pass_every_expectation(tiny_vowels_csv, tiny_series_csv):
    report = check(tiny_vowels_csv)
    assert report["success"], report["failures"]
    assert report["sequences"] == 54 and len(report["checks"]) > 40
    forecast = check(tiny_series_csv, forecasting_params(tiny_series_csv))
    assert forecast["success"], forecast["failures"]


def test_a_null_names_file_line_and_column(tiny_vowels_csv):
    def corrupt(table):
        table.loc[30, "lpc_05"] = None
        return table

    failure = only_failure(check(tiny_vowels_csv, corrupt=corrupt))
    assert failure.startswith(str(tiny_vowels_csv))
    assert "column 'lpc_05': cells must not be empty: 1 bad row(s), e.g. line 32" in failure


def test_text_in_a_numeric_column_is_shown_with_its_value(tiny_vowels_csv):
    def corrupt(table):
        table.loc[7, "lpc_02"] = "1,5"
        table.loc[9, "lpc_02"] = "abc"
        return table

    failure = only_failure(check(tiny_vowels_csv, corrupt=corrupt))
    assert (
        "column 'lpc_02': values must be numbers (ASCII digits, e.g. -1.5e3): 2 bad row(s)"
        in failure
    )
    assert "line 9 (sequence 1): '1,5'" in failure and "line 11 (sequence 1): 'abc'" in failure


def test_a_missing_column_is_named(tiny_vowels_csv):
    report = check(tiny_vowels_csv, corrupt=lambda t: t.drop(columns=["lpc_07"]))
    assert only_failure(report).endswith("column 'lpc_07' is missing from the file")


def test_an_empty_file_fails_on_rows_and_columns(tiny_vowels_csv):
    tiny_vowels_csv.write_text("")
    report = check(tiny_vowels_csv)
    assert not report["success"] and report["rows"] == 0
    assert any("the table needs at least 50 rows: found 0" in f for f in report["failures"])
    assert any("column 'sequence_id' is missing" in f for f in report["failures"])


def test_a_header_only_file_fails_on_rows(tiny_vowels_csv):
    tiny_vowels_csv.write_text(tiny_vowels_csv.read_text().splitlines()[0] + "\n")
    failures = check(tiny_vowels_csv)["failures"]
    assert any("at least 50 rows: found 0" in f for f in failures), failures


def test_a_time_step_going_backwards_is_reported_in_its_sequence(tiny_vowels_csv):
    def corrupt(table):
        table.loc[12, "time_step"] = "3"  # sequence 1 has steps 0..19 in rows 0..19
        return table

    failure = only_failure(check(tiny_vowels_csv, corrupt=corrupt))
    assert "column 'time_step': time steps must strictly increase within a sequence" in failure
    assert "line 14 (sequence 1): increase of the time step over the previous row" in failure
    assert "= -8" in failure


def test_forecasting_needs_consecutive_time_steps(tiny_series_csv):
    def corrupt(table):
        return table.drop(index=50)

    failure = only_failure(
        check(tiny_series_csv, forecasting_params(tiny_series_csv), corrupt=corrupt)
    )
    assert "column 'week': time steps must be consecutive" in failure
    assert "line 52" in failure and "= 2" in failure


def test_unknown_labels_ranges_and_lengths(tiny_vowels_csv):
    def corrupt(table):
        table.loc[table.sequence_id == table.sequence_id.iloc[0], "label"] = "10"
        table.loc[100, "lpc_01"] = "7.5"
        return table

    params = classification_params(tiny_vowels_csv)
    params["prepare"]["csv"]["sequence_length"] = [7, 25]
    failures = check(tiny_vowels_csv, params, corrupt)["failures"]
    assert any("column 'label': labels must be one of" in f and "'10'" in f for f in failures)
    assert any(
        "column 'lpc_01': values must lie in [-5.0, 5.0]" in f and "7.5" in f for f in failures
    )
    assert any("column 'sequence_id': sequences must have 7 to 25 rows" in f for f in failures)


def test_a_split_that_changes_inside_a_sequence_is_reported(tiny_vowels_csv):
    def corrupt(table):
        table.loc[3, "split"] = "test"
        return table

    failure = only_failure(check(tiny_vowels_csv, corrupt=corrupt))
    assert "column 'split': all rows of a sequence must have the same split" in failure


def test_summary_lists_failures_first(tiny_vowels_csv):
    report = check(tiny_vowels_csv, corrupt=lambda t: t.drop(columns=["label"]))
    text = summarize(report)
    assert text.splitlines()[0].endswith(": FAILED")
    assert text.index("## Failed expectations") < text.index("## All expectations")
    assert "column 'label' is missing from the file" in text


@pytest.mark.parametrize("value", ["nan", "", "NA"])
def test_spellings_of_missing_are_all_nulls(tiny_vowels_csv, value):
    lines = tiny_vowels_csv.read_text().splitlines()
    cells = lines[5].split(",")
    cells[4] = value
    lines[5] = ",".join(cells)
    tiny_vowels_csv.write_text("\n".join(lines) + "\n")
    failure = only_failure(check(tiny_vowels_csv))
    assert "column 'lpc_03': cells must not be empty: 1 bad row(s), e.g. line 6" in failure


# Cells pandas' parser refuses (other scripts' digits, odd spaces, words) or parses to values
# the float32 pipeline cannot hold (infinities, overflowing magnitudes).
NOT_LOADABLE = [
    "１.５",  # full-width digits and point
    "٣",  # Arabic-Indic digit
    "१२",  # Devanagari digits
    "²",
    "\xa01.5",  # no-break space
    "1_000",
    "1,5",
    "0x10",
    "1.5f",
    "inf",
    "-Infinity",
    "1e400",
    "1e30",
    "-3e38",
]
LOADABLE = [" 1.5", "1.5 ", "+1.5", "1.", ".5", "-0", "1E-5", "2.5e3", "1e18", "-1e18"]


def pandas_loads(value: str) -> bool:
    """The loader's view, independent of rnnkeras: pandas parses it to a usable float32."""
    try:
        number = float(pd.to_numeric(pd.Series([value])).iloc[0])
    except ValueError:
        return False
    return bool(np.isfinite(number) and abs(number) <= FEATURE_MAX)


def with_values(csv_path, column, values, first_row=0):
    table = pd.read_csv(csv_path, dtype=str)
    for offset, value in enumerate(values):
        table.loc[first_row + offset, column] = value
    table.to_csv(csv_path, index=False)


def test_the_test_values_split_as_pandas_parses_them():
    assert not any(pandas_loads(v) for v in NOT_LOADABLE)
    assert all(pandas_loads(v) for v in LOADABLE)


def test_validation_rejects_exactly_what_the_loader_cannot_parse(tiny_vowels_csv):
    """Non-ASCII digits, infinities and overflowing values fail validation with file, line and
    column, with `value_range: null` too; everything validation accepts loads."""
    values = NOT_LOADABLE + LOADABLE
    with_values(tiny_vowels_csv, "lpc_02", values)
    params = classification_params(tiny_vowels_csv)
    params["prepare"]["csv"]["value_range"] = None
    spec = spec_from_params(params["prepare"])
    table = prepare_table(spec, params["prepare"])
    report = validate_table(table, spec, max_examples=len(values))
    assert not report["success"]
    flagged = {
        example["line"]
        for check in report["checks"]
        if not check["success"] and check["column"] == "lpc_02"
        for example in check["examples"]
    }
    assert flagged == {line + 2 for line, v in enumerate(values) if not pandas_loads(v)}
    assert all(f.startswith(f"{tiny_vowels_csv}: column 'lpc_02': ") for f in report["failures"])
    assert "line 2 (sequence 1): '１.５'" in report["failures"][0]
    assert any("at most 1e+18" in f and ": 1e+30" in f for f in report["failures"])
    json.dumps(report, allow_nan=False)  # strict JSON, infinities included

    good = prepare_table(spec, params["prepare"])
    for line in flagged:  # the loader refuses the same cells, naming them
        good.loc[good.source_row == line, "lpc_02"] = "0.5"
    passed = validate_table(good, spec)
    assert passed["success"], passed["failures"]
    arrays, _ = table_to_arrays(good, spec, params["prepare"])
    assert np.isfinite(arrays["train"]["x"]).all()


@pytest.mark.parametrize("value", NOT_LOADABLE)
def test_the_loader_refuses_what_validation_refuses_with_line_and_column(tiny_vowels_csv, value):
    params = classification_params(tiny_vowels_csv)
    spec = spec_from_params(params["prepare"])
    table = prepare_table(spec, params["prepare"])
    table.loc[4, "lpc_07"] = value
    with pytest.raises(ValueError, match="line 6, column 'lpc_07'.*Received: value="):
        table_to_arrays(table, spec, params["prepare"])


def test_non_ascii_digits_in_the_time_column_are_reported(tiny_series_csv):
    with_values(tiny_series_csv, "week", ["３"], first_row=40)
    failures = check(tiny_series_csv, forecasting_params(tiny_series_csv))["failures"]
    assert any(
        "column 'week': time steps must be whole numbers (ASCII digits): 1 bad row(s), "
        "e.g. line 42 (sequence 0): '３'" in f
        for f in failures
    ), failures


def test_a_label_seen_only_outside_train_names_the_label_and_the_split(tiny_vowels_csv):
    """`labels: null` takes the classes from train: a label only in test is an error."""

    def corrupt(table):
        test_sequence = table[table.split == "test"].sequence_id.iloc[0]
        table.loc[table.sequence_id == test_sequence, "label"] = "10"
        return table

    params = classification_params(tiny_vowels_csv)
    params["prepare"]["csv"]["labels"] = None
    failure = only_failure(check(tiny_vowels_csv, params, corrupt))
    assert "column 'label': labels must be among those of the train split" in failure
    assert "split test): '10'" in failure


def test_without_declared_labels_the_classes_are_those_of_train(tiny_vowels_csv):
    params = classification_params(tiny_vowels_csv)
    params["prepare"]["csv"]["labels"] = None
    spec = spec_from_params(params["prepare"])
    table = prepare_table(spec, params["prepare"])
    assert validate_table(table, spec)["success"]
    _, meta = table_to_arrays(table, spec, params["prepare"])
    assert meta["classes"] == [str(i) for i in range(1, 10)]
