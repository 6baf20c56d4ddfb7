"""Settings every test shares: quiet TensorFlow, no analytics, no telemetry; one `rng`."""

import contextlib
import os
import sys

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture
def rng():
    """A NumPy generator with a fixed seed, fresh for each test."""
    return np.random.default_rng(20240607)


@contextlib.contextmanager
def _tracking_uri_restored():
    """Puts MLflow's tracking URI and `MLFLOW_TRACKING_URI` back as they were on exit.

    `mlflow.set_tracking_uri` also exports `MLFLOW_TRACKING_URI` (for child processes), so
    without this whatever sets it would point later tests of the same worker, and the
    pipeline stages they start, at its own store.
    """
    before = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    if "mlflow" in sys.modules:
        sys.modules["mlflow"].set_tracking_uri(None)
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before


@pytest.fixture(autouse=True, scope="module")
def tracking_uri_left_as_found_by_module():
    """Each module leaves MLflow's tracking URI as it found it, module fixtures included
    (a `MonkeyPatch.delenv` of an unset variable does not undo what MLflow exports later)."""
    with _tracking_uri_restored():
        yield


@pytest.fixture(autouse=True)
def tracking_uri_left_as_found():
    """Each test leaves MLflow's tracking URI as it found it."""
    with _tracking_uri_restored():
        yield
