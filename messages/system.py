"""Runtime and node lifecycle: timers, failures, alerts, journal flushes."""

from __future__ import annotations

from typing import Literal

from messages.base import Command, Event
from messages.enums import AlertLevel, ConnectionState, StorageState


class TimerFired(Event, frozen=True, kw_only=True):
    """Delivered only to `target`, the actor that armed timer `key`."""

    target: str
    key: str


class NodeStarted(Event, frozen=True, kw_only=True):
    """First message of a session; `config_json` is the node config it ran with, so the session can be replayed."""

    session_id: str
    mode: str
    config_json: str = ""


class NodeStopping(Event, frozen=True, kw_only=True):
    reason: str


class StopNode(Command, frozen=True, kw_only=True):
    """An actor asks the node to stop. `restart` False: the cause is one only an operator can fix (e.g. IB refuses
    the client id), so the process exits with the "do not restart" code instead of being restarted into it."""

    reason: str
    restart: bool


class ActorFailed(Event, frozen=True, kw_only=True):
    actor: str
    error: str
    failed_seq: int


class ActorRestarted(Event, frozen=True, kw_only=True):
    actor: str
    attempt: int
    replayed: int


class Alert(Event, frozen=True, kw_only=True):
    level: AlertLevel
    source: str
    text: str


class FlushJournal(Command, frozen=True, kw_only=True):
    """Ask persistence to commit everything buffered now (the supervisor does before rebuilding a failed actor)."""

    reason: str


class JournalFlushed(Event, frozen=True, kw_only=True):
    through_seq: int


class BrokerConnectionChanged(Event, frozen=True, kw_only=True):
    """The broker link's state: `connected`, `disconnected`, or `degraded` (up, but orders' outcomes unknown)."""

    state: ConnectionState
    reason: str


class StorageStateChanged(Event, frozen=True, kw_only=True):
    """Persistence's storage as the node sees it. `store` is the lake's `journal` or the local `write_ahead` log;
    `failing` from the first failed write until one succeeds; `unflushed` when a stop left messages unwritten."""

    store: Literal["journal", "write_ahead"]
    state: StorageState
    reason: str
    held: int = 0


class CoreSnapshot(Event, frozen=True, kw_only=True):
    """One actor core's whole state after it handled every message up to `through_seq` of its session, taken at a
    quiescent instant (`actors/runtime/snapshots.py`): a restart restores it and replays only the journal after it.
    `state` is the core as `actors/runtime/snapshot_codec.py` writes it; `schema` fingerprints the snapshot format and
    the source of `modules`, the modules whose classes the state holds."""

    core: str
    through_seq: int
    members: tuple[str, ...]
    """Every core of the set taken with it: a set is used only whole."""
    schema: str
    modules: tuple[str, ...]
    state: bytes
