"""Base types shared by every message: the tagged, frozen msgspec Struct and contract/leg value types."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec


class Message(msgspec.Struct, frozen=True, kw_only=True, tag=True, forbid_unknown_fields=True):
    """Every message: `ts` is nanoseconds since the epoch from the clock; `seq` is set by the runtime on publish.

    `origin` is the actor that published it ("runtime" for timers and supervision, empty for outside input such
    as scenario lines or operator commands); a recorded session is replayed by re-feeding what came from outside
    the cores being replayed.
    """

    ts: int = 0
    seq: int = 0
    origin: str = ""


class Command(Message, frozen=True, kw_only=True):
    """A request that may be denied; denial is reported with a reason message."""


class Event(Message, frozen=True, kw_only=True):
    """A fact: never changed, never denied."""


Right = Literal["C", "P"]


class OptionContract(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An equity option, identified the way a trader reads it: SPY 2026-12-18 580 P."""

    symbol: str
    expiry: dt.date
    strike: float
    right: Right

    def __str__(self) -> str:
        return f"{self.symbol} {self.expiry.isoformat()} {self.strike:g}{self.right}"


class Leg(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One leg of a structure; `ratio` is signed: +1 long, -1 short, per one unit of the structure."""

    contract: OptionContract
    ratio: int


Legs = tuple[Leg, ...]

CONTRACT_MULTIPLIER = 100
"""Equity options settle 100 shares per contract; applied exactly once, when turning premium into dollars."""
