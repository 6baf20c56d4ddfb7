"""A stage's outputs are written aside and moved into place together, only if the stage succeeds.

A stage that fails — bad data, an exception, a kill — then leaves the last good outputs as
they were. Under DVC, which deletes a stage's outputs before running it, the workspace holds
no half-new output either, so a plain `dvc checkout` restores the last good ones from the
cache (it refuses to overwrite files it has not cached).
"""

import contextlib
import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from rnnkeras.atomic_files import remove_path, replace_path
from rnnkeras.pipeline.stages import paths

STAGING = ".rnnkeras-stage"
# Names of the temporary files of `staged_outputs` and `rnnkeras.atomic_files.atomic_path`
# (`.<name>.<8 hex digits>.tmp<suffix>`, `.<name>.<8 hex digits>.old`).
LEFTOVER = re.compile(r"^\..+\.[0-9a-f]{8}\.(tmp.*|old)$")


@contextlib.contextmanager
def staged_outputs(root: str | Path, outputs: Iterable[str | Path]) -> Iterator[dict[Path, Path]]:
    """Yields where to write each output; moves them all into place when the block succeeds.

    Each output gets a path with the same name and relative layout in a staging folder of
    `root` (same file system, so the final moves are renames), so files logged from there
    to MLflow keep their real names. An output the block did not write is left alone.

    Args:
        root: the project folder.
        outputs: files or folders relative to `root`, e.g. `paths.MODEL`.

    Example:

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> with staged_outputs(root, ["metrics/a.json"]) as out:
    ...     _ = out[Path("metrics/a.json")].write_text("{}")
    >>> (root / "metrics/a.json").read_text(), [p.name for p in root.iterdir()]
    ('{}', ['metrics'])
    """
    root = Path(root)
    staging = root / f"{STAGING}.{uuid.uuid4().hex[:8]}.tmp"
    places = {Path(path): staging / path for path in outputs}
    for place in places.values():
        place.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield places
        for path, place in places.items():
            if place.exists():
                replace_path(place, root / path)
    finally:
        remove_path(staging)


def remove_leftovers(root: str | Path) -> list[Path]:
    """Deletes the temporary files and folders that a killed stage left in the project.

    Looks in `root` and in the folders of the pipeline's outputs (`rnnkeras.pipeline.stages.paths`).

    Returns:
        The deleted paths.
    """
    root = Path(root)
    folders = {root}
    for value in vars(paths).values():
        if isinstance(value, Path):
            folders |= {(root / value).parent, root / value}
    removed = []
    for folder in sorted(f for f in folders if f.is_dir()):
        for entry in folder.iterdir():
            if LEFTOVER.match(entry.name):
                remove_path(entry)
                removed.append(entry)
    return removed
