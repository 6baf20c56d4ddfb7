"""Batch-1 latency of the same model in Keras, a SavedModel and TFLite.

Every figure is the median wall time of single calls after a warm-up, in
milliseconds, on one input of the export's shape. TFLite runs on one thread
(`rnnkeras.export.runtime`), and TensorFlow (Keras, SavedModel) uses its default thread pools,
which it cannot change once started.

Example:

>>> import keras, numpy as np
>>> from rnnkeras.layers import SimpleRNN
>>> model = keras.Sequential([keras.Input((5, 2)), SimpleRNN(3)])
>>> sample = np.zeros((1, 5, 2), "float32")
>>> keras_latency_ms(model, [sample], runs=5)["eager"] > 0
True
"""

import time
from collections.abc import Callable

import numpy as np


def median_ms(call: Callable[[], object], runs: int, warmup: int = 5) -> float:
    """Median wall time of `call()` over `runs` calls after `warmup` calls, in ms."""
    for _ in range(warmup):
        call()
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        timings.append(time.perf_counter() - start)
    return float(np.median(timings) * 1000)


EAGER_RUNS = 5
"""Timed eager calls at most: an eager recurrent model dispatches every op of every step from
Python, hundreds of times slower than the traced one (1.2 s against 3.6 ms for a 100-step
LSTM 128 language model on 2 cores), so 100 timed calls made the export report take minutes;
the median of 5 is as telling."""


def keras_latency_ms(model, sample: list[np.ndarray], runs: int = 100) -> dict[str, float]:
    """`{"eager": ms, "graph": ms}`: `model(x)` eagerly (`min(runs, EAGER_RUNS)` timed calls
    after one warm-up) and inside a `tf.function` (`runs` calls)."""
    import tensorflow as tf

    inputs = [tf.constant(array) for array in sample]
    argument = inputs if len(inputs) > 1 else inputs[0]
    graph = tf.function(lambda x: model(x, training=False))
    return {
        "eager": median_ms(
            lambda: model(argument, training=False), min(runs, EAGER_RUNS), warmup=1
        ),
        "graph": median_ms(lambda: graph(argument), runs),
    }


def saved_model_latency_ms(
    signature, names: list[str], sample: list[np.ndarray], runs: int = 100
) -> float:
    """A loaded SavedModel signature called with `sample` (one array per input name)."""
    import tensorflow as tf

    feed = {name: tf.constant(array) for name, array in zip(names, sample, strict=True)}
    return median_ms(lambda: signature(**feed), runs)
