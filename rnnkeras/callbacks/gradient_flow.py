"""`GradientFlowMonitor`: sees vanishing and exploding gradients during `fit`."""

import importlib.util
import json
import math
import numbers
import sys
import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np

from rnnkeras.callbacks.gradient_ratios import (
    combined_over_batch,
    log10_ratio,
    median_sequence_log10_ratio,
)
from rnnkeras.callbacks.time_step_probe import GradientProbe, find_recurrent_layers


class GradientFlowWarning(UserWarning):
    """Vanishing or exploding gradients, or layers the monitor cannot probe."""


class GradientFlowMonitor(keras.callbacks.Callback):
    """Measures gradient flow through layers and time steps during `fit`.

    At the start of training, every `every_n_batches` batches and at each
    epoch end, it runs the fixed `probe_data` batch forward and backward
    (outside the training step, with `training=False`, restoring metrics and
    stateful RNN states afterwards) and records:

    - the gradient norm of every trainable weight, of every layer, and the
      global norm;
    - for every rnnkeras recurrent layer (`SimpleRNN`, `LSTM`, `GRU`, also
      inside `Bidirectional`, `StackedRNN` and nested models), the norm
      `||dL/dh_t||` of the total gradient reaching the hidden state at each
      step `t` through backpropagation through time, via the layers'
      `state_perturbation` hook. Other recurrent layers (e.g.
      `keras.layers.LSTM`) get weight norms only, with one warning.

    It also measures the part of that gradient carried back through time
    from the layer's last state, `||g^T dh_last/dh_t||` with `g = dL/dh_last`
    (the same series when the loss reads only the last state, e.g. a
    many-to-one model), and summarises it by `log10_ratio`,
    `log10(||g^T dh_last/dh_first|| / ||g||)` in processing order. Masks
    (e.g. from `keras.layers.Masking` or `Embedding(mask_zero=True)`) are
    followed per sequence: `h_first` and `h_last` are the states after each
    sequence's own first and last real step, and the norms combine the
    sequences with at least two real steps (see `log10_ratio`). It flags
    `"vanishing"` below `vanishing_threshold` (default -2: less than 1% of
    the gradient at the last state reaches the first), `"exploding"` above
    `exploding_threshold` (default +2: more than 100 times) or when a norm is
    not finite. The summary uses the carried part, not the total, because
    when a layer's whole output sequence feeds the loss (stacked layers,
    many-to-many models, the backward half of `Bidirectional`), the gradient
    entering directly at each step would hide or fake a decay. The first time
    a layer gets a flag, a `GradientFlowWarning` says so (once per layer and
    flag).

    The latest measurement goes into `logs` at each epoch end (and at the
    batches where it is taken): `grad_flow_global_norm`,
    `grad_flow_log10_ratio_min`, `grad_flow_log10_ratio_max` (NaN without
    probed layers), `grad_flow_vanishing` and `grad_flow_exploding` (number of
    flagged layers). Place it before callbacks that read `logs`.

    With `log_dir`, it writes `gradient_flow.json` (at each epoch end) and at
    the end of training the pictures `timestep_heatmap.png` (log10
    `||dL/dh_t||` over time step x training step, one panel per recurrent
    layer) and `layer_grad_norms.png` (per-layer norms and ratios over
    training). If MLflow is already imported and a run is active, the files
    are also logged as artifacts under `gradient_flow/` (written to a
    temporary folder when `log_dir` is None).

    Args:
        probe_data: `(x, y)` or `(x, y, sample_weight)`, one batch.
        every_n_batches: Measurement period in training batches.
        log_dir: Folder for the JSON series and pictures, or None.
        vanishing_threshold: Flag below this `log10_ratio` (negative).
        exploding_threshold: Flag above this `log10_ratio` (positive).

    Attributes:
        records: One dict per layer per measurement: `step` (training batches
            done), `epoch`, `trigger` (`"train_begin"`, `"batch"` or
            `"epoch_end"`), `layer` (name; nested layers as
            `"bidirectional/forward_lstm"`), `weight_grad_norm`,
            `weight_grad_norms` (per weight path), `global_grad_norm`,
            `probe_loss`, and for probed recurrent layers
            `timestep_grad_norms` and `recurrent_grad_norms` (index t = the
            state after input t; L2 norm over the probe sequences and the
            units, masked steps adding nothing), `log10_ratio` (NaN when no
            probe sequence has two real steps), `median_sequence_log10_ratio`
            (see the function of that name), `go_backwards`, `lengths`
            (real steps of each probe sequence), `real_sequences` (probe
            sequences real at each time step) and `status` (`"ok"`,
            `"vanishing"` or `"exploding"`).

    Example:

    >>> import keras, numpy as np
    >>> from rnnkeras.layers import SimpleRNN
    >>> x, y = np.ones((8, 20, 1), "float32"), np.ones((8, 1), "float32")
    >>> model = keras.Sequential([keras.Input((20, 1)), SimpleRNN(4), keras.layers.Dense(1)])
    >>> model.compile(optimizer="adam", loss="mse")
    >>> monitor = GradientFlowMonitor(probe_data=(x, y), every_n_batches=1)
    >>> _ = model.fit(x, y, batch_size=4, callbacks=[monitor], verbose=0)
    >>> [r["step"] for r in monitor.records if r["layer"] == "simple_rnn"]
    [0, 1, 2]
    >>> len(monitor.records[0]["timestep_grad_norms"])
    20
    """

    def __init__(
        self,
        probe_data: tuple,
        every_n_batches: int = 50,
        log_dir: str | Path | None = None,
        vanishing_threshold: float = -2.0,
        exploding_threshold: float = 2.0,
    ) -> None:
        super().__init__()
        if not isinstance(probe_data, (tuple, list)) or len(probe_data) not in (2, 3):
            received = type(probe_data).__name__
            if isinstance(probe_data, (tuple, list)):
                received += f" of length {len(probe_data)}"
            raise ValueError(
                "GradientFlowMonitor expects `probe_data` to be a tuple (x, y) or "
                f"(x, y, sample_weight). Received: probe_data={received}"
            )
        if (
            isinstance(every_n_batches, bool)
            or not isinstance(every_n_batches, numbers.Integral)
            or every_n_batches < 1
        ):
            raise ValueError(
                "GradientFlowMonitor expects `every_n_batches` to be a positive integer. "
                f"Received: every_n_batches={every_n_batches!r}"
            )
        if not (isinstance(vanishing_threshold, numbers.Real) and vanishing_threshold < 0):
            raise ValueError(
                "GradientFlowMonitor expects a negative `vanishing_threshold` (log10 ratio). "
                f"Received: vanishing_threshold={vanishing_threshold!r}"
            )
        if not (isinstance(exploding_threshold, numbers.Real) and exploding_threshold > 0):
            raise ValueError(
                "GradientFlowMonitor expects a positive `exploding_threshold` (log10 ratio). "
                f"Received: exploding_threshold={exploding_threshold!r}"
            )
        self.probe_data = tuple(probe_data)
        self.every_n_batches = int(every_n_batches)
        self.log_dir = None if log_dir is None else Path(log_dir)
        self.vanishing_threshold = float(vanishing_threshold)
        self.exploding_threshold = float(exploding_threshold)
        self.records = []
        self.unprobed_layers = []
        self._probe = None
        self._targets = []
        self._warned = set()
        self._step = 0
        self._epoch = 0
        self._last_batch = -1
        self._last_measured_step = None
        self._latest_logs = {}

    def _build_probe(self) -> None:
        targets = find_recurrent_layers(self.model)
        self._probe = GradientProbe(self.model, targets, *self.probe_data)
        probed = {t.name for t in self._probe.targets}
        self._targets = targets
        self.unprobed_layers = [t.name for t in targets if t.name not in probed]
        if self.unprobed_layers and "unprobed" not in self._warned:
            self._warned.add("unprobed")
            warnings.warn(
                "GradientFlowMonitor cannot measure per-time-step gradients of "
                f"{self.unprobed_layers}: only rnnkeras recurrent layers reached by the "
                "model's forward pass have the `state_perturbation` hook it needs "
                "(use rnnkeras.layers.SimpleRNN/LSTM/GRU). It records their "
                "weight-gradient norms only.",
                GradientFlowWarning,
                stacklevel=3,
            )

    def on_train_begin(self, logs=None) -> None:
        # A later `fit` of the same model, with the same trainable weights,
        # keeps the probe and its traced graph.
        if self._probe is None or not self._probe.matches(self.model):
            self._build_probe()
        if self._last_measured_step != self._step:
            self._measure("train_begin")

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._epoch = epoch
        self._last_batch = -1

    def on_train_batch_end(self, batch, logs=None) -> None:
        previous = self._step
        self._step += batch - self._last_batch
        self._last_batch = batch
        if self._step // self.every_n_batches > previous // self.every_n_batches:
            self._measure("batch")
            if logs is not None:
                logs.update(self._latest_logs)

    def on_epoch_end(self, epoch, logs=None) -> None:
        if self._last_measured_step != self._step:
            self._measure("epoch_end")
        if logs is not None:
            logs.update(self._latest_logs)
        if self.log_dir is not None:
            self.write_json(self.log_dir)

    def on_train_end(self, logs=None) -> None:
        mlflow = sys.modules.get("mlflow")
        run_active = mlflow is not None and mlflow.active_run() is not None
        if self.log_dir is not None:
            self.save(self.log_dir)
            if run_active:
                mlflow.log_artifacts(str(self.log_dir), artifact_path="gradient_flow")
        elif run_active:
            with tempfile.TemporaryDirectory() as folder:
                self.save(folder)
                mlflow.log_artifacts(folder, artifact_path="gradient_flow")

    def measure(self) -> list[dict]:
        """Takes a measurement now and returns its records (outside `fit`,
        call `set_model` first)."""
        if self._probe is None:
            self._build_probe()
        return self._measure("manual")

    def _measure(self, trigger: str) -> list[dict]:
        # On JAX, `fit` keeps the latest weights outside the model between
        # steps; reading `self.model` puts them back (`jax_state_sync`).
        model = self.model
        result = self._probe.measure()
        norm_of = {
            id(v): n for v, n in zip(self._probe.weights, result.weight_grad_norms, strict=True)
        }
        global_norm = float(np.sqrt(np.sum(np.square(result.weight_grad_norms))))
        common = {
            "step": self._step,
            "epoch": self._epoch,
            "trigger": trigger,
            "global_grad_norm": global_norm,
            "probe_loss": result.loss,
        }

        def weight_record(layer, name):
            per_weight = {
                v.path: float(norm_of[id(v)]) for v in layer.trainable_weights if id(v) in norm_of
            }
            total = float(np.sqrt(sum(n * n for n in per_weight.values())))
            return {
                **common,
                "layer": name,
                "weight_grad_norm": total,
                "weight_grad_norms": per_weight,
            }

        new = {
            layer.name: weight_record(layer, layer.name)
            for layer in model.layers
            if layer.trainable_weights
        }
        for target in self._targets:
            record = new.get(target.name) or weight_record(target.layer, target.name)
            per_sequence = result.timestep_grad_norms.get(target.name)
            if per_sequence is not None:
                real = self._probe.real_steps[target.name]
                go_backwards = bool(getattr(target.layer, "go_backwards", False))
                carried = result.recurrent_grad_norms[target.name]
                ratio = log10_ratio(carried, go_backwards, real)
                median = median_sequence_log10_ratio(carried, go_backwards, real)
                norms = combined_over_batch(per_sequence)
                carried = combined_over_batch(carried)
                record.update(
                    timestep_grad_norms=norms.tolist(),
                    recurrent_grad_norms=carried.tolist(),
                    log10_ratio=ratio,
                    median_sequence_log10_ratio=median,
                    go_backwards=go_backwards,
                    lengths=real.sum(axis=1).tolist(),
                    real_sequences=real.sum(axis=0).tolist(),
                    status=self._status(np.concatenate([norms, carried]), ratio),
                )
            new[target.name] = record
        records = list(new.values())
        self.records.extend(records)
        self._last_measured_step = self._step
        self._latest_logs = self._logs_from(records, global_norm)
        self._warn_once(records)
        return records

    def _status(self, norms: np.ndarray, ratio: float) -> str:
        if not np.all(np.isfinite(norms)) or ratio > self.exploding_threshold:
            return "exploding"
        if ratio < self.vanishing_threshold:
            return "vanishing"
        return "ok"

    @staticmethod
    def _logs_from(records: list, global_norm: float) -> dict:
        ratios = [
            r["log10_ratio"] for r in records if not math.isnan(r.get("log10_ratio", math.nan))
        ]
        statuses = [r["status"] for r in records if "status" in r]
        return {
            "grad_flow_global_norm": global_norm,
            "grad_flow_log10_ratio_min": min(ratios) if ratios else math.nan,
            "grad_flow_log10_ratio_max": max(ratios) if ratios else math.nan,
            "grad_flow_vanishing": float(statuses.count("vanishing")),
            "grad_flow_exploding": float(statuses.count("exploding")),
        }

    def _warn_once(self, records: list) -> None:
        for record in records:
            status = record.get("status", "ok")
            # Untrained weights often start past a threshold (gated cells learn to
            # carry gradients); the flag stays in the record, the warning waits for
            # a measurement taken during training.
            if record.get("trigger") == "train_begin":
                continue
            if status == "ok" or (record["layer"], status) in self._warned:
                continue
            self._warned.add((record["layer"], status))
            threshold = (
                self.vanishing_threshold if status == "vanishing" else self.exploding_threshold
            )
            warnings.warn(
                f"GradientFlowMonitor: {status} gradients in layer '{record['layer']}' at "
                f"step {record['step']}: log10(||g^T dh_last/dh_first|| / ||g||) = "
                f"{record['log10_ratio']:.2f} (threshold {threshold:+.1f}). "
                "Warned once per layer; see `monitor.records` for the series.",
                GradientFlowWarning,
                stacklevel=2,
            )

    def write_json(self, directory: str | Path) -> Path:
        """Writes the thresholds and all records to `directory/gradient_flow.json`."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "gradient_flow.json"
        document = {
            "vanishing_threshold": self.vanishing_threshold,
            "exploding_threshold": self.exploding_threshold,
            "unprobed_layers": self.unprobed_layers,
            "records": self.records,
        }
        path.write_text(json.dumps(_finite_or_none(document), indent=1))
        return path

    def save(self, directory: str | Path) -> list[Path]:
        """Writes the JSON series and the PNG pictures to `directory` (the heat
        map only when there are probed recurrent layers; no pictures, with a
        warning, without matplotlib); returns the paths."""
        directory = Path(directory)
        json_path = self.write_json(directory)
        if importlib.util.find_spec("matplotlib") is None:
            warnings.warn(
                "GradientFlowMonitor wrote gradient_flow.json but no pictures: matplotlib is "
                "not installed (pip install 'rnnkeras[plots]').",
                GradientFlowWarning,
                stacklevel=2,
            )
            return [json_path]
        from rnnkeras.callbacks.gradient_flow_plots import plot_layer_norms, plot_timestep_heatmap

        paths = [
            json_path,
            plot_timestep_heatmap(self.records, directory / "timestep_heatmap.png"),
            plot_layer_norms(
                self.records,
                directory / "layer_grad_norms.png",
                (self.vanishing_threshold, self.exploding_threshold),
            ),
        ]
        return [path for path in paths if path is not None]


def _finite_or_none(value):
    """Strict JSON has no NaN or Infinity: non-finite floats become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(item) for item in value]
    return value
