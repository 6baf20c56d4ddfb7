"""The deployable split of a `seq2seq` model: encoder as a SavedModel, step decoder as TFLite.

Both are written by `rnnkeras.export` and checked against Keras: the encoder's
states, and a whole greedy decode whose every step runs in the builtins-only
TFLite file (the search itself in `rnnkeras.models.decoding`).
"""

import keras
import numpy as np
import pytest

from rnnkeras.models import seq2seq
from rnnkeras.models.decoding import greedy_decode, keras_step
from rnnkeras.models.greedy_saved_model import export_greedy_decoder
from rnnkeras.models.inference import seq2seq_inference

# Two exports, one a TFLite conversion: tens of seconds, as the export pages' tests.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        keras.backend.backend() != "tensorflow",
        reason="SavedModel and TFLite files are TensorFlow graphs; exports of JAX or PyTorch "
        "models run through a TensorFlow process (tests/export/test_export_from_backends.py)",
    ),
]
SOURCE = np.array([[3, 4, 5, 2, 0], [5, 1, 0, 0, 0]], "int32")


@pytest.mark.parametrize("attention", [None, "luong"])
def test_encoder_saved_model_and_step_tflite_decode_as_keras_does(attention, tmp_path):
    import tensorflow as tf

    from rnnkeras.export import TFLiteModel, export_saved_model, export_tflite

    keras.utils.set_random_seed(0)
    encoder, step = seq2seq_inference(seq2seq(6, 6, attention=attention, rnn="lstm", units=4))
    saved = export_saved_model(encoder, tmp_path / "encoder")
    serve = tf.saved_model.load(str(saved.path)).signatures["serving_default"]
    exported_states = serve(source_tokens=tf.constant(SOURCE))
    states = [keras.ops.convert_to_numpy(state) for state in encoder(SOURCE)]
    for index, state in enumerate(states):
        np.testing.assert_allclose(
            exported_states[f"output_{index}"].numpy(), state, rtol=0, atol=1e-5
        )

    if attention is not None:
        # With attention the states also carry the encoder outputs and the source (its
        # mask), both `SOURCE`-long; the step returns only the decoder's own states.
        states = [*states, SOURCE]
    lengths = [
        SOURCE.shape[1] if len(t.shape) > 1 and t.shape[1] is None else None for t in step.inputs
    ]
    written = export_tflite(step, tmp_path / "step.tflite", sequence_length=lengths)
    runtime = TFLiteModel(written.path, input_names=written.inputs)

    def tflite_step(tokens, step_states):
        probabilities, *new_states = runtime.predict(
            [np.asarray(tokens, "int32")[:, None], *step_states]
        )
        return np.log(probabilities), [*new_states, *step_states[len(new_states) :]]

    start = np.array([1, 1], "int32")
    expected = greedy_decode(keras_step(step), start, states, max_length=4, end_token=2)
    decoded = greedy_decode(tflite_step, start, states, max_length=4, end_token=2)
    np.testing.assert_array_equal(decoded.tokens, expected.tokens)
    np.testing.assert_allclose(decoded.scores, expected.scores, rtol=0, atol=1e-4)


def test_greedy_saved_model_decodes_in_one_call_as_python_does(tmp_path):
    """The whole greedy loop inside the SavedModel (attention included) = `greedy_decode`."""
    import tensorflow as tf

    model = seq2seq(6, 6, attention="bahdanau", rnn="gru", units=4)
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    encoder, step = seq2seq_inference(model)
    folder = export_greedy_decoder(
        encoder, step, tmp_path / "greedy", max_length=5, start_token=1, end_token=2
    )
    serve = tf.saved_model.load(str(folder)).signatures["serving_default"]
    served = serve(source_tokens=tf.constant(SOURCE))
    expected = greedy_decode(
        keras_step(step), np.array([1, 1]), [*encoder(SOURCE), SOURCE], max_length=5, end_token=2
    )
    assert len(set(expected.tokens.ravel())) > 1, "weights that decode more than one token"
    np.testing.assert_array_equal(served["tokens"].numpy(), expected.tokens)
    np.testing.assert_array_equal(served["lengths"].numpy(), expected.lengths)
    np.testing.assert_allclose(served["scores"].numpy(), expected.scores, rtol=0, atol=1e-4)
