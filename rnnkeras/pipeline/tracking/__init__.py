"""MLflow tracking: one run per training, a served model in the registry.

The stages of the pipeline call these functions: the train stage opens a run with
`start_training_run` (its epochs are logged by `rnnkeras.pipeline.training.epoch_metrics_callback`);
the evaluate and export stages reopen that run (a rerun records into a child run of it)
with `resume_run`, log metrics and files, and register the model with
`log_and_register_model`, whose `register_version` points the alias at the best
comparable version.

One job per module:

- `store`: where runs go (`configure`, `experiment_id`; a moved project's store is refused).
- `provenance`: what a run was made from (parameters, package versions, git state).
- `runs`: the run lifecycle (`start_training_run`, `resume_run`).
- `recording`: what a stage records in the active run (`log_metrics`, `log_artifacts`).
- `model_logging`: the model logged for serving (`log_and_register_model`).
- `registry`: model versions and the champion rule (`register_version`).
- `served_model`: the file MLflow serves; it imports no rnnkeras, and nothing here imports it.

MLflow is imported inside the functions, so `import rnnkeras` stays light.
"""

from rnnkeras.pipeline.tracking.model_logging import (
    input_metadata,
    log_and_register_model,
    model_signature,
)
from rnnkeras.pipeline.tracking.provenance import flatten, git_state, package_versions
from rnnkeras.pipeline.tracking.recording import log_artifacts, log_metrics
from rnnkeras.pipeline.tracking.registry import register_version
from rnnkeras.pipeline.tracking.runs import resume_run, start_training_run
from rnnkeras.pipeline.tracking.store import (
    DEFAULT_EXPERIMENT,
    artifact_location,
    check_store_location,
    configure,
    default_tracking_uri,
    experiment_id,
    store_folder,
)

__all__ = [
    "DEFAULT_EXPERIMENT",
    "artifact_location",
    "check_store_location",
    "configure",
    "default_tracking_uri",
    "experiment_id",
    "flatten",
    "git_state",
    "input_metadata",
    "log_and_register_model",
    "log_artifacts",
    "log_metrics",
    "model_signature",
    "package_versions",
    "register_version",
    "resume_run",
    "start_training_run",
    "store_folder",
]
