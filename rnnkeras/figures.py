"""Drawing and saving matplotlib figures: headless backend, whole files only.

matplotlib loads when `pyplot()` is first called, never on `import rnnkeras`.

Example:

>>> import pathlib, tempfile
>>> plt = pyplot()
>>> figure, axis = plt.subplots()
>>> _ = axis.plot([1, 2, 3])
>>> save_png(figure, pathlib.Path(tempfile.mkdtemp()) / "line.png").suffix
'.png'
"""

from pathlib import Path


def pyplot():
    """`matplotlib.pyplot` on the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(figure, path: str | Path, dpi: int = 100) -> Path:
    """Lays out, writes (atomically, see `atomic_path`) and closes `figure`; returns the path."""
    from rnnkeras.atomic_files import atomic_path

    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=dpi, format="png")
    pyplot().close(figure)
    return Path(path)
