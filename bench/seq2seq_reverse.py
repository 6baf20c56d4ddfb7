"""The reverse task: `rnnkeras.models.seq2seq` with and without attention (issue 14).

A source of `length` random symbols must come out reversed, then an end token.
Each model is trained with teacher forcing for a fixed number of epochs, then
decoded greedily (`rnnkeras.models.decoding.greedy_decode`) on fresh sources;
a sequence counts only if every token and the end token are right. The table
it prints (Markdown) is the one docs/architectures.md quotes.

Run: `python bench/seq2seq_reverse.py --lengths 5 10 --epochs 20`
(`KERAS_BACKEND=jax` or `torch` for another backend).
"""

import argparse
import time

import numpy as np

PAD, START, END, FIRST_SYMBOL = 0, 1, 2, 3


def reverse_task(rng, samples: int, length: int, symbols: int):
    """Sources, teacher-forcing inputs and targets of the reverse task."""
    source = rng.integers(FIRST_SYMBOL, FIRST_SYMBOL + symbols, size=(samples, length))
    target = np.concatenate([source[:, ::-1], np.full((samples, 1), END)], axis=1)
    previous = np.concatenate([np.full((samples, 1), START), target[:, :-1]], axis=1)
    return source.astype("int32"), previous.astype("int32"), target.astype("int32")


def exact_match(model, source, target) -> float:
    """Share of sources whose greedy decode equals the target, end token included."""
    from rnnkeras.models.decoding import greedy_decode, keras_step
    from rnnkeras.models.inference import seq2seq_inference

    encoder, step = seq2seq_inference(model)
    outputs = encoder(source)
    states = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    if "attention" in {layer.name for layer in model.layers}:
        states.append(source)
    start = np.full(len(source), START, "int32")
    decoded = greedy_decode(keras_step(step), start, states, target.shape[1], end_token=END)
    return float((decoded.tokens == target).all(axis=1).mean())


def run(args) -> list[dict]:
    import keras

    from rnnkeras.models import seq2seq

    rows = []
    for length in args.lengths:
        for attention in ("luong", "bahdanau", None):
            keras.utils.set_random_seed(args.seed)
            rng = np.random.default_rng(args.seed)
            train = reverse_task(rng, args.samples, length, args.symbols)
            test = reverse_task(rng, args.test_samples, length, args.symbols)
            vocabulary = FIRST_SYMBOL + args.symbols
            model = seq2seq(
                vocabulary,
                vocabulary,
                attention=attention,
                rnn=args.rnn,
                units=args.units,
                embedding_dim=args.units,
            )
            model.compile(
                keras.optimizers.Adam(args.learning_rate), "sparse_categorical_crossentropy"
            )
            began = time.perf_counter()
            model.fit(
                [train[0], train[1]],
                train[2],
                batch_size=args.batch_size,
                epochs=args.epochs,
                verbose=0,
            )
            seconds = time.perf_counter() - began
            accuracy = exact_match(model, test[0], test[2])
            rows.append(
                {
                    "length": length,
                    "attention": attention or "none",
                    "exact": accuracy,
                    "seconds": seconds,
                }
            )
            print(
                f"length {length} attention {attention}: {accuracy:.3f} ({seconds:.0f} s)",
                flush=True,
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--symbols", type=int, default=8)
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--test-samples", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--rnn", default="lstm")
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = run(args)
    print("\n| source length | attention | exact-match accuracy | training seconds |")
    print("|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['length']} | {row['attention']} | {row['exact']:.3f} | {row['seconds']:.0f} |"
        )


if __name__ == "__main__":
    main()
