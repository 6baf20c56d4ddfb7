"""Great Expectations checks for prepared sequence tables, built in code on an ephemeral context.

- `suites`: the *format* suite (cells as text) and the *content* suite (parsed numbers,
  per-sequence rules) a prepared table must pass.
- `checks`: `validate_table` runs both and words each outcome with file, line, column and
  example values.
- `report`: `write_report` (JSON + Markdown) and `summarize`.
"""

from rnnkeras.pipeline.validation.checks import validate_table
from rnnkeras.pipeline.validation.report import summarize, write_report

__all__ = ["summarize", "validate_table", "write_report"]
