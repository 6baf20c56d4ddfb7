"""The adding problem: which recurrent layers carry credit across T steps, and the gradient flow.

Task (Hochreiter & Schmidhuber 1997, in the form of Le et al. 2015): each
input step carries a value drawn uniformly from [0, 1] and a marker; exactly
two steps are marked, one in each half of the sequence, and the target is the
sum of the two marked values. Always predicting 1 gives a mean squared error
of Var(U1 + U2) = 1/6 = 0.167, the baseline; solving the task needs credit
assigned across up to T steps.

For each cell and sequence length the script trains a one-layer model with
`GradientFlowMonitor` attached and reports the test MSE and the monitor's
log10 ratio of the gradient carried back from the last state to the first,
at the start and at the end of training, with its vanishing flag.

Training runs either `--epochs` over a fixed training set, or `--updates`
optimizer updates on freshly drawn batches (every cell then gets the same
number of updates whatever the machine's load; the table adds the wall time
per update, monitor probes included, which is the speed side of the
MinGRU/MinLSTM trade-off).

`--cells` takes any `rnnkeras.layers` layer class by name, so every layer in
the library can be compared; a layer whose constructor takes `timesteps`
(`IndRNN`: the paper's recurrent-weight bound `2 ** (1 / T)`) receives the
sequence length.

    python bench/adding_problem.py                      # full table (~5 min on 2 cores)
    python bench/adding_problem.py --steps 10 --epochs 2  # quick look
    python bench/adding_problem.py --cells LSTM,IndRNN,ESN --steps 100 500
    python bench/adding_problem.py --cells MinGRU,GRU --steps 1000 --updates 600
"""

import argparse
import inspect
import sys
import time
import warnings
from pathlib import Path

import keras
import numpy as np

from rnnkeras import layers as rnn_layers
from rnnkeras.callbacks import GradientFlowMonitor, GradientFlowWarning

BASELINE_MSE = 1 / 6
DEFAULT_CELLS = ("SimpleRNN", "LSTM", "GRU")
# Wrappers take layers, not `units`: they are not cells to compare here.
WRAPPERS = ("Bidirectional", "StackedRNN")


def layer_names() -> list[str]:
    """The `rnnkeras.layers` recurrent layer classes `--cells` accepts."""
    return [
        name
        for name in rnn_layers.__all__
        if isinstance(getattr(rnn_layers, name), type)
        and issubclass(getattr(rnn_layers, name), keras.layers.RNN)
        and name not in WRAPPERS
    ]


def recurrent_layer(cell: str, units: int, steps: int) -> keras.layers.Layer:
    """A new `rnnkeras.layers.<cell>(units)`; `timesteps=steps` where it takes one.

    Raises:
        ValueError: If `cell` names no recurrent layer of `rnnkeras.layers`.
    """
    if cell not in layer_names():
        raise ValueError(
            f"adding_problem expects a recurrent layer of rnnkeras.layers "
            f"({', '.join(layer_names())}). Received: cell={cell!r}"
        )
    layer_class = getattr(rnn_layers, cell)
    if "timesteps" in inspect.signature(layer_class).parameters:
        return layer_class(units, timesteps=steps)
    return layer_class(units)


