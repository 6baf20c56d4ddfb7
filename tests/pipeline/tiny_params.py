"""Pipeline parameters that train in seconds on the tiny tables of `conftest.py`.

Imported by path (`from tests.pipeline.tiny_params import classification_params`).
"""

# The 12 LPC coefficients of the bundled Japanese vowels table.
FEATURES = [f"lpc_{i:02d}" for i in range(1, 13)]


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
