"""Bundled datasets, the prepared table, windowing and padding."""

import numpy as np
import pandas as pd
import pytest

from rnnkeras.pipeline.data import (
    BUNDLED_DIR,
    bundled_spec,
    make_windows,
    pad_sequences,
    prepare_table,
    read_source,
    spec_from_params,
)
from rnnkeras.pipeline.tasks import table_to_arrays
from tests.pipeline.tiny_params import classification_params, forecasting_params


def test_bundled_co2_is_the_weekly_mauna_loa_record_with_its_real_gaps():
    table = pd.read_csv(BUNDLED_DIR / "co2_weekly.csv")
    assert len(table) == 2284
    assert table["co2_ppm"].isna().sum() == 59
    dates = pd.to_datetime(table["date"])
    assert (dates.diff().dropna() == pd.Timedelta(days=7)).all()
    assert dates.iloc[0] == pd.Timestamp("1958-03-29")
    assert dates.iloc[-1] == pd.Timestamp("2001-12-29")
    assert table["week"].tolist() == list(range(2284))
    assert 310 < table["co2_ppm"].min() < table["co2_ppm"].max() < 380


def test_bundled_vowels_has_the_uci_shape(vowels):
    lengths = vowels.groupby("sequence_id").size()
    assert len(lengths) == 640
    assert lengths.min() == 7 and lengths.max() == 29
    per_split = vowels.groupby("split").sequence_id.nunique().to_dict()
    assert per_split == {"train": 270, "test": 370}
    train_labels = vowels[vowels.split == "train"].groupby("sequence_id").label.first()
    assert train_labels.value_counts().tolist() == [30] * 9
    assert vowels.filter(like="lpc_").notna().all().all()


def test_make_windows_pairs_past_values_with_the_following_ones():
    values = np.stack([np.arange(10.0), 100 + np.arange(10.0)], axis=1)
    x, y, end = make_windows(values, window=4, horizon=2, target_index=1)
    assert x.shape == (5, 4, 2) and y.shape == (5, 2)
    for i, e in enumerate(end):
        np.testing.assert_array_equal(x[i], values[e - 4 : e])
        np.testing.assert_array_equal(y[i], values[e : e + 2, 1])
    assert make_windows(values, window=9, horizon=2)[0].shape == (0, 9, 2)


def test_pad_sequences_pads_at_the_end_and_refuses_what_does_not_fit():
    x, lengths = pad_sequences([np.ones((2, 3)), 2 * np.ones((4, 3))], length=5)
    assert lengths.tolist() == [2, 4]
    assert x[0, :2].tolist() == [[1.0] * 3] * 2 and not x[0, 2:].any()
    assert x[1, :4].min() == 2.0 and not x[1, 4:].any()
    with pytest.raises(ValueError, match="length=3"):
        pad_sequences([np.ones((4, 1))], length=3)


def test_read_source_keeps_text_and_line_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1.5,x\n\n,2\n")
    table = read_source(path)
    assert table["source_row"].tolist() == [2, 4]
    assert table["a"].tolist()[0] == "1.5" and pd.isna(table["a"].tolist()[1])
    assert table["b"].tolist() == ["x", "2"]


