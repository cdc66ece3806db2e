"""Base types shared by every message: the tagged, frozen msgspec Struct and contract/leg value types."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec


class Message(msgspec.Struct, frozen=True, kw_only=True, tag=True, forbid_unknown_fields=True, gc=False):
    """Every message: `ts` is nanoseconds since the epoch from the clock; `seq` is set by the runtime on publish.

    `origin` is the actor that published it ("runtime" for timers and supervision, empty for outside input such
    as scenario lines or operator commands); a recorded session is replayed by re-feeding what came from outside
    the cores being replayed.

    Untracked by the cyclic garbage collector (`gc=False`): a message holds only immutable values (numbers, strings,
    dates, tuples, other untracked structs), so it can never be part of a reference cycle, and reference counting
    frees it. Tracked, the ten thousand quotes a second the node handles at a busy open were most of what set off the
    collector: in `scripts/bench_latency.py` 26 young passes a second (p50 0.17-0.22 ms), two a second of the middle
    generation and two full passes (6-17 ms, every thread stopped) in each 15 s run; untracked, 15 a second
    (0.09 ms), one, and none.
    """

    ts: int = 0
    seq: int = 0
    origin: str = ""


class Command(Message, frozen=True, kw_only=True):
    """A request that may be denied; denial is reported with a reason message."""


class Event(Message, frozen=True, kw_only=True):
    """A fact: never changed, never denied."""


Right = Literal["C", "P"]


class OptionContract(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """An equity option, identified the way a trader reads it: SPY 2026-12-18 580 P."""

    symbol: str
    expiry: dt.date
    strike: float
    right: Right

    def __str__(self) -> str:
        return f"{self.symbol} {self.expiry.isoformat()} {self.strike:g}{self.right}"


class Leg(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """One leg of a structure; `ratio` is signed: +1 long, -1 short, per one unit of the structure."""

    contract: OptionContract
    ratio: int


Legs = tuple[Leg, ...]

CONTRACT_MULTIPLIER = 100
"""Equity options settle 100 shares per contract; applied exactly once, when turning premium into dollars."""
