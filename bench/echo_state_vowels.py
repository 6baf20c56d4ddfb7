"""Japanese Vowels with an ensemble of small leaky-integrator echo state networks.

Jaeger, Lukoševičius, Popovici & Siewert (2007), "Optimization and applications
of echo state networks with leaky-integrator neurons" (Neural Networks 20(3))
report a zero test error rate on this data set (370 test utterances, 9 speakers)
with leaky-integrator ESNs whose only trained part is a linear readout, combining
an ensemble of small networks. Reservoir size, leak, ensemble size and readout
features below are this script's choices, all given as arguments.

This script builds that kind of classifier from `rnnkeras.layers.ESN`:

1. each ensemble member is an `ESN(units, leaky, spectral_radius)` with its own
   seed, run over the utterances (the padded frames masked, so they keep the state);
2. its features for an utterance are the extended states (the input frame next
   to the reservoir state, the classic ESN readout input) at `--points` equally
   spaced frames of that utterance (first to last), concatenated, plus a
   constant 1, so the readout sees how the state moves through the utterance;
3. its readout is linear, fitted in closed form by ridge regression to one-hot
   speaker targets on the 270 training utterances (only the readout learns);
4. the ensemble averages the members' readout outputs and picks the largest.

It prints the test errors (of 370) and accuracy of the ensemble and of a single
member, beside the paper's figure, as a Markdown table.

    python bench/echo_state_vowels.py                  # 100 members (~30 s on 2 quiet cores)
    python bench/echo_state_vowels.py --members 1000   # a larger ensemble (~10x longer)
"""

import argparse
import sys
import time
from pathlib import Path

import keras
import numpy as np

import rnnkeras
from rnnkeras.layers import ESN

PAPER_TEST_ERRORS = 0
TEST_UTTERANCES = 370
SPEAKERS = 9
# The pipeline's bundled copy of the UCI data (rnnkeras/pipeline/data/bundled/).
DATA_FOLDERS = ("pipeline/data/bundled", "data/bundled")


def data_path() -> Path:
    """The bundled `japanese_vowels.csv` inside the installed `rnnkeras` package."""
    package = Path(rnnkeras.__file__).parent
    for folder in DATA_FOLDERS:
        path = package / folder / "japanese_vowels.csv"
        if path.is_file():
            return path
    raise FileNotFoundError(f"japanese_vowels.csv not found under {package} in {DATA_FOLDERS}")


def load_vowels(path: Path) -> dict:
    """Padded utterances per split: `x (n, 29, 12)`, `lengths (n,)`, `labels (n,)` in 0..8."""
    table = np.genfromtxt(path, delimiter=",", names=True, dtype=None, encoding="utf-8")
    features = [name for name in table.dtype.names if name.startswith("lpc_")]
    ids = table["sequence_id"]
    longest = int(table["time_step"].max()) + 1
    splits = {}
    for split in ("train", "test"):
        rows = table[table["split"] == split]
        sequences = np.unique(rows["sequence_id"])
        x = np.zeros((len(sequences), longest, len(features)), "float32")
        lengths = np.zeros(len(sequences), "int64")
        labels = np.zeros(len(sequences), "int64")
        for index, sequence in enumerate(sequences):
            frames = rows[rows["sequence_id"] == sequence]
            frames = frames[np.argsort(frames["time_step"])]
            x[index, : len(frames)] = np.stack([frames[name] for name in features], axis=-1)
            lengths[index] = len(frames)
            labels[index] = int(frames["label"][0]) - 1
        splits[split] = {"x": x, "lengths": lengths, "labels": labels}
    assert len(np.unique(ids)) == sum(len(s["labels"]) for s in splits.values())
    return splits


def sample_frames(sequences: np.ndarray, lengths: np.ndarray, points: int) -> np.ndarray:
    """`sequences (n, time, d)` at `points` equally spaced frames of each utterance, `(n, points * d)`."""
    frames = np.round(np.linspace(0.0, 1.0, points)[None, :] * (lengths[:, None] - 1))
    sampled = np.take_along_axis(sequences, frames.astype("int64")[:, :, None], axis=1)
    return sampled.reshape(len(sequences), -1)


def input_features(x: np.ndarray, lengths: np.ndarray, points: int) -> np.ndarray:
    """The input frames alone at `points` frames, plus a 1 (the no-reservoir baseline)."""
    return np.concatenate([sample_frames(x, lengths, points), np.ones((len(x), 1))], axis=1)


