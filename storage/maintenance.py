"""Lake upkeep: compact small files (the group commits leave many) and vacuum unreferenced ones.

Vacuum keeps at least 7 days of history (Delta's own safety window) so a reader or a time-travel query that is
still using an older version never loses its files.
"""

from __future__ import annotations

from dataclasses import dataclass

from deltalake import DeltaTable

MIN_RETENTION_HOURS = 168


@dataclass(frozen=True)
class MaintenanceResult:
    table: str
    files_removed_by_compaction: int
    files_added_by_compaction: int
    files_vacuumed: int


def compact_and_vacuum(table_uri: str, storage_options: dict[str, str] | None = None,
                       retention_hours: int = MIN_RETENTION_HOURS) -> MaintenanceResult:
    if retention_hours < MIN_RETENTION_HOURS:
        raise ValueError(f"vacuum retention {retention_hours} h is below the {MIN_RETENTION_HOURS} h safety window")
    table = DeltaTable(table_uri, storage_options=storage_options or None)
    metrics = table.optimize.compact()
    vacuumed = table.vacuum(retention_hours=retention_hours, dry_run=False, enforce_retention_duration=True)
    return MaintenanceResult(table_uri, int(metrics.get("numFilesRemoved", 0)), int(metrics.get("numFilesAdded", 0)),
                             len(vacuumed))

