"""Bundled real datasets (`DATASETS`), the long-format CSV layout, windowing/padding helpers.

Importing this package loads NumPy only; pandas loads inside the functions that read tables.
"""

from rnnkeras.pipeline.data.arrays import (
    load_arrays,
    load_meta,
    make_windows,
    pad_sequences,
    parsed_sequences,
    save_arrays,
)
from rnnkeras.pipeline.data.datasets import DATASETS, registered_model_name, spec_from_params
from rnnkeras.pipeline.data.spec import BUNDLED_DIR, DatasetSpec, bundled_spec
from rnnkeras.pipeline.data.table import prepare_table, read_source, write_table

__all__ = [
    "BUNDLED_DIR",
    "DATASETS",
    "DatasetSpec",
    "bundled_spec",
    "load_arrays",
    "load_meta",
    "make_windows",
    "pad_sequences",
    "parsed_sequences",
    "prepare_table",
    "read_source",
    "registered_model_name",
    "save_arrays",
    "spec_from_params",
    "write_table",
]
