"""A text task's champion over HTTP: `mlflow models serve` takes text and answers text.

The tagging task's own `register` logs the model (a text-in, text-out SavedModel behind
`served_text_model.py`); the server runs where rnnkeras cannot be imported. The answers are
checked against the Keras model run on `char_ids` in NumPy, and bad batches against the
refusal that names the item.
"""

import json
import types

import keras
import numpy as np
import pytest

from rnnkeras.models import sequence_tagger
from rnnkeras.pipeline import tracking
from rnnkeras.pipeline.data.ascii_characters import VOCABULARY_SIZE, char_ids
from rnnkeras.pipeline.tasks.character_serving import TAG_LETTERS
from rnnkeras.pipeline.tasks.tagging import TASK
from tests.tracking import model_server

TEXTS = ["def f(x):", "x = 1  # one", "return 'é'"]
MAX_CHARACTERS = 40
EXPECTED = f"inputs must be a non-empty list of texts of 1 to {MAX_CHARACTERS} characters"


def tag_letters(model, tags: list[str], text: str) -> str:
    """What the served model must answer for `text`: the Keras model's best tag per character."""
    scores = keras.ops.convert_to_numpy(model(char_ids(text)[None]))[0]
    return "".join(TAG_LETTERS[tags[best]] for best in scores.argmax(axis=-1))


@pytest.mark.slow
def test_tagging_champion_answers_text_over_http_without_rnnkeras(store, tmp_path):
    tags = list(TAG_LETTERS)
    keras.utils.set_random_seed(0)
    model = sequence_tagger(len(tags), vocabulary_size=VOCABULARY_SIZE, units=8)
    meta = {"tags": tags, "max_length": MAX_CHARACTERS}
    test = {"x": np.stack([np.pad(char_ids(t), (0, 20 - len(t))) for t in TEXTS])}
    evaluation = types.SimpleNamespace(
        headline="accuracy", metrics={"accuracy": 0.5}, greater_is_better=True
    )
    with tracking.start_training_run({}, 0, tmp_path / "run.json"):
        registry = TASK.register(model, meta, test, evaluation, "code-tagger", "champion")
    assert registry["promoted"]
    expected = [tag_letters(model, tags, text) for text in TEXTS]
    assert len(set(expected)) == len(TEXTS)

    server = model_server.ModelServer(
        "models:/code-tagger@champion",
        env={
            "PYTHONPATH": str(model_server.rnnkeras_hidden(tmp_path)),
            "MLFLOW_TRACKING_URI": tracking.configure(store),
        },
        cwd=tmp_path,
        log_path=tmp_path / "server.log",
    )
    with server:
        status, reply = model_server.request(
            f"{server.url}/invocations", json.dumps({"inputs": TEXTS}).encode()
        )
        assert status == 200, reply
        assert reply["predictions"] == expected

        # One column of a `dataframe_split` is a batch of texts too.
        body = {"dataframe_split": {"columns": ["text"], "data": [[t] for t in TEXTS[:2]]}}
        status, reply = model_server.request(f"{server.url}/invocations", json.dumps(body).encode())
        assert (status, reply["predictions"]) == (200, expected[:2]), reply

        # MLflow reads `inputs` with NumPy, which turns a list that mixes texts and numbers
        # into texts (["x", 7] arrives as ["x", "7"]); numbers alone stay numbers.
        refused = [
            ([], "inputs=[]"),
            (["x", None], "inputs[1]=null"),
            (["", "x"], 'inputs[0]=""'),
            ([7, 8], "inputs[0]=7"),
            (["x" * (MAX_CHARACTERS + 1)], f"inputs[0]=a text of {MAX_CHARACTERS + 1} characters"),
        ]
        for inputs, received in refused:
            status, reply = model_server.request(
                f"{server.url}/invocations", json.dumps({"inputs": inputs}).encode()
            )
            assert status == 400, (inputs, reply)
            assert reply["message"] == f"{EXPECTED}. Received: {received}", reply["message"]
    assert "rnnkeras" not in (tmp_path / "server.log").read_text().replace("hide_rnnkeras", "")
