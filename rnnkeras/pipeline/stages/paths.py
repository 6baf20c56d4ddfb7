"""Where the stages read and write, relative to the project root.

Each is an output of a stage in dvc.yaml, except `PARAMS`, which git tracks, and `CHECKPOINTS`,
the train stage's own working folder; tests/pipeline/test_stage_deps.py checks that they agree.
"""

from pathlib import Path

PARAMS = Path("params.yaml")
PREPARED_TABLE = Path("data/prepared/sequences.csv")
VALIDATED = Path("data/validated")
VALIDATION_REPORT = Path("reports/validation.json")
VALIDATION_SUMMARY = Path("reports/validation.md")
# Where a killed training resumes from: git-ignored and not a DVC output, so no DVC command
# deletes, caches or pushes it, and a clone without it is not out of date. Whether a
# checkpoint belongs to the current run is decided by its fingerprint, not by DVC
# (rnnkeras.pipeline.training.read_resumable).
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
