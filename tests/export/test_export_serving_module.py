"""`serving_module`, the one SavedModel builder: no cuDNN kernel in the graph, even with a GPU visible.

A GPU is simulated by telling both our dispatch (`rnnkeras.layers.kernel_dispatch.gpu_available`)
and the Keras TensorFlow backend (`_is_gpu_available`) that one is there: tracing
then records real `CudnnRNN*` ops on this CPU machine, as it would on a GPU.
"""

import importlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from rnnkeras import layers as rl
from rnnkeras.export.saved_model import SIGNATURE, save_serving_module, serving_module
from rnnkeras.layers import kernel_dispatch

# The module, not the `rnn` function that `keras.src.backend.tensorflow` re-exports under its name.
keras_tf_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")


@pytest.fixture
def visible_gpu(monkeypatch):
    monkeypatch.setattr(kernel_dispatch, "gpu_available", lambda: True)
    monkeypatch.setattr(keras_tf_rnn, "_is_gpu_available", lambda: True)


def _model() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, 3), name="frames")
    hidden = rl.Bidirectional(rl.LSTM(4, return_sequences=True))(inputs)
    hidden = rl.GRU(4, return_sequences=True)(hidden)
    hidden = keras.layers.LSTM(4, return_sequences=True)(hidden)
    hidden = keras.layers.GRU(4)(hidden)
    return keras.Model(inputs, keras.layers.Dense(2)(hidden))


def _operations(graph_def) -> set[str]:
    nodes = list(graph_def.node)
    for function in graph_def.library.function:
        nodes.extend(function.node_def)
    return {node.op for node in nodes}


def _saved_operations(directory) -> set[str]:
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((directory / "saved_model.pb").read_bytes())
    return set().union(*(_operations(graph.graph_def) for graph in saved.meta_graphs))


def _cudnn(operations: set[str]) -> list[str]:
    return sorted(name for name in operations if name.startswith("Cudnn"))


def test_simulated_gpu_records_cudnn_kernels_outside_the_builder(visible_gpu):
    """The simulation is real: a plain trace of the same model picks cuDNN for all four layers' kind."""
    model = _model()
    graph = tf.function(model).get_concrete_function(tf.TensorSpec((None, 5, 3))).graph
    assert _cudnn(_operations(graph.as_graph_def()))


def test_saved_graph_has_no_cudnn_kernel_with_a_gpu_visible(visible_gpu, tmp_path):
    model = _model()
    module, forms = serving_module(model)
    save_serving_module(module, tmp_path)
    assert _cudnn(_saved_operations(tmp_path)) == []
    assert {form.form for form in forms.values()} == {"while"}
    assert all(
        layer.use_cudnn is not False for layer in model.layers if hasattr(layer, "use_cudnn")
    )


def test_module_saved_without_signatures_serves_like_keras(tmp_path):
    """`tf.saved_model.save(module, path)`, as MLflow calls it, exports `serving_default`."""
    model = _model()
    module, _ = serving_module(model)
    tf.saved_model.save(module, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    x = np.random.default_rng(1).normal(size=(3, 6, 3)).astype("float32")
    expected = model.predict(x, verbose=0)
    served = loaded.signatures[SIGNATURE](frames=tf.constant(x))["output_0"].numpy()
    np.testing.assert_allclose(served, expected, atol=1e-5)
    np.testing.assert_allclose(loaded(tf.constant(x)).numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(module(tf.constant(x)).numpy(), expected, atol=1e-5)
