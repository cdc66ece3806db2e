"""The `sweeps` Delta table: one row per finished sweep run, partitioned by sweep id. Only the sweep's driver writes
it (in batches as runs finish), so an interrupted sweep keeps every run it committed and a resume skips them."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

from storage.lake_access import LakeUnusable, one_line, reading

TABLE = "sweeps"
SCHEMA = pa.schema([
    ("sweep_id", pa.string()),
    ("run_key", pa.string()),
    ("params_json", pa.string()),
    ("path", pa.string()),
    ("regime", pa.string()),
    ("first_session", pa.date32()),
    ("last_session", pa.date32()),
    ("sessions", pa.int32()),
    ("pnl_usd", pa.float64()),
    ("realized_pnl_usd", pa.float64()),
    ("unrealized_pnl_usd", pa.float64()),
    ("max_drawdown_usd", pa.float64()),
    ("trades", pa.int32()),
    ("opened", pa.int32()),
    ("open_at_end", pa.int32()),
    ("win_rate", pa.float64()),
    ("exits_json", pa.string()),
    ("pnl_by_rule_json", pa.string()),
    ("messages", pa.int64()),
    ("cpu_s", pa.float64()),
    ("error", pa.string()),
    ("finished_ns", pa.int64()),
])


class SweepTable:
    def __init__(self, lake_uri: str, storage_options: dict[str, str] | None = None) -> None:
        self.uri = f"{lake_uri.rstrip('/')}/{TABLE}"
        self._options = storage_options

    def _table(self) -> DeltaTable | None:
        try:
            return DeltaTable(self.uri, storage_options=self._options)
        except TableNotFoundError:
            return None

    def append(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        data = pa.Table.from_pylist(rows, schema=SCHEMA)
        try:
            write_deltalake(self.uri, data, mode="append", partition_by=["sweep_id"], storage_options=self._options)
        except Exception as exc:  # noqa: BLE001 - deltalake raises several kinds; the driver reports one line
            raise LakeUnusable(f"cannot write {self.uri}: {one_line(exc)}") from None

    def rows(self, sweep_id: str, columns: list[str] | None = None) -> pd.DataFrame:
        """The sweep's rows (the last one of a run written twice, e.g. by two drivers), empty when none."""
        with reading(self.uri):
            table = self._table()
            if table is None:
                return pd.DataFrame(columns=columns or SCHEMA.names)
            frame = table.to_pandas(columns=columns, filters=[("sweep_id", "=", sweep_id)])
        if "run_key" in frame.columns:
            frame = frame.drop_duplicates("run_key", keep="last").reset_index(drop=True)
        return frame

    def finished(self, sweep_id: str) -> set[str]:
        return set(self.rows(sweep_id, columns=["run_key"])["run_key"])

    def sweep_ids(self) -> list[str]:
        with reading(self.uri):
            table = self._table()
            if table is None:
                return []
            return sorted(set(table.to_pyarrow_table(columns=["sweep_id"])["sweep_id"].to_pylist()))

