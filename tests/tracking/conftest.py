import shutil

import pytest


@pytest.fixture(scope="session")
def empty_database(tmp_path_factory):
    """An initialised, empty MLflow SQLite store; creating its tables takes seconds."""
    import mlflow

    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def store(tmp_path, monkeypatch, empty_database):
    """A fresh store in tmp_path/project, with no run active before or after."""
    import mlflow

    from rnnkeras.pipeline import tracking

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(empty_database, project / "mlflow.db")
    tracking.configure(project)
    yield project
    while mlflow.active_run() is not None:
        mlflow.end_run()
