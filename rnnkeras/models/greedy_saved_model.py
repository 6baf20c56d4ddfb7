"""A SavedModel that decodes: encoder, greedy loop and one-step decoder in one TensorFlow graph.

`rnnkeras.models.decoding` runs its search in Python, one model call per
token. A server that should answer a source with a decoded sequence needs the
loop inside the graph: `export_greedy_decoder` traces the encoder once and the
one-step decoder inside a `tf.while_loop`, with the recurrent layers routed
to their export forms by `rnnkeras.export.forms.traced_forms` (no cuDNN
kernel), and saves the result with `rnnkeras.export`'s SavedModel writer.
TensorFlow is imported inside the function, so `rnnkeras.models` does not
import it.
"""

from pathlib import Path

import keras


def export_greedy_decoder(
    encoder: keras.Model,
    step: keras.Model,
    path: str | Path,
    max_length: int,
    start_token: int,
    end_token: int | None = None,
    pad_token: int = 0,
) -> Path:
    """Writes a SavedModel whose `serving_default` greedily decodes a batch of sources.

    The signature takes `source_tokens` (int32 `(batch, steps)`, `0` padding)
    and returns `tokens` `(batch, max_length)` (padded with `pad_token` after
    the end token), `scores` (summed log-probabilities, as
    `rnnkeras.models.decoding.greedy_decode` reports them) and `lengths`
    (end token included). The models follow the convention of
    `rnnkeras.models.inference.seq2seq_inference`: `step` takes
    `[token, *states]` where `states` are the encoder's outputs, followed by
    the source tokens when `step` has one more input, and returns
    `[probabilities, *new_states]` replacing the leading states. The loop
    always runs `max_length` steps (a fixed-shape graph); rows that ended
    only emit `pad_token`.

    Args:
        encoder: Source tokens to the decoder's initial states (then constants).
        step: The one-step decoder.
        path: The SavedModel folder to write (replaced when complete).
        max_length: Tokens to emit.
        start_token: Token fed at the first step.
        end_token: A row stops after emitting it. Default: `None`.
        pad_token: Fills the positions after a row's end. Default: `0`.

    Returns:
        The folder written.

    Raises:
        ValueError: If `max_length` is not a positive integer, or Keras runs on
            another backend than TensorFlow (the loop is traced as a TensorFlow
            graph from the models' calls).

    Example:

    >>> import tempfile, numpy as np, tensorflow as tf
    >>> from rnnkeras.models import seq2seq
    >>> from rnnkeras.models.inference import seq2seq_inference
    >>> encoder, step = seq2seq_inference(seq2seq(6, 6, attention=None, rnn="gru", units=4))
    >>> folder = export_greedy_decoder(encoder, step, tempfile.mkdtemp(), max_length=4, start_token=1)
    >>> serve = tf.saved_model.load(str(folder)).signatures["serving_default"]
    >>> serve(source_tokens=tf.constant([[3, 4, 5, 0]]))["tokens"].shape
    TensorShape([1, 4])
    """
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "export_greedy_decoder traces the models into a TensorFlow graph, so it needs the "
            "TensorFlow backend: save the models (`.keras`), load them in a process started "
            "with KERAS_BACKEND=tensorflow and call it there. "
            f"Received: backend={keras.backend.backend()!r}"
        )
    import tensorflow as tf

    from rnnkeras.atomic_files import atomic_path
    from rnnkeras.export.forms import traced_forms

    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
        raise ValueError(
            "export_greedy_decoder expects `max_length` to be a positive integer. "
            f"Received: max_length={max_length!r}"
        )
    returned = len(step.outputs) - 1
    spec = tf.TensorSpec((None, None), tf.int32, name="source_tokens")

    class GreedyDecoder(tf.Module):
        @tf.function(input_signature=[spec])
        def __call__(self, source):
            with traced_forms(encoder, "never"), traced_forms(step, "never"):
                outputs = encoder(source, training=False)
                carried = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
                # New tensors, without the source's Keras mask (the step decoder takes
                # the source tokens for that, and would warn about the mask).
                carried = [tf.identity(tensor) for tensor in carried]
                if len(step.inputs) > 1 + len(carried):
                    carried.append(source)
                states, constants = carried[:returned], carried[returned:]
                batch = tf.shape(source)[0]

                def body(t, previous, done, tokens, scores, lengths, *states):
                    probabilities, *new_states = step(
                        [previous[:, None], *states, *constants], training=False
                    )
                    log_probabilities = tf.math.log(tf.maximum(probabilities, 1e-38))
                    chosen = tf.argmax(log_probabilities, axis=-1, output_type=tf.int32)
                    picked = tf.gather(log_probabilities, chosen, batch_dims=1)
                    tokens = tokens.write(t, tf.where(done, pad_token, chosen))
                    scores += tf.where(done, 0.0, picked)
                    lengths += tf.cast(~done, tf.int32)
                    if end_token is not None:
                        done = done | tf.equal(chosen, end_token)
                    return (t + 1, chosen, done, tokens, scores, lengths, *new_states)

                start = (
                    tf.constant(0),
                    tf.fill([batch], tf.constant(start_token, tf.int32)),
                    tf.zeros([batch], tf.bool),
                    tf.TensorArray(tf.int32, size=max_length),
                    tf.zeros([batch], tf.float32),
                    tf.zeros([batch], tf.int32),
                    *states,
                )
                _, _, _, tokens, scores, lengths, *_ = tf.while_loop(
                    lambda t, *_: t < max_length, body, start
                )
            return {"tokens": tf.transpose(tokens.stack()), "scores": scores, "lengths": lengths}

    module = GreedyDecoder(name="rnnkeras_greedy_decoder")
    module.model_variables = [v.value for v in [*encoder.variables, *step.variables]]
    signature = module.__call__.get_concrete_function()
    with atomic_path(path) as staging:
        tf.saved_model.save(module, str(staging), signatures={"serving_default": signature})
    return Path(path)
