"""Tiny real and synthetic sequence tables, and an empty project folder with its own MLflow store.

The parameters that train on them in seconds are in `tiny_params.py`; the subset and the
project copies the end-to-end tests run in are made by `projects.py`.
"""

import shutil

import numpy as np
import pandas as pd
import pytest

from rnnkeras.pipeline.data import BUNDLED_DIR
from tests.pipeline import projects


@pytest.fixture(scope="session")
def vowels():
    return pd.read_csv(BUNDLED_DIR / "japanese_vowels.csv")


@pytest.fixture
def tiny_vowels_csv(tmp_path, vowels):
    """`projects.tiny_vowels`: 4 training and 2 test utterances of each of the 9 speakers."""
    return projects.write_tiny_vowels(tmp_path / "vowels.csv", vowels)


@pytest.fixture
def tiny_series_csv(tmp_path):
    """A seasonal series with a trend, noise and two missing values: 160 weekly steps."""
    rng = np.random.default_rng(0)
    week = np.arange(160)
    value = 300 + 0.05 * week + 3 * np.sin(2 * np.pi * week / 52) + rng.normal(0, 0.2, 160)
    table = pd.DataFrame({"week": week, "ppm": value.round(3)})
    table["ppm"] = table["ppm"].astype(object)
    table.loc[[10, 11], "ppm"] = None
    path = tmp_path / "series.csv"
    table.to_csv(path, index=False)
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project folder with its own MLflow store; no run left active afterwards."""
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    root = tmp_path / "project"
    root.mkdir()
    yield root
    while mlflow.active_run() is not None:
        mlflow.end_run()
    shutil.rmtree(root / "mlartifacts", ignore_errors=True)
