"""A readable timeline of a run: New York time, seq, message type and its salient fields, one line each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import msgspec
from rich.console import Console
from rich.markup import escape

from actors.market_time import NEW_YORK
from messages import Leg, Message

MARKET_NOISE = frozenset(
    {
        "UnderlyingQuote",
        "OptionQuote",
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

MAX_TEXT = 120
_STYLE_BY_TYPE = {
    "StrategyOpened": "bold green",
    "StrategyClosed": "bold magenta",
    "OpenStrategy": "cyan",
    "CloseStrategy": "cyan",
    "OrderFilled": "green",
    "OrderRejected": "red",
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
        if name in ("ts", "seq", "origin"):
            continue
        value = getattr(message, name)
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


def print_timeline(messages: Iterable[Message], console: Console, verbose: bool = False) -> int:
    shown = 0
    for message in messages:
        if verbose or type(message).__name__ not in MARKET_NOISE:
            console.print(timeline_line(message), highlight=False, soft_wrap=True)
            shown += 1
    return shown
