"""Speed of rnnkeras layers beside the Keras built-ins and PyTorch, on the default user path.

For SimpleRNN, LSTM and GRU (batch 64, 100 steps, 32 features, 128 units, CPU)
every Keras candidate is what a user writes:
`keras.Sequential([Input, Layer(128), Dense(1)])`, `compile("adam", "mse")`,
then `train_on_batch` (one training step) and `predict_on_batch` at batch 64
and batch 1 — no flags, so each backend's own defaults apply (on TensorFlow's
CPU Keras does not XLA-compile the model; on JAX it does; on PyTorch it runs
eagerly). The peer is PyTorch itself: `nn.RNN`/`nn.LSTM`/`nn.GRU` + `nn.Linear`,
Adam, and inference under `torch.no_grad()`, on the same arrays.

Candidates run interleaved, round after round, in one process, so machine load
hits them alike. The table shows medians in milliseconds and, per round, the
ratios ours/Keras and ours/PyTorch, of which it prints the median (below 1 = we
are faster).

On the PyTorch backend our `SimpleRNN`, `LSTM` and `GRU` run PyTorch's own
fused kernel (`rnnkeras.layers.torch_kernels`), the same one
`nn.RNN`/`nn.LSTM`/`nn.GRU` run, so their ratios to PyTorch measure what Keras
adds around it (model call, optimizer, weight mapping).

Run: `python bench/layers.py --backend tensorflow` (`--rounds` for more
samples, `--quick` for a short look, `--plain-loop` to add rnnkeras with its
kernel decisions switched off, the lever's own measure: the XLA-compiled
inference loop on TensorFlow, PyTorch's fused kernel on PyTorch).
"""

import argparse
import contextlib
import logging
import os
import statistics
import sys
import time
from unittest import mock

BACKENDS = ("tensorflow", "jax", "torch")
KINDS = ("SimpleRNN", "LSTM", "GRU")
MODES = ("train", "infer B64", "infer B1")
PAUSE_S = 0.05


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, default="tensorflow")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=3, help="calls timed together per sample")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--quick", action="store_true", help="3 rounds of 1 call")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        help="PyTorch's intra-op threads (default: its own); on a busy machine its OpenMP "
        "threads wait for each other at every step, and 1 keeps its figures meaningful",
    )
    parser.add_argument(
        "--plain-loop",
        action="store_true",
        help="also measure rnnkeras with its XLA loop / PyTorch kernel switched off",
    )
    return parser.parse_args()


ARGS = parse_arguments()
# The backend is fixed when Keras is first imported.
os.environ["KERAS_BACKEND"] = ARGS.backend
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Batch 64 and batch 1 are two input shapes, so `predict_on_batch` traces twice,
# which TensorFlow reports as a retracing warning; it is expected here.
logging.getLogger("tensorflow").setLevel(logging.ERROR)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import rnnkeras.layers  # noqa: E402
from rnnkeras.layers import recurrent  # noqa: E402

TORCH_CLASSES = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}


def plain_loop_switch():
    """The kernel decisions answering "no", so rnnkeras runs its generic loop.

    On TensorFlow that is the XLA-compiled loop (what the traced functions keep),
    on PyTorch its own fused kernel (asked at every eager call).
    """
    stack = contextlib.ExitStack()
    for decision in ("xla_loop_blockers", "torch_kernel_blockers"):
        stack.enter_context(
            mock.patch.object(recurrent, decision, lambda *_, **__: ["plain loop (bench)"])
        )
    return stack


def keras_candidate(layer_class, x, y, units, plain_loop=False):
    """`train_on_batch` and `predict_on_batch` of the model a user writes, compiled by default.

    With `plain_loop`, every call runs with the XLA-loop and PyTorch-kernel
    decisions answering "no" (`plain_loop_switch`).
    """
    model = keras.Sequential(
        [keras.Input(x.shape[1:]), layer_class(units), keras.layers.Dense(y.shape[-1])]
    )
    model.compile("adam", "mse")
    x1 = x[:1]
    functions = {
        "train": lambda: model.train_on_batch(x, y),
        "infer B64": lambda: model.predict_on_batch(x),
        "infer B1": lambda: model.predict_on_batch(x1),
    }
    if not plain_loop:
        return functions

    def switched(function):
        def call():
            with plain_loop_switch():
                return function()

        return call

    return {mode: switched(function) for mode, function in functions.items()}


