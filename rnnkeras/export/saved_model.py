"""``export_saved_model``: a SavedModel for TensorFlow Serving on CPU or GPU."""

import dataclasses
from pathlib import Path

import keras
import tensorflow as tf

from rnnkeras.data.atomic import atomic_path
from rnnkeras.export.forms import LayerForm, traced_forms
from rnnkeras.export.support import check_exportable, input_names

SIGNATURE = "serving_default"


@dataclasses.dataclass
class SavedModelExport:
    """A written SavedModel.

    Attributes:
        path: The version folder holding ``saved_model.pb``.
        version: Its version number (the folder name).
        inputs: Signature input names, in model input order.
        forms: What each recurrent layer became (its own loop).
    """

    path: Path
    version: int
    inputs: list[str]
    forms: dict[str, LayerForm]


def save_traced(model: keras.Model, specs: list[tf.TensorSpec], directory: str | Path) -> None:
    """Traces ``model(inputs, training=False)`` at ``specs`` into a SavedModel in ``directory``.

    The signature ``serving_default`` returns ``output_0``, ``output_1``... The
    SavedModel holds the model's variables and the traced graph only, not the
    Keras model object: saving that would also trace Keras' default signature
    at the model's own (open) input shape, outside the export's control.
    """

    def serve(*inputs):
        outputs = model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)
        return {
            f"output_{index}": output for index, output in enumerate(keras.tree.flatten(outputs))
        }

    module = tf.Module()
    module.model_variables = [variable.value for variable in model.variables]
    module.serve = tf.function(serve, input_signature=specs)
    signature = module.serve.get_concrete_function()
    tf.saved_model.save(module, str(directory), signatures={SIGNATURE: signature})


def next_version(path: str | Path) -> int:
    """The next TensorFlow Serving version number under ``path`` (1 when there is none)."""
    folder = Path(path)
    if not folder.is_dir():
        return 1
    versions = [int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def export_saved_model(
    model: keras.Model, path: str | Path, version: int | None = None, overwrite: bool = False
) -> SavedModelExport:
    """Writes ``model`` as a SavedModel in the TensorFlow Serving layout ``path/<version>/``.

    The ``serving_default`` signature takes one tensor per model input (named
    after the ``Input`` layers) with open batch and time axes, and returns
    ``output_0`` (``output_1``... for more outputs). Loading it needs
    TensorFlow only — ``tf.saved_model.load`` works without rnnkeras or Keras —
    and it serves on CPU or GPU: the layers are traced with their own loops,
    never with a cuDNN kernel that a CPU server could not run. The SavedModel
    is written next to its destination and moved into place only when complete
    (replacing the old folder of that version only then, with ``overwrite``).

    Args:
        model: A built model whose layers pass ``check_exportable``.
        path: The model folder (TensorFlow Serving's ``model_base_path``).
        version: Version number; by default one more than the highest present.
        overwrite: Replace an existing folder of that version (a rebuilt
            pipeline output). Off by default: a served version should not
            change under its number.

    Returns:
        A ``SavedModelExport``.

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
    names = input_names(model)
    specs = [
        tf.TensorSpec((None, *tensor.shape[1:]), tf.as_dtype(tensor.dtype), name=name)
        for tensor, name in zip(model.inputs, names, strict=True)
    ]

    with atomic_path(target) as staging, traced_forms(model, fuse_lstm="never") as forms:
        save_traced(model, specs, staging)
    return SavedModelExport(path=target, version=version, inputs=names, forms=dict(forms))
