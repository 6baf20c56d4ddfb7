"""Two evaluations against one store, interleaved at the worst moment, crown the better model."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

# One evaluation: logs a stand-in model and registers it with its accuracy. With `hold`, its
# first write of the alias waits until the file `a_done` appears: it then writes what it
# decided from a view of the registry that the other evaluation has made stale.
EVALUATION = """
import json, sys, time
from pathlib import Path
import mlflow
from rnnkeras.pipeline import tracking

root, accuracy, hold = Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3] == "hold"
tracking.configure(root)
if hold:
    original = mlflow.MlflowClient.set_registered_model_alias

    def held(self, *args, **kwargs):
        (root / "b_waiting").touch()
        deadline = time.monotonic() + 240
        while not (root / "a_done").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        mlflow.MlflowClient.set_registered_model_alias = original
        return original(self, *args, **kwargs)

    mlflow.MlflowClient.set_registered_model_alias = held


class Identity(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input):
        return model_input


with tracking.start_training_run({}, 0, root / f"run-{accuracy}.json"):
    info = mlflow.pyfunc.log_model(name="model", python_model=Identity())
    result = tracking.register_version(info.model_uri, "m", "test.accuracy", accuracy, True)
print(json.dumps(result))
"""


def evaluation(root: Path, accuracy: float, hold: bool = False) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.Popen(
        [sys.executable, "-c", EVALUATION, str(root), str(accuracy), "hold" if hold else ""],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def result_of(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out.splitlines()[-1])


def test_interleaved_evaluations_leave_the_alias_on_the_better_model(store):
    import mlflow

    worse = evaluation(store, 0.5, hold=True)
    deadline = time.monotonic() + 240
    while not (store / "b_waiting").exists() and time.monotonic() < deadline:
        assert worse.poll() is None, worse.communicate()[1]
        time.sleep(0.1)
    better = result_of(evaluation(store, 0.9))
    (store / "a_done").touch()
    late = result_of(worse)

    champion = mlflow.MlflowClient().get_model_version_by_alias("m", "champion")
    assert int(champion.version) == better["version"] != late["version"]
    assert better["promoted"] and not late["promoted"]
    assert f"does not beat 0.9 of version {better['version']}" in late["reason"]
