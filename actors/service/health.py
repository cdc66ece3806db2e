"""Health and metrics of a running node, fed only by observing published messages and reading mailbox metrics.

`/health` answers JSON (200 when healthy, 503 when degraded); `/metrics` answers Prometheus text. The same health
document is written to the heartbeat file and, under systemd, drives the watchdog.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily

from actors.market_time import market_hours
from actors.runtime.threaded import ThreadedRuntime
from actors.service.periodic import Periodic
from messages import (
    BadTick,
    BreakerState,
    BreakerStateChanged,
    BrokerConnectionChanged,
    IndexQuote,
    Message,
    OptionQuote,
    OptionQuotes,
    OrderFilled,
    PlaceOrder,
    StorageStateChanged,
    TradingState,
    TradingStateChanged,
    UnderlyingQuote,
)

BREAKER_LEVEL = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}
TRADING_LEVEL = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}
QUOTE_TYPES = (UnderlyingQuote, OptionQuote, OptionQuotes, IndexQuote)
_NOTED = (PlaceOrder, OrderFilled, BadTick, BreakerStateChanged, TradingStateChanged, BrokerConnectionChanged,
          StorageStateChanged, *QUOTE_TYPES)
"""The types `observe` reads beyond counting them."""


class _MailboxCollector:
    def __init__(self, runtime: ThreadedRuntime) -> None:
        self._runtime = runtime

    def collect(self):  # noqa: ANN201 - prometheus collector protocol
        families = {
            name: GaugeMetricFamily(f"thetanode_mailbox_{name}", f"mailbox {name}", labels=["actor"])
            for name in ("depth", "high_water", "delivered", "conflated", "dropped", "overflows")
        }
        for actor, mailbox in sorted(self._runtime.mailboxes.items()):
            snapshot = mailbox.metrics.snapshot()
            for name, family in families.items():
                family.add_metric([actor], float(snapshot[name]))
        yield from families.values()


class NodeHealth:
    def __init__(self, runtime: ThreadedRuntime, stale_after_s: float) -> None:
        self._runtime = runtime
        self._stale_after_ns = int(stale_after_s * 1e9)
        self._lock = threading.Lock()
        self.trading_state = TradingState.ACTIVE
        self.breaker_state = BreakerState.CLOSED
        self.last_quote_ns = 0
        self.connection = "unknown"
        self.storage: dict[str, StorageStateChanged] = {}  # store -> its last state change
        self.registry = CollectorRegistry()
        self._messages = Counter("thetanode_messages", "published messages by type", ["type"], registry=self.registry)
        self._orders = Counter("thetanode_orders", "orders placed", registry=self.registry)
        self._fills = Counter("thetanode_fills", "fills received", registry=self.registry)
        self._option_quotes = Counter("thetanode_option_quotes", "option quotes published, alone or in bursts (an "
                                      "OptionQuotes message counts once in thetanode_messages_total)",
                                      registry=self.registry)
        self._bad_ticks = Counter("thetanode_bad_ticks", "ticks the quote gate rejected or repaired",
                                  ["symbol", "reason", "action"], registry=self.registry)
        self._breaker = Gauge("thetanode_breaker_state", "0 closed, 1 half-open, 2 open", registry=self.registry)
        self._trading = Gauge("thetanode_trading_state", "0 active, 1 reducing, 2 halted", registry=self.registry)
        self._quote_age = Gauge("thetanode_quote_age_seconds", "age of the newest quote", registry=self.registry)
        self._up = Gauge("thetanode_up", "1 while the runtime runs", registry=self.registry)
        self._connected = Gauge("thetanode_broker_connected", "1 connected, 0.5 degraded, 0 otherwise",
                                registry=self.registry)
        self._persistence_ok = Gauge("thetanode_persistence_ok", "1 while the journal and write-ahead log are "
                                     "writable, 0 otherwise", registry=self.registry)
        self.registry.register(_MailboxCollector(runtime))
        self._by_type: dict[type[Message], Any] = {}

    def observe(self, message: Message) -> None:
        """On the publisher's thread, for every message: the counter of its type is looked up once per type (a
        labelled lookup per message cost more than the actor work of a virtual-clock step)."""
        kind = type(message)
        counter = self._by_type.get(kind)
        if counter is None:
            counter = self._by_type.setdefault(kind, self._messages.labels(kind.__name__))
        counter.inc()
        if not isinstance(message, _NOTED):
            return
        match message:
            case PlaceOrder():
                self._orders.inc()
            case OrderFilled():
                self._fills.inc()
            case BadTick():
                self._bad_ticks.labels(message.symbol, message.reason, message.action).inc(message.count)
            case BreakerStateChanged():
                self.breaker_state = message.state
            case TradingStateChanged():
                self.trading_state = message.state
            case BrokerConnectionChanged():
                self.connection = message.state
            case StorageStateChanged():
                self.storage[message.store] = message
            case OptionQuotes():
                self._option_quotes.inc(len(message.quotes))
                self._quoted(message.ts)
            case OptionQuote():
                self._option_quotes.inc()
                self._quoted(message.ts)
            case UnderlyingQuote() | IndexQuote():
                self._quoted(message.ts)

    def _quoted(self, at_ns: int) -> None:
        with self._lock:
            self.last_quote_ns = max(self.last_quote_ns, at_ns)

    def document(self) -> dict[str, object]:
        now = self._runtime.clock.now()
        quote_age_s = (now - self.last_quote_ns) / 1e9 if self.last_quote_ns else None
        problems = [f"persistence: {store} {change.state}: {change.reason}"
                    for store, change in sorted(self.storage.items()) if change.state != "ok"]
        if self._runtime.stopped.is_set():
            problems.append(f"runtime stopped: {self._runtime.stop_reason or 'shutting down'}")
        if self.trading_state == TradingState.HALTED:
            problems.append("trading HALTED")
        if self.breaker_state == BreakerState.OPEN:
            problems.append("circuit breaker OPEN")
        if self.connection != "connected":
            problems.append(f"broker {self.connection}")
        market_open = market_hours().is_open(now)
        if market_open and (quote_age_s is None or quote_age_s * 1e9 > self._stale_after_ns):
            problems.append("market data stale" if quote_age_s is not None else "no market data yet")
        return {
            "status": "degraded" if problems else "ok",
            "problems": problems,
            "trading_state": self.trading_state,
            "breaker_state": self.breaker_state,
            "broker": self.connection,
            "persistence": {"journal": "ok", "write_ahead": "ok",
                            **{store: change.state for store, change in self.storage.items()}},
            "market_open": market_open,
            "quote_age_s": None if quote_age_s is None else round(quote_age_s, 3),
            "mailboxes": {name: box.metrics.depth for name, box in sorted(self._runtime.mailboxes.items())},
            "pid": os.getpid(),
        }

    def metrics_text(self) -> bytes:
        self._breaker.set(BREAKER_LEVEL[self.breaker_state])
        self._trading.set(TRADING_LEVEL[self.trading_state])
        self._up.set(0 if self._runtime.stopped.is_set() else 1)
        self._persistence_ok.set(0 if any(c.state != "ok" for c in self.storage.values()) else 1)
        self._connected.set({"connected": 1.0, "degraded": 0.5}.get(self.connection, 0.0))
        if self.last_quote_ns:
            self._quote_age.set((self._runtime.clock.now() - self.last_quote_ns) / 1e9)
        return generate_latest(self.registry)


def serve_health(health: NodeHealth, host: str, port: int) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path == "/health":
                document = health.document()
                body, status, kind = json.dumps(document).encode(), 200 if document["status"] == "ok" else 503, "json"
            elif self.path == "/metrics":
                body, status, kind = health.metrics_text(), 200, "plain; version=0.0.4"
            else:
                body, status, kind = b"not found: try /health or /metrics\n", 404, "plain"
            self.send_response(status)
            self.send_header("Content-Type", f"{'application/' if kind == 'json' else 'text/'}{kind}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="health-http", daemon=True).start()
    return server


def systemd_notify(state: str) -> None:
    """READY=1 / WATCHDOG=1 / STOPPING=1 to systemd when it launched us with Type=notify; a no-op otherwise."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(state.encode())


class Heartbeat:
    """Writes the health document to a file every interval (supervisors and humans can `cat` it) and pets the
    systemd watchdog while the node is healthy enough to run."""

    def __init__(self, health: NodeHealth, path: str, interval_s: float, running: Callable[[], bool]) -> None:
        self._health = health
        self._path = Path(path)
        self._running = running
        self._beats = Periodic("heartbeat", interval_s, self._beat)

    def start(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._beat()
        self._beats.start()

    def _beat(self) -> None:
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._health.document()))
        temporary.replace(self._path)
        if self._running():
            systemd_notify("WATCHDOG=1")

    def stop(self) -> None:
        self._beats.stop()
        if self._path.exists():
            self._beat()  # the file's last word is the stopped state, not a stale "ok"
