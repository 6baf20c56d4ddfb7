"""Training time with and without `GradientFlowMonitor` at its default frequency.

Fits the same model (same seed, same data) with and without the monitor,
interleaved, and prints the median wall and CPU time of each and their ratio.
On a machine shared with other work the wall-time ratio is noisy; the CPU
time of the process and the estimate from the cost of one measurement are
steadier. The
monitor measures at the start of training, every 50 batches (the default) and
at each epoch end; its first measurement also traces its graph.

    python bench/gradient_flow_overhead.py
    python bench/gradient_flow_overhead.py --cell GRU --epochs 3 --repeats 3
"""

import argparse
import statistics
import time
import warnings

import keras
import numpy as np

from rnnkeras.callbacks import GradientFlowMonitor, GradientFlowWarning
from rnnkeras.layers import GRU, LSTM, SimpleRNN

CELLS = {"SimpleRNN": SimpleRNN, "LSTM": LSTM, "GRU": GRU}


def timed_fit(cell: str, x, y, epochs: int, units: int, monitored: bool) -> tuple:
    """(wall, CPU) seconds of one `fit` of a fresh model, the model and the monitor."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(x.shape[1:]), CELLS[cell](units), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    monitor = GradientFlowMonitor(probe_data=(x[:64], y[:64])) if monitored else None
    start, start_cpu = time.perf_counter(), time.process_time()
    model.fit(x, y, batch_size=64, epochs=epochs, callbacks=[monitor] if monitor else [], verbose=0)
    return (time.perf_counter() - start, time.process_time() - start_cpu), model, monitor


def measurement_cost(model, x, y, repeats: int = 10) -> tuple:
    """Seconds of a new monitor's first measurement (finding layers and
    tracing its graph included) and the median of the following ones."""
    monitor = GradientFlowMonitor(probe_data=(x[:64], y[:64]))
    monitor.set_model(model)
    start = time.perf_counter()
    monitor.measure()
    first = time.perf_counter() - start
    later = []
    for _ in range(repeats):
        start = time.perf_counter()
        monitor.measure()
        later.append(time.perf_counter() - start)
    return first, statistics.median(later)


def main(argv: list | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", choices=sorted(CELLS), default="LSTM")
    parser.add_argument("--steps", type=int, default=100, help="sequence length")
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--batches", type=int, default=100, help="batches of 64 per epoch")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64 * args.batches, args.steps, args.features)).astype("float32")
    y = rng.normal(size=(len(x), 1)).astype("float32")
    times = {False: [], True: []}
    cpu_times = {False: [], True: []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradientFlowWarning)
        for _ in range(args.repeats):
            for monitored in (False, True):
                (seconds, cpu_seconds), model, monitor = timed_fit(
                    args.cell, x, y, args.epochs, args.units, monitored
                )
                times[monitored].append(seconds)
                cpu_times[monitored].append(cpu_seconds)
        first, later = measurement_cost(model, x, y)
    measurements = len({r["step"] for r in monitor.records})
    plain, monitored = statistics.median(times[False]), statistics.median(times[True])
    steps = args.batches * args.epochs
    print(
        f"{args.cell}({args.units}), T={args.steps}, {args.features} features, batch 64, "
        f"{args.batches} batches x {args.epochs} epochs = {steps} steps, "
        f"{measurements} measurements per fit"
    )
    print(
        f"fit without monitor:  {plain:.2f} s (median of {args.repeats}; {1e3 * plain / steps:.1f} ms/step)"
    )
    print(f"fit with monitor:     {monitored:.2f} s (median of {args.repeats})")
    print(f"measured overhead:    {100 * (monitored / plain - 1):+.1f}% (wall time)")
    plain_cpu, monitored_cpu = (statistics.median(cpu_times[m]) for m in (False, True))
    print(
        f"measured overhead:    {100 * (monitored_cpu / plain_cpu - 1):+.1f}% (CPU time of the "
        f"process: {plain_cpu:.1f} s vs {monitored_cpu:.1f} s)"
    )
    print(f"one measurement:      {1e3 * later:.1f} ms (first, with tracing: {1e3 * first:.0f} ms)")
    estimate = (first + (measurements - 1) * later) / plain
    print(
        f"estimated overhead:   {100 * estimate:.1f}% (first + {measurements - 1} x one measurement, over the plain fit)"
    )


if __name__ == "__main__":
    main()
