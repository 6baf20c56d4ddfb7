"""SavedModel export: TF Serving layout, open batch and time axes, serves without rnnkeras."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from rnnkeras.export import export_saved_model
from tests.export import export_models
from tests.layers import harness


@pytest.fixture(scope="module")
def model():
    return export_models.classifier(export_models.cores()["stacked_residual"](), masked=True)


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    return export_saved_model(model, tmp_path_factory.mktemp("serving") / "rnn")


def test_serving_layout_and_versions(model, exported):
    assert exported.version == 1 and exported.path.name == "1"
    assert (exported.path / "saved_model.pb").is_file()
    assert (exported.path / "variables").is_dir()
    second = export_saved_model(model, exported.path.parent)
    assert second.version == 2
    with pytest.raises(ValueError, match="will not overwrite version 1"):
        export_saved_model(model, exported.path.parent, version=1)
    assert sorted(p.name for p in exported.path.parent.iterdir()) == ["1", "2"]
    marker = second.path / "marker"
    marker.write_text("old")
    replaced = export_saved_model(model, exported.path.parent, version=2, overwrite=True)
    assert (replaced.path / "saved_model.pb").is_file() and not marker.exists()


def test_fresh_process_serves_without_rnnkeras(model, exported, tmp_path):
    """Loads with TensorFlow alone at two batch sizes and two lengths; matches Keras to 1e-5."""
    long = export_models.padded_inputs(5)
    rng = np.random.default_rng(7)
    short = harness.inputs(rng, 2, 3, export_models.FEATURES)
    np.save(tmp_path / "long.npy", long)
    np.save(tmp_path / "short.npy", short)
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["rnnkeras"] = None  # any import of rnnkeras now fails
        import numpy as np
        import tensorflow as tf
        serve = tf.saved_model.load({str(exported.path)!r}).signatures["serving_default"]
        for name in ("long", "short"):
            x = np.load({str(tmp_path)!r} + f"/{{name}}.npy")
            np.save({str(tmp_path)!r} + f"/{{name}}_out.npy", serve(frames=tf.constant(x))["output_0"].numpy())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for name, x in (("long", long), ("short", short)):
        served = np.load(tmp_path / f"{name}_out.npy")
        assert np.abs(served - model.predict(x, verbose=0)).max() <= 1e-5


def test_failure_writes_nothing(tmp_path):
    inputs = keras.Input((None, export_models.FEATURES))
    model = keras.Model(inputs, keras.layers.Conv1D(2, 2)(inputs))
    with pytest.raises(ValueError, match="Conv1D"):
        export_saved_model(model, tmp_path / "serving")
    assert not (tmp_path / "serving").exists()
