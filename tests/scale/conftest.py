"""A real PostgreSQL server and an MLflow tracking server on it, started and stopped by the tests."""

import tempfile

import pytest

from tests.scale.servers import free_port


@pytest.fixture(scope="module")
def tracking_server():
    """`TrackingServer` on a free port with its PostgreSQL data in a temporary folder.

    Stopped (PostgreSQL too) and deleted after the module's tests, whatever they did. Not under
    pytest's own temporary folder: run as root, PostgreSQL runs as the user `pgserver`, and
    every pytest process that starts (an xdist worker, say) makes that folder private to root
    again, which took the database's files away from it mid-test (`PANIC: could not open
    file ".../global/pg_control": Permission denied`).
    """
    from rnnkeras.pipeline.tracking.server import TrackingServer

    with tempfile.TemporaryDirectory(prefix="rnnkeras-tracking-") as folder:
        server = TrackingServer(folder, port=free_port())
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def on_server(tracking_server, monkeypatch):
    """`MLFLOW_TRACKING_URI` names the server; no run is active before or after."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server.uri)
    for name in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.delenv(name, raising=False)
    mlflow.set_tracking_uri(tracking_server.uri)
    yield tracking_server
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)  # later tests in this process must not find the server