def test_read_source_turns_an_empty_file_into_an_empty_table(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert len(read_source(path)) == 0


def test_prepare_interpolates_declared_gaps_linearly_and_flags_them(tiny_series_csv):
    params = forecasting_params(tiny_series_csv)
    table = prepare_table(spec_from_params(params["prepare"]), params["prepare"])
    source = pd.read_csv(tiny_series_csv)
    values = table["ppm"].astype(float)
    expected_10 = source.ppm[9] + (source.ppm[12] - source.ppm[9]) / 3
    assert values[10] == pytest.approx(expected_10)
    assert table["imputed"].tolist().count("1") == 2
    assert table.loc[[10, 11], "imputed"].tolist() == ["1", "1"]
    assert table["split"].tolist() == ["train"] * 96 + ["val"] * 32 + ["test"] * 32
    assert (table["time_step"] == source["week"].astype(str)).all()


def test_prepare_leaves_text_in_a_numeric_column_for_validation(tiny_series_csv):
    source = pd.read_csv(tiny_series_csv, dtype=str)
    source.loc[40, "ppm"] = "broken"
    source.to_csv(tiny_series_csv, index=False)
    params = forecasting_params(tiny_series_csv)
    table = prepare_table(spec_from_params(params["prepare"]), params["prepare"])
    assert table.loc[40, "ppm"] == "broken"
    assert table["ppm"].isna().sum() == 2  # no interpolation over a column that has text


def test_prepare_holds_out_validation_sequences_from_the_training_split(tiny_vowels_csv):
    params = classification_params(tiny_vowels_csv)
    table = prepare_table(spec_from_params(params["prepare"]), params["prepare"])
    per_split = table.groupby("split").sequence_id.nunique().to_dict()
    assert per_split == {"train": 27, "val": 9, "test": 18}
    assert (table.groupby("sequence_id").split.nunique() == 1).all()
    again = prepare_table(spec_from_params(params["prepare"]), params["prepare"])
    assert again["split"].tolist() == table["split"].tolist()


def test_prepare_assigns_splits_by_sequence_when_the_file_has_none(tiny_vowels_csv):
    params = classification_params(tiny_vowels_csv)
    pd.read_csv(tiny_vowels_csv).drop(columns="split").to_csv(tiny_vowels_csv, index=False)
    params["prepare"]["csv"]["split_column"] = None
    table = prepare_table(spec_from_params(params["prepare"]), params["prepare"])
    per_split = table.groupby("split").sequence_id.nunique().to_dict()
    assert per_split == {"train": 29, "val": 14, "test": 11}


def test_classification_arrays_pad_and_index_labels(tiny_vowels_csv, vowels):
    params = classification_params(tiny_vowels_csv)
    spec = spec_from_params(params["prepare"])
    arrays, meta = table_to_arrays(prepare_table(spec, params["prepare"]), spec, params["prepare"])
    test = arrays["test"]
    assert test["x"].shape == (18, 29, 12)
    first = vowels[vowels.sequence_id == int(test["sequence_id"][0])]
    n = len(first)
    assert test["lengths"][0] == n
    np.testing.assert_allclose(test["x"][0, :n], first.filter(like="lpc_").to_numpy(), rtol=1e-6)
    assert not test["x"][0, n:].any()
    assert meta["classes"][test["y"][0]] == str(first.label.iloc[0])
    frames = np.concatenate(
        [x[:k] for x, k in zip(arrays["train"]["x"], arrays["train"]["lengths"], strict=True)]
    )
    np.testing.assert_allclose(meta["input_mean"], frames.mean(0), rtol=1e-5)


def test_forecasting_windows_belong_to_the_split_of_their_last_target(tiny_series_csv):
    params = forecasting_params(tiny_series_csv)
    spec = spec_from_params(params["prepare"])
    table = prepare_table(spec, params["prepare"])
    arrays, meta = table_to_arrays(table, spec, params["prepare"])
    # 160 steps, window 12, horizon 3: 146 windows; the last target of train ones is < 96.
    assert sum(len(a["x"]) for a in arrays.values()) == 146
    last_target = {s: a["time_step"] + 2 for s, a in arrays.items()}
    assert last_target["train"].max() == 95 and last_target["val"].min() == 96
    assert last_target["test"].min() == 128 and last_target["test"].max() == 159
    # Stored relative to the last input value: x + last gives the window back, y + last the
    # next three values.
    values = table["ppm"].astype("float32").to_numpy()
    test = arrays["test"]
    t = int(test["time_step"][5])
    np.testing.assert_allclose(test["x"][5, :, 0] + test["last_value"][5], values[t - 12 : t])
    np.testing.assert_allclose(test["y"][5] + test["last_value"][5], values[t : t + 3])
    assert test["last_value"][5] == values[t - 1] and test["x"][5, -1, 0] == 0.0
    assert meta["input_variance"][0] == pytest.approx(arrays["train"]["x"].var(), rel=1e-5)
    assert meta["target_scale"] == pytest.approx(arrays["train"]["y"].std(), rel=1e-5)


def test_spec_from_params_explains_bad_settings(tmp_path):
    with pytest.raises(ValueError, match="prepare.dataset must be one of"):
        spec_from_params({"dataset": "mnist"})
    with pytest.raises(ValueError, match="unknown keys=\\['colour'\\]"):
        spec_from_params({"dataset": "csv", "csv": {"path": "x.csv", "colour": 1}})
    with pytest.raises(ValueError, match="target_column must be one of the feature_columns"):
        spec_from_params(
            {
                "dataset": "csv",
                "csv": {
                    "path": "x.csv",
                    "task": "forecasting",
                    "time_column": "t",
                    "feature_columns": ["a"],
                    "target_column": "b",
                },
            }
        )
    assert bundled_spec("co2").missing == "interpolate"
