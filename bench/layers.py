"""Speed of rnnkeras layers beside the Keras built-ins and PyTorch, in one process.

For SimpleRNN, LSTM and GRU at batch 64, 100 steps, 32 features, 128 units on
the CPU, measures one training step (forward, backward, Adam update) and
inference at batch 64 and batch 1. Candidates run interleaved, round after
round, so machine load affects them alike; the table shows medians in
milliseconds and the ratios ours/Keras and ours/PyTorch (below 1 = we are faster).

Run: ``python bench/layers.py`` (``--rounds`` for more samples, ``--jit`` to
compile the Keras candidates with XLA, as ``model.compile(jit_compile=True)`` does).
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402

import rnnkeras.layers  # noqa: E402

KINDS = ("SimpleRNN", "LSTM", "GRU")
PAUSE_S = 0.05
TORCH_CLASSES = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}


def keras_candidate(layer_class, x, y, units, jit_compile=False):
    """Compiled train step and inference functions for a Keras model."""
    model = keras.Sequential(
        [keras.Input(x.shape[1:]), layer_class(units), keras.layers.Dense(y.shape[-1])]
    )
    optimizer = keras.optimizers.Adam(1e-3)
    loss_fn = keras.losses.MeanSquaredError()

    @tf.function(jit_compile=jit_compile)
    def train_step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    infer = tf.function(lambda batch: model(batch, training=False), jit_compile=jit_compile)
    x1 = x[:1]
    return {"train": train_step, "infer64": lambda: infer(x), "infer1": lambda: infer(x1)}


def torch_candidate(kind, x, y, units):
    """The same model and steps in PyTorch eager (the reference peer)."""
    rnn = TORCH_CLASSES[kind](x.shape[-1], units, batch_first=True)
    head = torch.nn.Linear(units, y.shape[-1])
    params = list(rnn.parameters()) + list(head.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    x1 = xt[:1]

    def forward(batch):
        outputs, _ = rnn(batch)
        return head(outputs[:, -1])

    def train_step():
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(forward(xt), yt)
        loss.backward()
        optimizer.step()

    def infer(batch):
        with torch.inference_mode():
            return forward(batch)

    return {"train": train_step, "infer64": lambda: infer(xt), "infer1": lambda: infer(x1)}


def measure(candidates, rounds, calls):
    """Median milliseconds per call for every (name, mode), interleaved."""
    for functions in candidates.values():
        for function in functions.values():
            function()
            function()
    samples = {(name, mode): [] for name, fns in candidates.items() for mode in fns}
    for _ in range(rounds):
        for name, functions in candidates.items():
            for mode, function in functions.items():
                # Let the other framework's worker threads stop spinning first.
                time.sleep(PAUSE_S)
                start = time.perf_counter()
                for _ in range(calls):
                    function()
                samples[(name, mode)].append((time.perf_counter() - start) / calls * 1e3)
    return {key: statistics.median(values) for key, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument(
        "--jit", action="store_true", help="compile both Keras candidates with XLA (jit_compile)"
    )
    args = parser.parse_args()

    torch.set_num_threads(os.cpu_count() or 1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, args.steps, args.features), dtype=np.float32)
    y = rng.standard_normal((args.batch, 1), dtype=np.float32)
    print(
        f"batch {args.batch}, {args.steps} steps, {args.features} features, {args.units} units; "
        f"TF {tf.__version__}, Keras {keras.__version__}, torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs; median of {args.rounds} rounds x {args.calls} calls"
        f"{'; Keras candidates compiled with XLA' if args.jit else ''}\n"
    )
    print("| layer | mode | rnnkeras ms | Keras ms | PyTorch ms | ours/Keras | ours/PyTorch |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for kind in args.kinds:
        candidates = {
            "ours": keras_candidate(getattr(rnnkeras.layers, kind), x, y, args.units, args.jit),
            "keras": keras_candidate(getattr(keras.layers, kind), x, y, args.units, args.jit),
            "torch": torch_candidate(kind, x, y, args.units),
        }
        medians = measure(candidates, args.rounds, args.calls)
        for mode in ("train", "infer64", "infer1"):
            ours, ref, peer = (medians[(name, mode)] for name in ("ours", "keras", "torch"))
            print(
                f"| {kind} | {mode} | {ours:.2f} | {ref:.2f} | {peer:.2f} | "
                f"{ours / ref:.2f} | {ours / peer:.2f} |"
            )


if __name__ == "__main__":
    main()
