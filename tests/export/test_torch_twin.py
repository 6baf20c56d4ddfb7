"""`bench/torch_twin.py`, the PyTorch model `bench/export.py` times, computes what the Keras model does."""

import numpy as np
import pytest
import torch

from tests import bench_scripts
from tests.export import export_models
from tests.layers import harness


@pytest.mark.parametrize("name", list(export_models.cores()))
def test_torch_twin_computes_the_same_model(name):
    model = export_models.classifier(export_models.cores()[name]())
    x = harness.inputs(np.random.default_rng(0), 4, export_models.TIMESTEPS, export_models.FEATURES)
    with torch.no_grad():
        twin = bench_scripts.load("torch_twin").build_twin(model)(torch.from_numpy(x)).numpy()
    assert np.abs(twin - model.predict(x, verbose=0)).max() <= 1e-5
