"""Reading `params.yaml`, the single source of parameters, and checking it whole on load.

Every stage, the `rnnkeras` command and the MLflow Project load parameters here, so a wrong
key, type or value is reported before any stage deletes, writes or logs anything. All the
errors of a file are reported at once, each with its line and the key as the user wrote it:

    params.yaml:52: train.epochs must be an integer ≥ 1. Received: train.epochs=0
"""

import difflib
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from rnnkeras.pipeline.params_schema import Params


class ParamsError(ValueError):
    """Wrong parameters; `problems` lists one readable line per error."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        if len(problems) == 1:
            super().__init__(problems[0])
        else:
            super().__init__(
                f"{len(problems)} errors in the parameters:\n  " + "\n  ".join(problems)
            )


def load_params(path: str | Path = "params.yaml") -> dict:
    """Loads `params.yaml` and checks every key, type, range and allowed value.

    Args:
        path: the YAML file, by default `params.yaml` in the current folder.

    Returns:
        The parameters as plain dicts, one per section (`prepare`, `validate`, `train`,
        `evaluate`, `export`, `mlflow`), with the documented default for every key left out.

    Raises:
        ParamsError: (a `ValueError`) listing every problem with its file and line.

    Example:

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "params.yaml").write_text(
    ...     "prepare: {dataset: co2}\\nvalidate: {}\\ntrain: {cell: gru}\\nevaluate: {}\\nexport: {}\\n"
    ... )
    >>> params = load_params(folder / "params.yaml")
    >>> params["train"]["cell"], params["train"]["units"]
    ('gru', 64)
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"load_params expects an existing params.yaml file. Received: path={str(path)!r}"
        )
    text = path.read_text()
    try:
        params = yaml.safe_load(text)
        tree = yaml.compose(text)
    except yaml.YAMLError as error:
        raise ParamsError(
            [f"{path}: not valid YAML: {error}. Received: path={str(path)!r}"]
        ) from None
    return check_params(params, source=str(path), tree=tree)


def check_params(params: Any, source: str = "params", tree: yaml.Node | None = None) -> dict:
    """Checks parameters against the schema (`rnnkeras.pipeline.params_schema`) and fills defaults.

    Args:
        params: the parsed parameters, e.g. `params.yaml` with command-line overrides applied.
        source: what to call them in messages (a file name, or e.g. `"--set overrides"`).
        tree: the YAML node tree of the file, to give each error its line.

    Returns:
        The checked parameters as plain dicts, defaults filled in.

    Raises:
        ParamsError: (a `ValueError`) listing every problem.

    Example:

    >>> check_params({"prepare": {}, "validate": {}, "train": {"unit": 16},
    ...               "evaluate": {}, "export": {}})
    Traceback (most recent call last):
    ...
    rnnkeras.pipeline.params.ParamsError: params: train.unit is not a parameter (did you mean train.units?). Received: train.unit=16
    """
    if not isinstance(params, dict):
        raise ParamsError(
            [
                f"{source}: expected a mapping of sections at the top level. Received: params={params!r}"
            ]
        )
    try:
        checked = Params.model_validate(params)
    except ValidationError as error:
        located = [(_line(tree, list(issue["loc"])), _message(issue)) for issue in error.errors()]
        # In file order, so the list reads like the file.
        located.sort(key=lambda item: item[0] or 0)
        problems = [
            f"{source}:{line}: {text}" if line else f"{source}: {text}" for line, text in located
        ]
        raise ParamsError(list(dict.fromkeys(problems))) from None
    return checked.model_dump(by_alias=True)


DATASET_TRAIN_SECTIONS = ("text",)
"""Datasets with `train` settings of their own: `train.<dataset>` in `params.yaml`."""


def train_settings(params: dict) -> dict:
    """The `train` settings the train stage uses for `prepare.dataset`.

    The generic `train` settings, with those of `train.<dataset>` in their place when the
    dataset has a section of its own (`DATASET_TRAIN_SECTIONS`): a character language model
    needs a wider layer and a larger learning rate than the 64-unit default every other
    dataset trains with. `dvc exp run -S train.text.units=512` changes one of them.

    Args:
        params: The checked parameters (`load_params`).

    Returns:
        The `train` section as a flat dict, without the dataset sections.

    Example:

    >>> params = check_params({"prepare": {"dataset": "text"}, "validate": {},
    ...                        "train": {"units": 16}, "evaluate": {}, "export": {}})
    >>> train_settings(params)["units"], params["train"]["units"]
    (256, 16)
    >>> params["prepare"]["dataset"] = "co2"
    >>> train_settings(params)["units"]
    16
    """
    train = {k: v for k, v in params["train"].items() if k not in DATASET_TRAIN_SECTIONS}
    dataset = params["prepare"]["dataset"]
    own = params["train"].get(dataset, {}) if dataset in DATASET_TRAIN_SECTIONS else {}
    return {**train, **own}


