"""The `translation` task kind: arrays, model, decoding, plots, the served text model's checks."""

import doctest
import importlib

import keras
import numpy as np
import pytest

from rnnkeras.models.decoding import beam_search, greedy_decode, keras_step
from rnnkeras.pipeline import tasks
from rnnkeras.pipeline.data.datasets import spec_from_params
from rnnkeras.pipeline.tasks import translation_files
from rnnkeras.pipeline.tasks.translation import TARGET_LENGTH

PREPARE = {
    "dataset": "translation",
    "translation": {"pairs": 120, "attention": "bahdanau", "beam_width": 3},
    "seed": 0,
    "val_fraction": 0.2,
    "test_fraction": 0.2,
}
TRAIN = {"cell": "gru", "units": 8, "depth": 1, "bidirectional": False}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    spec = spec_from_params(PREPARE, tmp_path_factory.mktemp("translation"))
    task = tasks.get(spec.task)
    table = task.prepare_table(spec, PREPARE)
    arrays, meta = tasks.table_to_arrays(table, spec, PREPARE)
    return task, table, arrays, meta


@pytest.fixture(scope="module")
def model(prepared):
    task, _, _, meta = prepared
    keras.utils.set_random_seed(3)
    model = task.build_model(meta, TRAIN)
    rng = np.random.default_rng(0)
    # Large random weights decode varied strings (a fresh model emits one token throughout).
    model.set_weights([rng.normal(0, 1.0, w.shape).astype("float32") for w in model.get_weights()])
    return model


@pytest.mark.parametrize(
    "module",
    ["rnnkeras.pipeline.tasks.translation", "rnnkeras.pipeline.tracking.served_text_model"],
)
def test_docstring_examples_run(module):
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder(exclude_empty=True).find(importlib.import_module(module)):
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_the_dataset_is_a_task_of_its_own_whose_table_passes_its_suite(prepared):
    task, table, _, meta = prepared
    assert task.name == "translation" and meta["task"] == "translation"
    assert meta["counts"] == {"train": 72, "val": 24, "test": 24}
    assert meta["attention"] == "bahdanau" and meta["beam_width"] == 3
    assert (table["source_row"] == np.arange(2, 122)).all()
    report = task.validate_table(table, spec_from_params(PREPARE, "."))
    assert report["success"], report["failures"]


def test_packed_arrays_hold_source_ids_then_the_shifted_target(prepared):
    from rnnkeras.pipeline.data.characters import CharacterVocabulary

    _, table, arrays, meta = prepared
    source_vocabulary = CharacterVocabulary.from_dict(meta["source_vocabulary"])
    target_vocabulary = CharacterVocabulary.from_dict(meta["target_vocabulary"])
    test = arrays["test"]
    length = meta["source_length"]
    assert test["x"].shape == (24, length + TARGET_LENGTH) and test["x"].dtype == np.int32
    assert source_vocabulary.decode(test["x"][:, :length]) == test["source"].tolist()
    assert target_vocabulary.decode(test["y"]) == test["target"].tolist()
    assert (test["x"][:, length] == target_vocabulary.id_of("<start>")).all()
    np.testing.assert_array_equal(test["x"][:, length + 1 :], test["y"][:, :-1])
    assert (test["y"][:, -1] == target_vocabulary.id_of("<end>")).all()
    rows = table[table.split == "test"]
    assert test["locale"].tolist() == rows["locale"].tolist()


def test_model_reads_the_packed_input_as_seq2seq_reads_its_two(prepared, model):
    _, _, arrays, meta = prepared
    x = arrays["test"]["x"][:5]
    length = meta["source_length"]
    (inner,) = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(x)),
        keras.ops.convert_to_numpy(inner([x[:, :length], x[:, length:]])),
        atol=1e-6,
    )
    assert model.output_shape == (None, TARGET_LENGTH, 14)


def test_decoder_decodes_as_the_search_functions_do(prepared, model):
    _, _, arrays, meta = prepared
    decoder = translation_files.Decoder.from_model(model, meta)
    x = arrays["test"]["x"][:6]
    source = x[:, : meta["source_length"]]
    states = decoder.states(source)
    start = np.full(6, decoder.target_vocabulary.id_of("<start>"), "int32")
    end = decoder.target_vocabulary.id_of("<end>")
    greedy = greedy_decode(keras_step(decoder.step), start, states, TARGET_LENGTH, end)
    beam = beam_search(keras_step(decoder.step), start, states, 3, TARGET_LENGTH, end)
    assert decoder.greedy(x) == decoder.target_vocabulary.decode(greedy.tokens)
    assert decoder.beam(x, 3, batch=4) == decoder.target_vocabulary.decode(beam.tokens[:, 0])
    assert len(set(decoder.greedy(x))) > 1, "weights that decode different strings"
    weights = decoder.attention(x, decoder.greedy(x))
    assert weights.shape == (6, TARGET_LENGTH, meta["source_length"])
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    lengths = (source != 0).sum(1)
    assert all((weights[i, :, n:] == 0).all() for i, n in enumerate(lengths))


def test_evaluate_scores_beam_greedy_and_baselines_and_draws_two_plots(prepared, model, tmp_path):
    from rnnkeras.pipeline.text_metrics import character_error_rate, nearest_neighbour_baseline

    task, _, arrays, meta = prepared
    result = task.evaluate(model, meta, arrays)
    references = arrays["test"]["target"].tolist()
    neighbour = nearest_neighbour_baseline(
        arrays["train"]["source"], arrays["train"]["target"], arrays["test"]["source"]
    )
    assert result.metrics["baseline_character_error_rate"] == pytest.approx(
        character_error_rate(references, neighbour)
    )
    assert result.headline == "character_error_rate" and not result.greater_is_better
    header, *rows = result.predictions_csv.splitlines()
    assert header == "locale,source,target,beam,greedy,nearest_neighbour" and len(rows) == 24
    assert set(result.metrics["per_locale_exact_match"]) <= set(arrays["test"]["locale"])
    written = result.write_plots(tmp_path)
    assert written.name == "attention.png" and written.stat().st_size > 10_000
    assert (tmp_path / "decoding.png").stat().st_size > 5_000


@pytest.mark.parametrize(
    "inputs, received",
    [
        ([], "inputs=[]"),
        ("14 mars 1987", 'inputs="14 mars 1987"'),
        (["ok", 3], "inputs[1]=3"),
        (["ok", ""], 'inputs[1]=""'),
        (["x" * 49], "inputs[0]=a text of 49 characters"),
    ],
)
def test_served_text_model_refuses_bad_batches_naming_the_item(inputs, received):
    from rnnkeras.pipeline.tracking.served_text_model import InvalidText, check_texts

    with pytest.raises(InvalidText) as error:
        check_texts(inputs, 48)
    assert error.value.cause.endswith(f"Received: {received}")
    assert error.value.cause.startswith("inputs must be a non-empty list of texts of 1 to 48")
