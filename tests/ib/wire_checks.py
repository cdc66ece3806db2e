"""Shared helpers for the test_wire_* modules; importing no_decoder_errors makes it autouse in that module only."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import pytest
from ib_async.decoder import Decoder
from ib_async.order import OrderComboLeg
from ib_async.wrapper import Wrapper

from tests.ib.wire import SERVER_VERSION, FrameReader, frame

ACCOUNT = "DU123456"


class Recorder:
    """Stand-in for ib_async's Wrapper that records every callback made.

    Only names that really are Wrapper methods are accepted, so a decoder
    calling a name we did not expect fails loudly instead of being recorded,
    and the Client's optional per-packet hooks are hidden so they stay off.
    """

    _HOOKS = frozenset({"tcpDataArrived", "tcpDataProcessed"})

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        # execDetails reads these to localise naive execution times.
        self.ib = type("FakeIB", (), {"TimezoneTWS": "US/Eastern"})()
        self.defaultTimezone = dt.timezone.utc

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name.startswith("_") or name in self._HOOKS:
            raise AttributeError(name)
        if not callable(getattr(Wrapper, name, None)):
            raise AttributeError(name)

        def record(*args: Any) -> None:
            self.calls.append((name, args))

        return record

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for n, args in self.calls if n == name]

    def only(self, name: str) -> tuple[Any, ...]:
        assert [n for n, _ in self.calls] == [name], self.calls
        return self.calls[0][1]


def decoder_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name.startswith("ib_async") and r.levelno >= logging.ERROR
    ]


@pytest.fixture(autouse=True)
def no_decoder_errors(caplog: pytest.LogCaptureFixture):
    # The Decoder swallows every exception into logging (and the Client logs
    # connection failures the same way); surface them as test failures.
    caplog.set_level(logging.ERROR, logger="ib_async.Decoder")
    caplog.set_level(logging.ERROR, logger="ib_async.client")
    yield
    errors = decoder_errors(caplog)
    assert not errors, "\n".join(r.getMessage() for r in errors)


def decode(msg: list[object]) -> Recorder:
    reader = FrameReader()
    messages = reader.feed(frame(msg))
    assert len(messages) == 1 and reader.buffered == 0
    recorder = Recorder()
    Decoder(recorder, SERVER_VERSION).interpret(messages[0])
    return recorder


def as_dict(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def assert_same_fields(actual: Any, expected: Any) -> None:
    got, want = as_dict(actual), as_dict(expected)
    diff = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
    assert not diff, f"(decoded, expected) differ: {diff}"


def order_leg_prices() -> list[OrderComboLeg]:
    return [OrderComboLeg(), OrderComboLeg(0.45), OrderComboLeg(), OrderComboLeg(0.12)]
