"""Tiny real and synthetic sequence tables, and pipeline parameters that train in seconds."""

import shutil

import numpy as np
import pandas as pd
import pytest

from rnnkeras.data import BUNDLED_DIR

FEATURES = [f"lpc_{i:02d}" for i in range(1, 13)]


@pytest.fixture(scope="session")
def vowels():
    return pd.read_csv(BUNDLED_DIR / "japanese_vowels.csv")


@pytest.fixture
def tiny_vowels_csv(tmp_path, vowels):
    """A real subset: 4 training and 2 test utterances of each of the 9 speakers."""
    first = vowels.groupby(["split", "label", "sequence_id"]).size().reset_index()
    keep = pd.concat(
        [
            first[first.split == "train"].groupby("label").head(4),
            first[first.split == "test"].groupby("label").head(2),
        ]
    ).sequence_id
    path = tmp_path / "vowels.csv"
    vowels[vowels.sequence_id.isin(keep)].to_csv(path, index=False)
    return path


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


def classification_params(csv_path, **train):
    return {
        "prepare": {
            "dataset": "csv",
            "csv": {
                "path": str(csv_path),
                "task": "classification",
                "sequence_column": "sequence_id",
                "time_column": "time_step",
                "feature_columns": FEATURES,
                "label_column": "label",
                "split_column": "split",
                "value_range": [-5.0, 5.0],
                "sequence_length": [7, 29],
                "min_rows": 50,
                "labels": [str(i) for i in range(1, 10)],
                "missing": "error",
            },
            "val_fraction": 0.25,
            "test_fraction": 0.2,
            "seed": 0,
        },
        "validate": {"max_examples": 3},
        "train": {
            "backend": "tensorflow",
            "cell": "gru",
            "bidirectional": False,
            "depth": 1,
            "residual": False,
            "units": 8,
            "dropout": 0.0,
            "clipping": "autoclip",
            "autoclip_percentile": 10,
            "clip_threshold": 1.0,
            "epochs": 2,
            "batch_size": 16,
            "learning_rate": 0.01,
            "seed": 1,
            "gradient_flow_every": 2,
            **train,
        },
        "evaluate": {},
        "export": {"quantize": ["none"]},
        "mlflow": {"experiment": "tests", "registered_model": "tests", "alias": "champion"},
    }


def forecasting_params(csv_path, **train):
    params = classification_params(csv_path, **train)
    params["prepare"].update(
        csv={
            "path": str(csv_path),
            "task": "forecasting",
            "sequence_column": None,
            "time_column": "week",
            "feature_columns": ["ppm"],
            "target_column": "ppm",
            "value_range": [250.0, 400.0],
            "sequence_length": [100, 1000],
            "min_rows": 100,
            "missing": "interpolate",
        },
        window=12,
        horizon=3,
        val_fraction=0.2,
        test_fraction=0.2,
    )
    return params


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
