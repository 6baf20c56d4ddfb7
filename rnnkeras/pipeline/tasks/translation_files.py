"""Decoding, plots, the served text translator and the exported files of the `translation` task.

- `Decoder`: a trained translation model split into encoder and one-step decoder
  (`rnnkeras.models.inference.seq2seq_inference`), decoding packed test inputs to text greedily
  or with beam search (`rnnkeras.models.decoding`).
- `Decoder.export_translator`: a SavedModel whose `serving_default` maps text to text in one
  call: TensorFlow string ops and a lookup table turn characters into ids, the greedy loop of
  `rnnkeras.models.export_greedy_decoder` runs in the graph, a gather and a join turn ids back
  into text. It loads with TensorFlow alone.
- `write_plots`: attention weights of a few test pairs, and exact match / CER of beam, greedy
  and the baselines.
- `export_files`: the encoder as a SavedModel, the step decoder as builtins-only TFLite files,
  and parity: the step decoder's outputs on real decoding states (`rnnkeras.export`'s report),
  and whole greedy decodes through SavedModel + TFLite and through the translator, which must
  equal the Keras decodes.
"""

import dataclasses
import json
import tempfile
from pathlib import Path

import keras
import numpy as np

from rnnkeras.models.decoding import beam_search, greedy_decode, keras_step
from rnnkeras.models.inference import seq2seq_inference
from rnnkeras.pipeline.data.characters import END, START, UNKNOWN, CharacterVocabulary

PLOTTED_EXAMPLES = 4
# Test pairs decoded through the exported files (one TFLite invoke per row and step).
PARITY_PAIRS = 32
INT8_SKIPPED = (
    "not written: TensorFlow 2.21's int8 calibrator fails on the step decoder's several inputs "
    "(RuntimeError: Given shapes, [64,256] and [0,256], are not broadcastable, in an ADD node)"
)


