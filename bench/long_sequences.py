"""Training and inference time against sequence length: MinGRU/MinLSTM (parallel scan) vs GRU/LSTM.

For B=16 sequences of D=32 features and H=128 units, each candidate is a
user's model, `Input((T, D)) -> layer(H) -> Dense(1)`, `compile("adam", "mse")`:
one training step is `train_on_batch` (forward, backward, Adam) and inference
is `predict_on_batch` on the whole sequence. The candidates are rnnkeras'
`MinGRU` and `MinLSTM` (parallel over time), rnnkeras' `GRU` and `LSTM` (a
step loop), and PyTorch's `nn.GRU`/`nn.LSTM` + `nn.Linear` with Adam (its
fused C++ loop; inference under `torch.no_grad()`).

Candidates run interleaved, round after round, in one process, so machine
load hits them alike; the table gives medians (ms), the per-round median ratio
`GRU / MinGRU` (above 1 = MinGRU faster) and the peak growth of the process's
resident memory during a call (RSS sampled every 2 ms; a rough measure, as
allocators keep freed memory). A candidate whose training step took longer
than `--budget-s` is not run at longer sequences.

Run: `python bench/long_sequences.py` (`--steps 128,512`, `--rounds 3`,
`--backend jax|torch`); it prints a Markdown table and saves
`bench/results/long_sequences.png` (time against T, log-log) and
`bench/results/long_sequences.md`.
"""

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

BATCH, FEATURES, UNITS = 16, 32, 128
RESULTS = Path(__file__).parent / "results"


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("tensorflow", "jax", "torch"), default="tensorflow")
    parser.add_argument("--steps", default="128,512,1024,4096,16384")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--budget-s", type=float, default=20.0)
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument("--output", default=str(RESULTS / "long_sequences"))
    return parser.parse_args()


ARGS = parse_arguments()
os.environ["KERAS_BACKEND"] = ARGS.backend
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from rnnkeras import figures  # noqa: E402
from rnnkeras import layers as rl  # noqa: E402

KERAS_LAYERS = {"MinGRU": rl.MinGRU, "MinLSTM": rl.MinLSTM, "GRU": rl.GRU, "LSTM": rl.LSTM}
TORCH_LAYERS = {"torch GRU": torch.nn.GRU, "torch LSTM": torch.nn.LSTM}


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed(call) -> tuple[float, float]:
    """Seconds of one `call()` and the peak RSS growth during it (MB)."""
    start_rss, peak, done = rss_bytes(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    call()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    return seconds, max(0, peak[0] - start_rss) / 2**20


def keras_candidate(name, steps, x, y):
    model = keras.Sequential(
        [keras.Input((steps, FEATURES)), KERAS_LAYERS[name](UNITS), keras.layers.Dense(1)]
    )
    model.compile("adam", "mse")
    return {
        "train": lambda: model.train_on_batch(x, y),
        "infer": lambda: model.predict_on_batch(x),
    }


def torch_candidate(name, x, y):
    recurrent = TORCH_LAYERS[name](FEATURES, UNITS, batch_first=True)
    head = torch.nn.Linear(UNITS, 1)
    optimizer = torch.optim.Adam([*recurrent.parameters(), *head.parameters()])
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def forward():
        outputs, _ = recurrent(tx)
        return head(outputs[:, -1])

    def train():
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(forward(), ty)
        loss.backward()
        optimizer.step()

    def infer():
        with torch.no_grad():
            forward()

    return {"train": train, "infer": infer}


def measure(steps: int, names: list[str]) -> dict:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, steps, FEATURES)).astype("float32")
    y = rng.normal(size=(BATCH, 1)).astype("float32")
    candidates = {
        name: torch_candidate(name, x, y)
        if name in TORCH_LAYERS
        else keras_candidate(name, steps, x, y)
        for name in names
    }
    for calls in candidates.values():  # compile and warm up
        for call in calls.values():
            call()
    samples = {(name, mode): [] for name in names for mode in ("train", "infer")}
    for _ in range(ARGS.rounds):
        for name, calls in candidates.items():
            for mode, call in calls.items():
                samples[name, mode].append(timed(call))
    return samples


def main() -> None:
    torch.set_num_threads(ARGS.torch_threads)
    names = [*KERAS_LAYERS, *TORCH_LAYERS]
    rows, curves = [], {}
    load = os.getloadavg()
    for steps in [int(s) for s in ARGS.steps.split(",")]:
        if not names:
            break
        samples = measure(steps, names)
        for name in list(names):
            train = statistics.median(s for s, _ in samples[name, "train"])
            infer = statistics.median(s for s, _ in samples[name, "infer"])
            peak = max(mb for mode in ("train", "infer") for _, mb in samples[name, mode])
            ratio = ""
            base = {"MinGRU": "GRU", "MinLSTM": "LSTM"}.get(name)
            if base is not None and (base, "train") in samples:
                per_round = [
                    b / a
                    for (a, _), (b, _) in zip(
                        samples[name, "train"], samples[base, "train"], strict=True
                    )
                ]
                ratio = f"{statistics.median(per_round):.1f}x"
            rows.append((steps, name, train * 1e3, infer * 1e3, ratio, peak))
            curves.setdefault(name, []).append((steps, train, infer))
            print(
                f"T={steps} {name}: train {train * 1e3:.1f} ms, infer {infer * 1e3:.1f} ms {ratio}",
                flush=True,
            )
            if train > ARGS.budget_s:
                names.remove(name)
    table = [
        f"Backend {ARGS.backend}, B={BATCH}, D={FEATURES}, H={UNITS}, {ARGS.rounds} rounds, "
        f"load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on "
        f"{os.cpu_count()} cores.",
        "",
        "| T | model | train step (ms) | inference (ms) | training speed-up over GRU/LSTM | peak RSS growth (MB) |",
        "|---:|---|---:|---:|---:|---:|",
        *(
            f"| {steps} | {name} | {train:.1f} | {infer:.1f} | {ratio} | {peak:.0f} |"
            for steps, name, train, infer, ratio, peak in rows
        ),
    ]
    text = "\n".join(table)
    print(text)
    output = Path(ARGS.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".md").write_text(text + "\n")
    plt = figures.pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, points in curves.items():
        steps, train, infer = zip(*points, strict=True)
        axes[0].plot(steps, train, marker="o", label=name)
        axes[1].plot(steps, infer, marker="o", label=name)
    for axis, title in zip(axes, ("training step", "inference"), strict=True):
        axis.set(xscale="log", yscale="log", xlabel="time steps T", ylabel="seconds", title=title)
        axis.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    figures.save_png(figure, output.with_suffix(".png"))


if __name__ == "__main__":
    main()
