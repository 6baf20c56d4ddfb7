"""The Great Expectations suites: every kind of bad input is reported with file, line, column."""

import pandas as pd
import pytest

from rnnkeras.data import prepare_table, spec_from_params
from rnnkeras.validation import summarize, validate_table
from tests.pipeline.conftest import classification_params, forecasting_params


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
    assert "column 'lpc_02': values must be numbers: 2 bad row(s)" in failure
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
