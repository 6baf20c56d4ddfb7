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
Dense(softmax)` with `GradientFlowMonitor` attached, within a wall-clock budget
(`--budget-s`, checked after each epoch), and prints a Markdown table: test loss,
its ratio to the trivial loss, accuracy on the 10 recalled digits, the
monitor's log10 ratio of the gradient carried back from the last state to the
first (start and end) and its flag at the end.

    python bench/copy_memory.py --cells MinGRU,MinLSTM,GRU,LSTM --steps 1000 --budget-s 180
    python bench/copy_memory.py --steps 50 --epochs 2   # quick look
"""

import argparse
import math
import time
import warnings

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


def trivial_loss(steps: int) -> float:
    return RECALL * math.log(DIGITS) / (steps + 2 * RECALL)


def run(cell: str, steps: int, epochs: int, budget_s: float, units: int, train_size: int):
    """Trains one model (stopping after the epoch that passes `budget_s`); returns its figures."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x_train, y_train = copy_memory(train_size, steps, rng)
    x_test, y_test = copy_memory(500, steps, rng)
    model = keras.Sequential(
        [
            keras.Input((steps + 2 * RECALL,), dtype="int32"),
            keras.layers.Embedding(DELIMITER + 1, 16),
            getattr(rnn_layers, cell)(units, return_sequences=True),
            keras.layers.Dense(DELIMITER + 1, activation="softmax"),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    monitor = GradientFlowMonitor(probe_data=(x_test[:64], y_test[:64]), every_n_batches=25)
    start, done = time.perf_counter(), 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradientFlowWarning)
        while done < epochs and time.perf_counter() - start < budget_s:
            model.fit(x_train, y_train, batch_size=32, epochs=1, callbacks=[monitor], verbose=0)
            done += 1
    seconds = time.perf_counter() - start
    loss = float(model.evaluate(x_test, y_test, batch_size=100, verbose=0))
    recalled = model.predict(x_test, batch_size=100, verbose=0)[:, -RECALL:].argmax(-1)
    records = [r for r in monitor.records if "log10_ratio" in r]
    return {
        "cell": cell,
        "steps": steps,
        "epochs": done,
        "loss": loss,
        "accuracy": float((recalled == y_test[:, -RECALL:]).mean()),
        "first_ratio": records[0]["log10_ratio"],
        "last_ratio": records[-1]["log10_ratio"],
        "status": records[-1]["status"],
        "seconds": seconds,
    }


def table(results: list) -> str:
    lines = [
        "| cell | T | epochs | train s | test loss | loss / trivial | recall accuracy "
        "| log10 ratio at start | log10 ratio at end | flag at end |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['cell']} | {r['steps']} | {r['epochs']} | {r['seconds']:.0f} | "
            f"{r['loss']:.4f} | {r['loss'] / trivial_loss(r['steps']):.2f} | "
            f"{r['accuracy']:.3f} | {r['first_ratio']:.2f} | {r['last_ratio']:.2f} | "
            f"{r['status']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default="MinGRU,MinLSTM,GRU,LSTM")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--budget-s", type=float, default=180.0)
    parser.add_argument("--units", type=int, default=40)
    parser.add_argument("--train-size", type=int, default=1024)
    args = parser.parse_args()
    results = []
    for cell in args.cells.split(","):
        results.append(
            run(cell.strip(), args.steps, args.epochs, args.budget_s, args.units, args.train_size)
        )
        print(table(results[-1:]).splitlines()[-1], flush=True)
    print(f"Trivial loss at T={args.steps}: {trivial_loss(args.steps):.4f}\n")
    print(table(results))


if __name__ == "__main__":
    main()
