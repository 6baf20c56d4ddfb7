"""`params.yaml` is checked whole when it is loaded: keys, types, ranges, allowed values."""

import json
from pathlib import Path

import pytest
import yaml

from rnnkeras.pipeline import mlflow_project
from rnnkeras.pipeline.params import ParamsError, check_params, load_params
from rnnkeras.pipeline.stages import paths, train

REPO = Path(__file__).resolve().parents[2]


def write_params(folder: Path, **train_section) -> Path:
    """`params.yaml` with the repository's values and a `train` section changed as given."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["train"] = {**params["train"], **train_section}
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def line_of(path: Path, key: str) -> int:
    return next(i for i, text in enumerate(path.read_text().splitlines(), 1) if f"  {key}:" in text)


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"epochs": 0}, "epochs", "train.epochs must be an integer ≥ 1. Received: train.epochs=0"),
        (
            {"epochs": -3},
            "epochs",
            "train.epochs must be an integer ≥ 1. Received: train.epochs=-3",
        ),
        ({"epochs": 2.5}, "epochs", "train.epochs must be an integer ≥ 1."),
        (
            {"unit": 16},
            "unit",
            "train.unit is not a parameter (did you mean train.units?). Received: train.unit=16",
        ),
        ({"epoch": 30}, "epoch", "train.epoch is not a parameter (did you mean train.epochs?)"),
        (
            {"learning_rate": "fast"},
            "learning_rate",
            "train.learning_rate must be a number > 0.0. Received: train.learning_rate='fast'",
        ),
        (
            {"batch_size": "big"},
            "batch_size",
            "train.batch_size must be an integer ≥ 1. Received: train.batch_size='big'",
        ),
        ({"units": 0}, "units", "train.units must be an integer ≥ 1. Received: train.units=0"),
        (
            {"cell": "rnn"},
            "cell",
            "train.cell must be one of 'simple', 'lstm', 'gru', 'peephole_lstm',",
        ),
        ({"bidirectional": "yes"}, "bidirectional", "train.bidirectional must be true or false."),
        ({"dropout": 1.0}, "dropout", "train.dropout must be a number ≥ 0.0 and < 1.0."),
        ({"clipping": "always"}, "clipping", "train.clipping must be one of 'none', 'autoclip'"),
        (
            {"backend": "pytorch"},
            "backend",
            "train.backend must be one of 'tensorflow', 'jax', 'torch' (did you mean 'torch'?). "
            "Received: train.backend='pytorch'",
        ),
        (
            {"backend": "tf"},
            "backend",
            "train.backend must be one of 'tensorflow', 'jax', 'torch'. Received: train.backend='tf'",
        ),
        (
            {"backend": None},
            "backend",
            "train.backend must be one of 'tensorflow', 'jax', 'torch'.",
        ),
        (
            {"cell": "lsmt"},
            "cell",
            "train.cell must be one of 'simple', 'lstm', 'gru', 'peephole_lstm', 'layer_norm_lstm', "
            "'layer_norm_gru', 'layer_norm_simple_rnn', 'indrnn', 'esn', 'mingru', 'minlstm' "
            "(did you mean 'lstm'?). Received: train.cell='lsmt'",
        ),
    ],
)
def test_a_wrong_value_is_named_with_its_file_and_line(tmp_path, changes, key, message):
    path = write_params(tmp_path, **changes)
    with pytest.raises(ValueError) as caught:
        load_params(path)
    assert str(caught.value).startswith(f"{path}:{line_of(path, key)}: {message}")


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_train_backend_accepts_each_keras_backend(tmp_path, backend):
    assert load_params(write_params(tmp_path, backend=backend))["train"]["backend"] == backend


def test_train_backend_defaults_to_tensorflow():
    minimal = {name: {} for name in ("prepare", "validate", "train", "evaluate", "export")}
    assert check_params(minimal)["train"]["backend"] == "tensorflow"


def test_a_misspelt_choice_in_a_list_gets_the_nearest_one_too():
    minimal = {name: {} for name in ("prepare", "validate", "train", "evaluate")}
    with pytest.raises(
        ParamsError,
        match=r"export.quantize\[0\] must be one of .* \(did you mean "
        r"'dynamic'\?\). Received: export.quantize\[0\]='dinamic'",
    ):
        check_params({**minimal, "export": {"quantize": ["dinamic"]}})


def test_every_error_of_a_file_is_reported_at_once(tmp_path):
    path = write_params(tmp_path, epochs=0, unit=16, learning_rate="fast")
    with pytest.raises(ParamsError) as caught:
        load_params(path)
    assert len(caught.value.problems) == 3
    assert str(caught.value).startswith("3 errors in the parameters:")
    for key in ("train.epochs", "train.unit", "train.learning_rate"):
        assert f"Received: {key}=" in str(caught.value)


def test_other_sections_and_nested_keys_are_checked_too():
    params = {
        "prepare": {"dataset": "csv", "csv": {"path": "x.csv", "task": "classify"}},
        "validate": {"max_example": 3},
        "train": {},
        "evaluate": {"metric": "f1"},
        "export": {"quantize": ["none", "int4"]},
        "mlflow": {"alias": ""},
        "traine": {},
    }
    with pytest.raises(ParamsError) as caught:
        check_params(params, source="test")
    text = str(caught.value)
    assert "prepare.csv.task must be one of 'classification', 'forecasting'" in text
    assert "prepare.csv.time_column is required" in text
    assert "validate.max_example is not a parameter (did you mean validate.max_examples?)" in text
    assert "evaluate.metric is not a parameter" in text
    assert "export.quantize[1] must be one of 'none'" in text
    assert "mlflow.alias must be a non-empty text. Received: mlflow.alias=''" in text
    assert "traine is not a parameter (did you mean train?)" in text


def test_the_repository_params_are_the_documented_defaults():
    params = load_params(REPO / "params.yaml")
    minimal = {name: {} for name in ("prepare", "validate", "train", "evaluate", "export")}
    defaults = check_params(minimal)
    for section in ("validate", "train", "evaluate", "export", "mlflow"):
        assert params[section] == defaults[section], section
    assert {k: v for k, v in params["prepare"].items() if k != "csv"} == {
        k: v for k, v in defaults["prepare"].items() if k != "csv"
    }


def test_bad_params_stop_train_before_it_touches_outputs_or_mlflow(project, capsys):
    """The good model, the checkpoint state and the run record survive; no MLflow run starts."""
    write_params(project, epochs=-3)
    outputs = {
        paths.MODEL: b"good model",
        paths.MLFLOW_RUN: b'{"run_id": "good"}\n',
        paths.CHECKPOINTS / "state.json": json.dumps({"epoch": 5, "complete": False}).encode(),
    }
    for path, content in outputs.items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_bytes(content)
    assert train.main(["--root", str(project)]) == 1
    assert "train.epochs must be an integer ≥ 1. Received: train.epochs=-3" in (
        capsys.readouterr().err
    )
    for path, content in outputs.items():
        assert (project / path).read_bytes() == content, path
    assert not (project / "mlflow.db").exists() and not (project / "mlartifacts").exists()


def test_the_mlflow_project_checks_its_overrides_before_any_stage(tmp_path, capsys):
    root = tmp_path / "root"
    root.mkdir()
    write_params(root)
    code = mlflow_project.main(
        ["train", "--set", "train.epochs=0", "--set", "train.dropout=2", "--root", str(root)]
    )
    assert code == 1
    error = capsys.readouterr().err
    assert "train.epochs must be an integer ≥ 1. Received: train.epochs=0" in error
    assert "train.dropout must be a number ≥ 0.0 and < 1.0. Received: train.dropout=2.0" in error
    assert not (root / mlflow_project.RUNS_DIR).exists()


def test_the_csv_section_accepts_exactly_the_dataset_spec_fields():
    import dataclasses

    from rnnkeras.pipeline.data.spec import DatasetSpec
    from rnnkeras.pipeline.params_schema import CsvParams

    # A CSV's layout follows from its task; a reader is for bundled files in other formats.
    not_for_csv = {"name", "layout", "reader"}
    spec_fields = {field.name for field in dataclasses.fields(DatasetSpec)} - not_for_csv
    assert set(CsvParams.model_fields) == spec_fields


def test_the_schema_lists_exactly_the_datasets_of_the_dataset_table():
    from typing import get_args

    from rnnkeras.pipeline.data import DATASETS
    from rnnkeras.pipeline.params_schema import PrepareParams

    assert set(get_args(PrepareParams.model_fields["dataset"].annotation)) == set(DATASETS)
