"""`mlflow models serve` of the registered champion, from a folder where rnnkeras cannot be imported."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from rnnkeras.pipeline import tracking
from rnnkeras.pipeline.builders import build_forecaster
from rnnkeras.pipeline.data import BUNDLED_DIR, make_windows
from tests.tracking import model_server

# `mlflow.pyfunc.load_model` in a fresh process: the windows on stdin, the predictions on stdout.
LOAD_AND_PREDICT = """
import json, sys
import mlflow, numpy as np
model = mlflow.pyfunc.load_model(sys.argv[1])
print(json.dumps(model.predict(np.array(json.load(sys.stdin))).tolist()))
"""


def co2_windows(window=52, horizon=13):
    """Real windows of the bundled weekly Mauna Loa CO2 record (those without a missing week),
    relative to their last week, with the next weeks as changes from it, as the pipeline's
    forecaster reads and predicts them."""
    values = np.genfromtxt(BUNDLED_DIR / "co2_weekly.csv", delimiter=",", skip_header=1, usecols=2)
    x, y, _ = make_windows(values[:, None], window, horizon)
    complete = ~(np.isnan(x).any(axis=(1, 2)) | np.isnan(y).any(axis=1))
    x, y = x[complete], y[complete]
    return x - x[:, -1:], y - x[:, -1]


EXPECTED = (
    "inputs must be a non-empty batch of windows shaped (batch, 52, 1) holding float32 numbers"
)


def refused_inputs(windows):
    """Request bodies the served model refuses, each with the end of its message."""

    def body_with(value):
        inputs = windows.tolist()
        inputs[1][7][0] = "VALUE"
        return json.dumps({"inputs": inputs}).replace('"VALUE"', value).encode()

    return [
        (body_with("null"), "Received: inputs[1][7][0]=null (1 such value(s))"),
        (body_with("NaN"), "Received: inputs[1][7][0]=NaN (1 such value(s))"),
        (body_with("1e309"), "Received: inputs[1][7][0]=Infinity (1 such value(s))"),
        (b'{"inputs": []}', "Received: inputs=[]"),
        (model_server.inputs_body(windows[:, :10]), "Received: inputs.shape=(2, 10, 1)"),
        (model_server.inputs_body(windows[:, :, 0]), "Received: inputs.shape=(2, 52)"),
    ]


@pytest.mark.slow
def test_champion_is_served_over_http_without_rnnkeras(store, tmp_path):
    x, y = co2_windows()
    keras.utils.set_random_seed(0)
    model = build_forecaster(
        52,
        1,
        13,
        input_variance=[float(np.var(x))],
        target_scale=float(np.std(y)),
        cell="gru",
        units=16,
    )
    model.compile("adam", "mse")
    model.fit(x[:-200], y[:-200], epochs=1, batch_size=64, verbose=0)
    test = x[-200:]
    with tracking.start_training_run({}, 0, tmp_path / "run.json"):
        registry = tracking.log_and_register_model(
            model, test[:2], "co2-forecaster", "test.mae", 0.5, greater_is_better=False
        )
    assert registry["promoted"]
    expected = keras.ops.convert_to_numpy(model(test[:32]))

    hidden = model_server.rnnkeras_hidden(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    extra = {"PYTHONPATH": str(hidden), "MLFLOW_TRACKING_URI": tracking.configure(store)}
    env = model_server.server_environment(extra)
    probe = subprocess.run(
        [sys.executable, "-c", "import rnnkeras"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert probe.returncode != 0 and "hidden by the serving test" in probe.stderr
    loaded = subprocess.run(
        [sys.executable, "-c", LOAD_AND_PREDICT, "models:/co2-forecaster@champion"],
        cwd=elsewhere,
        env=env,
        input=json.dumps(test[:4].tolist()),
        capture_output=True,
        text=True,
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    np.testing.assert_allclose(json.loads(loaded.stdout), expected[:4], rtol=1e-5, atol=1e-5)

    server = model_server.ModelServer(
        "models:/co2-forecaster@champion",
        env=extra,
        cwd=elsewhere,
        log_path=tmp_path / "server.log",
    )
    with server:
        assert server.env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
        served = server.predict(test[:32])
        np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-5)

        status, reply = model_server.request(f"{server.url}/invocations", b'{"inputs": [[[0.5')
        assert status == 400 and "valid JSON" in reply["message"]
        status, reply = model_server.request(
            f"{server.url}/invocations", json.dumps({"x": 1}).encode()
        )
        assert status == 400 and "'inputs'" in reply["message"]
        for inputs, received in refused_inputs(test[:2]):
            status, reply = model_server.request(f"{server.url}/invocations", inputs)
            assert status == 400, (inputs[:80], reply)
            assert reply["message"].startswith(EXPECTED), reply["message"]
            assert reply["message"].endswith(received), reply["message"]

        assert model_server.request(f"{server.url}/ping")[0] == 200
        np.testing.assert_allclose(server.predict(test[:1]), expected[:1], rtol=1e-5, atol=1e-5)
        pid = server.process.pid
    assert server.process.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    with pytest.raises(OSError):
        model_server.request(f"{server.url}/ping", timeout=2.0)
    assert "rnnkeras" not in (tmp_path / "server.log").read_text().replace("hide_rnnkeras", "")
