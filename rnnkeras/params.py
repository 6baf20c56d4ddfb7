"""Reading `params.yaml`, the single source of parameters for every pipeline stage."""

from pathlib import Path

import yaml

STAGE_SECTIONS = ("prepare", "validate", "train", "evaluate", "export")


def load_params(path: str | Path = "params.yaml") -> dict:
    """Loads the pipeline parameters and checks that every stage has its section.

    Args:
        path: the YAML file, by default `params.yaml` in the current folder.

    Returns:
        The parsed parameters, a dict with one dict per stage (`prepare`, `validate`, `train`,
        `evaluate`, `export`) plus any other top-level sections (e.g. `mlflow`).

    Example:

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "params.yaml").write_text(
    ...     "prepare: {dataset: co2}\\nvalidate: {}\\ntrain: {cell: gru}\\nevaluate: {}\\nexport: {}\\n"
    ... )
    >>> load_params(folder / "params.yaml")["train"]["cell"]
    'gru'
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"load_params expects an existing params.yaml file. Received: path={str(path)!r}"
        )
    params = yaml.safe_load(path.read_text()) or {}
    if not isinstance(params, dict):
        raise ValueError(
            f"{path}: expected a mapping of stage sections at the top level. "
            f"Received: params={params!r}"
        )
    missing = [name for name in STAGE_SECTIONS if not isinstance(params.get(name), dict)]
    if missing:
        raise ValueError(
            f"{path}: every stage needs its own section ({', '.join(STAGE_SECTIONS)}). "
            f"Received: missing sections={missing}"
        )
    return params
