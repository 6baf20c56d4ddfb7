"""The model registry: each evaluated model a version, the alias on the best one.

The champion rule: a version is scored on one metric in one direction (tags on the
version); the alias names the best of the versions scored the same way, ties going to
the older one, and stays with a holder that was scored otherwise.
"""

import math
from collections.abc import Iterable
from typing import Any

from rnnkeras.pipeline.tracking.recording import require_active_run

_METRIC_TAG = "rnnkeras.metric_name"
_VALUE_TAG = "rnnkeras.metric_value"
_DIRECTION_TAG = "rnnkeras.greater_is_better"

# Rounds of set-then-check of the champion alias; concurrent evaluations settle in one or two.
_ALIAS_ATTEMPTS = 5


def _comparable(version: Any, metric_name: str, greater_is_better: bool) -> float | None:
    """A version's value of `metric_name` if it was ranked the same way, else None."""
    tags = version.tags
    direction = tags.get(_DIRECTION_TAG, str(greater_is_better).lower())
    if tags.get(_METRIC_TAG) != metric_name or direction != str(greater_is_better).lower():
        return None
    try:
        value = float(tags[_VALUE_TAG])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _champion_decision(
    holder: Any,
    versions: Iterable[Any],
    metric_name: str,
    greater_is_better: bool,
    alias: str,
) -> tuple[int | None, str]:
    """The version the alias should name: the best of the comparable versions.

    Ties go to the older version, so an equal score never moves the alias. A holder
    scored otherwise (another metric, or none) keeps the alias: None is returned.
    """
    if holder is not None and _comparable(holder, metric_name, greater_is_better) is None:
        return None, (
            f"version {holder.version} (alias '{alias}') was not scored on {metric_name}, "
            "so the two cannot be compared"
        )
    scored = {
        int(v.version): value
        for v in versions
        if (value := _comparable(v, metric_name, greater_is_better)) is not None
    }
    if not scored:
        return None, f"no version has a finite {metric_name}"
    sign = 1.0 if greater_is_better else -1.0
    best = max(sorted(scored), key=lambda number: sign * scored[number])
    return best, f"version {best} has the best {metric_name}={scored[best]:.6g}"


def register_version(
    model_uri: str,
    registered_name: str,
    metric_name: str,
    metric_value: float,
    greater_is_better: bool,
    alias: str = "champion",
) -> dict[str, Any]:
    """Registers a logged model as a new version and points `alias` at the best version.

    The new version carries `metric_name`, `metric_value` and the direction as
    tags. Then `alias` moves to the best version of all those scored on the same
    metric in the same direction (ties go to the older one), unless its holder was
    scored otherwise: then it stays. Choosing among all versions, instead of
    comparing the new one with the holder read before registering, gives the same
    champion in any order of concurrent evaluations against one store: each one
    re-reads the alias after setting it and corrects a holder that a slower
    evaluation set from an older view.

    Args:
        model_uri: URI of the logged model, e.g. `models:/m-...`.
        registered_name: Name of the registered model.
        metric_name: Evaluation metric that ranks versions, e.g. `"test.mae"`.
        metric_value: This model's value of it.
        greater_is_better: True for accuracy-like metrics, False for errors.
        alias: Alias of the best version.

    Returns:
        `{"version", "promoted", "reason", "alias", "model_uri",
        "previous_version", "run_id"}`; `promoted` says whether this version holds
        the alias afterwards, `previous_version` names the holder before (or None).

    Raises:
        ValueError: Without an active run.

    Example:

    >>> import tempfile, mlflow
    >>> from rnnkeras.pipeline.tracking import configure, start_training_run
    >>> _ = configure(tempfile.mkdtemp())
    >>> class Identity(mlflow.pyfunc.PythonModel):
    ...     def predict(self, context, model_input):
    ...         return model_input
    >>> with start_training_run({}, 0, tempfile.mktemp()):
    ...     info = mlflow.pyfunc.log_model(name="model", python_model=Identity())
    ...     result = register_version(info.model_uri, "demo", "test.mae", 0.5, False)
    >>> result["version"], result["promoted"]
    (1, True)
    """
    import mlflow

    require_active_run("register_version")
    metric_value = float(metric_value)
    client = mlflow.MlflowClient()
    previous = _alias_holder(client, registered_name, alias)
    version = mlflow.register_model(
        model_uri,
        registered_name,
        tags={
            _METRIC_TAG: metric_name,
            _VALUE_TAG: repr(metric_value),
            _DIRECTION_TAG: str(greater_is_better).lower(),
        },
    )
    number = int(version.version)
    holder = previous
    # Set, then check: a concurrent evaluation may have set the alias from an older view.
    for _ in range(_ALIAS_ATTEMPTS):
        versions = client.search_model_versions(f"name='{registered_name}'")
        best, reason = _champion_decision(holder, versions, metric_name, greater_is_better, alias)
        if best is None or (holder is not None and int(holder.version) == best):
            break
        client.set_registered_model_alias(registered_name, alias, str(best))
        holder = _alias_holder(client, registered_name, alias)
    promoted = holder is not None and int(holder.version) == number
    if not math.isfinite(metric_value):
        reason = f"{metric_name}={metric_value} is not a finite number; {reason}"
    elif promoted:
        beaten = _comparable(previous, metric_name, greater_is_better) if previous else None
        reason = (
            f"no version held alias '{alias}'"
            if beaten is None
            else f"{metric_name}={metric_value:.6g} beats {beaten:.6g} of version "
            f"{previous.version} (alias '{alias}')"
        )
    elif holder is not None and best is not None:
        held = _comparable(holder, metric_name, greater_is_better)
        reason = (
            f"{metric_name}={metric_value:.6g} does not beat {held:.6g} of version "
            f"{holder.version} (alias '{alias}')"
        )
    return {
        "version": number,
        "promoted": promoted,
        "reason": reason,
        "alias": alias,
        "model_uri": f"models:/{registered_name}/{number}",
        "previous_version": int(previous.version) if previous is not None else None,
        "run_id": mlflow.active_run().info.run_id,
    }


def _alias_holder(client: Any, registered_name: str, alias: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(registered_name, alias)
    except MlflowException:
        return None
