"""Where the stages read and write, relative to the project root (the same paths as dvc.yaml)."""

from pathlib import Path

PARAMS = Path("params.yaml")
PREPARED_TABLE = Path("data/prepared/sequences.csv")
VALIDATED = Path("data/validated")
VALIDATION_REPORT = Path("reports/validation.json")
VALIDATION_SUMMARY = Path("reports/validation.md")
CHECKPOINTS = Path("checkpoints/train")
MODEL = Path("models/model.keras")
HISTORY = Path("reports/train_history.csv")
HISTORY_PLOT = Path("reports/train_history.png")
GRADIENT_FLOW = Path("reports/gradient_flow")
MLFLOW_RUN = Path("reports/mlflow_run.json")
METRICS = Path("metrics/evaluate.json")
PREDICTIONS = Path("reports/predictions.csv")
PLOTS = Path("reports/plots")
REGISTRY = Path("reports/registry.json")
EXPORT = Path("export")
EXPORT_REPORT = Path("reports/export.json")
EXPORT_SUMMARY = Path("reports/export.md")
