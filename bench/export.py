"""Batch-1 latency and size of each TFLite form, beside Keras and PyTorch eager.

For SimpleRNN, LSTM and GRU (rnnkeras layers, 100 steps, 32 features, 128
units, a Dense head) it exports every form a layer can take — the fused
``UNIDIRECTIONAL_SEQUENCE_LSTM`` (LSTM only), the builtin ``WHILE`` loop, the
unrolled loop, and the full-int8 file — and times one batch-1 call of each in
``ai_edge_litert`` (one thread), beside the Keras model (eager and inside a
``tf.function``) and a PyTorch eager twin with the same weights (one thread).
A second table does the same for a masked LSTM classifier at the pipeline's
shape (29 steps, 12 features, 64 units, right-padded sequences), where the
fused op needs the length handling of ``rnnkeras.export.tflite_lstm_op``.

Candidates are timed round after round, interleaved, so machine load affects
them alike; each figure is the median over rounds of the per-round median.
Every TFLite file is checked against Keras before it is timed.

Run: ``python bench/export.py`` (``--rounds``, ``--runs``; ``--out FILE`` also
writes the tables as Markdown).
"""

import argparse
import os
import statistics
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402
from torch_twin import build_twin  # noqa: E402

from rnnkeras import layers as rl  # noqa: E402
from rnnkeras.export import TFLiteModel, export_tflite  # noqa: E402
from rnnkeras.export.latency import median_ms  # noqa: E402

CELLS = {"SimpleRNN": rl.SimpleRNN, "LSTM": rl.LSTM, "GRU": rl.GRU}


def plain_model(cell: str, steps: int, features: int, units: int) -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((steps, features))
    return keras.Model(inputs, keras.layers.Dense(10)(CELLS[cell](units)(inputs)))


def masked_classifier(steps: int, features: int, units: int) -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((steps, features))
    hidden = rl.LSTM(units)(keras.layers.Masking(0.0)(inputs))
    return keras.Model(inputs, keras.layers.Dense(9, activation="softmax")(hidden))


def tflite_candidates(model, folder: Path, name: str, x: np.ndarray, variants: dict) -> tuple:
    """Exports each variant, checks it against Keras, returns (timers, facts)."""
    timers, facts = {}, {}
    reference = model.predict(x, verbose=0)
    for label, options in variants.items():
        export = export_tflite(model, folder / f"{name}-{label}.tflite", **options)
        runner = TFLiteModel(export.path)
        difference = float(np.abs(runner.predict(x)[0] - reference).max())
        forms = sorted({form.form for form in export.forms.values()})
        facts[label] = {
            "size": export.size_bytes,
            "ops": sum(export.operators.values()),
            "forms": "+".join(forms),
            "max_abs_diff": difference,
        }
        runner.latency_ms(x, runs=5, warmup=5)
        timers[f"TFLite {label}"] = lambda runner=runner: runner.latency_ms(x, runs=RUNS, warmup=2)
    return timers, facts


def reference_candidates(model, x: np.ndarray) -> dict:
    sample = tf.constant(x[:1])
    graph = tf.function(lambda batch: model(batch, training=False))
    twin = build_twin(model)
    sample_torch = torch.from_numpy(x[:1])

    def torch_eager():
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.no_grad():
                return median_ms(lambda: twin(sample_torch), RUNS, warmup=2)
        finally:
            torch.set_num_threads(threads)

    return {
        "Keras eager": lambda: median_ms(
            lambda: model(sample, training=False), max(3, RUNS // 20), 1
        ),
        "Keras tf.function": lambda: median_ms(lambda: graph(sample), RUNS, warmup=2),
        "PyTorch eager": torch_eager,
    }


def interleaved(timers: dict, rounds: int) -> dict:
    samples = {name: [] for name in timers}
    for _ in range(rounds):
        for name, timer in timers.items():
            samples[name].append(timer())
    return {name: statistics.median(values) for name, values in samples.items()}


def table(title: str, medians: dict, facts: dict) -> str:
    lines = [
        f"### {title}",
        "",
        "| candidate | batch-1 latency (ms) | file size (KB) | ops | recurrent form | max abs diff vs Keras |",
        "|---|---|---|---|---|---|",
    ]
    for name, value in medians.items():
        fact = facts.get(name.removeprefix("TFLite "))
        if fact:
            lines.append(
                f"| {name} | {value:.3f} | {fact['size'] / 1024:.1f} | {fact['ops']} | "
                f"{fact['forms']} | {fact['max_abs_diff']:.1e} |"
            )
        else:
            lines.append(f"| {name} | {value:.3f} | | | | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    global RUNS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=100, help="calls per round and candidate")
    parser.add_argument("--out", default=None, help="also write the tables to this Markdown file")
    args = parser.parse_args()
    RUNS = args.runs
    rng = np.random.default_rng(0)
    folder = Path(tempfile.mkdtemp(prefix="bench-export-"))
    sections = [
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, PyTorch {torch.__version__}; "
        f"{args.rounds} rounds x {args.runs} calls; TFLite and PyTorch on one thread.\n"
    ]
    x = rng.normal(size=(8, 100, 32)).astype("float32")
    for cell in CELLS:
        model = plain_model(cell, 100, 32, 128)
        int8 = {"quantize": "int8", "representative_data": x}
        variants = {"while": {"form": "while"}, "unrolled": {"form": "unrolled"}, "int8": int8}
        if cell == "LSTM":
            variants = {"fused": {"form": "fused"}, **variants}
        timers, facts = tflite_candidates(model, folder, cell, x, variants)
        medians = interleaved({**timers, **reference_candidates(model, x)}, args.rounds)
        sections.append(table(f"{cell}: 100 steps, 32 features, 128 units", medians, facts))
        print(sections[-1], flush=True)

    padded = rng.normal(size=(16, 29, 12)).astype("float32")
    for row, length in enumerate(rng.integers(7, 30, size=len(padded))):
        padded[row, length:] = 0.0
    model = masked_classifier(29, 12, 64)
    variants = {
        "fused (right_padded)": {"right_padded": True},
        "while": {"form": "while"},
        "int8 fused (right_padded)": {
            "right_padded": True,
            "quantize": "int8",
            "representative_data": padded,
        },
    }
    timers, facts = tflite_candidates(model, folder, "masked", padded, variants)
    medians = interleaved({**timers, **reference_candidates(model, padded)}, args.rounds)
    title = "Masked LSTM classifier: 29 steps, 12 features, 64 units, right-padded"
    sections.append(table(title, medians, facts))
    print(sections[-1], flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(sections))


RUNS = 100

if __name__ == "__main__":
    main()
