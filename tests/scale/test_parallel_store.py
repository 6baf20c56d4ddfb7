"""What parallel queue workers need from the project's SQLite store."""

import pytest

from rnnkeras.pipeline.tracking.store import configure, experiment_id

pytestmark = pytest.mark.slow  # a new store's tables: seconds, a minute on a busy machine


def test_an_experiment_another_worker_created_meanwhile_is_reused(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    configure(tmp_path)
    assert (tmp_path / "mlflow.db").is_file()  # created by `configure`, under its lock
    create = mlflow.MlflowClient.create_experiment

    def created_by_the_other_worker_first(self, name, **kwargs):
        create(self, name, **kwargs)
        return create(self, name, **kwargs)  # raises RESOURCE_ALREADY_EXISTS

    monkeypatch.setattr(mlflow.MlflowClient, "create_experiment", created_by_the_other_worker_first)
    found = experiment_id("sweep")
    assert found == mlflow.MlflowClient().get_experiment_by_name("sweep").experiment_id
    mlflow.set_tracking_uri(None)
