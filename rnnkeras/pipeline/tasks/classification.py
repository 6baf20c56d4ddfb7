"""Task `classification`: one class per variable-length sequence, against the majority class.

Sequences are zero-padded at the end to the spec's longest allowed length; the model masks
the padding. Without declared labels the classes are those of the train split.
"""

import functools

import numpy as np

import rnnkeras.pipeline.data.spec as spec_lib
from rnnkeras.pipeline.data.arrays import (
    natural_key,
    pad_sequences,
    parsed_sequences,
    safe_variance,
)
from rnnkeras.pipeline.tasks.base import Task


class Classification(Task):
    """Many-to-one sequence classification (e.g. the speaker of an utterance).

    Example:

    >>> from rnnkeras.pipeline.data import bundled_spec, prepare_table
    >>> spec = bundled_spec("japanese_vowels")
    >>> prepare = {"val_fraction": 0.2}
    >>> arrays, meta = Classification().table_to_arrays(prepare_table(spec, prepare), spec, prepare)
    >>> arrays["test"]["x"].shape, meta["classes"][:3]
    ((370, 29, 12), ['1', '2', '3'])
    """

    name = "classification"
    loss = "sparse_categorical_crossentropy"
    metrics = ("accuracy",)
    parity = "classification"
    # rnnkeras.pipeline.data pads at the end, which lets masked LSTMs use the fused TFLite op.
    right_padded = True

    def table_to_arrays(self, table, spec, prepare):
        """Padded sequences and class indices.

        Each split's arrays: `x` `(n, max_length, features)` zero-padded at the end (masked
        by the model unless every sequence has `max_length` steps: `meta["masked"]`), `y`
        `(n,)` class indices into `meta["classes"]`, `lengths` `(n,)` and `sequence_id` `(n,)`.
        """
        groups = parsed_sequences(table, spec)
        # Without declared labels the classes are those of the train split (validation refuses
        # a label seen only in val or test, which the model could never have learned).
        labels = {
            str(group[spec_lib.LABEL].iloc[0])
            for group in groups
            if group[spec_lib.SPLIT].iloc[0] == "train"
        }
        classes = list(spec.labels) if spec.labels else sorted(labels, key=natural_key)
        index = {label: i for i, label in enumerate(classes)}
        longest = max(len(group) for group in groups)
        length = int(spec.sequence_length[1]) if spec.sequence_length else longest
        arrays = {}
        for split in spec_lib.SPLITS:
            chosen = [g for g in groups if g[spec_lib.SPLIT].iloc[0] == split]
            x, lengths = pad_sequences(
                [g[list(spec.feature_columns)].to_numpy(np.float32) for g in chosen],
                length,
                value=0.0,
            )
            arrays[split] = {
                "x": x,
                "y": np.array([index[str(g[spec_lib.LABEL].iloc[0])] for g in chosen], np.int32),
                "lengths": lengths,
                "sequence_id": np.array([str(g[spec_lib.SEQUENCE].iloc[0]) for g in chosen]),
            }
        train = arrays["train"]
        frames = np.concatenate([x[:n] for x, n in zip(train["x"], train["lengths"], strict=True)])
        meta = {
            "features": list(spec.feature_columns),
            "classes": classes,
            "max_length": length,
            # Sequences of one fixed length have no padding: an all-zero frame is data.
            "masked": bool(spec.sequence_length is None or spec.sequence_length[0] < length),
            "input_mean": [float(v) for v in frames.mean(axis=0)],
            "input_variance": safe_variance(frames),
        }
        return arrays, meta

    def build_model(self, meta, train):
        """`rnnkeras.pipeline.builders.build_classifier` for these sequences."""
        from rnnkeras.pipeline import builders

        return builders.build_classifier(
            max_length=meta["max_length"],
            features=len(meta["features"]),
            classes=len(meta["classes"]),
            input_mean=meta["input_mean"],
            input_variance=meta["input_variance"],
            masked=meta.get("masked", True),
            **builders.core_params(train),
        )

    def score(self, meta, test, predicted, train):
        """Accuracy and macro F1 against the training split's majority class; predictions
        table `sequence_id,actual,predicted,probability`; confusion-matrix plot."""
        from rnnkeras.pipeline import evaluation

        classes = meta["classes"]
        metrics = evaluation.classification_metrics(test["y"], predicted, train["y"], classes)
        best = np.argmax(predicted, axis=-1)
        rows = (
            (sequence, classes[actual], classes[choice], f"{float(row[choice]):.4f}")
            for sequence, actual, choice, row in zip(
                test["sequence_id"], test["y"], best, predicted, strict=True
            )
        )
        return evaluation.Evaluation(
            metrics=metrics,
            predictions_csv=evaluation.csv_text(
                ("sequence_id", "actual", "predicted", "probability"), rows
            ),
            headline="accuracy",
            greater_is_better=True,
            plot_name="confusion_matrix.png",
            plot=functools.partial(evaluation.write_confusion_plot, metrics["confusion"], classes),
        )


TASK = Classification()
