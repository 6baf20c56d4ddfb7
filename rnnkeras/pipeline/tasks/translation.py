"""Task `translation`: written dates in eight locales to ISO form, seq2seq with attention.

The data are `rnnkeras.pipeline.data.locale_dates` (CLDR via Babel, generated at `prepare`):
`"jeudi 14 septembre 1987"` → `"1987-09-14"`, character by character. The model is
`rnnkeras.models.seq2seq` (Luong or Bahdanau attention, `prepare.translation.attention`) with
the `train.cell` layers; `evaluate` decodes the test sources greedily and with beam search
(`rnnkeras.models.decoding`, `prepare.translation.beam_width`) and scores exact match and the
character error rate against a nearest-neighbour lookup of the training set; `register` serves
text (a SavedModel with the character tables inside); `export` writes the encoder as a SavedModel
and the one-step decoder as TFLite, with a whole-decode parity check
(`rnnkeras.pipeline.tasks.translation_files`).

Arrays per split: `x` `(n, SOURCE_LENGTH + TARGET_LENGTH)` int32, the source ids (padded with
0) followed by the decoder's teacher-forced input (the start id, then the target but its
last id); `y` `(n, TARGET_LENGTH)` the target ids then the end id; `source`, `target`, `locale`
the text. One input array lets the pipeline's trainer and gradient-flow probe take the model as
they take any other; the model splits it (`build_model`).
"""

import functools

import numpy as np

from rnnkeras.pipeline.tasks.base import Task

TARGET_LENGTH = 11  # "YYYY-MM-DD" and the end token
EMBEDDING_DIM = 16
DEFAULTS = {"pairs": 6000, "attention": "luong", "beam_width": 4}


def settings(prepare: dict) -> dict:
    """`prepare.translation` with its defaults (`DEFAULTS`).

    Example:

    >>> settings({"translation": {"pairs": 100}})["beam_width"]
    4
    """
    return {**DEFAULTS, **(prepare.get("translation") or {})}


def split_inputs(packed, source_length: int):
    """The source ids and the decoder input from a packed `x` (arrays or Keras tensors).

    Example:

    >>> source, previous = split_inputs(np.arange(6)[None], 4)
    >>> source.tolist(), previous.tolist()
    ([[0, 1, 2, 3]], [[4, 5]])
    """
    return packed[:, :source_length], packed[:, source_length:]


