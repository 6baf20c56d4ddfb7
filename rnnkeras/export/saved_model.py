"""`export_saved_model`: a SavedModel for TensorFlow Serving on CPU or GPU."""

import dataclasses
from pathlib import Path

import keras
import tensorflow as tf

from rnnkeras.atomic_files import atomic_path
from rnnkeras.export.forms import LayerForm, traced_forms
from rnnkeras.export.precision import float32_model
from rnnkeras.export.support import check_exportable, input_names
from rnnkeras.export.tensorflow_process import runs_on_tensorflow

SIGNATURE = "serving_default"


@dataclasses.dataclass
class SavedModelExport:
    """A written SavedModel.

    Attributes:
        path: The version folder holding `saved_model.pb`.
        version: Its version number (the folder name).
        inputs: Signature input names, in model input order.
        forms: What each recurrent layer became (its own loop).
    """

    path: Path
    version: int
    inputs: list[str]
    forms: dict[str, LayerForm]


def serving_module(
    model: keras.Model,
    specs: list[tf.TensorSpec] | None = None,
    fuse_lstm: str = "never",
    loops: str = "own",
    right_padded: bool = False,
    float_file: bool = True,
) -> tuple[tf.Module, dict[str, LayerForm]]:
    """The model's forward pass traced into a `tf.Module`: every SavedModel of rnnkeras comes from here.

    The module's `__call__(*inputs)` is `model(inputs, training=False)`
    traced once at `specs`, returning what the model returns (one tensor, or
    a list). It is the module's only function with an input signature, so
    `tf.saved_model.save(module, path)` (as `mlflow.tensorflow.log_model`
    calls it) exports it as `serving_default` with outputs `output_0`,
    `output_1`... The module holds the variables and the traced graph only,
    not the Keras model: loading it needs TensorFlow alone.

    While tracing, each recurrent layer is routed to its export form
    (`rnnkeras.export.forms.traced_forms`) with its cuDNN path off, so a GPU
    machine never records a kernel that a CPU server or TFLite cannot run. A
    mixed-precision model is traced as its float32 twin
    (`rnnkeras.export.precision.float32_model`).

    Args:
        model: A built Keras model.
        specs: One `tf.TensorSpec` per model input; by default the model's
            input shapes with an open batch axis, named after its `Input` layers.
        fuse_lstm: `"never"` (serving), `"when_possible"` or `"always"`
            (TFLite), as in `traced_forms`.
        loops: Form of the layers not fused, as in `traced_forms`.
        right_padded: Masked inputs are right-padded, so masked LSTMs can fuse.
        float_file: The TFLite file keeps float32 weights, as in `traced_forms`.

    Returns:
        `(module, forms)`: the traced module and what each recurrent layer became.

    Example:

    >>> import keras, tempfile, tensorflow as tf
    >>> from rnnkeras.layers import LSTM
    >>> model = keras.Sequential([keras.Input((None, 3), name="x"), LSTM(4, name="lstm")])
    >>> module, forms = serving_module(model)
    >>> folder = tempfile.mkdtemp()
    >>> tf.saved_model.save(module, folder)
    >>> serve = tf.saved_model.load(folder).signatures["serving_default"]
    >>> serve(x=tf.zeros((2, 7, 3)))["output_0"].shape, forms["lstm"].form
    (TensorShape([2, 4]), 'while')
    """
    model = float32_model(model)
    if specs is None:
        specs = [
            tf.TensorSpec((None, *tensor.shape[1:]), tf.as_dtype(tensor.dtype), name=name)
            for tensor, name in zip(model.inputs, input_names(model), strict=True)
        ]

    forms: dict[str, LayerForm] = {}

    class ServingModule(tf.Module):
        # __call__ on the class, so the module in memory is callable as the
        # loaded one is (MLflow's pyfunc calls either).
        @tf.function(input_signature=specs)
        def __call__(self, *inputs):
            # The routing lives inside the traced body: tf.saved_model.save
            # traces __call__ again on its own, and that trace must not find
            # the cuDNN path either.
            with traced_forms(model, fuse_lstm, loops, right_padded, float_file) as routed:
                outputs = model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)
            forms.update(routed)
            return outputs

    module = ServingModule(name="rnnkeras_serving")
    module.model_variables = [variable.value for variable in model.variables]
    module.__call__.get_concrete_function()
    return module, dict(forms)


def save_serving_module(module: tf.Module, directory: str | Path) -> None:
    """Saves a `serving_module` to `directory` with its `serving_default` signature."""
    signature = module.__call__.get_concrete_function()
    tf.saved_model.save(module, str(directory), signatures={SIGNATURE: signature})


def next_version(path: str | Path) -> int:
    """The next TensorFlow Serving version number under `path` (1 when there is none)."""
    folder = Path(path)
    if not folder.is_dir():
        return 1
    versions = [int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


@runs_on_tensorflow
def export_saved_model(
    model: keras.Model, path: str | Path, version: int | None = None, overwrite: bool = False
) -> SavedModelExport:
    """Writes `model` as a SavedModel in the TensorFlow Serving layout `path/<version>/`.

    The `serving_default` signature takes one tensor per model input (named
    after the `Input` layers) with open batch and time axes, and returns
    `output_0` (`output_1`... for more outputs). Loading it needs
    TensorFlow only — `tf.saved_model.load` works without rnnkeras or Keras —
    and it serves on CPU or GPU: the layers are traced with their own loops,
    never with a cuDNN kernel that a CPU server could not run. The SavedModel
    is written next to its destination and moved into place only when complete
    (replacing the old folder of that version only then, with `overwrite`).

    Args:
        model: A built model whose layers pass `check_exportable`.
        path: The model folder (TensorFlow Serving's `model_base_path`).
        version: Version number; by default one more than the highest present.
        overwrite: Replace an existing folder of that version (a rebuilt
            pipeline output). Off by default: a served version should not
            change under its number.

    Returns:
        A `SavedModelExport`.

    Example:

    >>> import keras, tempfile, numpy as np, tensorflow as tf
    >>> from rnnkeras.layers import GRU
    >>> model = keras.Sequential([keras.Input((None, 3), name="x"), GRU(4)])
    >>> export = export_saved_model(model, tempfile.mkdtemp())
    >>> serve = tf.saved_model.load(str(export.path)).signatures["serving_default"]
    >>> serve(x=tf.zeros((2, 7, 3)))["output_0"].shape
    TensorShape([2, 4])
    """
    check_exportable(model)
    if version is None:
        version = next_version(path)
    if not isinstance(version, int) or version < 1:
        raise ValueError(
            f"export_saved_model expects version to be a positive integer. Received: version={version!r}"
        )
    target = Path(path) / str(version)
    if target.exists() and not overwrite:
        raise ValueError(
            f"export_saved_model will not overwrite version {version} at {target}: a served "
            f"version should not change. Pass another version, or overwrite=True. "
            f"Received: version={version}"
        )
    module, forms = serving_module(model)
    with atomic_path(target) as staging:
        save_serving_module(module, staging)
    return SavedModelExport(path=target, version=version, inputs=input_names(model), forms=forms)
