import keras
import pytest


@pytest.fixture(autouse=True)
def _seed_keras():
    keras.utils.set_random_seed(7)
