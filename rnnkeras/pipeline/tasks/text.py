"""Task `text`: a character language model of Python reference prose, against a smoothed n-gram.

The data (`rnnkeras.pipeline.data.reference_text`) is 365 KB of the Python help topics cut
into 101-character chunks, the test split the last tenth of the text. The model
(`rnnkeras.models.language_model`) reads 100 characters and predicts the next one at each
step. `evaluate` scores bits per character and perplexity on the test split against an
interpolated Witten-Bell character n-gram (`rnnkeras.pipeline.tasks.char_ngram`) whose order is
chosen on the last tenth of the training chunks, plots both per position in the chunk, and
writes temperature samples (`rnnkeras.models.decoding.sample`) as its predictions table. The
served model takes a prompt and answers its greedy continuation
(`rnnkeras.pipeline.tasks.character_serving`).
"""

import dataclasses
import functools

import numpy as np

from rnnkeras.pipeline.tasks.base import Task
from rnnkeras.pipeline.tasks.tagging import CALIBRATION_SEQUENCES, character_model_core, typed

EMBEDDING_DIM = 16
TEMPERATURES = (0.5, 1.0)
SAMPLE_LENGTH = 200
PROMPT_LENGTH = 40
CONTINUATION_LENGTH = 80
"""Characters the served model adds to a prompt."""
ORDERS = range(1, 8)
"""The n-gram orders the baseline chooses from."""


def ngram_baseline(train_x, train_y, test_x, test_y, vocabulary_size):
    """The n-gram's test log2-probabilities `(n, timesteps)` and its order.

    The order is the one with the fewest bits per character on the last tenth of the training
    chunks, counted on the rest; the chosen order is then counted on every training chunk.
    """
    from rnnkeras.pipeline.tasks.char_ngram import CharacterNgram, best_order

    chunks = np.concatenate([train_x, train_y[:, -1:]], axis=1)
    held = max(1, len(chunks) // 10)
    chosen, _ = best_order(
        chunks[:-held], train_x[-held:], train_y[-held:], vocabulary_size, orders=ORDERS
    )
    model = CharacterNgram(chosen.order, vocabulary_size).fit(chunks)
    return model.log2_probabilities(test_x, test_y), chosen.order


def temperature_samples(model, prompt_ids, seed: int = 0) -> list[tuple[float, str, str]]:
    """`(temperature, prompt, sample)` for each of `TEMPERATURES`, `SAMPLE_LENGTH` characters.

    The prompt is read one character at a time by the one-step model
    (`rnnkeras.models.inference.step_model`); `rnnkeras.models.decoding.sample` then draws.
    """
    from rnnkeras.models import decoding
    from rnnkeras.models.inference import step_model
    from rnnkeras.models.recurrent_stack import state_sizes
    from rnnkeras.pipeline.data.ascii_characters import decode_ids

    step = decoding.keras_step(step_model(model))
    sizes = state_sizes(model.get_layer("decoder"))
    states = [np.zeros((1, size), "float32") for size in sizes]
    for token in prompt_ids[:-1]:
        _, states = step(np.array([token]), states)
    samples = []
    for temperature in TEMPERATURES:
        drawn = decoding.sample(
            step,
            np.array([prompt_ids[-1]]),
            states,
            SAMPLE_LENGTH,
            temperature=temperature,
            seed=seed,
        )
        samples.append((temperature, decode_ids(prompt_ids), decode_ids(drawn.tokens[0])))
    return samples


def write_position_plot(model_bits, baseline_bits, order, path) -> None:
    """Bits per character at each position of the test chunks, model against n-gram."""
    from rnnkeras.figures import pyplot, save_png

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 4))
    positions = np.arange(1, len(model_bits) + 1)
    axis.plot(positions, model_bits, label="language model")
    axis.plot(positions, baseline_bits, label=f"{order}-gram (Witten-Bell)")
    axis.set_xlabel("characters read")
    axis.set_ylabel("bits per character (test)")
    axis.set_title("Test split: bits per character by position")
    axis.legend()
    save_png(figure, path)


