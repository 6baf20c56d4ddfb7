"""`bench/torch_twin.py`, the PyTorch model `bench/export.py` times, computes what the Keras model does."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.export import export_models
from tests.layers import harness

TWIN = Path(__file__).resolve().parents[2] / "bench" / "torch_twin.py"


def load_twin_module():
    spec = importlib.util.spec_from_file_location("torch_twin", TWIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", list(export_models.cores()))
def test_torch_twin_computes_the_same_model(name):
    model = export_models.classifier(export_models.cores()[name]())
    x = harness.inputs(np.random.default_rng(0), 4, export_models.TIMESTEPS, export_models.FEATURES)
    with torch.no_grad():
        twin = load_twin_module().build_twin(model)(torch.from_numpy(x)).numpy()
    assert np.abs(twin - model.predict(x, verbose=0)).max() <= 1e-5
