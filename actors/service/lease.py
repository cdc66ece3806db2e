"""The writer's lease on an object-store lake, where nothing can be flocked.

The lease is the table properties of a tiny Delta table in the lake (`_thetanode_lease`): holder and expiry (wall
time). Taking or renewing it is a metadata commit, which Delta refuses when another commit landed since the table
was read ("metadata changed"), so of two nodes racing for it exactly one wins. A node may take the lease only when it
is free, its own, or expired; the holder renews it every third of `lease_s` and stops the node if it finds it lost.
Expiry compares wall clocks of different hosts: keep them synchronised (NTP) well within `lease_s`.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError
from loguru import logger

from actors.market_time import NS_PER_S
from actors.service.periodic import Periodic
from storage.lake_access import LakeUnusable, one_line

HOLDER = "thetanode.lease.holder"
EXPIRES = "thetanode.lease.expires_ns"
CHECKPOINT_EVERY = 100


class LeaseHeld(RuntimeError):
    """Another node holds the lease (the service layer reports it as NodeAlreadyRunning)."""


class LakeLease:
    def __init__(self, lake_uri: str, storage_options: dict[str, str] | None, lease_s: float,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self._uri = lake_uri.rstrip("/") + "/_thetanode_lease"
        self._lake = lake_uri
        self._options = storage_options or None
        self._lease_ns = int(lease_s * NS_PER_S)
        self._clock = clock
        self.holder = f"pid {os.getpid()} on {socket.gethostname()} ({uuid.uuid4().hex[:8]})"
        self._renewals = 0
        self._renewing: Periodic | None = None
        self._lease_s = lease_s

    def acquire(self) -> None:
        try:
            self._take()
        except (LeaseHeld, LakeUnusable):
            raise
        except Exception as exc:  # noqa: BLE001 - any storage error: the lake cannot be written
            raise LakeUnusable(f"lake {self._lake} is not writable: {one_line(exc)}") from None

    def _take(self, attempts: int = 3) -> None:
        for _ in range(attempts):
            table = self._table()
            holder, expires = self.state(table)
            now = self._clock()
            if holder and holder != self.holder and expires > now:
                left = (expires - now) / NS_PER_S
                raise LeaseHeld(f"another node ({holder}) holds this lake's lease for {left:.0f}s more")
            try:
                self._commit(table, self.holder, now + self._lease_ns)
                return
            except CommitFailedError:
                continue  # someone committed since we read: read again and judge again
        raise LeaseHeld("another node is taking this lake's lease at the same moment")

    def _table(self) -> DeltaTable:
        if not DeltaTable.is_deltatable(self._uri, storage_options=self._options):
            try:
                write_deltalake(self._uri, pa.table({"unused": pa.array([], pa.int8())}), mode="append",
                                storage_options=self._options,
                                configuration={"delta.logRetentionDuration": "interval 1 days"})
            except CommitFailedError:
                pass  # another node created it first
        return DeltaTable(self._uri, storage_options=self._options)

    @staticmethod
    def state(table: DeltaTable) -> tuple[str, int]:
        properties = table.metadata().configuration
        return properties.get(HOLDER, ""), int(properties.get(EXPIRES, "0") or 0)

    def _commit(self, table: DeltaTable, holder: str, expires_ns: int) -> None:
        table.alter.set_table_properties({HOLDER: holder, EXPIRES: str(expires_ns)}, raise_if_not_exists=False)
        self._renewals += 1
        if self._renewals % CHECKPOINT_EVERY == 0:  # keep the log short: reading the lease stays cheap
            table.create_checkpoint()
            table.cleanup_metadata()

    def renew(self) -> str | None:
        """Extend the lease; the reason it is lost, if it is."""
        try:
            table = self._table()
            holder, _ = self.state(table)
            if holder != self.holder:
                return f"the lake's lease was taken over by {holder or 'nobody'}"
            self._commit(table, self.holder, self._clock() + self._lease_ns)
        except CommitFailedError:
            holder, _ = self.state(self._table())
            return None if holder == self.holder else f"the lake's lease was taken over by {holder}"
        except Exception as exc:  # noqa: BLE001 - a storage hiccup: the lease still runs; try again next time
            logger.warning(f"lease renewal failed, retrying: {one_line(exc)}")
        return None

    def start_renewing(self, on_lost: Callable[[str], object]) -> None:
        lost_already: list[str] = []

        def renew() -> None:
            lost = None if lost_already else self.renew()
            if lost is not None:
                lost_already.append(lost)
                on_lost(lost)

        self._renewing = Periodic("lease", self._lease_s / 3, renew)
        self._renewing.start()

    def release(self) -> None:
        if self._renewing is not None:
            self._renewing.stop()
        try:
            table = self._table()
            if self.state(table)[0] == self.holder:
                self._commit(table, "", 0)
        except Exception as exc:  # noqa: BLE001 - it expires by itself
            logger.warning(f"could not release the lake's lease (it expires in {self._lease_s:g}s): {one_line(exc)}")
