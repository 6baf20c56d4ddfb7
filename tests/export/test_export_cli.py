"""``rnnkeras export-model``: from a .keras file and held-out arrays to files and a report."""

import argparse
import json

import numpy as np
import pytest
from export_models import classifier, padded_inputs, recurrent

from rnnkeras.export.cli import add_command


def _parse(argv):
    parser = argparse.ArgumentParser(prog="rnnkeras")
    add_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


@pytest.mark.slow
def test_export_model_command(tmp_path, capsys):
    model = classifier(recurrent("lstm", name="lstm"), masked=True)
    model.save(tmp_path / "model.keras")
    x = padded_inputs(16)
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
            "--no-torch",
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
    model = classifier(recurrent("gru"))
    model.save(tmp_path / "model.keras")
    args = _parse(
        ["export-model", str(tmp_path / "model.keras"), "--data", str(tmp_path / "x.csv")]
    )
    with pytest.raises(ValueError, match="folder with test.npz or an .npz file"):
        args.run(args)
