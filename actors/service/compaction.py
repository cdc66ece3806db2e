"""Scheduled lake upkeep for a running node: compact and vacuum every table each interval, off the hot path."""

from __future__ import annotations

from deltalake import DeltaTable
from loguru import logger

from actors.service.periodic import Periodic
from storage.maintenance import MaintenanceResult, compact_and_vacuum, data_files, keep_log_retention, trim_log


class ScheduledCompaction:
    """A failed pass (e.g. a commit conflict with the writer) is logged and tried again at the next interval."""

    def __init__(self, table_uris: list[str], storage_options: dict[str, str] | None, interval_s: float) -> None:
        self._uris = table_uris
        self._options = storage_options
        self._interval_s = interval_s
        self._passes = Periodic("compaction", interval_s, self._log_pass) if interval_s > 0 else None

    def start(self) -> None:
        if self._passes is not None:
            self._passes.start()

    def compact_fragmented(self, max_files: int) -> list[MaintenanceResult]:
        """At start, before the history is read: compact every table holding more than `max_files` data files."""
        if max_files <= 0:
            return []
        crowded = [uri for uri in self._uris if data_files(uri, self._options) > max_files]
        results = self._compact(crowded)
        self._log(results)
        return results

    def keep_logs_short(self) -> None:
        """At start, before the writer opens the lake: tables from before the log retention existed get it (see
        storage/maintenance.py), and their logs are trimmed to it at once."""
        for uri in self._uris:
            if not DeltaTable.is_deltatable(uri, storage_options=self._options):
                continue
            try:
                table = DeltaTable(uri, storage_options=self._options)
                if keep_log_retention(table):
                    trim_log(table)
                    logger.info(f"{uri}: Delta log now kept for a day, older entries removed")
            except Exception as exc:  # noqa: BLE001 - upkeep must never take the node down
                # a table that cannot be opened is judged by the read that follows (damage is one line, exit 65)
                logger.debug(f"setting the log retention of {uri} failed, trying again at the next start: {exc}")

    def run_once(self) -> list[MaintenanceResult]:
        return self._compact(self._uris)

    def _compact(self, uris: list[str]) -> list[MaintenanceResult]:
        results = []
        for uri in uris:
            if not DeltaTable.is_deltatable(uri, storage_options=self._options):
                continue
            try:
                results.append(compact_and_vacuum(uri, self._options))
            except Exception as exc:  # noqa: BLE001 - upkeep must never take the node down
                logger.warning(f"compaction of {uri} failed, retrying next interval: {exc}")
        return results

    def _log_pass(self) -> None:
        self._log(self.run_once())

    @staticmethod
    def _log(results: list[MaintenanceResult]) -> None:
        for result in results:
            logger.info(f"compacted {result.table}: -{result.files_removed_by_compaction} "
                        f"+{result.files_added_by_compaction} files, vacuumed {result.files_vacuumed}")

    def stop(self) -> None:
        if self._passes is not None:
            self._passes.stop()
