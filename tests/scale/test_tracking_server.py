"""The pipeline and concurrent evaluations on an MLflow tracking server backed by PostgreSQL.

One server (real PostgreSQL, `mlflow server --serve-artifacts`) serves the whole module; the
last test stops it, serves the same folder with `python -m rnnkeras.pipeline.tracking.server`
and finds everything the others recorded.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnkeras.pipeline.stages import evaluate, paths, prepare, train, validate
from tests.pipeline.projects import write_tiny_vowels
from tests.pipeline.tiny_params import classification_params

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

# One evaluation against the server: logs a stand-in model and registers it with its accuracy.
# With `hold`, its first write of the alias waits until the file `go` appears: it then writes
# what it decided from a view of the registry that the other evaluation has made stale.
EVALUATION = """
import json, sys, time
from pathlib import Path
import mlflow
from rnnkeras.pipeline import tracking

folder, name, accuracy, hold = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]
print(tracking.configure(folder), file=sys.stderr)
if hold == "hold":
    original = mlflow.MlflowClient.set_registered_model_alias

    def held(self, *args, **kwargs):
        (folder / "waiting").touch()
        deadline = time.monotonic() + 240
        while not (folder / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        mlflow.MlflowClient.set_registered_model_alias = original
        return original(self, *args, **kwargs)

    mlflow.MlflowClient.set_registered_model_alias = held


class Identity(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input):
        return model_input


with tracking.start_training_run({}, 0, folder / f"run-{accuracy}.json"):
    info = mlflow.pyfunc.log_model(name="model", python_model=Identity())
    result = tracking.register_version(info.model_uri, name, "test.accuracy", accuracy, True)
print(json.dumps(result))
"""


def evaluation(server, folder: Path, name: str, accuracy: float, hold: bool) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2")
    env["MLFLOW_TRACKING_URI"] = server.uri
    for variable in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID"):
        env.pop(variable, None)
    command = [sys.executable, "-c", EVALUATION, str(folder), name, str(accuracy)]
    return subprocess.Popen(
        [*command, "hold" if hold else "-"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def result_of(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out.splitlines()[-1])


@pytest.mark.parametrize("held", ["worse", "better"])
def test_two_evaluations_at_once_record_both_and_crown_the_better(on_server, tmp_path, held):
    """The held evaluation registers first and writes the alias last, from a stale view."""
    import mlflow

    name = f"concurrent-{held}-held"
    accuracies = {"worse": 0.5, "better": 0.9}
    other = "better" if held == "worse" else "worse"
    first = evaluation(on_server, tmp_path, name, accuracies[held], hold=True)
    deadline = time.monotonic() + 240
    while not (tmp_path / "waiting").exists() and time.monotonic() < deadline:
        assert first.poll() is None, first.communicate()[1]
        time.sleep(0.1)
    second = result_of(evaluation(on_server, tmp_path, name, accuracies[other], hold=False))
    (tmp_path / "go").touch()
    results = {held: result_of(first), other: second}

    client = mlflow.MlflowClient(on_server.uri)
    champion = client.get_model_version_by_alias(name, "champion")
    assert int(champion.version) == results["better"]["version"]
    assert results["better"]["promoted"] and not results["worse"]["promoted"]
    versions = client.search_model_versions(f"name='{name}'")
    assert sorted(v.run_id for v in versions) == sorted(r["run_id"] for r in results.values())
    for result in results.values():
        run = client.get_run(result["run_id"])
        assert run.info.status == "FINISHED"
        assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    # The files went through the server into its artifact folder, not into this folder.
    assert list((on_server.folder / "artifacts").rglob("MLmodel"))
    assert not list(tmp_path.rglob("MLmodel"))


def test_the_pipeline_records_into_the_server_with_no_code_change(on_server, tmp_path):
    import mlflow

    root = tmp_path / "project"
    root.mkdir()
    params = classification_params(write_tiny_vowels(tmp_path / "vowels.csv"), epochs=1)
    params["mlflow"].update(experiment="pipeline", registered_model="pipeline")
    prepare.run(params, root)
    assert validate.run(params, root) == 0
    train.run(params, root)
    evaluate.run(params, root)

    run_id = json.loads((root / paths.MLFLOW_RUN).read_text())["run_id"]
    client = mlflow.MlflowClient(on_server.uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert "test.accuracy" in run.data.metrics and "train.units" in run.data.params
    assert client.get_model_version_by_alias("pipeline", "champion").run_id == run_id
    assert not (root / "mlflow.db").exists() and not (root / "mlartifacts").exists()


def test_a_restart_by_the_command_loses_nothing(on_server, tmp_path):
    """Stop PostgreSQL and the server, serve the same folder with the documented command."""
    import mlflow
    from mirakuru import HTTPExecutor

    client = mlflow.MlflowClient(on_server.uri)
    experiment = client.create_experiment("restart")
    run = client.create_run(experiment)
    client.log_metric(run.info.run_id, "loss", 0.25)
    (tmp_path / "note.txt").write_text("kept")
    client.log_artifact(run.info.run_id, str(tmp_path / "note.txt"))
    client.set_terminated(run.info.run_id)
    client.create_registered_model("restart")
    version = client.create_model_version("restart", run.info.artifact_uri, run.info.run_id)
    client.set_registered_model_alias("restart", "champion", version.version)

    def snapshot():
        runs = client.search_runs(
            [e.experiment_id for e in client.search_experiments()], max_results=1000
        )
        versions = client.search_model_versions(max_results=1000)
        names = sorted({v.name for v in versions})
        return (
            sorted((r.info.run_id, r.info.status, sorted(r.data.metrics.items())) for r in runs),
            sorted((v.name, v.version, v.run_id) for v in versions),
            [(n, client.get_model_version_by_alias(n, "champion").version) for n in names],
        )

    before = snapshot()
    assert ("restart", version.version) in before[2]
    postmaster = on_server.folder / "postgres" / "postmaster.pid"
    on_server.stop()
    assert not postmaster.exists()

    module = "rnnkeras.pipeline.tracking.server"
    command = [sys.executable, "-m", module, "--folder", str(on_server.folder)]
    served = HTTPExecutor(
        [*command, "--port", str(on_server.port)],
        url=f"{on_server.uri}/health",
        method="GET",
        status=200,
        timeout=300,
        envvars={"PYTHONPATH": str(REPO)},
    )
    served.start()
    try:
        assert postmaster.exists()
        assert snapshot() == before
        copy = mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path="note.txt", dst_path=str(tmp_path / "back")
        )
        assert Path(copy).read_text() == "kept"
    finally:
        served.stop(expected_returncode=0)  # SIGTERM: the command stops both and exits with 0
    assert not postmaster.exists()