class Translation(Task):
    """Seq2seq translation of written dates to ISO form, with attention and beam search.

    Example:

    >>> from rnnkeras.pipeline.data.datasets import spec_from_params
    >>> prepare = {"dataset": "translation", "translation": {"pairs": 60}, "seed": 0,
    ...            "val_fraction": 0.2, "test_fraction": 0.2}
    >>> spec = spec_from_params(prepare)
    >>> table = TASK.prepare_table(spec, prepare)
    >>> arrays, meta = TASK.table_to_arrays(table, spec, prepare)
    >>> arrays["train"]["x"].shape, arrays["train"]["y"].shape
    ((36, 59), (36, 11))
    >>> meta["target_vocabulary"]["characters"], len(meta["source_vocabulary"]["characters"])
    ('-0123456789', 56)
    """

    name = "translation"
    loss = "sparse_categorical_crossentropy"
    metrics = ("accuracy",)
    parity = "classification"

    def prepare_table(self, spec, prepare):
        """`prepare.translation.pairs` date pairs (`date_pairs`), split by date, with the line
        each row will have in the prepared CSV (`source_row`)."""
        from rnnkeras.pipeline.data.locale_dates import date_pairs
        from rnnkeras.pipeline.data.spec import SOURCE_ROW

        table = date_pairs(
            int(settings(prepare)["pairs"]),
            seed=int(prepare.get("seed", 0)),
            val_fraction=float(prepare.get("val_fraction", 0.2)),
            test_fraction=float(prepare.get("test_fraction", 0.15)),
        )
        table.insert(0, SOURCE_ROW, np.arange(2, len(table) + 2))
        return table

    def validate_table(self, table, spec, max_examples=5):
        """The translation suites (`rnnkeras.pipeline.validation.translation_suite`)."""
        from rnnkeras.pipeline.validation.translation_suite import validate_pairs

        return validate_pairs(table, spec.path, max_examples=max_examples)

    def table_to_arrays(self, table, spec, prepare):
        """Character ids of each split (module docstring) and the two vocabularies in `meta`."""
        from rnnkeras.pipeline.data.characters import END, PAD, START, CharacterVocabulary
        from rnnkeras.pipeline.data.locale_dates import alphabet
        from rnnkeras.pipeline.validation.translation_suite import MAX_SOURCE_LENGTH

        train = table[table["split"] == "train"]
        source_vocabulary = CharacterVocabulary(tuple(alphabet()))
        target_vocabulary = CharacterVocabulary.from_texts(train["target"], (PAD, START, END))
        start = target_vocabulary.id_of(START)
        arrays = {}
        for split in ("train", "val", "test"):
            rows = table[table["split"] == split]
            source = source_vocabulary.encode(rows["source"], MAX_SOURCE_LENGTH)
            y = target_vocabulary.encode(rows["target"], TARGET_LENGTH, end=True)
            previous = np.concatenate([np.full((len(y), 1), start, "int32"), y[:, :-1]], axis=1)
            arrays[split] = {
                "x": np.concatenate([source, previous], axis=1),
                "y": y,
                "source": rows["source"].to_numpy(str),
                "target": rows["target"].to_numpy(str),
                "locale": rows["locale"].to_numpy(str),
            }
        options = settings(prepare)
        meta = {
            "source_vocabulary": source_vocabulary.to_dict(),
            "target_vocabulary": target_vocabulary.to_dict(),
            "source_length": MAX_SOURCE_LENGTH,
            "target_length": TARGET_LENGTH,
            "attention": options["attention"],
            "beam_width": int(options["beam_width"]),
        }
        return arrays, meta

    def build_model(self, meta, train):
        """`rnnkeras.models.seq2seq` over the packed input: `train.cell`, `units`, `depth`,
        `bidirectional` (the encoder) apply; `dropout` and `residual` do not."""
        import keras

        from rnnkeras.models.seq2seq import seq2seq
        from rnnkeras.pipeline import builders

        length = meta["source_length"]
        inner = seq2seq(
            len(meta["source_vocabulary"]["specials"])
            + len(meta["source_vocabulary"]["characters"]),
            len(meta["target_vocabulary"]["specials"])
            + len(meta["target_vocabulary"]["characters"]),
            attention=meta["attention"],
            embedding_dim=EMBEDDING_DIM,
            rnn=builders.CELLS[train["cell"]],
            units=int(train["units"]),
            depth=int(train["depth"]),
            bidirectional_encoder=bool(train["bidirectional"]),
            max_source_length=length,
            max_target_length=meta["target_length"],
        )
        packed = keras.Input((length + meta["target_length"],), dtype="int32", name="packed")
        return keras.Model(packed, inner(list(split_inputs(packed, length))), name="translation")

    def evaluate(self, model, meta, splits):
        """Greedy and beam decodes of the test sources against the nearest-neighbour and
        most-frequent baselines; predictions per pair; attention and decoding plots."""
        from rnnkeras.pipeline import evaluation, text_metrics
        from rnnkeras.pipeline.tasks.translation_files import Decoder, write_plots

        test, train = splits["test"], splits["train"]

        decoder = Decoder.from_model(model, meta)
        references = test["target"].tolist()
        greedy = decoder.greedy(test["x"])
        beam = decoder.beam(test["x"], meta["beam_width"])
        neighbour = text_metrics.nearest_neighbour_baseline(
            train["source"].tolist(), train["target"].tolist(), test["source"].tolist()
        )
        frequent = text_metrics.most_frequent_baseline(train["target"].tolist(), len(references))
        metrics = {}
        for name, predicted in (
            ("", beam),
            ("greedy_", greedy),
            ("baseline_", neighbour),
            ("most_frequent_", frequent),
        ):
            metrics[f"{name}character_error_rate"] = text_metrics.character_error_rate(
                references, predicted
            )
            metrics[f"{name}exact_match"] = text_metrics.exact_match(references, predicted)
        metrics["beam_width"] = int(meta["beam_width"])
        metrics["per_locale_exact_match"] = {
            locale: text_metrics.exact_match(
                [r for r, lo in zip(references, test["locale"], strict=True) if lo == locale],
                [p for p, lo in zip(beam, test["locale"], strict=True) if lo == locale],
            )
            for locale in sorted(set(test["locale"].tolist()))
        }
        rows = zip(test["locale"], test["source"], references, beam, greedy, neighbour, strict=True)
        return evaluation.Evaluation(
            metrics=metrics,
            predictions_csv=evaluation.csv_text(
                ("locale", "source", "target", "beam", "greedy", "nearest_neighbour"), rows
            ),
            headline="character_error_rate",
            greater_is_better=False,
            plot_name="attention.png",
            plot=functools.partial(write_plots, decoder, test, greedy, metrics),
        )

    def register(self, model, meta, test, evaluation, registered_name, alias):
        """Serves text: the greedy translator SavedModel behind `served_text_model.py`."""
        import tempfile
        from pathlib import Path

        from rnnkeras.pipeline.tasks.translation_files import Decoder
        from rnnkeras.pipeline.tracking.text_model_logging import log_and_register_text_model

        with tempfile.TemporaryDirectory() as folder:
            saved = Decoder.from_model(model, meta).export_translator(Path(folder) / "translator")
            return log_and_register_text_model(
                saved,
                max_characters=meta["source_length"],
                input_example=test["source"][:3].tolist(),
                registered_name=registered_name,
                metric_name=f"test.{evaluation.headline}",
                metric_value=evaluation.metrics[evaluation.headline],
                greater_is_better=evaluation.greater_is_better,
                alias=alias,
            )

    def export(self, model, meta, splits, folder, export, report_path):
        """Encoder SavedModel, step-decoder TFLite files and the text translator, with parity
        (`rnnkeras.pipeline.tasks.translation_files.export_files`)."""
        from rnnkeras.pipeline.tasks.translation_files import export_files

        return export_files(model, meta, splits["test"], folder, export, report_path)


TASK = Translation()