@dataclasses.dataclass
class Decoder:
    """A trained translation model, ready to decode.

    Attributes:
        seq2seq: The inner `rnnkeras.models.seq2seq` model.
        encoder: Source ids `(batch, source_length)` → decoder states, encoder outputs.
        step: The one-step decoder.
        source_vocabulary: Characters of the sources.
        target_vocabulary: Characters of the targets (with start and end ids).
        source_length: Columns of the source ids in the packed input.
    """

    seq2seq: keras.Model
    encoder: keras.Model
    step: keras.Model
    source_vocabulary: CharacterVocabulary
    target_vocabulary: CharacterVocabulary
    source_length: int

    @classmethod
    def from_model(cls, model: keras.Model, meta: dict) -> "Decoder":
        """The decoder of a model from `Translation.build_model` (trained or loaded)."""
        (inner,) = [layer for layer in model.layers if isinstance(layer, keras.Model)]
        encoder, step = seq2seq_inference(inner)
        return cls(
            inner,
            encoder,
            step,
            CharacterVocabulary.from_dict(meta["source_vocabulary"]),
            CharacterVocabulary.from_dict(meta["target_vocabulary"]),
            int(meta["source_length"]),
        )

    @property
    def max_length(self) -> int:
        return int(self.seq2seq.inputs[1].shape[1])

    def states(self, source: np.ndarray) -> list[np.ndarray]:
        """The decoder's initial states for source ids (with attention: + outputs, source)."""
        outputs = self.encoder(source, training=False)
        outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
        states = [keras.ops.convert_to_numpy(o) for o in outputs]
        return [*states, source] if len(self.step.inputs) > 1 + len(states) else states

    def start_tokens(self, rows: int) -> np.ndarray:
        """The start id, once per row."""
        return np.full(rows, self.target_vocabulary.id_of(START), "int32")

    def greedy(self, x: np.ndarray, step=None) -> list[str]:
        """Greedy translations of packed inputs `x` (only the source part is read)."""
        source = np.asarray(x[:, : self.source_length], "int32")
        decoded = greedy_decode(
            step or keras_step(self.step),
            self.start_tokens(len(source)),
            self.states(source),
            max_length=self.max_length,
            end_token=self.target_vocabulary.id_of(END),
        )
        return self.target_vocabulary.decode(decoded.tokens)

    def beam(self, x: np.ndarray, beam_width: int, batch: int = 256) -> list[str]:
        """Best beam-search translations of packed inputs `x`, `batch` rows at a time."""
        texts = []
        for first in range(0, len(x), batch):
            source = np.asarray(x[first : first + batch, : self.source_length], "int32")
            decoded = beam_search(
                keras_step(self.step),
                self.start_tokens(len(source)),
                self.states(source),
                beam_width=int(beam_width),
                max_length=self.max_length,
                end_token=self.target_vocabulary.id_of(END),
            )
            texts += self.target_vocabulary.decode(decoded.tokens[:, 0])
        return texts

    def attention(self, x: np.ndarray, translations: list[str]) -> np.ndarray:
        """Attention weights `(batch, target steps, source steps)` while the model writes
        `translations` (its own outputs fed back, as when it decoded them)."""
        from rnnkeras.models.seq2seq import attention_weights_model

        source = np.asarray(x[:, : self.source_length], "int32")
        steps = self.max_length
        # A translation that never ended fills every step: cut it there, as the decode did.
        ids = self.target_vocabulary.encode([t[:steps] for t in translations], steps + 1, end=True)
        previous = np.concatenate([self.start_tokens(len(ids))[:, None], ids[:, : steps - 1]], 1)
        weights = attention_weights_model(self.seq2seq)([source, previous], training=False)
        return keras.ops.convert_to_numpy(weights)

    def export_translator(self, path: str | Path) -> Path:
        """Writes the text-to-text SavedModel (module docstring); returns `path`.

        Its `serving_default` takes `text` (string `(batch,)`, at most `source_length`
        characters; longer ones are cut) and returns `translation` (string `(batch,)`).
        """
        import tensorflow as tf

        from rnnkeras.models.greedy_saved_model import export_greedy_decoder

        source_ids = {c: i for i, c in enumerate(self.source_vocabulary.specials)}
        first = len(source_ids)
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(list(self.source_vocabulary.characters)),
                tf.range(first, first + len(self.source_vocabulary.characters), dtype=tf.int32),
            ),
            default_value=source_ids[UNKNOWN],
        )
        # Special ids write nothing: pads and the end token vanish from the joined text.
        pieces = tf.constant(
            [""] * len(self.target_vocabulary.specials) + list(self.target_vocabulary.characters)
        )
        length = self.source_length
        with tempfile.TemporaryDirectory() as folder:
            greedy = export_greedy_decoder(
                self.encoder,
                self.step,
                Path(folder) / "greedy",
                max_length=self.max_length,
                start_token=self.target_vocabulary.id_of(START),
                end_token=self.target_vocabulary.id_of(END),
            )
            decode = tf.saved_model.load(str(greedy))

            class Translator(tf.Module):
                def __init__(self):
                    super().__init__(name="rnnkeras_translator")
                    self.decoder, self.table, self.pieces = decode, table, tf.Variable(pieces)

                @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
                def __call__(self, text):
                    characters = tf.strings.unicode_split(text, "UTF-8")[:, :length]
                    ids = self.table.lookup(characters).to_tensor(0, shape=[None, length])
                    tokens = self.decoder.signatures["serving_default"](source_tokens=ids)
                    words = tf.gather(self.pieces, tokens["tokens"])
                    return {"translation": tf.strings.reduce_join(words, axis=1)}

            module = Translator()
            signature = module.__call__.get_concrete_function()
            tf.saved_model.save(module, str(path), signatures={"serving_default": signature})
        return Path(path)


def write_plots(decoder: Decoder, test: dict, greedy: list[str], metrics: dict, path: Path):
    """`path`: attention weights of the first `PLOTTED_EXAMPLES` test pairs of different
    locales; `decoding.png` beside it: exact match and CER of beam, greedy and the baselines."""
    from rnnkeras.figures import pyplot, save_png

    plt = pyplot()
    locales = test["locale"].tolist()
    chosen = [locales.index(locale) for locale in dict.fromkeys(locales)][:PLOTTED_EXAMPLES]
    weights = decoder.attention(test["x"][chosen], [greedy[i] for i in chosen])
    figure, axes = plt.subplots(len(chosen), 1, figsize=(9, 2.6 * len(chosen)), squeeze=False)
    for axis, index, weight in zip(axes[:, 0], chosen, weights, strict=True):
        source, output = str(test["source"][index]), greedy[index]
        rows = len(output) + 1
        axis.imshow(weight[:rows, : len(source)], cmap="viridis", aspect="auto", vmin=0)
        axis.set_xticks(range(len(source)), list(source), fontsize=7)
        axis.set_yticks(range(rows), [*output, "end"], fontsize=7)
        axis.set_title(f"{locales[index]}: {source!r} -> {output!r}", fontsize=9)
    figure.tight_layout()
    save_png(figure, path)
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    names = ["beam", "greedy", "nearest neighbour", "most frequent"]
    prefixes = ["", "greedy_", "baseline_", "most_frequent_"]
    for axis, metric in zip(axes, ("exact_match", "character_error_rate"), strict=True):
        axis.bar(names, [metrics[f"{p}{metric}"] for p in prefixes], color="tab:blue")
        axis.set_title(f"test {metric.replace('_', ' ')}")
        axis.tick_params(axis="x", labelsize=8, rotation=20)
    figure.tight_layout()
    save_png(figure, Path(path).with_name("decoding.png"))


