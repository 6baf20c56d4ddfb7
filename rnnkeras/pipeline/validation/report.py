"""The validation report on disk: JSON for tools, a short Markdown summary for people."""

import json
from pathlib import Path

from rnnkeras.atomic_files import atomic_path


def write_report(report: dict, json_path: str | Path, summary_path: str | Path) -> None:
    """Writes the report as JSON and as a short Markdown summary a person reads first.

    Example:

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> report = {"success": True, "dataset": "co2", "file": "co2.csv", "rows": 3,
    ...           "sequences": 1, "failures": [], "checks": []}
    >>> write_report(report, folder / "v.json", folder / "v.md")
    >>> (folder / "v.md").read_text().splitlines()[0]
    '# Validation of co2.csv: passed'
    """
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")
    with atomic_path(summary_path) as tmp:
        tmp.write_text(summarize(report))


def summarize(report: dict) -> str:
    """The Markdown summary of a validation report (also printed by the validate stage)."""
    status = "passed" if report["success"] else "FAILED"
    lines = [
        f"# Validation of {report['file']}: {status}",
        "",
        f"Dataset `{report['dataset']}`: {report['rows']} rows, {report['sequences']} sequences, "
        f"{len(report['checks'])} expectations, {len(report['failures'])} failed.",
        "",
    ]
    if report["failures"]:
        lines += ["## Failed expectations", ""] + [f"- {f}" for f in report["failures"]] + [""]
    lines += ["## All expectations", ""]
    lines += [f"- {'ok  ' if c['success'] else 'FAIL'} {c['message']}" for c in report["checks"]]
    return "\n".join(lines) + "\n"
