"""Lake upkeep: compact small files (the group commits leave many) and vacuum unreferenced ones.

Vacuum keeps at least 7 days of history (Delta's own safety window) so a reader or a time-travel query that is
still using an older version never loses its files.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from deltalake import DeltaTable
from loguru import logger

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


class ScheduledCompaction:
    """Compacts and vacuums every table of a lake every `interval_s` on its own thread; a failed pass (e.g. a
    commit conflict with the writer) is logged and tried again at the next interval."""

    def __init__(self, table_uris: list[str], storage_options: dict[str, str] | None, interval_s: float) -> None:
        self._uris = table_uris
        self._options = storage_options
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="compaction", daemon=True)

    def start(self) -> None:
        if self._interval_s > 0:
            self._thread.start()

    def run_once(self) -> list[MaintenanceResult]:
        results = []
        for uri in self._uris:
            if not DeltaTable.is_deltatable(uri, storage_options=self._options):
                continue
            try:
                results.append(compact_and_vacuum(uri, self._options))
            except Exception as exc:  # noqa: BLE001 - maintenance must never take the node down
                logger.warning(f"compaction of {uri} failed, retrying next interval: {exc}")
        return results

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            for result in self.run_once():
                logger.info(f"compacted {result.table}: -{result.files_removed_by_compaction} "
                            f"+{result.files_added_by_compaction} files, vacuumed {result.files_vacuumed}")

    def stop(self) -> None:
        self._stop.set()