def torch_candidate(kind, x, y, units):
    """The same model and steps in PyTorch eager, the reference peer."""
    rnn = TORCH_CLASSES[kind](x.shape[-1], units, batch_first=True)
    head = torch.nn.Linear(units, y.shape[-1])
    optimizer = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()))
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
        with torch.no_grad():
            return forward(batch)

    return {"train": train_step, "infer B64": lambda: infer(xt), "infer B1": lambda: infer(x1)}


def measure(candidates, rounds, calls):
    """Milliseconds per call for every (candidate, mode), one sample per round, interleaved."""
    for functions in candidates.values():
        for function in functions.values():
            function()
    samples = {(name, mode): [] for name, functions in candidates.items() for mode in functions}
    for _ in range(rounds):
        for mode in MODES:
            for name, functions in candidates.items():
                # Let the other framework's worker threads stop spinning first.
                time.sleep(PAUSE_S)
                start = time.perf_counter()
                for _ in range(calls):
                    functions[mode]()
                samples[(name, mode)].append((time.perf_counter() - start) / calls * 1e3)
    return samples


def paired_ratio(samples, mode, name, reference):
    """Median over rounds of the ratio of two candidates measured side by side."""
    pairs = zip(samples[(name, mode)], samples[(reference, mode)], strict=True)
    return statistics.median(ours / theirs for ours, theirs in pairs)


def main() -> None:
    rounds, calls = (3, 1) if ARGS.quick else (ARGS.rounds, ARGS.calls)
    if ARGS.torch_threads:
        torch.set_num_threads(ARGS.torch_threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((ARGS.batch, ARGS.steps, ARGS.features), dtype=np.float32)
    y = rng.standard_normal((ARGS.batch, 1), dtype=np.float32)
    print(f"$ python {' '.join(sys.argv)}")
    print(
        f"Keras backend {keras.backend.backend()}; batch {ARGS.batch}, {ARGS.steps} steps, "
        f"{ARGS.features} features, {ARGS.units} units; Keras {keras.__version__}, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"{os.cpu_count()} CPUs; median of {rounds} rounds x {calls} calls\n"
    )
    extra = ARGS.plain_loop
    header = "| layer | mode | rnnkeras ms | Keras ms | PyTorch ms | ours/Keras | ours/PyTorch |"
    if extra:
        header += " plain loop ms | plain/PyTorch |"
    print(header)
    print("|---|---|---:|---:|---:|---:|---:|" + ("---:|---:|" if extra else ""))
    for kind in ARGS.kinds:
        candidates = {
            "ours": keras_candidate(getattr(rnnkeras.layers, kind), x, y, ARGS.units),
            "keras": keras_candidate(getattr(keras.layers, kind), x, y, ARGS.units),
            "torch": torch_candidate(kind, x, y, ARGS.units),
        }
        if extra:
            candidates["plain"] = keras_candidate(
                getattr(rnnkeras.layers, kind), x, y, ARGS.units, plain_loop=True
            )
        samples = measure(candidates, rounds, calls)
        for mode in MODES:
            medians = {name: statistics.median(samples[(name, mode)]) for name in candidates}
            row = (
                f"| {kind} | {mode} | {medians['ours']:.2f} | {medians['keras']:.2f} | "
                f"{medians['torch']:.2f} | {paired_ratio(samples, mode, 'ours', 'keras'):.2f} | "
                f"{paired_ratio(samples, mode, 'ours', 'torch'):.2f} |"
            )
            if extra:
                row += f" {medians['plain']:.2f} | {paired_ratio(samples, mode, 'plain', 'torch'):.2f} |"
            print(row, flush=True)


if __name__ == "__main__":
    main()