class Text(Task):
    """Next-character prediction over English prose.

    Example:

    >>> from rnnkeras.pipeline.data.reference_text import text_table
    >>> arrays, meta = Text().table_to_arrays(text_table(), None, {})
    >>> arrays["train"]["x"].shape, meta["vocabulary_size"]
    ((2920, 100), 99)
    """

    name = "text"
    loss = "sparse_categorical_crossentropy"
    metrics = ("accuracy",)
    parity = "classification"
    calibration_sequences = CALIBRATION_SEQUENCES

    def prepare_table(self, spec, prepare):
        """Every character of every chunk (`reference_text.text_table`)."""
        from rnnkeras.pipeline.data.reference_text import text_table

        return text_table(spec.path)

    def validate_table(self, table, spec, max_examples=5):
        """The character-table suites; every chunk exactly 101 characters."""
        from rnnkeras.pipeline.validation.character_suite import validate_characters

        return validate_characters(
            table, "text", spec.sequence_length, max_examples=max_examples, min_rows=spec.min_rows
        )

    def table_to_arrays(self, table, spec, prepare):
        """Ids `x` and next ids `y`, `(n, 100)` (`reference_text.text_arrays`)."""
        from rnnkeras.pipeline.data.reference_text import text_arrays

        arrays, meta = text_arrays(typed(table))
        return arrays, {k: v for k, v in meta.items() if k not in ("task", "dataset", "counts")}

    def build_model(self, meta, train):
        """`rnnkeras.models.language_model` over character ids, open time axis.

        Raises:
            ValueError: With `train.bidirectional` true: a language model reads left to right.
        """
        from rnnkeras.models import language_model

        core = character_model_core(train)
        if core.pop("bidirectional", False):
            raise ValueError(
                "The text task trains a language model, which reads left to right; set "
                "train.bidirectional to false. Received: train.bidirectional=True"
            )
        return language_model(meta["vocabulary_size"], embedding_dim=EMBEDDING_DIM, **core)

    def evaluate(self, model, meta, splits):
        """`score` of the test probabilities, with temperature samples as the predictions table."""
        from rnnkeras.pipeline import evaluation

        test = splits["test"]
        predicted = model.predict(test["x"], verbose=0, batch_size=64)
        result = self.score(meta, test, predicted, splits["train"])
        prompt = test["x"][0, :PROMPT_LENGTH]
        rows = temperature_samples(model, prompt)
        return dataclasses.replace(
            result,
            predictions_csv=evaluation.csv_text(("temperature", "prompt", "sample"), rows),
        )

    def score(self, meta, test, predicted, train):
        """Bits per character and perplexity of the model and of the n-gram on the test split."""
        from rnnkeras.pipeline import evaluation
        from rnnkeras.pipeline.tasks.char_ngram import bits_per_character, model_log2_probabilities

        mask = test["y"] != 0
        model_log2 = model_log2_probabilities(predicted, test["y"])
        baseline_log2, order = ngram_baseline(
            train["x"], train["y"], test["x"], test["y"], meta["vocabulary_size"]
        )
        bits = bits_per_character(model_log2, mask)
        baseline = bits_per_character(baseline_log2, mask)
        metrics = {
            "bits_per_character": bits,
            "perplexity": float(2.0**bits),
            "baseline_bits_per_character": baseline,
            "baseline_perplexity": float(2.0**baseline),
            "baseline_order": int(order),
            "characters": int(mask.sum()),
        }
        by_position = [
            -(model_log2 * mask).sum(0) / mask.sum(0),
            -(baseline_log2 * mask).sum(0) / mask.sum(0),
        ]
        return evaluation.Evaluation(
            metrics=metrics,
            predictions_csv="",
            headline="bits_per_character",
            greater_is_better=False,
            plot_name="bits_per_character.png",
            plot=functools.partial(write_position_plot, *by_position, order),
        )

    def register(self, model, meta, test, evaluation, registered_name, alias):
        """Serves a prompt in, its greedy continuation out (`continuation_text_module`)."""
        import tempfile
        from pathlib import Path

        from rnnkeras.pipeline.data.ascii_characters import decode_ids
        from rnnkeras.pipeline.tasks.character_serving import (
            continuation_text_module,
            save_text_module,
        )
        from rnnkeras.pipeline.tracking.text_model_logging import log_and_register_text_model

        with tempfile.TemporaryDirectory() as folder:
            module = continuation_text_module(model, CONTINUATION_LENGTH)
            save_text_module(module, Path(folder) / "saved")
            return log_and_register_text_model(
                Path(folder) / "saved",
                max_characters=int(meta["sequence_length"]),
                input_example=[decode_ids(test["x"][0, :PROMPT_LENGTH])],
                registered_name=registered_name,
                metric_name=f"test.{evaluation.headline}",
                metric_value=evaluation.metrics[evaluation.headline],
                greater_is_better=evaluation.greater_is_better,
                alias=alias,
            )

    def export_sequence_length(self, meta):
        """The ids-in model's TFLite files take 100 steps per sequence."""
        return int(meta["sequence_length"])


TASK = Text()
