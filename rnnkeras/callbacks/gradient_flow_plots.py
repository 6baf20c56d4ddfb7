"""Pictures of `GradientFlowMonitor` records (matplotlib, Agg backend).

matplotlib is imported inside the functions, so importing rnnkeras never
imports it.
"""

from pathlib import Path

import numpy as np

from rnnkeras.callbacks.gradient_ratios import SMALLEST_NORM
from rnnkeras.figures import pyplot, save_png


def _series(records: list, key: str) -> dict:
    """`{layer: [(step, value), ...]}` for the records that have `key`."""
    series = {}
    for record in records:
        if key in record:
            series.setdefault(record["layer"], []).append((record["step"], record[key]))
    return series


def log10_timestep_norms(record: dict) -> np.ndarray:
    """log10 of a record's `timestep_grad_norms`, NaN (drawn blank) at the
    time steps that are padding in every probe sequence: no gradient reaches
    them, and their floor value would stretch the colour scale.

    Example:

    >>> record = {"timestep_grad_norms": [0.01, 1.0, 0.0], "real_sequences": [2, 1, 0]}
    >>> log10_timestep_norms(record).tolist()
    [-2.0, 0.0, nan]
    """
    norms = np.asarray(record["timestep_grad_norms"], float)
    values = np.log10(np.maximum(norms, SMALLEST_NORM))
    real = record.get("real_sequences")
    if real is not None:
        values[np.asarray(real) == 0] = np.nan
    return values


def plot_timestep_heatmap(records: list, path: str | Path) -> Path | None:
    """Heat map of log10 ||dL/dh_t|| over time step (x) and training step (y),
    one panel per recurrent layer (blank where every probe sequence is
    padding); None (no file) without such records.

    Example:

    >>> import tempfile
    >>> records = [{"step": s, "layer": "lstm", "timestep_grad_norms": [0.01, 0.1, 1.0]}
    ...            for s in (0, 50)]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     plot_timestep_heatmap(records, f"{folder}/heatmap.png").name
    'heatmap.png'
    """
    series = {}
    for record in records:
        if "timestep_grad_norms" in record:
            points = series.setdefault(record["layer"], [])
            points.append((record["step"], log10_timestep_norms(record)))
    if not series:
        return None
    plt = pyplot()
    figure, axes = plt.subplots(len(series), 1, figsize=(8, 2.6 * len(series) + 0.6), squeeze=False)
    for axis, (layer, points) in zip(axes[:, 0], series.items(), strict=True):
        steps = [step for step, _ in points]
        length = max(len(values) for _, values in points)
        grid = np.full((len(points), length), np.nan)
        for row, (_, values) in enumerate(points):
            grid[row, : len(values)] = values
        image = axis.imshow(
            grid,
            aspect="auto",
            origin="lower",
            interpolation="nearest",
            cmap="viridis",
            extent=(0.5, length + 0.5, -0.5, len(points) - 0.5),
        )
        ticks = np.unique(np.linspace(0, len(points) - 1, min(len(points), 8)).round().astype(int))
        axis.set_yticks(ticks, [str(steps[i]) for i in ticks])
        backwards = any(r.get("go_backwards") for r in records if r["layer"] == layer)
        axis.set_title(f"{layer} (reads the sequence backwards)" if backwards else layer)
        axis.set_xlabel("time step t (state after input t)")
        axis.set_ylabel("training step")
        figure.colorbar(image, ax=axis, label="log10 ||dL/dh_t||")
    return save_png(figure, path, dpi=110)


def plot_layer_norms(records: list, path: str | Path, thresholds: tuple = (-2.0, 2.0)) -> Path:
    """Per-layer and global gradient norms over training (log scale) and, for
    recurrent layers, the `log10_ratio` of the gradient carried back from the
    last state to the first, against the vanishing and exploding thresholds.

    Example:

    >>> import tempfile
    >>> records = [{"step": s, "layer": "dense", "weight_grad_norm": 1.0 / (s + 1),
    ...             "global_grad_norm": 1.0} for s in (0, 50)]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     plot_layer_norms(records, f"{folder}/norms.png").name
    'norms.png'
    """
    norms = _series(records, "weight_grad_norm")
    ratios = _series(records, "log10_ratio")
    global_norm = {r["step"]: r["global_grad_norm"] for r in records if "global_grad_norm" in r}
    plt = pyplot()
    figure, axes = plt.subplots(
        2 if ratios else 1, 1, figsize=(11, 7 if ratios else 4), squeeze=False
    )
    top = axes[0, 0]
    for layer, points in norms.items():
        top.plot(*zip(*points, strict=True), marker=".", label=layer)
    if global_norm:
        top.plot(*zip(*sorted(global_norm.items()), strict=True), "k--", label="global")
    top.set_yscale("log")
    top.set_xlabel("training step")
    top.set_ylabel("gradient norm")
    top.set_title("Weight gradient norms per layer")
    top.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if ratios:
        bottom = axes[1, 0]
        for layer, points in ratios.items():
            bottom.plot(*zip(*points, strict=True), marker=".", label=layer)
        vanishing, exploding = thresholds
        bottom.axhline(vanishing, color="tab:red", linestyle=":", label="vanishing threshold")
        bottom.axhline(exploding, color="tab:purple", linestyle=":", label="exploding threshold")
        bottom.set_xlabel("training step")
        bottom.set_ylabel("log10 ||g·dh_last/dh_first|| / ||g||")
        bottom.set_title("Gradient surviving back through time")
        bottom.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save_png(figure, path, dpi=110)
