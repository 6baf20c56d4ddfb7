"""Runs Great Expectations suites on pandas frames, on an ephemeral context (no `gx/` folder).

The one place that starts Great Expectations for the validate stage: `validate_table`
(sequence tables), `validate_characters` (character tables) and `validate_pairs` (translation
pairs) build their suites and word the outcomes, and call `run_suites` in between.
"""

import os
from collections.abc import Callable, Sequence


def run_suites(build: Callable, max_examples: int, index_columns: Sequence[str] = ()) -> list[dict]:
    """Validates each frame against its suite and returns every expectation's result.

    Args:
        build: Called with the `great_expectations` module, returns `(name, frame, suite)`
            triples: a name for the batch, a `pandas.DataFrame`, the `gx.ExpectationSuite`
            it must pass (suites are built with the module, which loads only here, so that
            `import rnnkeras` stays light).
        max_examples: Unexpected values (with their row indices) kept per expectation.
        index_columns: Columns that identify a row in the report of an unexpected value
            (e.g. the source line); those missing from a frame are left out for it.

    Returns:
        One JSON-ready dict per expectation, in suite order (`ExpectationValidationResult`'s
        `to_json_dict()`: `success`, `expectation_config`, `result`).

    Example:

    >>> import pandas as pd
    >>> def build(gx):
    ...     suite = gx.ExpectationSuite(name="positive")
    ...     suite.add_expectation(
    ...         gx.expectations.ExpectColumnValuesToBeBetween(column="x", min_value=0)
    ...     )
    ...     return [("numbers", pd.DataFrame({"x": [1, -2, 3]}), suite)]
    >>> [(r["success"], r["result"]["unexpected_count"]) for r in run_suites(build, 5)]
    [(False, 1)]
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("prepared")
    results = []
    for name, frame, suite in build(gx):
        batch = (
            source.add_dataframe_asset(name)
            .add_batch_definition_whole_dataframe(name)
            .get_batch(batch_parameters={"dataframe": frame})
        )
        result_format = {"result_format": "SUMMARY", "partial_unexpected_count": max_examples}
        present = [c for c in index_columns if c in frame]
        if present:
            result_format["unexpected_index_column_names"] = present
        validated = batch.validate(context.suites.add(suite), result_format=result_format)
        results += [r.to_json_dict() for r in validated.results]
    return results
