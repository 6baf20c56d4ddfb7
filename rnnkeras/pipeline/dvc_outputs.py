"""Which paths a DVC pipeline owns, so that ad-hoc exports never write into them.

A file written by hand into a stage's output (`export/` of this project's
`dvc.yaml`) makes DVC report the stage as modified, and `dvc checkout`
then refuses to restore the last good outputs. `rnnkeras export-model`
therefore checks its destination against the `outs`, `metrics` and
`plots` of every stage in the `dvc.yaml` of the project it writes into.

Example:

>>> import pathlib, tempfile
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "dvc.yaml").write_text("stages:\\n  export:\\n    cmd: x\\n    outs:\\n      - export\\n")
>>> [path.name for path in pipeline_outputs(root / "export" / "model.tflite")]
['export']
>>> overlapping_outputs([root / "export" / "model.tflite"])
['export']
>>> overlapping_outputs([root / "exports" / "model.tflite"])
[]
"""

from collections.abc import Iterable
from pathlib import Path

import yaml

PIPELINE_FILE = "dvc.yaml"
_OUTPUT_KEYS = ("outs", "metrics", "plots")


def _project_root(path: Path) -> Path | None:
    for folder in [path, *path.parents]:
        if (folder / PIPELINE_FILE).is_file():
            return folder
    return None


def pipeline_outputs(path: str | Path) -> list[Path]:
    """The outputs of the DVC pipeline whose `dvc.yaml` is nearest above `path`.

    Args:
        path: A path that may lie inside a DVC project (it need not exist).

    Returns:
        Absolute paths of every stage's `outs`, `metrics` and `plots`;
        empty when no `dvc.yaml` is found above `path`.
    """
    root = _project_root(Path(path).absolute())
    if root is None:
        return []
    stages = (yaml.safe_load((root / PIPELINE_FILE).read_text()) or {}).get("stages") or {}
    outputs = []
    for stage in stages.values():
        folder = root / stage.get("wdir", ".")
        for key in _OUTPUT_KEYS:
            for entry in stage.get(key) or []:
                # An entry is a path, or {path: options}.
                names = entry if isinstance(entry, dict) else [entry]
                outputs.extend((folder / name).resolve() for name in names)
    return outputs


def overlapping_outputs(paths: Iterable[str | Path]) -> list[str]:
    """The pipeline outputs that writing `paths` would change, relative to their project.

    A written path overlaps an output when it is the output, lies inside it,
    or contains it.

    Args:
        paths: Files or folders about to be written.
    """
    overlapping: set[str] = set()
    for path in paths:
        target = Path(path).resolve()
        root = _project_root(Path(path).absolute())
        for output in pipeline_outputs(path):
            if output == target or output in target.parents or target in output.parents:
                overlapping.add(str(output.relative_to(root.resolve())))
    return sorted(overlapping)
