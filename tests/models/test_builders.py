"""The builders: shapes, `.keras` round trips, masking reaching the loss, and errors.

Each model is checked against something computed without it: NumPy on the
valid steps for the tagger's masked loss and accuracy, the same model on the
unpadded sequence for the classifier, and the equations of a simple RNN step
for the generator's conditioned initial state.
"""

import keras
import numpy as np
import pytest

from rnnkeras.models import (
    language_model,
    sequence_classifier,
    sequence_generator,
    sequence_regressor,
    sequence_tagger,
)
from rnnkeras.models.inference import initial_state_model, step_model

TOKENS = np.array([[1, 2, 3, 0, 0], [4, 5, 1, 2, 3], [2, 0, 0, 0, 0]], dtype="int32")
VALID = TOKENS != 0


def numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


BUILDS = {
    "classifier_gru_bidirectional": lambda: (
        sequence_classifier(3, vocabulary_size=6, rnn="gru", units=4, bidirectional=True),
        TOKENS,
    ),
    "regressor_lstm_depth_2": lambda: (
        sequence_regressor(2, features=3, rnn="lstm", units=4, depth=2, residual=True),
        np.random.default_rng(0).normal(size=(3, 5, 3)).astype("float32"),
    ),
    "tagger_simple_rnn_stacked_bidirectional": lambda: (
        sequence_tagger(
            4, vocabulary_size=6, rnn="simple_rnn", units=3, depth=2, bidirectional=True
        ),
        TOKENS,
    ),
    "generator_lstm": lambda: (
        sequence_generator(2, vocabulary_size=6, rnn="lstm", units=4),
        [np.ones((3, 2), "float32"), TOKENS],
    ),
    "language_model_gru_depth_2": lambda: (
        language_model(6, rnn="gru", units=4, depth=2),
        TOKENS,
    ),
}


@pytest.mark.parametrize("build", BUILDS, ids=str)
def test_model_survives_a_keras_file(build, tmp_path):
    model, inputs = BUILDS[build]()
    expected = numpy(model(inputs))
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(numpy(restored(inputs)), expected, rtol=0, atol=1e-6)
    assert restored.name == model.name


def test_classifier_ignores_padding():
    """A padded sequence is classified exactly as the same sequence without padding."""
    model = sequence_classifier(3, vocabulary_size=6, rnn="lstm", units=4)
    padded = numpy(model(TOKENS[:1]))
    unpadded = numpy(model(TOKENS[:1, :3]))
    np.testing.assert_allclose(padded, unpadded, rtol=0, atol=1e-6)


def test_tagger_loss_and_accuracy_count_valid_steps_only():
    """Keras' masked loss and metric equal NumPy's cross-entropy and accuracy over valid steps."""
    keras.utils.set_random_seed(1)
    model = sequence_tagger(3, vocabulary_size=6, rnn="gru", units=4, bidirectional=True)
    rng = np.random.default_rng(2)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
    tags = rng.integers(0, 3, size=TOKENS.shape)
    probabilities = numpy(model(TOKENS))
    picked = np.take_along_axis(probabilities, tags[..., None], axis=-1)[..., 0]
    loss = -np.log(picked)[VALID].mean()
    accuracy = (probabilities.argmax(-1) == tags)[VALID].mean()
    # The check can fail: with every step counted, both would differ.
    assert abs(-np.log(picked).mean() - loss) > 1e-2
    result = model.evaluate(TOKENS, tags, batch_size=len(TOKENS), verbose=0, return_dict=True)
    assert result["loss"] == pytest.approx(loss, abs=1e-5)
    assert result["sparse_categorical_accuracy"] == pytest.approx(accuracy, abs=1e-6)


def test_generator_conditions_the_initial_state():
    """First step of a simple-RNN generator, by its equations: `h0 = tanh(c W0 + b0)`."""
    model = sequence_generator(2, vocabulary_size=5, rnn="simple_rnn", units=3, embedding_dim=2)
    condition = np.array([[0.5, -1.0], [2.0, 0.3]], "float32")
    previous = np.array([[1, 3], [4, 2]], "int32")
    probabilities = numpy(model([condition, previous]))
    w0, b0 = model.get_layer("initial_state_0").get_weights()
    table = model.get_layer("embedding").get_weights()[0]
    kernel, recurrent, bias = model.get_layer("decoder").get_weights()
    out_kernel, out_bias = model.get_layer("next_token").get_weights()
    h = np.tanh(condition @ w0 + b0)
    h = np.tanh(table[previous[:, 0]] @ kernel + h @ recurrent + bias)
    logits = h @ out_kernel + out_bias
    expected = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(probabilities[:, 0], expected, rtol=0, atol=1e-5)


def test_one_step_models_reproduce_teacher_forcing():
    """Initial-state model + one-step decoder, step by step, give the training model's outputs."""
    model = sequence_generator(2, vocabulary_size=6, rnn="lstm", units=4, depth=2)
    condition = np.array([[0.5, -1.0], [2.0, 0.3]], "float32")
    previous = TOKENS[1:3, :3].copy()
    previous[1] = [3, 1, 4]
    expected = numpy(model([condition, previous]))
    step = step_model(model)
    states = initial_state_model(model)(condition)
    for t in range(previous.shape[1]):
        token = keras.ops.convert_to_tensor(previous[:, t : t + 1])
        probabilities, *states = step([token, *states])
        np.testing.assert_allclose(numpy(probabilities), expected[:, t], rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: sequence_classifier(1, features=2), "Received: classes=1"),
        (lambda: sequence_tagger(3), "Received: features=None, vocabulary_size=None"),
        (lambda: sequence_regressor(features=2, rnn="transformer"), "Received: rnn='transformer'"),
        (lambda: language_model(6, depth=0), "Received: depth=0"),
        (lambda: sequence_generator(0, 6), "Received: condition_features=0"),
    ],
)
def test_bad_arguments_are_refused_by_name(build, message):
    with pytest.raises(ValueError, match=message) as error:
        build()
    assert " expects " in str(error.value)


def test_step_model_refuses_another_model():
    model = sequence_classifier(2, features=2, units=3)
    with pytest.raises(ValueError, match=r"without \[.decoder., .embedding., .next_token.\]"):
        step_model(model)
