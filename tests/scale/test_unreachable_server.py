"""A pipeline whose tracking server does not answer stops before training, naming the server."""

import pytest

from rnnkeras.pipeline import tracking
from rnnkeras.pipeline.stages import paths, prepare, train, validate
from rnnkeras.pipeline.tracking.store import check_server_answers
from tests.pipeline.projects import write_tiny_vowels
from tests.pipeline.tiny_params import classification_params
from tests.scale.servers import free_port


def test_configure_refuses_a_server_that_does_not_answer(tmp_path, monkeypatch):
    uri = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with pytest.raises(ValueError, match=f"tracking server {uri} does not answer") as error:
        tracking.configure(tmp_path)
    assert f"Received: MLFLOW_TRACKING_URI={uri}" in str(error.value)


def test_configure_accepts_a_server_that_answers(tmp_path, monkeypatch):
    """Any HTTP answer below 500 is a server (here Python's own, answering 404)."""
    import http.server
    import threading

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        uri = f"http://127.0.0.1:{server.server_port}"
        check_server_answers(uri)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_the_train_stage_stops_before_training(tmp_path, monkeypatch):
    root = tmp_path / "project"
    root.mkdir()
    params = classification_params(write_tiny_vowels(tmp_path / "vowels.csv"), epochs=1)
    prepare.run(params, root)
    assert validate.run(params, root) == 0
    uri = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with pytest.raises(ValueError, match=f"tracking server {uri} does not answer"):
        train.run(params, root)
    for output in (paths.MODEL, paths.MLFLOW_RUN, paths.CHECKPOINTS, paths.HISTORY):
        assert not (root / output).exists(), output
