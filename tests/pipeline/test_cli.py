"""`rnnkeras --help` and argument errors answer without importing TensorFlow."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

CALL = """
import json, sys
from rnnkeras.pipeline.cli import main
try:
    main(json.loads(sys.argv[1]))
except SystemExit as exit:
    code = exit.code
print("IMPORTED" + json.dumps([name for name in ("tensorflow", "keras") if name in sys.modules]))
print("CODE" + json.dumps(code))
"""


def call(argv: list[str]) -> tuple[list[str], int, str]:
    done = subprocess.run(
        [sys.executable, "-c", CALL, json.dumps(argv)],
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stdout.splitlines()
    imported = json.loads(next(line for line in lines if line.startswith("IMPORTED"))[8:])
    code = json.loads(next(line for line in lines if line.startswith("CODE"))[4:])
    return imported, code, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("argv", "code", "shown"),
    [
        (["--help"], 0, "export-model"),
        (["train", "--help"], 0, "--params"),
        (["export-model", "--help"], 0, "--quantize"),
        (["train", "--epochs", "3"], 2, "unrecognized arguments: --epochs 3"),
        (["trian"], 2, "invalid choice: 'trian'"),
    ],
)
def test_help_and_argument_errors_do_not_import_tensorflow(argv, code, shown):
    imported, received, output = call(argv)
    assert received == code, output
    assert shown in output
    assert imported == [], f"rnnkeras {' '.join(argv)} imported {imported}"


def test_import_rnnkeras_still_registers_the_layers_for_keras():
    script = (
        "import rnnkeras, sys; assert 'keras' not in sys.modules; import keras; "
        "print(keras.saving.get_registered_object('rnnkeras>LSTM'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "rnnkeras.layers.lstm.LSTM" in done.stdout, done.stderr
