"""Stage `validate`: Great Expectations checks the prepared table.

Only data that passes becomes the model-ready arrays in data/validated/.
"""

import sys
from pathlib import Path

from rnnkeras.pipeline.stages import entry, paths


def run(params: dict, root: Path = Path(".")) -> int:
    """Validates data/prepared/sequences.csv, writes reports/validation.{json,md} (on success
    and on failure) and, only on success, data/validated/{train,val,test}.npz + meta.json.
    Returns 1 when an expectation failed, so the pipeline stops here."""
    import pandas as pd

    from rnnkeras.pipeline import tasks, validation
    from rnnkeras.pipeline.data import save_arrays, spec_from_params
    from rnnkeras.pipeline.data.spec import SOURCE_ROW

    spec = spec_from_params(params["prepare"], root)
    task = tasks.get(spec.task)
    table = pd.read_csv(root / paths.PREPARED_TABLE, dtype=str, keep_default_na=True)
    if SOURCE_ROW in table:
        table[SOURCE_ROW] = table[SOURCE_ROW].astype(int)
    report = task.validate_table(
        table, spec, max_examples=int(params["validate"].get("max_examples", 5))
    )
    validation.write_report(report, root / paths.VALIDATION_REPORT, root / paths.VALIDATION_SUMMARY)
    if not report["success"]:
        print(
            f"validate: {len(report['failures'])} expectation(s) failed "
            f"(details: {paths.VALIDATION_SUMMARY}):",
            file=sys.stderr,
        )
        for failure in report["failures"]:
            print(f"  - {failure}", file=sys.stderr)
        return 1
    arrays, meta = tasks.table_to_arrays(table, spec, params["prepare"])
    save_arrays(root / paths.VALIDATED, arrays, meta)
    print(
        f"validate: {len(report['checks'])} expectations passed; arrays "
        f"{meta['counts']} -> {paths.VALIDATED}"
    )
    return 0


def main(argv=None) -> int:
    return entry.main("validate", run, argv)
