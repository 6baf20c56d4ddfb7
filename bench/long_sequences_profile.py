"""Where MinGRU's training time goes at long T, and what the other scan formulations would cost.

`bench/long_sequences.py` measures `MinGRU` training 3.5x faster than our `GRU`
at T = 4,096 on TensorFlow, short of the 10x target. This script splits the
layer's forward and backward pass (B=16, D=32, H=128, TensorFlow, each piece a
`tf.function`, pieces interleaved round after round so machine load hits them
alike) into:

- the input projection `x @ kernel + bias` alone;
- the projection and the gates, `(a_t, b_t)` (`sigmoid`, the paper's `g`, products);
- the projection, the gates and the scan (`linear_recurrence`, the `sqrt(T)`-chunked form);

and times the scan formulations on the same coefficients (forward and backward):
the chunked scan the layer uses, `keras.ops.associative_scan`, Heinsen's (2023)
log-space form `exp(A_t + cumulative_logsumexp(log b_s - A_s))` with
`A_t = cumsum(log a)` (`tf.math.cumulative_logsumexp`), and the sequential
`tf.scan`. The backward pass is the gradient of the last state's sum with respect
to the layer's weights (pieces) or to `a` and `b` (scans).

Run: `python bench/long_sequences_profile.py --steps 4096 --rounds 3`; it prints
a Markdown table (medians, ms) and writes it to
`bench/results/long_sequences_profile.md`.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BATCH, FEATURES, UNITS = 16, 32, 128
RESULTS = Path(__file__).parent / "results"


def heinsen(a, b):
    """Heinsen (2023): `h_t = exp(A_t + logcumsumexp_s(log b_s - A_s))`, `A_t = sum log a`, h_0 = 0."""
    import tensorflow as tf

    log_decay = tf.cumsum(tf.math.log(a), axis=1)
    return tf.exp(log_decay + tf.math.cumulative_logsumexp(tf.math.log(b) - log_decay, axis=1))


def sequential(a, b):
    """`tf.scan` over time: T dependent steps."""
    import tensorflow as tf

    steps_first = tf.scan(
        lambda h, ab: ab[0] * h + ab[1],
        (tf.transpose(a, [1, 0, 2]), tf.transpose(b, [1, 0, 2])),
        initializer=tf.zeros_like(a[:, 0]),
    )
    return tf.transpose(steps_first, [1, 0, 2])


def candidates(steps: int) -> dict:
    """`name -> (forward, forward and backward)`, each a compiled `tf.function`."""
    # Imported here, so that `--help` answers without loading TensorFlow.
    import numpy as np
    import tensorflow as tf

    from rnnkeras import layers as rl
    from rnnkeras.layers import parallel_scan

    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(BATCH, steps, FEATURES)).astype("float32"))
    layer = rl.MinGRU(UNITS)
    layer(x[:, :2])
    cell, h0 = layer.cell, tf.zeros((BATCH, UNITS))
    a = tf.constant(rng.uniform(0.5, 1.0, (BATCH, steps, UNITS)).astype("float32"))
    b = tf.constant(rng.uniform(0.0, 1.0, (BATCH, steps, UNITS)).astype("float32"))

    def coefficients():
        return cell.coefficients(cell.project_inputs(x))

    pieces = {
        "layer: input projection only": lambda: cell.project_inputs(x),
        "layer: projection + gates": lambda: tf.concat(coefficients(), axis=-1),
        "layer: projection + gates + scan": lambda: parallel_scan.linear_recurrence(
            *coefficients(), h0
        ),
    }
    scans = {
        "scan alone: sqrt(T)-chunked (ours)": parallel_scan._chunked,
        "scan alone: keras.ops.associative_scan": parallel_scan._associative,
        "scan alone: Heinsen log-space": heinsen,
        "scan alone: tf.scan (sequential)": sequential,
    }
    result = {}
    for name, piece in pieces.items():

        def piece_gradient(piece=piece):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(piece()[:, -1])
            return tape.gradient(loss, cell.trainable_variables)

        result[name] = (tf.function(piece), tf.function(piece_gradient))
    for name, scan in scans.items():

        def scan_gradient(scan=scan):
            with tf.GradientTape() as tape:
                tape.watch([a, b])
                loss = tf.reduce_sum(scan(a, b)[:, -1])
            return tape.gradient(loss, [a, b])

        result[name] = (tf.function(lambda scan=scan: scan(a, b)), tf.function(scan_gradient))
    return result


def main(argv: list | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=RESULTS / "long_sequences_profile.md")
    args = parser.parse_args(argv)
    calls = candidates(args.steps)
    for forward, backward in calls.values():  # trace and warm up
        forward()
        backward()
    load = os.getloadavg()
    samples = {name: ([], []) for name in calls}
    for _ in range(args.rounds):
        for name, functions in calls.items():
            for function, times in zip(functions, samples[name], strict=True):
                start = time.perf_counter()
                function()
                times.append(time.perf_counter() - start)
    lines = [
        f"TensorFlow, B={BATCH}, D={FEATURES}, H={UNITS}, T={args.steps}, {args.rounds} rounds, "
        f"load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on "
        f"{os.cpu_count()} cores. Medians; forward + backward includes the forward pass.",
        "",
        "| piece | forward (ms) | forward + backward (ms) |",
        "|---|---:|---:|",
    ]
    for name, (forward, backward) in samples.items():
        lines.append(
            f"| {name} | {statistics.median(forward) * 1e3:.0f} "
            f"| {statistics.median(backward) * 1e3:.0f} |"
        )
    text = "\n".join(lines)
    print(text)
    args.output.write_text(
        f"Command: `python bench/long_sequences_profile.py --steps {args.steps} "
        f"--rounds {args.rounds}`\n\n{text}\n"
    )


if __name__ == "__main__":
    main()
