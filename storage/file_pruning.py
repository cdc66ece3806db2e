"""A Delta table's data files that can hold rows matching a conjunction of `(column, op, value)` filters, chosen from
the log alone (each file's partition values and min/max statistics, as `get_add_actions(flatten=True)` gives them)
in a few vectorised comparisons, and an Arrow dataset of only those files.

delta-rs's own `to_pyarrow_dataset(file_pruning_predicate=...)` answers the same question file by file and builds each
kept file's fragment with its statistics as a guarantee expression through Python: measured on the journal of 1,000
compacted sessions (1,534 files), 5.5-9 ms per read even when one file matches, about 0.5 ms per file kept, and 0.47 s
for the whole table. A start reads the journal three times (the snapshots, what followed them, the risk and IV state),
so those reads cost in proportion to the lake's age; chosen here they cost well under a millisecond more at 1,534
files than at 17. The statistics trusted are the same ones delta-rs prunes by; a file without them, a null bound or an
operator not listed in `_BOUNDS` may hold anything and is kept. The filters still apply to the rows read.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import DeltaTable
from deltalake.fs import DeltaStorageHandler
from pyarrow.fs import PyFileSystem

Filter = tuple[str, str, object]


def _holds_value(low: pa.ChunkedArray, high: pa.ChunkedArray, value: pa.Scalar) -> pa.ChunkedArray:
    return pc.and_kleene(pc.less_equal(low, value), pc.greater_equal(high, value))


_BOUNDS = {
    "=": _holds_value,
    "==": _holds_value,
    ">": lambda low, high, value: pc.greater(high, value),
    ">=": lambda low, high, value: pc.greater_equal(high, value),
    "<": lambda low, high, value: pc.less(low, value),
    "<=": lambda low, high, value: pc.less_equal(low, value),
}
"""Whether a file whose column lies within [low, high] can hold a value satisfying `column op value`."""

_FEW_VALUES = 16

_PARTITION = {
    "=": pc.equal, "==": pc.equal, "!=": pc.not_equal, ">": pc.greater, ">=": pc.greater_equal, "<": pc.less,
    "<=": pc.less_equal,
}


def may_match(files: pa.Table, filters: Sequence[Filter]) -> pa.Array:
    """One boolean per file (a row of the flattened add actions): False only where no row can match `filters`."""
    keep = pa.array(np.ones(files.num_rows, dtype=bool))
    for column, op, value in filters:
        keep = pc.and_(keep, pc.fill_null(_file_may_hold(files, column, op, value), True))
    return keep


def _file_may_hold(files: pa.Table, column: str, op: str, value: object) -> pa.Array | pa.ChunkedArray:
    if f"partition.{column}" in files.column_names:
        values = files[f"partition.{column}"]
        if op == "in":
            return pc.is_in(values, value_set=pa.array(list(value), values.type))
        if op == "not in":
            return pc.invert(pc.is_in(values, value_set=pa.array(list(value), values.type)))
        if op in _PARTITION:
            return _PARTITION[op](values, pa.scalar(value, values.type))
        return pa.array(np.ones(files.num_rows, dtype=bool))
    if f"min.{column}" not in files.column_names or f"max.{column}" not in files.column_names:
        return pa.array(np.ones(files.num_rows, dtype=bool))
    low, high = files[f"min.{column}"], files[f"max.{column}"]
    if op == "in":
        return _overlaps_any(low, high, value)
    if op not in _BOUNDS:
        return pa.array(np.ones(files.num_rows, dtype=bool))
    return _BOUNDS[op](low, high, pa.scalar(value, low.type))


def _overlaps_any(low: pa.ChunkedArray, high: pa.ChunkedArray, values: object) -> pa.Array | pa.ChunkedArray:
    """Whether some value lies within each file's [low, high]: for a few values, a comparison per value; for many
    (a from-zero restart asks for every earlier session), the smallest value at or above `low` is at most `high`
    (a binary search per file)."""
    wanted = pa.array(sorted(set(values)), low.type)
    if len(wanted) <= _FEW_VALUES:
        hits = pa.array(np.zeros(len(low), dtype=bool))
        for value in wanted:
            hits = pc.or_kleene(hits, _BOUNDS["="](low, high, value))
        return hits
    ordered = wanted.to_numpy(zero_copy_only=False)
    unknown = pc.or_(pc.is_null(low), pc.is_null(high)).to_numpy(zero_copy_only=False).astype(bool)
    lows = np.where(unknown, ordered[0], low.to_numpy(zero_copy_only=False))
    highs = np.where(unknown, ordered[-1], high.to_numpy(zero_copy_only=False))
    at = np.searchsorted(ordered, lows.astype(ordered.dtype), side="left")
    first = ordered[np.minimum(at, len(ordered) - 1)]
    return pa.array((at < len(ordered)) & (first <= highs.astype(ordered.dtype)))


def files_dataset(table: DeltaTable, files: pa.Table, storage_options: dict[str, str] | None = None) -> ds.Dataset:
    """An Arrow dataset of these data files (rows of the table's flattened add actions), each fragment carrying its
    partition values, read through deltalake's own file system (any deltalake URI, with its storage options)."""
    partitions = [name.removeprefix("partition.") for name in files.column_names if name.startswith("partition.")]
    paths = files["path"].to_pylist()
    sizes = dict(zip(paths, files["size_bytes"].to_pylist(), strict=True))
    filesystem = PyFileSystem(DeltaStorageHandler(table.table_uri, storage_options, sizes))
    file_format = ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=True))
    values = [files[f"partition.{name}"].to_pylist() for name in partitions]
    fragments = [file_format.make_fragment(path, filesystem=filesystem,
                                           partition_expression=_partition_expression(partitions, row))
                 for path, row in zip(paths, zip(*values, strict=True) if values else [()] * len(paths), strict=True)]
    schema = pa.schema(table.schema().to_arrow())
    return ds.FileSystemDataset(fragments, schema, file_format, filesystem)


def _partition_expression(names: list[str], values: tuple) -> ds.Expression | None:
    terms = [ds.field(name).is_null() if value is None else ds.field(name) == value
             for name, value in zip(names, values, strict=True)]
    if not terms:
        return None
    expression = terms[0]
    for term in terms[1:]:
        expression = expression & term
    return expression