def _message(issue: dict) -> str:
    loc = [part for part in issue["loc"] if isinstance(part, str | int)]
    key = _dotted(loc)
    value = issue.get("input")
    if issue["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = (
            f" (did you mean {_dotted([*loc[:-1], close[0]])}?)"
            if close
            else f" (expected one of: {', '.join(known)})"
        )
        return f"{key} is not a parameter{hint}. Received: {key}={value!r}"
    if issue["type"] == "missing":
        return f"{key} is required: {_expected(loc)}. Received: no {key}"
    if issue["type"] == "value_error":
        return issue["msg"].removeprefix("Value error, ")
    hint = ""
    if issue["type"] == "literal_error" and isinstance(value, str):
        # A misspelt choice (`pytorch`, `lsmt`) gets the nearest allowed one, as keys do.
        allowed = [str(option) for option in _choices(_field(loc).annotation)]
        close = difflib.get_close_matches(value, allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{key} must be {_expected(loc)}{hint}. Received: {key}={value!r}"


def _choices(annotation) -> tuple:
    """The values of the `Literal` inside `annotation` (through `Annotated`, lists, unions)."""
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    return next((found for arg in get_args(annotation) if (found := _choices(arg))), ())


def _dotted(loc: list) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def _field(loc: list):
    """The schema field at `loc` (list indices skipped), or `None`."""
    model, field = Params, None
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None:
            return None
        fields = {info.alias or name: info for name, info in model.model_fields.items()}
        field = fields.get(part)
        if field is None:
            return None
        model = _model_in(field.annotation)
    return field


def _model_in(annotation) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        model = _model_in(arg)
        if model is not None:
            return model
    return None


def _known_keys(loc: list) -> list[str]:
    model = _model_in(_field(loc).annotation) if loc else Params
    return [info.alias or name for name, info in model.model_fields.items()]


def _expected(loc: list) -> str:
    field = _field(loc)
    if field is None:
        return "a valid value"
    text = _describe(field.annotation, field.metadata)
    if isinstance(loc[-1], int):  # one item of a list
        text = text.split(", each ", 1)[-1]
    return text


def _describe(annotation, metadata=()) -> str:
    """`int` with `Ge(1)` -> "an integer ≥ 1"; `Literal["a", "b"]` -> "one of 'a', 'b'"."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        extra = [m for item in args[1:] for m in getattr(item, "metadata", [item])]
        return _describe(args[0], [*metadata, *extra])
    if origin in (Union, types.UnionType):
        options = [arg for arg in args if arg is not type(None)]
        text = " or ".join(_describe(arg, metadata) for arg in options)
        return f"{text}, or null" if len(options) < len(args) else text
    if origin is Literal:
        return "one of " + ", ".join(repr(arg) for arg in args)
    if origin is list:
        least = max([m.min_length for m in metadata if hasattr(m, "min_length")], default=0)
        most = min([m.max_length for m in metadata if hasattr(m, "max_length")], default=None)
        size = (
            f"a list of {least} values"
            if least == most
            else "a non-empty list"
            if least
            else "a list"
        )
        return f"{size}, each {_describe(args[0])}"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a text"}
    text = names.get(annotation, "a mapping" if _model_in(annotation) else str(annotation))
    if annotation is str and any(getattr(m, "min_length", 0) for m in metadata):
        text = "a non-empty text"
    symbols = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    bounds = [
        f"{symbol} {getattr(m, name)}"
        for m in metadata
        for name, symbol in symbols.items()
        if getattr(m, name, None) is not None
    ]
    return f"{text} {' and '.join(bounds)}" if bounds else text


def _line(node: yaml.Node | None, loc: list) -> int | None:
    """The 1-based line of the deepest node of `loc` that exists in the YAML tree."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next((p for p in node.value if p[0].value == part), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
