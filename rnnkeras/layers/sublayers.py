"""The one walk over a model's sublayers, shared by the monitor, export and stacking.

Containers are the layers that run other layers: a Keras model (its `layers`),
a bidirectional wrapper (ours or Keras': `forward_layer`, `backward_layer`),
`StackedRNN` (`rnn_layers`, then the `dropouts` between them) and a
`keras.layers.TimeDistributed` (its `layer`). Containers are recognised by
these attributes, so Keras' wrappers and ours take the same path and this
module needs none of the classes it walks.

A sublayer's path joins the names of its enclosing containers with `/`, from
the top level of the walked model, e.g. `"bidirectional/forward_lstm"`; the
gradient-flow monitor's records and the export's error messages name layers
by it.

Example:

>>> import keras
>>> from rnnkeras.layers import GRU, LSTM, Bidirectional
>>> both_ways = Bidirectional(LSTM(4, name="lstm"), name="both_ways")
>>> model = keras.Sequential([keras.Input((5, 3)), both_ways, keras.layers.Dense(1, name="head")])
>>> [path for path, _ in walk(model)]
['both_ways', 'both_ways/forward_lstm', 'both_ways/backward_lstm', 'head']
>>> [path for path, _ in recurrent_layers(model)]
['both_ways/forward_lstm', 'both_ways/backward_lstm']
>>> [path for path, _ in recurrent_layers(GRU(4, name="gru"))]
['gru']
"""

from collections.abc import Iterator

import keras


def is_recurrent(layer) -> bool:
    """Whether `layer` loops over time itself: a `keras.layers.RNN` (ours subclass it) or a
    layer with the gradient-flow monitor's `state_perturbation` hook."""
    return isinstance(layer, keras.layers.RNN) or hasattr(layer, "state_perturbation")


def children(layer) -> list:
    """The layers a container runs, in the order it runs them; `[]` for any other layer.

    Args:
        layer: Any Keras layer or model.

    Returns:
        A model's `layers`; a bidirectional wrapper's forward then backward
        layer; a `StackedRNN`'s recurrent layers, bottom first, then its
        dropouts; a `TimeDistributed`'s wrapped layer.
    """
    if isinstance(layer, keras.Model):
        return list(layer.layers)
    if hasattr(layer, "forward_layer") and hasattr(layer, "backward_layer"):
        return [layer.forward_layer, layer.backward_layer]
    if hasattr(layer, "rnn_layers"):
        return [*layer.rnn_layers, *getattr(layer, "dropouts", [])]
    if isinstance(layer, keras.layers.TimeDistributed):
        return [layer.layer]
    return []


def walk(layer, prefix: str = "") -> Iterator[tuple[str, keras.layers.Layer]]:
    """Yields `(path, sublayer)` for every layer inside `layer`, each container before its
    contents, depth first in running order.

    Args:
        layer: The container to walk (a model, a wrapper, a stack); a plain
            layer has nothing inside and yields nothing.
        prefix: Prepended to every path (the path of `layer` itself plus `/`
            when it sits inside a walked model).
    """
    for child in children(layer):
        path = f"{prefix}{child.name}"
        yield path, child
        yield from walk(child, prefix=f"{path}/")


def recurrent_layers(layer) -> list[tuple[str, keras.layers.Layer]]:
    """`(path, layer)` of every layer that loops over time in `layer`, in running order.

    Args:
        layer: A model, a container, or a recurrent layer (then the result is
            that layer alone, under its own name).

    Returns:
        The recurrent layers; a recurrent layer's own insides (its cell) are
        not walked.
    """
    if is_recurrent(layer):
        return [(layer.name, layer)]
    return [(path, sublayer) for path, sublayer in walk(layer) if is_recurrent(sublayer)]
