"""Record → replay: re-run a journaled session's decision-making cores on what came from outside them.

Everything the replayed cores did not publish themselves — broker quotes, chains and order events, operator
commands — is fed back at its recorded time and in recorded order, and so are their timer firings: the recorded
order of timers and inputs at the same instant is part of what the cores saw. The
decisions the cores make (intents, risk verdicts, orders, strategy lifecycle) are then compared with the recorded
ones, field by field and timestamp by timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from actors.config import config_from_mapping
from actors.config_section import ConfigError
from actors.node import core_factories
from actors.replay.errors import SessionReplayError
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from actors.runtime.routing import RUNTIME_ORIGIN
from messages import (
    CancelOrder,
    CloseStrategy,
    IntentApproved,
    IntentDenied,
    Message,
    ModifyOrder,
    NodeStarted,
    OpenStrategy,
    PlaceOrder,
    StrategyClosed,
    StrategyOpened,
    TimerFired,
)
from storage.journal import DeltaJournal

DECISION_TYPES = (
    OpenStrategy,
    CloseStrategy,
    IntentApproved,
    IntentDenied,
    PlaceOrder,
    ModifyOrder,
    CancelOrder,
    StrategyOpened,
    StrategyClosed,
)
NOT_REPLAYED = frozenset({"broker", "ib_session", "persistence", "alerts"})
"""The broker's outputs (and IB's, through its session) are the recorded inputs; persistence and alerts only write
out. None of them may run in a replay: the IB session would dial the broker."""


@dataclass(frozen=True)
class SessionReplay:
    session_id: str
    recorded: list[Message]
    reproduced: list[Message]
    inputs: int
    exact_times: bool = True
    """A virtual-clock session reproduces every timestamp. On the wall clock a live actor stamps what it publishes
    when it publishes, while a replay stamps it at its input's instant: decisions are then compared field by field
    and in order, but without their publication times."""

    @property
    def mismatches(self) -> list[str]:
        problems = []
        ignored = {"seq"} if self.exact_times else {"seq", "ts"}
        for index, (recorded, reproduced) in enumerate(zip(self.recorded, self.reproduced, strict=False)):
            if _comparable(recorded, ignored) != _comparable(reproduced, ignored):
                problems.append(f"decision {index + 1}: recorded {_brief(recorded)}, replay made {_brief(reproduced)}")
        if len(self.recorded) != len(self.reproduced):
            problems.append(f"recorded {len(self.recorded)} decisions, replay made {len(self.reproduced)}")
        return problems


def _strip(value: Any, ignored: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v, ignored) for k, v in value.items() if k not in ignored}
    if isinstance(value, list):
        return [_strip(v, ignored) for v in value]
    return value


def _comparable(message: Message, ignored: set[str]) -> Any:
    return _strip(msgspec.to_builtins(message), ignored)


def _brief(message: Message) -> str:
    strategy = getattr(message, "strategy_id", "") or getattr(message, "client_order_id", "")
    return f"{type(message).__name__}({strategy}) at ts {message.ts}"


def _on_virtual_clock(messages: list[Message], clock: str) -> bool:
    """Demos always run on a virtual clock; `thetanode run` on the one its config names."""
    started = next(m for m in messages if isinstance(m, NodeStarted))
    return started.mode != "run" or clock == "virtual"


def _session_config(messages: list[Message], session_id: str):  # noqa: ANN202 - NodeConfig
    started = next((m for m in messages if isinstance(m, NodeStarted)), None)
    if started is None or not started.config_json:
        raise SessionReplayError(f"session {session_id} has no NodeStarted with its config; it cannot be replayed")
    try:
        return config_from_mapping(msgspec.json.decode(started.config_json), source=f"session {session_id} config",
                                   read_events=False)
    except (msgspec.DecodeError, ConfigError) as exc:
        raise SessionReplayError(str(exc)) from None


def replay_session(journal: DeltaJournal, session_id: str) -> SessionReplay:
    messages = list(journal.read(session_id))
    if not messages:
        raise SessionReplayError(f"{journal.uri}: no session {session_id!r} (known: {', '.join(journal.sessions()) or 'none'})")
    config = _session_config(messages, session_id)
    start_ns = min(m.ts for m in messages)
    factories = [
        factory
        for factory in core_factories(config, session_id, None, start_ns)
        if factory().name not in NOT_REPLAYED
    ]
    runtime = DeterministicRuntime(factories, VirtualClock(start_ns), config.supervisor, recorded_timers=True)
    replayed_names = set(runtime.routes.names)
    inputs = [
        m
        for m in messages
        if (m.origin not in replayed_names and m.origin != RUNTIME_ORIGIN)
        or (isinstance(m, TimerFired) and m.target in replayed_names)
    ]
    runtime.start()
    for message in inputs:
        runtime.inject(msgspec.structs.replace(message, seq=0))
    runtime.run_until(max(m.ts for m in messages))
    return SessionReplay(
        session_id=session_id,
        recorded=[m for m in messages if isinstance(m, DECISION_TYPES)],
        reproduced=[m for m in runtime.history if isinstance(m, DECISION_TYPES)],
        inputs=len(inputs),
        exact_times=_on_virtual_clock(messages, config.node.clock),
    )
