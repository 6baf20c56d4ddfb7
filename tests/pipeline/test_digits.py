"""`prepare.dataset=digits`: scikit-learn's digits as row and pixel sequences, checked against
`sklearn.datasets.load_digits` (the reader is ours; scikit-learn's loader is the reference)."""

import dataclasses
import gzip

import numpy as np
import pytest

from rnnkeras.pipeline import tasks
from rnnkeras.pipeline.data import prepare_table, registered_model_name, spec_from_params
from rnnkeras.pipeline.data.digits import digits_spec, source_path
from rnnkeras.pipeline.validation import validate_table

PREPARE = {"dataset": "digits", "val_fraction": 0.2, "test_fraction": 0.15, "seed": 0}


@pytest.fixture(scope="module")
def reference():
    from sklearn.datasets import load_digits

    return load_digits()


@pytest.fixture(scope="module", params=["rows", "pixels"])
def prepared(request):
    prepare = {**PREPARE, "digits": {"order": request.param}}
    spec = spec_from_params(prepare)
    table = prepare_table(spec, prepare)
    return request.param, prepare, spec, table


def test_the_sequences_are_the_images_read_row_by_row_or_pixel_by_pixel(prepared, reference):
    order, prepare, spec, table = prepared
    arrays, meta = tasks.table_to_arrays(table, spec, prepare)
    steps, features = (8, 8) if order == "rows" else (64, 1)
    images = reference.images.reshape(-1, steps, features)
    for split in ("train", "val", "test"):
        x, y = arrays[split]["x"], arrays[split]["y"]
        index = arrays[split]["sequence_id"].astype(int) - 1  # line number -> image index
        assert x.shape[1:] == (steps, features)
        np.testing.assert_array_equal(x, images[index])
        np.testing.assert_array_equal(y, reference.target[index])
    assert meta["counts"] == {"train": 1168, "val": 359, "test": 270}
    assert meta["classes"] == [str(d) for d in range(10)]
    # Every image has all its steps: a blank row or pixel is data, not padding.
    assert meta["masked"] is False


def test_the_bundled_digits_pass_validation(prepared):
    _, _, spec, table = prepared
    report = validate_table(table, spec)
    assert report["success"], report["failures"]
    assert report["sequences"] == 1797


def test_a_bad_pixel_is_named_with_its_file_line_and_column(tmp_path):
    with gzip.open(source_path(), "rt") as stream:
        lines = stream.read().splitlines()
    cells = lines[4].split(",")
    cells[10] = "17"  # row 1, column 2 of the fifth image
    lines[4] = ",".join(cells)
    lines[9] = lines[9].rsplit(",", 1)[0] + ",12"  # a label that is no digit
    broken = tmp_path / "digits.csv.gz"
    with gzip.open(broken, "wt") as stream:
        stream.write("\n".join(lines) + "\n")
    spec = digits_spec({"digits": {"order": "rows"}})
    spec = dataclasses.replace(spec, path=broken)
    report = validate_table(prepare_table(spec, PREPARE), spec)
    assert not report["success"]
    failures = "\n".join(report["failures"])
    assert "digits.csv.gz: column 'col_2': values must lie in [0.0, 16.0]" in failures
    assert "line 5 (sequence 5): 17" in failures
    assert "column 'label': labels must be one of" in failures and "line 10" in failures


def test_an_unknown_order_is_named():
    with pytest.raises(ValueError, match=r"Received: prepare.digits.order='columns'"):
        spec_from_params({"dataset": "digits", "digits": {"order": "columns"}})


def test_digits_models_have_a_registry_name_of_their_own():
    params = {"prepare": {"dataset": "digits"}, "mlflow": {"registered_model": "rnnkeras"}}
    assert registered_model_name(params) == "rnnkeras-digits"


def test_a_fixed_length_classifier_reads_blank_frames():
    meta = {
        "task": "classification",
        "features": ["pixel"],
        "classes": ["a", "b"],
        "max_length": 4,
        "masked": False,
        "input_mean": [0.0],
        "input_variance": [1.0],
    }
    model = tasks.get("classification").build_model(meta, {"cell": "gru", "units": 3})
    x = np.zeros((2, 4, 1), "float32")
    x[1, 0] = 5.0  # a pixel followed by blanks; the blanks still move the state
    x_late = np.zeros_like(x)
    x_late[1, 3] = 5.0
    assert "padding_mask" not in [layer.name for layer in model.layers]
    assert not np.allclose(model(x)[1], model(x_late)[1])
