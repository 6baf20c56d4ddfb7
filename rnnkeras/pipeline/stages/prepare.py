"""Stage `prepare`: the selected dataset becomes the prepared long-format table."""

from pathlib import Path

from rnnkeras.pipeline.stages import entry, paths


def run(params: dict, root: Path = Path(".")) -> None:
    """Reads the data chosen by `prepare.dataset`, assigns splits, fills gaps if so declared,
    and writes data/prepared/sequences.csv (no value is judged here: `validate` does that)."""
    from rnnkeras.pipeline import tasks
    from rnnkeras.pipeline.data import spec_from_params, write_table

    spec = spec_from_params(params["prepare"], root)
    table = tasks.get(spec.task).prepare_table(spec, params["prepare"])
    write_table(table, root / paths.PREPARED_TABLE)
    print(f"prepare: {len(table)} rows from {spec.path} -> {paths.PREPARED_TABLE}")


def main(argv=None) -> int:
    return entry.main("prepare", run, argv)
