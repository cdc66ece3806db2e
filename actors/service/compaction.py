"""Scheduled lake upkeep for a running node: compact and vacuum every table each interval, off the hot path."""

from __future__ import annotations

from deltalake import DeltaTable
from loguru import logger

from actors.service.periodic import Periodic
from storage.current_table import CurrentTable
from storage.maintenance import MaintenanceResult, compact_and_vacuum, keep_table_properties, trim_log


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
        """At start, before anything of this node writes or reads the history, each table opened once: a table from
        before the node's table properties (the log retention among them) gets them (a metadata commit, which would
        fail a writer's next append; see storage/maintenance.py) and its log is checkpointed and trimmed at once; a
        table holding more than `max_files` data files (0: never) is compacted."""
        crowded = []
        for uri in self._uris:
            try:
                table = CurrentTable(uri, self._options).get()
                if table is None:
                    continue
                if keep_table_properties(table):
                    trim_log(table)
                    logger.info(f"{uri}: table properties brought up to date, Delta log checkpointed and trimmed")
            except Exception as exc:  # noqa: BLE001 - upkeep must never take the node down
                # a table that cannot be opened is judged by the read that follows (damage is one line, exit 65)
                logger.debug(f"start-up upkeep of {uri} failed, trying again at the next start: {exc}")
                continue
            if 0 < max_files < len(table.file_uris()):
                crowded.append(uri)
        results = self._compact(crowded)
        self._log(results)
        return results

    def run_once(self) -> list[MaintenanceResult]:
        """A scheduled pass, beside the node's writer: the journal's newest day is the writer's own to compact."""
        return self._compact(self._uris, beside_writer=True)

    def _compact(self, uris: list[str], beside_writer: bool = False) -> list[MaintenanceResult]:
        results = []
        for uri in uris:
            if not DeltaTable.is_deltatable(uri, storage_options=self._options):
                continue
            try:
                results.append(compact_and_vacuum(uri, self._options, beside_writer=beside_writer))
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
