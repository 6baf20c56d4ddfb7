"""Stage `train`: fits the configured recurrent model on the validated arrays, resumably."""

import tempfile
from pathlib import Path

from rnnkeras.pipeline.params import train_settings
from rnnkeras.pipeline.stages import entry, keras_backend, paths
from rnnkeras.pipeline.stages.outputs import staged_outputs

# Validation sequences the gradient-flow monitor runs forward and backward at each measurement.
PROBE_SIZE = 64
# Written together at the end, so a failed or killed training leaves the last good ones.
OUTPUTS = (
    paths.MODEL,
    paths.MLFLOW_RUN,
    paths.HISTORY,
    paths.HISTORY_PLOT,
    paths.GRADIENT_FLOW,
)


def run(params: dict, root: Path = Path(".")) -> None:
    """Trains with the configured clipping and the gradient-flow monitor inside an MLflow
    run, checkpointing every epoch to checkpoints/train/ (a killed run resumes there), and
    writes models/model.keras, the training history (CSV + PNG), reports/gradient_flow/ and
    reports/mlflow_run.json, all at the end: a failed training changes none of them.
    Runs on the Keras backend `train.backend`, selected here before Keras is imported.
    With `train.workers` > 1 it launches that many local worker processes running this stage
    (or, started as one of them, joins the others: rnnkeras.pipeline.distributed)."""
    keras_backend.select_backend("train", params)
    from rnnkeras.pipeline import distributed

    worker = distributed.this_worker()
    workers = params["train"].get("workers", 1)
    if workers > 1 and worker is None:
        return distributed.launch_local(workers, params, root)

    import keras
    import mlflow

    from rnnkeras import callbacks as callbacks_package
    from rnnkeras import layers, seeding
    from rnnkeras.callbacks import GradientFlowMonitor
    from rnnkeras.pipeline import builders, tasks, tracking, training
    from rnnkeras.pipeline.data import load_arrays, load_meta
    from rnnkeras.pipeline.training import fingerprint, source_fingerprint
    from rnnkeras.seeding import seed_everything

    train = train_settings(params)
    seed = train["seed"]
    if worker is not None:
        distributed.check_worker(worker, workers)
        distributed.initialize(worker)
    meta = load_meta(root / paths.VALIDATED)
    arrays = {split: load_arrays(root / paths.VALIDATED, split) for split in ("train", "val")}
    # The code that builds and trains the model is part of the setup: a checkpoint made by
    # other code is not resumed.
    task = tasks.get(meta["task"])
    code = source_fingerprint(callbacks_package, layers, builders, tasks, seeding, training)
    setup = fingerprint(train, meta, code, arrays["train"]["x"], arrays["train"]["y"])

    def build():
        return training.compile_model(task.build_model(meta, train), task, train["learning_rate"])

    probe = (arrays["val"]["x"][:PROBE_SIZE], arrays["val"]["y"][:PROBE_SIZE])

    def fit(log_dir, tracked: bool, scratch=None):
        # Order matters: clipping and the monitor add to `logs` before MLflow and the
        # checkpoint's history read them.
        callbacks = [c for c in [training.clipping_callback(train)] if c is not None]
        callbacks.append(
            GradientFlowMonitor(
                probe_data=probe, every_n_batches=train["gradient_flow_every"], log_dir=log_dir
            )
        )
        if tracked:
            callbacks.append(training.epoch_metrics_callback())
        # Seeded last, right before the model is built: MLflow draws from Python's `random`
        # when it creates a run (its random run name), which the DVC route does here and the
        # MLflow Project's `mlflow run` does in another process. Seeding earlier gave the
        # two routes different initial weights.
        seed_everything(seed)
        checkpoints = root / paths.CHECKPOINTS
        if worker is None:
            return training.fit_resumable(build, arrays, train, checkpoints, setup, callbacks)
        return distributed.fit_resumable(
            build, arrays, train, checkpoints, setup, worker, callbacks, scratch_dir=scratch
        )

    if worker is not None and not worker.chief:
        # The chief's steps (each process takes part in every collective, saving included:
        # it gathers the weights), with copies to a scratch folder and no MLflow records.
        with tempfile.TemporaryDirectory(prefix="rnnkeras-worker-") as scratch:
            model, _ = fit(log_dir=None, tracked=False, scratch=Path(scratch) / "checkpoint")
            model.save(Path(scratch) / "model.keras")
        return 0
    tracking.configure(root)
    with (
        staged_outputs(root, OUTPUTS) as out,
        tracking.start_training_run(
            params,
            seed,
            out[paths.MLFLOW_RUN],
            checkpoint_dir=root / paths.CHECKPOINTS,
            setup=setup,
        ),
    ):
        model, history = fit(log_dir=out[paths.GRADIENT_FLOW], tracked=True)
        # What really ran, beside the `train.backend` param: the backend, and whether the
        # steps were XLA-compiled (JAX without it trains 8-18x slower; torch runs eagerly).
        mlflow.set_tags(
            {
                "keras.backend": keras.backend.backend(),
                "keras.jit_compile": str(model.jit_compile).lower(),
            }
        )
        model.save(out[paths.MODEL])
        training.write_history_csv(history, out[paths.HISTORY])
        training.write_history_plot(history, out[paths.HISTORY_PLOT])
        tracking.log_artifacts(
            [root / paths.VALIDATION_REPORT, root / paths.VALIDATION_SUMMARY], "validation"
        )
        tracking.log_artifacts([out[paths.HISTORY], out[paths.HISTORY_PLOT]], "training")
    last = history[-1] if history else {}
    print(f"train: {len(history)} epochs, last epoch {last} -> {paths.MODEL}")


def main(argv=None) -> int:
    return entry.main("train", run, argv)
