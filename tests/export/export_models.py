"""Small models and padded inputs shared by the export tests."""

import keras
import numpy as np

from rnnkeras import layers as rl
from tests.layers import harness

TIMESTEPS, FEATURES, CLASSES = 8, 3, 2


def padded_inputs(count: int = 12, seed: int = 0) -> np.ndarray:
    """Normal inputs `(count, TIMESTEPS, FEATURES)`, right-padded with zeros to lengths 1..TIMESTEPS.

    The lengths cycle through every value, so every test sees a full row, a
    one-step row and everything between.
    """
    rng = np.random.default_rng(seed)
    x = harness.inputs(rng, count, TIMESTEPS, FEATURES)
    for row, length in enumerate(np.arange(count) % TIMESTEPS + 1):
        x[row, length:] = 0.0
    return x


def recurrent(kind: str, units: int = 5, **kwargs) -> keras.layers.Layer:
    """One of ours by name: `simple`, `lstm`, `gru`."""
    return {"simple": rl.SimpleRNN, "lstm": rl.LSTM, "gru": rl.GRU}[kind](units, **kwargs)


def classifier(
    core: keras.layers.Layer, masked: bool = False, open_time: bool = True
) -> keras.Model:
    """`Input -> [Masking] -> core -> Dense(softmax)`, with random (seeded) weights."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None if open_time else TIMESTEPS, FEATURES), name="frames")
    hidden = keras.layers.Masking(0.0)(inputs) if masked else inputs
    hidden = core(hidden)
    outputs = keras.layers.Dense(CLASSES, activation="softmax", name="head")(hidden)
    return keras.Model(inputs, outputs)


def cores() -> dict:
    """Every layer type we ship: name -> factory of a fresh recurrent core."""
    return {
        "simple": lambda: recurrent("simple", name="simple"),
        "lstm": lambda: recurrent("lstm", name="lstm"),
        "gru": lambda: recurrent("gru", name="gru"),
        "bidirectional_lstm": lambda: rl.Bidirectional(recurrent("lstm"), name="bi"),
        "stacked_residual": lambda: rl.StackedRNN(
            [
                rl.Bidirectional(recurrent("gru", units=3, return_sequences=True)),
                recurrent("lstm", units=6, return_sequences=True),
                recurrent("simple", units=6),
            ],
            residual=True,
            name="stack",
        ),
    }
