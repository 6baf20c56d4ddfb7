import keras
import pytest


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    # Layer names (used as record names) come from per-session counters.
    keras.backend.clear_session()
    keras.utils.set_random_seed(7)
