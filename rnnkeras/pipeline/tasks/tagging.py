"""Task `tagging`: the token type of every character of real Python source, against the majority tag.

The data (`rnnkeras.pipeline.data.code_tags`) is eleven CPython standard-library modules, each
character labelled by Python's `tokenize`; sequences are logical lines of at most 120
characters, split by module. The model (`rnnkeras.models.sequence_tagger`) embeds the
characters (`rnnkeras.pipeline.data.ascii_characters`) and predicts a tag at every step; the
padding is masked through to the loss and metrics, and scored steps are the real ones only.
The served model takes lines of Python and answers one tag letter per character
(`rnnkeras.pipeline.tasks.character_serving`).
"""

import functools

import numpy as np

from rnnkeras.pipeline.tasks.base import Task

# A few sequences calibrate the int8 TFLite file well enough; all of them made the (unrolled)
# conversion take minutes.
CALIBRATION_SEQUENCES = 64

EMBEDDING_DIM = 16
NUMBER_COLUMNS = ("sequence_id", "time_step", "char_code", "line", "column")


def typed(table):
    """The prepared table (read back as text) with its number columns as integers."""
    return table.astype({c: "int64" for c in NUMBER_COLUMNS if c in table})


def character_model_core(train: dict) -> dict:
    """The `rnnkeras.models` stack arguments of the `train` section (`train.cell` as a class)."""
    from rnnkeras.pipeline import builders

    core = builders.core_params(train)
    core["rnn"] = builders.CELLS[core.pop("cell", "lstm")]
    return core


class Tagging(Task):
    """Many-to-many synchronized: a tag per character of a line of Python.

    Example:

    >>> from rnnkeras.pipeline.data.code_tags import tagging_table
    >>> arrays, meta = Tagging().table_to_arrays(tagging_table(), None, {})
    >>> arrays["test"]["x"].shape, meta["tags"][1]
    ((484, 120), 'name')
    """

    name = "tagging"
    loss = "sparse_categorical_crossentropy"
    metrics = ("accuracy",)
    parity = "classification"
    calibration_sequences = CALIBRATION_SEQUENCES
    right_padded = True

    def prepare_table(self, spec, prepare):
        """Every character of the kept logical lines (`code_tags.tagging_table`)."""
        from rnnkeras.pipeline.data.code_tags import tagging_table

        return tagging_table(spec.path)

    def validate_table(self, table, spec, max_examples=5):
        """The character-table suites with the tag set (failures name file:line:column)."""
        from rnnkeras.pipeline.data.code_tags import MAX_LENGTH, TAGS
        from rnnkeras.pipeline.validation.character_suite import validate_characters

        return validate_characters(
            table,
            "tagging",
            (1, MAX_LENGTH),
            tags=TAGS,
            max_examples=max_examples,
            min_rows=spec.min_rows,
        )

    def table_to_arrays(self, table, spec, prepare):
        """Character ids `x` and tag indices `y`, `(n, 120)`, zero-padded (`code_tags.tagging_arrays`)."""
        from rnnkeras.pipeline.data.code_tags import tagging_arrays

        arrays, meta = tagging_arrays(typed(table))
        return arrays, {k: v for k, v in meta.items() if k not in ("task", "dataset", "counts")}

    def build_model(self, meta, train):
        """`rnnkeras.models.sequence_tagger` over character ids, open time axis."""
        from rnnkeras.models import sequence_tagger

        return sequence_tagger(
            len(meta["tags"]),
            vocabulary_size=meta["vocabulary_size"],
            embedding_dim=EMBEDDING_DIM,
            **character_model_core(train),
        )

    def score(self, meta, test, predicted, train):
        """Per-step accuracy and macro F1 on real steps against the training split's majority
        tag; predictions table `sequence_id,text,actual,predicted` (one tag letter per
        character); confusion-matrix plot."""
        from rnnkeras.pipeline import evaluation
        from rnnkeras.pipeline.data.ascii_characters import decode_ids
        from rnnkeras.pipeline.tasks.character_serving import TAG_LETTERS
        from rnnkeras.pipeline.tasks.step_metrics import tagging_metrics

        tags = meta["tags"]
        metrics = tagging_metrics(
            test["y"], predicted, test["x"] != 0, train["y"], train["x"] != 0, tags
        )
        letters = np.array([TAG_LETTERS[tag] for tag in tags])
        best = np.argmax(predicted, axis=-1)
        rows = (
            (sequence, decode_ids(x[:n]), "".join(letters[y[:n]]), "".join(letters[b[:n]]))
            for sequence, x, y, b, n in zip(
                test["sequence_id"], test["x"], test["y"], best, test["lengths"], strict=True
            )
        )
        return evaluation.Evaluation(
            metrics=metrics,
            predictions_csv=evaluation.csv_text(
                ("sequence_id", "text", "actual", "predicted"), rows
            ),
            headline="accuracy",
            greater_is_better=True,
            plot_name="confusion_matrix.png",
            plot=functools.partial(evaluation.write_confusion_plot, metrics["confusion"], tags),
        )

    def register(self, model, meta, test, evaluation, registered_name, alias):
        """Serves lines of Python in, tag letters out (`character_serving.tagging_text_module`)."""
        import tempfile
        from pathlib import Path

        from rnnkeras.pipeline.data.ascii_characters import decode_ids
        from rnnkeras.pipeline.tasks.character_serving import save_text_module, tagging_text_module
        from rnnkeras.pipeline.tracking.text_model_logging import log_and_register_text_model

        with tempfile.TemporaryDirectory() as folder:
            save_text_module(tagging_text_module(model, meta["tags"]), Path(folder) / "saved")
            return log_and_register_text_model(
                Path(folder) / "saved",
                max_characters=int(meta["max_length"]),
                input_example=[decode_ids(x) for x in test["x"][:3]],
                registered_name=registered_name,
                metric_name=f"test.{evaluation.headline}",
                metric_value=evaluation.metrics[evaluation.headline],
                greater_is_better=evaluation.greater_is_better,
                alias=alias,
            )

    def export_sequence_length(self, meta):
        """The ids-in model's TFLite files take `max_length` steps per sequence."""
        return int(meta["max_length"])


TASK = Tagging()
