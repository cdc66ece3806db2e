"""A Delta table kept open and brought up to date on each use: only the log's entries since the last use are read.

Loading a table afresh replays its log from the newest checkpoint (about a second at 720 versions on a busy machine),
and the node's readers (the journal, the session index, the dashboard's views) each read the same tables again and
again. The caller serialises its uses (one lock, or one thread)."""

from __future__ import annotations

from deltalake import DeltaTable


class CurrentTable:
    def __init__(self, uri: str, storage_options: dict[str, str] | None = None) -> None:
        self.uri = uri
        self._options = storage_options or None
        self._table: DeltaTable | None = None

    def get(self) -> DeltaTable | None:
        """The table as of now; None while there is none (not written yet, or not a table's directory at all). A
        table that fails to update (replaced, or gone) is loaded afresh at the next use."""
        if self._table is None:
            try:
                if not DeltaTable.is_deltatable(self.uri, storage_options=self._options):
                    return None
            except OSError:
                return None
            self._table = DeltaTable(self.uri, storage_options=self._options)
            return self._table
        try:
            self._table.update_incremental()
        except Exception:
            self._table = None
            raise
        return self._table
