"""Stage `train`: fits the configured recurrent model on the validated arrays, resumably."""

from pathlib import Path

from rnnkeras.stages import entry, paths

# Validation sequences the gradient-flow monitor runs forward and backward at each measurement.
PROBE_SIZE = 64


def run(params: dict, root: Path = Path(".")) -> None:
    """Trains with the configured clipping and the gradient-flow monitor inside an MLflow
    run, checkpointing every epoch to checkpoints/train/ (a killed run resumes there), and
    writes models/model.keras, the training history (CSV + PNG) and reports/gradient_flow/."""
    from rnnkeras import tracking
    from rnnkeras.callbacks import GradientFlowMonitor
    from rnnkeras.data import atomic_path, load_arrays, load_meta
    from rnnkeras.models import build_model
    from rnnkeras.seeding import seed_everything
    from rnnkeras.training import (
        clipping_callback,
        compile_model,
        fingerprint,
        fit_resumable,
        write_history_csv,
        write_history_plot,
    )

    train = params["train"]
    seed = int(train.get("seed", 0))
    seed_everything(seed)
    meta = load_meta(root / paths.VALIDATED)
    arrays = {split: load_arrays(root / paths.VALIDATED, split) for split in ("train", "val")}
    setup = fingerprint(train, meta, arrays["train"]["x"], arrays["train"]["y"])

    def build():
        model = build_model(meta, train)
        return compile_model(model, meta["task"], float(train["learning_rate"]))

    probe = (arrays["val"]["x"][:PROBE_SIZE], arrays["val"]["y"][:PROBE_SIZE])
    tracking.configure(root)
    with (
        tracking.start_training_run(params, seed, root / paths.MLFLOW_RUN),
        atomic_path(root / paths.GRADIENT_FLOW) as flow_dir,
    ):
        # Order matters: clipping and the monitor add to `logs` before MLflow and the
        # checkpoint's history read them.
        callbacks = [c for c in [clipping_callback(train)] if c is not None]
        callbacks.append(
            GradientFlowMonitor(
                probe_data=probe,
                every_n_batches=int(train.get("gradient_flow_every", 50)),
                log_dir=flow_dir,
            )
        )
        callbacks.append(tracking.epoch_metrics_callback())
        model, history = fit_resumable(
            build, arrays, train, root / paths.CHECKPOINTS, setup, callbacks=callbacks
        )
        with atomic_path(root / paths.MODEL) as tmp:
            model.save(tmp)
        write_history_csv(history, root / paths.HISTORY)
        write_history_plot(history, root / paths.HISTORY_PLOT)
        tracking.log_artifacts(
            [root / paths.VALIDATION_REPORT, root / paths.VALIDATION_SUMMARY], "validation"
        )
        tracking.log_artifacts([root / paths.HISTORY, root / paths.HISTORY_PLOT], "training")
    last = history[-1] if history else {}
    print(f"train: {len(history)} epochs, last epoch {last} -> {paths.MODEL}")


def main(argv=None) -> int:
    return entry.main("train", run, argv)
