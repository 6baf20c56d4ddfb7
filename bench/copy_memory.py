"""Copy memory (Bai, Kolter & Koltun, 2018): can a recurrent layer recall 10 symbols after T blanks?

Task ("An Empirical Evaluation of Generic Convolutional and Recurrent Networks
for Sequence Modeling", section 5.2): an input of `T + 20` symbols starts with
10 digits drawn from 1..8, then `T - 1` blanks (0), a delimiter (9) and 10 more
blanks; the target is blank everywhere except the last 10 steps, which repeat
the first 10 digits. Predicting blanks and then a uniform guess over the 8
digits gives a per-step cross-entropy of `10 ln 8 / (T + 20)` (0.0204 at
T = 1000), the trivial loss; Bai et al. report LSTM and GRU staying near it at
T = 1000 while a TCN reached 3.5e-5.

For each cell the script trains `Embedding -> layer(return_sequences) ->
Dense(softmax)` with `GradientFlowMonitor` attached, either for `--updates`
optimizer updates on freshly drawn batches (the same number for every cell,
whatever the machine's load) or for `--epochs` over a fixed training set within
a wall-clock budget (`--budget-s`, checked after each epoch), and prints a
Markdown table: test loss, its ratio to the trivial loss, accuracy on the 10
recalled digits, the monitor's log10 ratio of the gradient carried back from
the last state to the first (start and end), its flag at the end, and the wall
time per update (monitor probes included). With `--out`, the table and the
command go to `<out>.md`.

    python bench/copy_memory.py --cells MinGRU,MinLSTM,GRU,LSTM --steps 1000 --updates 500
    python bench/copy_memory.py --steps 50 --epochs 2   # quick look
"""

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import keras
import numpy as np

from rnnkeras import layers as rnn_layers
from rnnkeras.callbacks import GradientFlowMonitor, GradientFlowWarning

RECALL, DIGITS, BLANK, DELIMITER = 10, 8, 0, 9


def copy_memory(samples: int, steps: int, rng: np.random.Generator):
    """Inputs and targets `(samples, steps + 20)` of integer symbols."""
    digits = rng.integers(1, DIGITS + 1, size=(samples, RECALL))
    inputs = np.full((samples, steps + 2 * RECALL), BLANK, "int32")
    inputs[:, :RECALL] = digits
    inputs[:, steps + RECALL - 1] = DELIMITER
    targets = np.full_like(inputs, BLANK)
    targets[:, -RECALL:] = digits
    return inputs, targets


class FreshBatches(keras.utils.PyDataset):
    """`updates` batches of new copy-memory sequences, reproducible by index."""

    def __init__(self, updates: int, batch_size: int, steps: int, seed: int):
        super().__init__()
        self.updates, self.batch_size, self.steps, self.seed = updates, batch_size, steps, seed

    def __len__(self) -> int:
        return self.updates

    def __getitem__(self, index: int):
        return copy_memory(self.batch_size, self.steps, np.random.default_rng([self.seed, index]))


def trivial_loss(steps: int) -> float:
    return RECALL * math.log(DIGITS) / (steps + 2 * RECALL)


def run(
    cell: str,
    steps: int,
    epochs: int = 100,
    budget_s: float = 180.0,
    units: int = 40,
    train_size: int = 1024,
    updates: int | None = None,
    learning_rate: float = 1e-3,
    test_size: int = 500,
) -> dict:
    """Trains one model; returns its figures.

    With `updates`, trains on that many fresh batches of 32 (one pass);
    otherwise for up to `epochs` over `train_size` sequences, stopping after the
    epoch that passes `budget_s` seconds.
    """
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    if updates is None:
        x_train, y_train = copy_memory(train_size, steps, rng)
    x_test, y_test = copy_memory(test_size, steps, rng)
    model = keras.Sequential(
        [
            keras.Input((steps + 2 * RECALL,), dtype="int32"),
            keras.layers.Embedding(DELIMITER + 1, 16),
            getattr(rnn_layers, cell)(units, return_sequences=True),
            keras.layers.Dense(DELIMITER + 1, activation="softmax"),
        ]
    )
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy")
    monitor = GradientFlowMonitor(probe_data=(x_test[:64], y_test[:64]), every_n_batches=25)
    start, cpu_start, done = time.perf_counter(), time.process_time(), 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradientFlowWarning)
        if updates is not None:
            model.fit(FreshBatches(updates, 32, steps, 1), callbacks=[monitor], verbose=0)
        while updates is None and done < epochs and time.perf_counter() - start < budget_s:
            model.fit(x_train, y_train, batch_size=32, epochs=1, callbacks=[monitor], verbose=0)
            done += 1
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    done_updates = updates if updates is not None else done * -(-train_size // 32)
    loss = float(model.evaluate(x_test, y_test, batch_size=100, verbose=0))
    recalled = model.predict(x_test, batch_size=100, verbose=0)[:, -RECALL:].argmax(-1)
    records = [r for r in monitor.records if "log10_ratio" in r]
    return {
        "cell": cell,
        "steps": steps,
        "updates": done_updates,
        "loss": loss,
        "accuracy": float((recalled == y_test[:, -RECALL:]).mean()),
        "first_ratio": records[0]["log10_ratio"],
        "last_ratio": records[-1]["log10_ratio"],
        "status": records[-1]["status"],
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
    }


def table(results: list) -> str:
    lines = [
        "| cell | T | updates | train s | s per update | CPU s per update | test loss | loss / trivial "
        "| recall accuracy | log10 ratio at start | log10 ratio at end | flag at end |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['cell']} | {r['steps']} | {r['updates']} | {r['seconds']:.0f} | "
            f"{r['seconds'] / r['updates']:.3f} | {r['cpu_seconds'] / r['updates']:.3f} | "
            f"{r['loss']:.4f} | {r['loss'] / trivial_loss(r['steps']):.2f} | "
            f"{r['accuracy']:.3f} | {r['first_ratio']:.2f} | {r['last_ratio']:.2f} | "
            f"{r['status']} |"
        )
    return "\n".join(lines)


def main(argv: list | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default="MinGRU,MinLSTM,GRU,LSTM")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--budget-s", type=float, default=180.0)
    parser.add_argument("--units", type=int, default=40)
    parser.add_argument("--train-size", type=int, default=1024)
    parser.add_argument(
        "--updates", type=int, help="train on this many fresh batches instead of --epochs"
    )
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--out", type=Path, help="also write the table to <out>.md")
    args = parser.parse_args(argv)
    results = []
    for cell in args.cells.split(","):
        result = run(
            cell.strip(),
            args.steps,
            args.epochs,
            args.budget_s,
            args.units,
            args.train_size,
            updates=args.updates,
            learning_rate=args.learning_rate,
        )
        results.append(result)
        print(table(results[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    text = f"Trivial loss at T={args.steps}: {trivial_loss(args.steps):.4f}\n\n" + table(results)
    print(text)
    if args.out is not None:
        command = "python bench/copy_memory.py " + " ".join(
            argv if argv is not None else sys.argv[1:]
        )
        training = (
            f"{args.updates} updates on fresh batches of 32"
            if args.updates
            else f"up to {args.epochs} epochs of {args.train_size} sequences "
            f"within {args.budget_s:g} s, batch 32"
        )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".md").write_text(
            f"Command: `{command.strip()}` (units={args.units}, {training}, "
            f"Adam {args.learning_rate:g})\n\n{text}\n"
        )


if __name__ == "__main__":
    main()
