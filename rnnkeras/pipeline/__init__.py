"""The application: the pipeline that prepares data, trains, tracks, evaluates and exports.

It imports the library (`rnnkeras.layers`, `rnnkeras.callbacks`, `rnnkeras.export`); the
library never imports it (`tests/test_layout.py` checks). By the path data takes:

- `params`, `params_schema`: `params.yaml` and its schema, checked whole on load.
- `data/`: the bundled data sets, CSV tables, windows and padding, per-task preparation.
- `validation`: the Great Expectations suites, built in code.
- `builders`: parameters to a Keras model made of `rnnkeras.layers`.
- `training`: resumable `fit`, clipping and gradient-flow wiring.
- `evaluation`: metrics against a naive baseline, predictions and plots per task.
- `tracking/`: MLflow store, run provenance, runs, model logging, registry and champion rule.
- `stages/`: `prepare`, `validate`, `train`, `evaluate`, `export`, one module each.
- `cli`, `export_model`, `dvc_outputs`, `mlflow_project`: the `rnnkeras` command, its
  `export-model` subcommand, the DVC outputs it refuses to overwrite, the MLflow Project.

Nothing is imported here, so `import rnnkeras.pipeline.cli` stays fast.
"""
