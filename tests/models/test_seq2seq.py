"""`seq2seq`: attention scores against NumPy, masked variable-length sources, inference split.

The attention weights are recomputed in NumPy from the model's own decoder and
encoder outputs and its attention weights, with each paper's score function:
Luong et al. (2015) "general" `h_t^T W h_s`, Bahdanau et al. (2015)
`v^T tanh(W h_t + U h_s)`, then a softmax over the valid source steps.
"""

import keras
import numpy as np
import pytest

from rnnkeras.models import attention_weights_model, seq2seq
from rnnkeras.models.inference import seq2seq_inference

SOURCE = np.array([[3, 4, 5, 2, 0], [5, 1, 0, 0, 0]], "int32")
PREVIOUS = np.array([[1, 3, 2, 4], [1, 5, 5, 0]], "int32")


def numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def softmax_over_valid(scores, valid):
    scores = np.where(valid[:, None, :], scores, -np.inf)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    return scores / scores.sum(-1, keepdims=True)


@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
def test_attention_weights_follow_the_papers_scores(attention):
    model = seq2seq(6, 6, attention=attention, rnn="gru", units=4)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    probe = keras.Model(
        model.inputs,
        [model.get_layer("decoder").output[0], model.get_layer("encoder").output[0]],
    )
    decoded, encoded = (numpy(t) for t in probe([SOURCE, PREVIOUS]))
    keys = encoded @ model.get_layer("attention_keys").get_weights()[0]
    if attention == "luong":
        scores = decoded @ keys.transpose(0, 2, 1)
    else:
        query = decoded @ model.get_layer("attention_query").get_weights()[0]
        (v,) = model.get_layer("attention").get_weights()
        scores = (v * np.tanh(query[:, :, None, :] + keys[:, None, :, :])).sum(-1)
    expected = softmax_over_valid(scores, SOURCE != 0)
    weights = numpy(attention_weights_model(model)([SOURCE, PREVIOUS]))
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-5)
    assert (weights[SOURCE[:, None, :].repeat(4, 1) == 0] == 0).all()


@pytest.mark.parametrize("attention", ["bahdanau", None])
def test_source_padding_changes_nothing(attention):
    """A source padded to 5 steps gives the outputs of the same source unpadded."""
    model = seq2seq(6, 6, attention=attention, rnn="lstm", units=4, bidirectional_encoder=True)
    padded = numpy(model([SOURCE[1:], PREVIOUS[1:]]))
    unpadded = numpy(model([SOURCE[1:, :2], PREVIOUS[1:]]))
    np.testing.assert_allclose(padded, unpadded, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "options",
    [
        {"attention": "luong", "bidirectional_encoder": True},
        {"attention": None, "depth": 2},
    ],
    ids=["luong_bidirectional", "plain_depth_2"],
)
def test_encoder_and_step_decoder_reproduce_teacher_forcing(options):
    model = seq2seq(6, 6, rnn="gru", units=4, **options)
    expected = numpy(model([SOURCE, PREVIOUS]))
    encoder, step = seq2seq_inference(model)
    outputs = encoder(SOURCE)
    # Through NumPy, so that no Keras mask rides along into the step decoder.
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    outputs = [keras.ops.convert_to_tensor(numpy(output)) for output in outputs]
    count = len(step.inputs) - 1 - (2 if options["attention"] else 0)
    states, constants = list(outputs[:count]), list(outputs[count:])
    if options["attention"]:
        constants.append(keras.ops.convert_to_tensor(SOURCE))
    for t in range(3):  # the steps where both rows are valid
        token = keras.ops.convert_to_tensor(PREVIOUS[:, t : t + 1])
        probabilities, *states = step([token, *states, *constants])
        np.testing.assert_allclose(numpy(probabilities), expected[:, t], rtol=0, atol=1e-5)


def test_the_model_and_its_attention_survive_a_keras_file(tmp_path):
    model = seq2seq(6, 6, attention="bahdanau", rnn="lstm", units=3)
    expected = numpy(attention_weights_model(model)([SOURCE, PREVIOUS]))
    model.save(tmp_path / "seq2seq.keras")
    restored = keras.saving.load_model(tmp_path / "seq2seq.keras")
    weights = numpy(attention_weights_model(restored)([SOURCE, PREVIOUS]))
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-6)


def test_unknown_attention_is_refused():
    with pytest.raises(ValueError, match="Received: attention='general'"):
        seq2seq(6, 6, attention="general")


def test_the_in_graph_greedy_decoder_names_the_backend_it_needs(monkeypatch, tmp_path):
    from rnnkeras.models.greedy_saved_model import export_greedy_decoder

    encoder, step = seq2seq_inference(seq2seq(6, 6, attention=None, rnn="gru", units=4))
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ValueError, match="needs the TensorFlow backend.*Received: backend='jax'"):
        export_greedy_decoder(encoder, step, tmp_path / "greedy", max_length=3, start_token=1)
    assert not (tmp_path / "greedy").exists()
