"""`rnnkeras export-model`: from a .keras file and held-out arrays to files and a report."""

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from rnnkeras.pipeline.export_model import add_command, output_folder
from tests.export import export_models


def _parse(argv):
    parser = argparse.ArgumentParser(prog="rnnkeras")
    add_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


@pytest.mark.slow
def test_export_model_command(tmp_path, capsys):
    model = export_models.classifier(export_models.recurrent("lstm", name="lstm"), masked=True)
    model.save(tmp_path / "model.keras")
    x = export_models.padded_inputs(16)
    np.savez(tmp_path / "heldout.npz", x=x, y=np.arange(16) % 2)
    args = _parse(
        [
            "export-model",
            str(tmp_path / "model.keras"),
            "--data",
            str(tmp_path / "heldout.npz"),
            "--sequence-length",
            str(x.shape[1]),
            "--quantize",
            "none",
            "float16",
            "--right-padded",
            "--out",
            str(tmp_path / "export"),
        ]
    )
    assert args.run(args) == 0
    out = tmp_path / "export"
    assert (out / "model_float32.tflite").is_file() and (out / "model_float16.tflite").is_file()
    assert (out / "saved_model" / "1" / "saved_model.pb").is_file()
    report = json.loads((out / "export.json").read_text())
    assert [entry["quantize"] for entry in report["tflite"]] == ["none", "float16"]
    assert all(entry["forms"]["lstm"]["form"] == "fused" for entry in report["tflite"])
    printed = capsys.readouterr().out
    assert "model_float16.tflite" in printed and "All thresholds met: True" in printed


def test_data_must_be_a_folder_or_npz(tmp_path):
    model = export_models.classifier(export_models.recurrent("gru"))
    model.save(tmp_path / "model.keras")
    args = _parse(
        ["export-model", str(tmp_path / "model.keras"), "--data", str(tmp_path / "x.csv")]
    )
    with pytest.raises(ValueError, match="folder with test.npz or an .npz file"):
        args.run(args)


REPOSITORY = Path(__file__).resolve().parents[2]


def test_refuses_to_write_into_the_pipelines_export_folder(monkeypatch):
    """The command of the docs, run in this project: `export/` belongs to DVC's export stage."""
    monkeypatch.chdir(REPOSITORY)
    args = _parse(["export-model", "models/model.keras", "--data", "data/validated"])
    args.out = "export"
    with pytest.raises(ValueError, match="write into export, an output") as error:
        output_folder(args)
    assert str(error.value).endswith("Received: --out=export")
    args.force = True
    assert output_folder(args) == Path("export")


@pytest.mark.parametrize(
    "out, refused",
    [
        ("export", ["export"]),
        ("reports", ["reports/export.json", "reports/export.md"]),
        (".", []),
        ("exports/model", []),
        ("export/../elsewhere", []),
    ],
)
def test_any_pipeline_output_is_refused_nothing_else(tmp_path, monkeypatch, out, refused):
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  export:\n    cmd: python pipelines/export.py\n    outs:\n      - export\n"
        "      - reports/export.json\n      - reports/export.md:\n          cache: false\n"
    )
    monkeypatch.chdir(tmp_path)
    args = _parse(["export-model", "model.keras", "--data", "x.npz", "--out", out])
    if refused:
        with pytest.raises(ValueError, match=f"write into {', '.join(refused)}, an output"):
            output_folder(args)
        assert not (tmp_path / out).exists()
    else:
        assert output_folder(args) == Path(out)


def test_default_folder_is_outside_the_pipeline_outputs(monkeypatch):
    monkeypatch.chdir(REPOSITORY)
    args = _parse(["export-model", "models/model.keras"])
    assert output_folder(args) == Path("exports/model")
