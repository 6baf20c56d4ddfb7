"""Bundled real datasets, the long-format CSV layout, and windowing/padding into model arrays.

Importing this package loads NumPy only; pandas loads inside the functions that read tables.
"""

from rnnkeras.pipeline.data.arrays import (
    load_arrays,
    load_meta,
    make_windows,
    pad_sequences,
    save_arrays,
    table_to_arrays,
)
from rnnkeras.pipeline.data.spec import BUNDLED_DIR, DatasetSpec, bundled_spec, spec_from_params
from rnnkeras.pipeline.data.table import prepare_table, read_source, write_table

__all__ = [
    "BUNDLED_DIR",
    "DatasetSpec",
    "bundled_spec",
    "load_arrays",
    "load_meta",
    "make_windows",
    "pad_sequences",
    "prepare_table",
    "read_source",
    "save_arrays",
    "spec_from_params",
    "table_to_arrays",
    "write_table",
]