def member_features(esn: ESN, x: np.ndarray, lengths: np.ndarray, points: int) -> np.ndarray:
    """Extended states `[input, reservoir state]` at `points` equally spaced frames, plus a 1."""
    mask = np.arange(x.shape[1])[None, :] < lengths[:, None]
    states = np.concatenate([x, keras.ops.convert_to_numpy(esn(x, mask=mask))], axis=-1)
    return np.concatenate([sample_frames(states, lengths, points), np.ones((len(x), 1))], axis=1)


def ridge_readout(features: np.ndarray, labels: np.ndarray, ridge: float) -> np.ndarray:
    """Linear readout weights `(features, speakers)` minimising squared error + ridge * |W|^2."""
    targets = np.eye(SPEAKERS)[labels]
    gram = features.T @ features + ridge * np.eye(features.shape[1])
    return np.linalg.solve(gram, features.T @ targets)


def run(args: argparse.Namespace) -> dict:
    data = load_vowels(data_path())
    train, test = data["train"], data["test"]
    both = np.concatenate([train["x"], test["x"]])
    lengths = np.concatenate([train["lengths"], test["lengths"]])
    split = len(train["labels"])
    # The same readout on the input frames alone: what the reservoirs add.
    frames = input_features(both, lengths, args.points)
    inputs_only = frames[split:] @ ridge_readout(frames[:split], train["labels"], args.ridge)
    ensemble = np.zeros((len(test["labels"]), SPEAKERS))
    member_errors = []
    start = time.perf_counter()
    for member in range(args.members):
        esn = ESN(
            args.units,
            connectivity=args.connectivity,
            leaky=args.leaky,
            spectral_radius=args.spectral_radius,
            kernel_initializer=keras.initializers.RandomUniform(
                -args.input_scale, args.input_scale
            ),
            bias_initializer=keras.initializers.RandomUniform(-args.input_scale, args.input_scale),
            return_sequences=True,
            seed=args.seed + 1000 * member,
        )
        features = member_features(esn, both, lengths, args.points)
        readout = ridge_readout(features[:split], train["labels"], args.ridge)
        outputs = features[split:] @ readout
        member_errors.append(int(np.sum(outputs.argmax(axis=1) != test["labels"])))
        ensemble += outputs
    seconds = time.perf_counter() - start
    return {
        "ensemble_errors": int(np.sum(ensemble.argmax(axis=1) != test["labels"])),
        "member_errors": member_errors,
        "inputs_only_errors": int(np.sum(inputs_only.argmax(axis=1) != test["labels"])),
        "seconds": seconds,
    }


def table(result: dict, args: argparse.Namespace) -> str:
    members = np.asarray(result["member_errors"])
    rows = [
        "| classifier | test errors (of 370) | test accuracy |",
        "|---|---:|---:|",
        f"| Jaeger et al. (2007), ensemble of leaky-integrator ESNs | {PAPER_TEST_ERRORS} | "
        f"{1 - PAPER_TEST_ERRORS / TEST_UTTERANCES:.3f} |",
        f"| rnnkeras `ESN`, ensemble of {args.members} × {args.units} units | "
        f"{result['ensemble_errors']} | {1 - result['ensemble_errors'] / TEST_UTTERANCES:.3f} |",
        f"| rnnkeras `ESN`, one member (mean over {len(members)}) | {members.mean():.1f} | "
        f"{1 - members.mean() / TEST_UTTERANCES:.3f} |",
        f"| same readout on the input frames alone (no reservoir) | "
        f"{result['inputs_only_errors']} | "
        f"{1 - result['inputs_only_errors'] / TEST_UTTERANCES:.3f} |",
    ]
    return "\n".join(rows)


def main(argv: list | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--units", type=int, default=4)
    parser.add_argument("--leaky", type=float, default=0.2)
    parser.add_argument("--spectral-radius", type=float, default=0.9)
    parser.add_argument("--connectivity", type=float, default=1.0)
    parser.add_argument("--input-scale", type=float, default=1.0)
    parser.add_argument("--points", type=int, default=5)
    parser.add_argument("--ridge", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = run(args)
    command = "python bench/echo_state_vowels.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    print(f"Command: `{command.strip()}` ({result['seconds']:.0f} s)\n")
    print(table(result, args))


if __name__ == "__main__":
    main()
