"""What the dashboard shows and where it comes from: the lake (read-only, re-read only when a table's version moved),
the node's health endpoint (a GET, as any monitor would), and the node's control directory (halt / resume)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from actors.analytics.book import TABLES, TradeBook, load_book
from actors.analytics.performance import Performance, performance
from actors.config import NodeConfig
from actors.service.control import write_command
from storage.lake_views import LakeViews

HEALTH_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class Snapshot:
    version: tuple[int, ...]
    """The tables' Delta versions it was read at: a new tuple means something new was committed."""
    book: TradeBook
    performance: Performance


@dataclass(frozen=True)
class NodeStatus:
    reachable: bool
    status: str
    """ok / degraded (from /health), or what we know without it."""
    problems: tuple[str, ...]
    trading_state: str = ""
    source: str = ""


class LiveBook:
    """The latest snapshot of the lake, rebuilt only when a commit landed; shared by every browser session."""

    def __init__(self, views: LakeViews) -> None:
        self._views = views
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    def current(self) -> Snapshot:
        with self._lock:
            version = self._views.versions(TABLES)
            if self._snapshot is None or self._snapshot.version != version:
                book = load_book(self._views)
                self._snapshot = Snapshot(version, book, performance(book))
            return self._snapshot


class NodeLink:
    """The dashboard's only ways to the node: its public health endpoint and its control directory."""

    def __init__(self, config: NodeConfig) -> None:
        service = config.service
        self.health_url = f"http://{service.health_host}:{service.health_port}/health" if service.health_port else ""
        self._heartbeat = Path(service.heartbeat_file)
        self._control_dir = service.control_dir
        self.control_poll_s = service.control_poll_s

    def status(self) -> NodeStatus:
        if self.health_url:
            try:
                with urllib.request.urlopen(self.health_url, timeout=HEALTH_TIMEOUT_S) as response:
                    return self._from_document(json.loads(response.read()), self.health_url)
            except urllib.error.HTTPError as degraded:  # 503 carries the same document
                return self._from_document(json.loads(degraded.read()), self.health_url)
            except (OSError, ValueError):
                pass
        if self._heartbeat.exists():
            try:
                document = json.loads(self._heartbeat.read_text())
            except (OSError, ValueError):
                document = None
            if document:
                return NodeStatus(False, "not answering", (f"last heartbeat said {document.get('status')}",),
                                  str(document.get("trading_state", "")), str(self._heartbeat))
        return NodeStatus(False, "not answering", ("no health endpoint or heartbeat",), "", self.health_url)

    @staticmethod
    def _from_document(document: dict, source: str) -> NodeStatus:
        return NodeStatus(True, str(document.get("status", "?")), tuple(map(str, document.get("problems", ()))),
                          str(document.get("trading_state", "")), source)

    def send(self, command: str, reason: str) -> Path:
        """Queue `halt` or `resume` exactly as `thetanode halt|resume` does; the node applies it within its poll."""
        return write_command(self._control_dir, command, reason)