def _step_inputs(decoder: Decoder, source: np.ndarray) -> list[np.ndarray]:
    """The step decoder's inputs met along greedy decodes of `source`, every step stacked."""
    seen = []

    def recording(tokens, states):
        seen.append([np.asarray(tokens, "int32")[:, None], *states])
        return keras_step(decoder.step)(tokens, states)

    decoder.greedy(source, step=recording)
    return [np.concatenate(column) for column in zip(*seen, strict=True)]


def export_files(model, meta: dict, test: dict, folder: Path, export: dict, report_path) -> dict:
    """`folder/encoder/1` (SavedModel), `folder/step_decoder_<mode>.tflite` per
    `export.quantize` mode, `folder/translator` (text in, text out); parity report at
    `report_path` (+ `.md`). Passes when every file meets `rnnkeras.export`'s thresholds on the
    step inputs of real decodes and greedy decodes through the files equal the Keras ones."""
    import tensorflow as tf

    from rnnkeras.export import TFLiteModel, export_saved_model, export_tflite, write_export_report

    decoder = Decoder.from_model(model, meta)
    pairs = test["x"][:PARITY_PAIRS]
    encoder = export_saved_model(decoder.encoder, folder / "encoder", version=1, overwrite=True)
    lengths = [
        decoder.source_length if len(t.shape) > 1 and t.shape[1] is None else None
        for t in decoder.step.inputs
    ]
    inputs = _step_inputs(decoder, pairs)
    files, skipped = [], {}
    for mode in export.get("quantize", ["none"]):
        if mode == "int8":
            skipped[mode] = INT8_SKIPPED
            continue
        name = "float32" if mode in (None, "none") else mode
        files.append(
            export_tflite(
                decoder.step,
                folder / f"step_decoder_{name}.tflite",
                sequence_length=lengths,
                batch_size=int(export.get("batch_size", 1)),
                quantize=mode,
            )
        )
    # The next token each step should emit: the target's, step by step (rows as stacked).
    steps = len(inputs[0]) // len(pairs)
    targets = np.concatenate([test["y"][:PARITY_PAIRS, t] for t in range(steps)])
    report = write_export_report(
        decoder.step,
        report_path,
        inputs,
        targets,
        saved_model=None,
        tflite=files,
        task="classification",
        latency_runs=20,
        strict=False,
    )
    expected = decoder.greedy(pairs)
    served = tf.saved_model.load(str(encoder.path)).signatures["serving_default"]
    encoded = served(source_tokens=tf.constant(pairs[:, : decoder.source_length]))
    decodes = {"keras": expected}
    runtime = TFLiteModel(files[0].path, input_names=files[0].inputs)

    def tflite_step(tokens, states):
        out, *new = runtime.predict([np.asarray(tokens, "int32")[:, None], *states])
        return np.log(np.maximum(out, 1e-38)), [*new, *states[len(new) :]]

    saved_states = [encoded[f"output_{i}"].numpy() for i in range(len(encoded))]
    if len(decoder.step.inputs) > 1 + len(saved_states):
        saved_states.append(np.asarray(pairs[:, : decoder.source_length], "int32"))
    from rnnkeras.models.decoding import greedy_decode

    tokens = greedy_decode(
        tflite_step,
        decoder.start_tokens(len(pairs)),
        saved_states,
        max_length=decoder.max_length,
        end_token=decoder.target_vocabulary.id_of(END),
    ).tokens
    decodes["encoder_saved_model+step_tflite"] = decoder.target_vocabulary.decode(tokens)
    translator = decoder.export_translator(folder / "translator")
    serve = tf.saved_model.load(str(translator)).signatures["serving_default"]
    texts = serve(text=tf.constant(test["source"][:PARITY_PAIRS].tolist()))["translation"]
    decodes["translator_saved_model"] = [t.decode("utf-8") for t in texts.numpy().tolist()]
    agree = {
        name: float(np.mean([a == b for a, b in zip(texts_, expected, strict=True)]))
        for name, texts_ in decodes.items()
        if name != "keras"
    }
    report["skipped"] = skipped
    report["decode_parity"] = {"pairs": len(pairs), "agreement_with_keras": agree}
    report["passed"] = bool(report["passed"]) and all(v == 1.0 for v in agree.values())
    Path(report_path).write_text(json.dumps(report, indent=2, default=str) + "\n")
    summary = Path(report_path).with_suffix(".md")
    lines = [
        f"- {name}: {value:.3f} of {len(pairs)} greedy decodes equal Keras'"
        for name, value in agree.items()
    ]
    summary.write_text(
        summary.read_text() + "\n## Whole decodes (translation)\n\n" + "\n".join(lines) + "\n"
    )
    return report
