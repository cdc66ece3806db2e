"""Alerts core: counts every alert by level and hands those at or above the configured level to a sink."""

from __future__ import annotations

from collections import Counter
from typing import Protocol

from actors.alerts.config import AlertsSection
from actors.runtime.core import ActorCore, Context
from messages import Alert, Message

LEVEL_ORDER = {"info": 0, "warning": 1, "critical": 2}


class AlertSink(Protocol):
    def send(self, alert: Alert) -> None:
        """Deliver one alert; failures are the sink's to report, never the node's to crash on."""


class AlertsCore(ActorCore):
    name = "alerts"
    subscriptions = (Alert,)

    def __init__(self, params: AlertsSection, sink: AlertSink | None = None) -> None:
        self._params = params
        self._sink = sink
        self.counts: Counter[str] = Counter()

    def handle(self, message: Message, ctx: Context) -> None:
        if not isinstance(message, Alert):
            return
        self.counts[message.level] += 1
        if self._sink is not None and LEVEL_ORDER[message.level] >= LEVEL_ORDER[self._params.min_level]:
            self._sink.send(message)
