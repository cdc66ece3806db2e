"""A readable timeline of a run: New York time, seq, message type and its salient fields, one line each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import msgspec
from rich.console import Console
from rich.markup import escape

from actors.market_time import NEW_YORK
from messages import Leg, Message, OrderTerminated, ReconciliationResult

MARKET_NOISE = frozenset(
    {
        "UnderlyingQuote",
        "OptionQuote",
        "OptionQuotes",
        "IndexQuote",
        "RawQuote",
        "ChainRequest",
        "ChainSnapshot",
        "SubscribeQuotes",
        "UnsubscribeQuotes",
        "TimerFired",
        "FlushJournal",
        "JournalFlushed",
        "DecisionRecord",
        "VolatilityStats",
        "StrategyGreeks",
        "PortfolioGreeks",
        "RiskStateSnapshot",
        "IvSample",
    }
)
"""Types hidden unless verbose: they repeat every tick and drown the trade's story."""

ROUTINE = frozenset(
    {
        "BrokerPositionsSnapshot",
        "BrokerPortfolio",
        "BrokerAccountValues",
        "IntentApproved",
        "OrderAccepted",
        "ModifyOrder",
        "StrategyPositionChanged",
        "StrategyMarked",
        "BadTick",
    }
)
"""Plumbing hidden unless verbose: periodic snapshots, acknowledgements, and commands whose outcome has its own line
(a `ModifyOrder` step of the limit walk shows as the broker's `OrderModified` or `ModifyRefused`; a rejected tick
as its alert)."""

HIDDEN_FIELDS = frozenset({"ts", "seq", "origin", "config_json"})
"""Never printed: the line's own columns, and the session's whole config (`NodeStarted` journals it for replays)."""

MAX_TEXT = 120
_STYLE_BY_TYPE = {
    "StrategyOpened": "bold green",
    "StrategyClosed": "bold magenta",
    "StrategyReduced": "magenta",
    "StrategySettled": "bold magenta",
    "AssignedStockClosed": "magenta",
    "OpenStrategy": "cyan",
    "CloseStrategy": "cyan",
    "OrderFilled": "green",
    "OrderRejected": "red",
    "ModifyRefused": "yellow",
    "IntentDenied": "yellow",
    "ActorFailed": "bold red",
    "Alert": "bold yellow",
}


def new_york_time(ts_ns: int) -> str:
    return dt.datetime.fromtimestamp(ts_ns / 1e9, tz=NEW_YORK).strftime("%Y-%m-%d %H:%M:%S")


def _legs_text(legs: Iterable[Leg]) -> str:
    return " / ".join(f"{leg.ratio:+d} {leg.contract.strike:g}{leg.contract.right}" for leg in legs)


def summarize(message: Message) -> str:
    parts: list[str] = []
    for name in message.__struct_fields__:
        if name in HIDDEN_FIELDS:
            continue
        value = getattr(message, name)
        if value is msgspec.UNSET:
            continue  # an optional field this message does not carry (e.g. `stock` of an option order)
        if name == "legs":
            expiry = value[0].contract.expiry.isoformat() if value else ""
            parts.append(f"legs=[{expiry} {_legs_text(value)}]")
        elif isinstance(value, float):
            parts.append(f"{name}={value:.2f}")
        elif isinstance(value, msgspec.Struct):
            parts.append(f"{name}={type(value).__name__}")
        elif isinstance(value, tuple):
            parts.append(f"{name}=[{len(value)}]")
        elif isinstance(value, str) and len(value) > MAX_TEXT:
            parts.append(f"{name}={value[:MAX_TEXT]}…")
        else:
            parts.append(f"{name}={value}")
    return " ".join(parts)


def timeline_line(message: Message) -> str:
    kind = type(message).__name__
    style = _STYLE_BY_TYPE.get(kind, "white")
    origin = message.origin or "input"
    return (
        f"[dim]{new_york_time(message.ts)}[/dim] [dim]#{message.seq:<6}[/dim] [dim]{origin:>13}[/dim] "
        f"[{style}]{kind:<22}[/{style}] {escape(summarize(message))}"
    )


def tells_the_story(message: Message) -> bool:
    """A change of state: entries, orders and fills, the limit walk, exits, alerts, breaker and trading state, and
    reconciliations that found something. Clean reconciliations and filled orders' verdicts are routine."""
    kind = type(message).__name__
    if kind in MARKET_NOISE or kind in ROUTINE:
        return False
    match message:
        case ReconciliationResult():
            return not message.ok
        case OrderTerminated():
            return message.status != "filled"  # the fill itself has its own line
    return True


def print_timeline(messages: Iterable[Message], console: Console, verbose: bool = False) -> int:
    shown = 0
    for message in messages:
        if verbose or tells_the_story(message):
            console.print(timeline_line(message), highlight=False, soft_wrap=True)
            shown += 1
    return shown
