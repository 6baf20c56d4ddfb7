"""`dvc exp run --temp` runs the pipeline in a throwaway copy; its runs land in the project's store."""

import pytest

from tests.pipeline import projects

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    root = projects.dvc_project(tmp_path_factory.mktemp("experiments") / "project")
    result = projects.dvc(root, "exp", "run", "--temp")
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_a_temporary_experiment_records_into_the_project_store(experiment, monkeypatch):
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    client = mlflow.MlflowClient(f"sqlite:///{experiment / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert "test.accuracy" in run.data.metrics
    assert run.info.artifact_uri.startswith((experiment / "mlartifacts").as_uri())
    champion = client.get_model_version_by_alias("tests", "champion")
    assert champion.run_id == run.info.run_id
    assert list((experiment / "mlartifacts").rglob("MLmodel"))
    assert not list((experiment / ".dvc").rglob("mlflow.db"))
    assert not list((experiment / ".dvc").rglob("mlartifacts"))


def test_a_queued_experiment_records_into_the_project_store(experiment, monkeypatch):
    import mlflow

    queued = projects.dvc(experiment, "exp", "run", "--queue", "-S", "train.learning_rate=0.03")
    assert queued.returncode == 0, queued.stdout + queued.stderr
    ran = projects.dvc(experiment, "exp", "run", "--run-all")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    client = mlflow.MlflowClient(f"sqlite:///{experiment / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    rates = sorted(run.data.params["train.learning_rate"] for run in runs)
    assert rates == ["0.01", "0.03"]
    assert all(run.info.status == "FINISHED" for run in runs)
    versions = client.search_model_versions("name='tests'")
    assert sorted(v.run_id for v in versions) == sorted(run.info.run_id for run in runs)
    assert not list((experiment / ".dvc").rglob("mlflow.db"))
