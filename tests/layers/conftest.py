import keras
import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(20240607)


@pytest.fixture(autouse=True)
def _seed_keras():
    keras.utils.set_random_seed(7)
