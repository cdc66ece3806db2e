"""Reading a request's fields one at a time, each checked for its type: a field of the wrong shape is a `WireError`."""

from __future__ import annotations

import math
import re

from tests.ib.wire.framing import WireError
from tests.ib.wire.values import WireContract

INTEGER = re.compile(r"[+-]?[0-9]+\Z")


class Cursor:
    """Reads one message's fields left to right, failing with WireError.

    Every read is bounds- and type-checked here so that parsers can be
    written as straight-line code and still never raise IndexError.
    """

    def __init__(self, msg_id: int, name: str, fields: list[str]) -> None:
        self.msg_id = msg_id
        self.name = name
        self.fields = fields
        self.pos = 1

    def fail(self, problem: str) -> WireError:
        return WireError(f"message {self.msg_id} ({self.name}): {problem}")

    def raw(self, what: str) -> str:
        if self.pos >= len(self.fields):
            raise self.fail(
                f"truncated: field {self.pos} ({what}) missing, "
                f"message has only {len(self.fields)} fields"
            )
        value = self.fields[self.pos]
        self.pos += 1
        return value

    def text(self, what: str) -> str:
        return self.raw(what)

    def integer(self, what: str, empty: int | None = None) -> int:
        value = self.raw(what)
        if value == "" and empty is not None:
            return empty
        if not INTEGER.match(value):
            raise self.fail(f"field {self.pos - 1} ({what}) is not an integer: {value!r}")
        return int(value)

    def number(self, what: str) -> float | None:
        # ib_async writes unset doubles as "" and math.inf as "Infinite".
        value = self.raw(what)
        if value == "":
            return None
        if value == "Infinite":
            return math.inf
        try:
            return float(value)
        except ValueError:
            raise self.fail(
                f"field {self.pos - 1} ({what}) is not a number: {value!r}"
            ) from None

    def required_number(self, what: str) -> float:
        value = self.number(what)
        if value is None:
            raise self.fail(f"field {self.pos - 1} ({what}) is empty")
        return value

    def flag(self, what: str) -> bool:
        return bool(self.integer(what, empty=0))

    def version(self, expected: int) -> None:
        got = self.integer("version")
        if got != expected:
            raise self.fail(f"unsupported version {got}, expected {expected}")

    def count(self, what: str, fields_each: int) -> int:
        # Bound the count by what is left so a corrupt count cannot make us
        # loop for ages before finally hitting the end of the message.
        n = self.integer(what)
        left = len(self.fields) - self.pos
        if n < 0 or n * fields_each > left:
            raise self.fail(f"{what} {n} does not fit the {left} remaining fields")
        return n

    def contract(self) -> WireContract:
        return WireContract(
            con_id=self.integer("conId", empty=0),
            symbol=self.text("symbol"),
            sec_type=self.text("secType"),
            last_trade_date=self.text("lastTradeDateOrContractMonth"),
            strike=self.number("strike") or 0.0,
            right=self.text("right"),
            multiplier=self.text("multiplier"),
            exchange=self.text("exchange"),
            primary_exchange=self.text("primaryExchange"),
            currency=self.text("currency"),
            local_symbol=self.text("localSymbol"),
            trading_class=self.text("tradingClass"),
        )

    def end(self) -> None:
        extra = len(self.fields) - self.pos
        if extra:
            raise self.fail(f"{extra} unexpected trailing field(s)")
