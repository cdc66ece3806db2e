"""Runs the IB broker core and session (or the whole node) in process against the test gateway, and waits for
the messages they publish."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from actors.broker.ib.core import IbBrokerCore
from actors.broker.ib.session import IbSessionCore
from actors.config import NodeConfig, config_from_mapping
from actors.runtime.clock import ShiftedClock
from actors.runtime.core import ActorCore
from actors.runtime.threaded import ThreadedRuntime
from messages import Message, OptionQuotes, OrderFilled
from tests.ib.behaviour import GatewaySettings
from tests.ib.gateway import TestGateway, shifted_clock

MARKET_TIME = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)  # a Monday, 10:00 in New York
CLIENT_ID = 7


def ib_config(gateway: TestGateway, **sections: dict[str, Any]) -> NodeConfig:
    overrides: dict[str, Any] = {
        "node": {"broker": "ib", "clock": "shifted", "clock_start": MARKET_TIME},
        "ib": {"port": gateway.port, "reconnect_initial_s": 0.1, "reconnect_max_s": 0.5, "connect_timeout_s": 5.0,
               "positions_settle_s": 0.2, "commission_wait_s": 1.0},
        "service": {"client_id": CLIENT_ID},
    }
    for name, values in sections.items():
        overrides[name] = {**overrides.get(name, {}), **values}
    return config_from_mapping(overrides, source="test")


def write_node_toml(tmp_path: Path, port: int, **sections: dict[str, Any]) -> Path:
    """A `thetanode run` config file for a node process against the test gateway on `port`, on the shifted clock from
    MARKET_TIME, its lake and service files under `tmp_path`; `sections` add to or override these settings."""
    merged: dict[str, dict[str, Any]] = {
        "node": {"broker": "ib", "clock": "shifted", "clock_start": MARKET_TIME, "lake_uri": str(tmp_path / "lake")},
        "ib": {"port": port},
        "service": {"health_port": 0, "heartbeat_file": str(tmp_path / "heartbeat.json"),
                    "control_dir": str(tmp_path / "control")},
    }
    for name, values in sections.items():
        merged[name] = {**merged.get(name, {}), **values}
    lines = [line for name, values in merged.items()
             for line in (f"[{name}]", *(f"{key} = {_toml_value(value)}" for key, value in values.items()))]
    config = tmp_path / "node.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string is a JSON string
    return repr(value)


def operator_settings() -> GatewaySettings:
    """IB Gateway as the README tells the operator to configure it: Read-Only API off, order precautions bypassed
    for API orders (a fresh installation has neither)."""
    return GatewaySettings(read_only_api=False, bypass_order_precautions=True)


def new_gateway(start: dt.datetime = MARKET_TIME, **options: Any) -> TestGateway:
    options.setdefault("settings", operator_settings())
    gateway = TestGateway(shifted_clock(start), **options)
    gateway.start()
    return gateway


class Probe:
    """Every published message, with waits on what should arrive."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._changed = threading.Condition()

    def observe(self, message: Message) -> None:
        with self._changed:
            self.messages.append(message)
            if isinstance(message, OptionQuotes):  # a burst's quotes, as the actors read them: in its place and seq
                self.messages += [msgspec.structs.replace(quote, seq=message.seq) for quote in message.quotes]
            self._changed.notify_all()

    def of(self, kind: type, where: Callable[[Any], bool] = lambda _: True) -> list[Any]:
        with self._changed:
            return [m for m in self.messages if isinstance(m, kind) and where(m)]

    def wait(self, kind: type, where: Callable[[Any], bool] = lambda _: True, count: int = 1,
             timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [m for m in self.messages if isinstance(m, kind) and where(m)]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    recent = ", ".join(type(m).__name__ for m in self.messages[-15:])
                    raise AssertionError(f"no {count} x {kind.__name__} within {timeout:g}s; last: {recent}")
                self._changed.wait(left)


class InProcessNode:
    """A ThreadedRuntime on the shifted clock with the given cores (default: IB broker core and session)."""

    def __init__(self, config: NodeConfig, factories: Sequence[Callable[[], ActorCore]] | None = None,
                 start: dt.datetime = MARKET_TIME) -> None:
        self.config = config
        self.probe = Probe()
        factories = factories or [lambda: IbBrokerCore(config.ib),
                                  lambda: IbSessionCore(config.ib, config.service.client_id, config.entry.symbols,
                                                        config.market_data)]
        self.runtime = ThreadedRuntime(factories, ShiftedClock(int(start.timestamp() * 1e9)))
        self.runtime.observers.append(self.probe.observe)

    def __enter__(self) -> InProcessNode:
        self.runtime.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.runtime.stop(timeout_s=5)

    def send(self, message: Message) -> Message:
        return self.runtime.publish(message)


def booked_units(node: InProcessNode, client_order_id: str | None = None) -> int:
    """Combo units booked so far (IB may report one fill in several executions, so in several bookings)."""
    return sum(f.quantity for f in node.probe.of(OrderFilled)
               if client_order_id is None or f.client_order_id == client_order_id)