def adding_problem(samples: int, steps: int, rng: np.random.Generator):
    """Inputs `(samples, steps, 2)` (value, marker) and targets `(samples, 1)`."""
    values = rng.uniform(size=(samples, steps)).astype("float32")
    markers = np.zeros((samples, steps), "float32")
    rows = np.arange(samples)
    markers[rows, rng.integers(0, steps // 2, samples)] = 1.0
    markers[rows, rng.integers(steps // 2, steps, samples)] = 1.0
    targets = (values * markers).sum(axis=1, keepdims=True)
    return np.stack([values, markers], axis=-1), targets


class FreshBatches(keras.utils.PyDataset):
    """`updates` batches of new sequences from `make(batch_size, steps, rng)`, reproducible by index."""

    def __init__(self, make, updates: int, batch_size: int, steps: int, seed: int):
        super().__init__()
        self.make, self.updates = make, updates
        self.batch_size, self.steps, self.seed = batch_size, steps, seed

    def __len__(self) -> int:
        return self.updates

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, index])
        return self.make(self.batch_size, self.steps, rng)


def run(
    cell: str,
    steps: int,
    epochs: int,
    units: int = 32,
    train_size: int = 6400,
    test_size: int = 2000,
    seed: int = 0,
    learning_rate: float = 1e-2,
    depth: int = 1,
    updates: int | None = None,
    residual: bool = False,
) -> dict:
    """Trains one model; returns its figures and the monitor's records.

    With `updates`, trains on that many fresh batches of 64 (one pass) instead
    of `epochs` over `train_size` sequences; `residual` links the layers of a
    `depth > 1` stack (`StackedRNN(residual=True)`, as Feng et al. stack minGRU).
    """
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    if updates is None:
        x_train, y_train = adding_problem(train_size, steps, rng)
    x_test, y_test = adding_problem(test_size, steps, rng)
    recurrent = recurrent_layer(cell, units, steps)
    if depth > 1:
        # The IndRNN paper's adding-problem model has two layers: the first can
        # pick the marked values, the second sum them (one IndRNN unit cannot do both).
        layers = [recurrent_layer(cell, units, steps) for _ in range(depth - 1)]
        recurrent = rnn_layers.StackedRNN([*layers, recurrent], residual=residual)
    model = keras.Sequential([keras.Input((steps, 2)), recurrent, keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
    monitor = GradientFlowMonitor(probe_data=(x_test[:128], y_test[:128]), every_n_batches=50)
    start, cpu_start = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradientFlowWarning)
        if updates is None:
            model.fit(
                x_train, y_train, batch_size=64, epochs=epochs, callbacks=[monitor], verbose=0
            )
        else:
            batches = FreshBatches(adding_problem, updates, 64, steps, seed + 1)
            model.fit(batches, epochs=1, callbacks=[monitor], verbose=0)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    done = updates if updates is not None else epochs * -(-train_size // 64)
    layer_records = [r for r in monitor.records if "log10_ratio" in r]
    # With depth > 1 every layer has records: keep the top one's, which the readout reads.
    layer_records = [r for r in layer_records if r["layer"] == layer_records[-1]["layer"]]
    return {
        "cell": cell,
        "steps": steps,
        "test_mse": float(model.evaluate(x_test, y_test, batch_size=500, verbose=0)),
        "first_ratio": layer_records[0]["log10_ratio"],
        "last_ratio": layer_records[-1]["log10_ratio"],
        "status": layer_records[-1]["status"],
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "updates": done,
        "records": layer_records,
    }


def table(results: list) -> str:
    lines = [
        "| cell | T | test MSE | % of baseline 0.167 | log10 ratio at start | log10 ratio at end "
        "| flag at end | updates | train s | s per update | CPU s per update |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['cell']} | {r['steps']} | {r['test_mse']:.4f} | "
            f"{100 * r['test_mse'] / BASELINE_MSE:.1f}% | {r['first_ratio']:.2f} | "
            f"{r['last_ratio']:.2f} | {r['status']} | {r['updates']} | {r['seconds']:.0f} | "
            f"{r['seconds'] / r['updates']:.3f} | {r['cpu_seconds'] / r['updates']:.3f} |"
        )
    return "\n".join(lines)


def plot(results: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (mse_axis, ratio_axis, history_axis) = plt.subplots(1, 3, figsize=(16, 4.5))
    longest = max(r["steps"] for r in results)
    for cell in dict.fromkeys(r["cell"] for r in results):
        rows = [r for r in results if r["cell"] == cell]
        steps = [r["steps"] for r in rows]
        mse_axis.plot(steps, [r["test_mse"] for r in rows], marker="o", label=cell)
        ratio_axis.plot(steps, [r["last_ratio"] for r in rows], marker="o", label=cell)
        for r in rows:
            if r["steps"] == longest:
                history = [(rec["step"], rec["log10_ratio"]) for rec in r["records"]]
                history_axis.plot(*zip(*history, strict=True), marker=".", label=cell)
    mse_axis.axhline(BASELINE_MSE, color="grey", linestyle="--", label="baseline (predict 1)")
    mse_axis.axhline(0.01, color="grey", linestyle=":", label="0.01")
    mse_axis.set(yscale="log", xlabel="sequence length T", ylabel="test MSE", title="Test MSE")
    for axis in (ratio_axis, history_axis):
        axis.axhline(-2.0, color="tab:red", linestyle=":", label="vanishing threshold")
    ratio_axis.set(
        xlabel="sequence length T",
        ylabel="log10 ||g·dh_T/dh_1|| / ||g||",
        title="Gradient reaching h_1, end of training",
    )
    history_axis.set(
        xlabel="training step",
        ylabel="log10 ||g·dh_T/dh_1|| / ||g||",
        title=f"Gradient reaching h_1 during training, T={longest}",
    )
    for axis in (mse_axis, ratio_axis, history_axis):
        axis.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 25, 50, 100])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument(
        "--updates", type=int, help="train on this many fresh batches instead of --epochs"
    )
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument(
        "--cells",
        default=",".join(DEFAULT_CELLS),
        help="comma-separated rnnkeras.layers classes, e.g. LSTM,IndRNN,ESN",
    )
    parser.add_argument("--train-size", type=int, default=6400)
    parser.add_argument("--test-size", type=int, default=2000)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--depth", type=int, default=1, help="recurrent layers (StackedRNN)")
    parser.add_argument("--residual", action="store_true", help="residual links in the stack")
    parser.add_argument(
        "--name", default="adding_problem", help="results/<name>.md and .png are written"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    cells = [name.strip() for name in args.cells.split(",") if name.strip()]
    for cell in cells:
        recurrent_layer(cell, args.units, args.steps[0])
    results = []
    for steps in args.steps:
        for cell in cells:
            result = run(
                cell,
                steps,
                args.epochs,
                args.units,
                train_size=args.train_size,
                test_size=args.test_size,
                learning_rate=args.learning_rate,
                depth=args.depth,
                updates=args.updates,
                residual=args.residual,
            )
            results.append(result)
            print(
                f"{cell:>9} T={steps:<4} test MSE {result['test_mse']:.4f} "
                f"log10 ratio {result['last_ratio']:.2f} ({result['seconds']:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    text = table(results)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python bench/adding_problem.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    training = (
        f"{args.updates} updates on fresh batches of 64"
        if args.updates
        else f"epochs={args.epochs}, batch 64, {args.train_size} training sequences"
    )
    (args.out / f"{args.name}.md").write_text(
        f"Command: `{command.strip()}` (units={args.units}, depth={args.depth}"
        f"{', residual' if args.residual else ''}, {training}, "
        f"{args.test_size} test sequences, Adam {args.learning_rate:g})\n\n" + text + "\n"
    )
    plot(results, args.out / f"{args.name}.png")


if __name__ == "__main__":
    main()
