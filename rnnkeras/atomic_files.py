"""Writing outputs so that a failure never leaves a half-written or clobbered file behind."""

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path next to `path` and moves it into place only if the block succeeds.

    Works for files and folders. The temporary path lives in the same folder as `path`, so the
    final move is a rename on the same file system: readers see either the old output or the
    complete new one, never a mix. If the block raises, the temporary path is deleted and the
    old output is left untouched.

    Args:
        path: the final file or folder.

    Example:

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out" / "result.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp{suffix}"
    try:
        yield tmp
        replace_path(tmp, path)
    finally:
        remove_path(tmp)


def replace_path(source: Path, target: Path) -> None:
    """Moves `source` (a file or folder) to `target`, replacing what is there.

    Args:
        source: the new file or folder, on the same file system as `target`.
        target: where it goes; its parent folders are created.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir() and target.exists():
        # A folder cannot be renamed over a non-empty one: swap, then drop the old one.
        old = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.old"
        os.replace(target, old)
        os.replace(source, target)
        remove_path(old)
    else:
        os.replace(source, target)


def remove_path(path: Path) -> None:
    """Deletes a file, link or folder; a missing one is no error."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
