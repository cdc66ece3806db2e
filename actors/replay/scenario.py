"""Scenario files: a header line, then timed `send` / `expect` / `expect_none` lines, one JSON object per line.

    {"scenario": {"name": "take-profit", "start": "2026-03-02T14:30:00Z", "config": {"exits": {...}}}}
    {"at": "+0s", "send": {"type": "UnderlyingQuote", "symbol": "SPY", "bid": 579.9, "ask": 580.1, "last": 580.0}}
    {"at": "+2h", "expect": {"type": "StrategyOpened", "symbol": "SPY"}}
    {"at": "+1d", "expect_none": {"type": "StrategyClosed"}}

`at` is an ISO-8601 instant or an offset (`+90s`, `+15m`, `+2h`, `+3d`) from the previous line. Every problem is a
`ScenarioError` naming file, line and field.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

from actors.config import NodeConfig, config_from_mapping
from actors.config_section import ConfigError
from actors.market_time import CALENDAR_END, CALENDAR_START, NEW_YORK, NS_PER_S
from actors.replay.expect import unknown_fields
from messages import MESSAGE_BY_NAME, IndexQuote, Message, OptionQuote, OptionQuotes, RawQuote, UnderlyingQuote
from messages.codec import MessageDecodeError, from_builtins

_OFFSET = re.compile(r"^\+(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNIT_NS = {"ms": 1_000_000, "s": NS_PER_S, "m": 60 * NS_PER_S, "h": 3600 * NS_PER_S, "d": 86_400 * NS_PER_S}
MARKET_INPUT = (UnderlyingQuote, IndexQuote, OptionQuote)
"""Quotes a scenario sends are what the broker's feed delivers, bad ticks included: they enter as `RawQuote`."""
SCENARIO_DEFAULTS: dict[str, Any] = {"sim": {"market": "scripted"}}
"""Scenarios script their own prices, so the simulated broker prices from them unless the header says otherwise."""


class ScenarioError(ValueError):
    """A scenario that cannot be run; the text is `file:line: problem`."""


@dataclass(frozen=True)
class Step:
    line: int
    at_ns: int
    kind: Literal["send", "expect", "expect_none"]
    message: Message | None = None
    pattern: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    path: Path
    name: str
    start_ns: int
    config: NodeConfig
    steps: tuple[Step, ...]

    @property
    def end_ns(self) -> int:
        return self.steps[-1].at_ns if self.steps else self.start_ns


EARLIEST = dt.datetime.combine(CALENDAR_START, dt.time(), tzinfo=NEW_YORK)
LATEST = dt.datetime.combine(CALENDAR_END + dt.timedelta(days=1), dt.time(), tzinfo=NEW_YORK)
"""Scenario times stay within the market calendar (1990-2035): beyond it the node could not tell open from closed."""


def _bounded(at_ns: int, text: str, where: str) -> int:
    if not int(EARLIEST.timestamp()) * NS_PER_S <= at_ns < int(LATEST.timestamp()) * NS_PER_S:
        raise ScenarioError(f"{where}: `at` {text!r} falls outside the market calendar {CALENDAR_START}..{CALENDAR_END}")
    return at_ns


def _parse_instant(text: str, where: str) -> int:
    try:
        instant = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ScenarioError(f"{where}: `at` {text!r} is neither an ISO-8601 instant nor an offset like +15m") from None
    if instant.tzinfo is None:
        raise ScenarioError(f"{where}: `at` {text!r} has no time zone; add Z or an offset such as -05:00")
    return _bounded(int(instant.timestamp()) * NS_PER_S + instant.microsecond * 1000, text, where)


def _parse_at(value: Any, previous_ns: int, where: str) -> int:
    if not isinstance(value, str):
        raise ScenarioError(f"{where}: `at` must be a string, got {type(value).__name__}")
    if match := _OFFSET.match(value.strip()):
        return _bounded(previous_ns + int(float(match.group(1)) * _UNIT_NS[match.group(2)]), value, where)
    at_ns = _parse_instant(value.strip(), where)
    if at_ns < previous_ns:
        raise ScenarioError(f"{where}: `at` {value} is earlier than the previous line; lines must be in time order")
    return at_ns


def _parse_header(obj: Any, where: str, path: Path) -> tuple[str, int, NodeConfig]:
    if not isinstance(obj, dict) or set(obj) != {"scenario"} or not isinstance(obj["scenario"], dict):
        raise ScenarioError(f'{where}: the first line must be {{"scenario": {{"name": ..., "start": ...}}}}')
    header = obj["scenario"]
    unknown = set(header) - {"name", "start", "config"}
    if unknown:
        raise ScenarioError(f"{where}: unknown header field `{sorted(unknown)[0]}` (allowed: name, start, config)")
    name = header.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{where}: header `name` must be a non-empty string")
    if "start" not in header:
        raise ScenarioError(f"{where}: header needs `start`, an ISO-8601 instant")
    start_ns = _parse_instant(str(header["start"]), where)
    overrides = header.get("config", {})
    if not isinstance(overrides, dict):
        raise ScenarioError(f"{where}: header `config` must be an object of config sections")
    merged = {section: dict(values) for section, values in SCENARIO_DEFAULTS.items()}
    for section, values in overrides.items():
        if isinstance(values, dict) and section in merged:
            merged[section].update(values)
        else:
            merged[section] = values
    try:
        config = config_from_mapping(merged, source=f"{where}: config", base_dir=path.parent)
    except ConfigError as exc:
        raise ScenarioError(str(exc)) from None
    if config.node.broker != "sim":
        raise ScenarioError(f'{where}: config: scenarios run against the simulated exchange; node.broker = '
                            f'"{config.node.broker}" is for `thetanode run`')
    return name, start_ns, config


def _parse_step(obj: Any, line: int, previous_ns: int, where: str) -> Step:
    if not isinstance(obj, dict):
        raise ScenarioError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    kinds = [kind for kind in ("send", "expect", "expect_none") if kind in obj]
    unknown = set(obj) - {"at", "send", "expect", "expect_none"}
    if unknown:
        raise ScenarioError(f"{where}: unknown field `{sorted(unknown)[0]}` (allowed: at, send, expect, expect_none)")
    if len(kinds) != 1:
        raise ScenarioError(f"{where}: a line needs exactly one of `send`, `expect`, `expect_none`")
    if "at" not in obj:
        raise ScenarioError(f"{where}: missing `at`")
    kind = kinds[0]
    at_ns = _parse_at(obj["at"], previous_ns, where)
    body = obj[kind]
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise ScenarioError(f"{where}: `{kind}` must be an object with a string `type` naming a message")
    if kind != "send":
        if body["type"] not in MESSAGE_BY_NAME:
            raise ScenarioError(f"{where}: `{kind}.type` {body['type']!r} is not a message type")
        if typos := unknown_fields(body, MESSAGE_BY_NAME[body["type"]]):
            raise ScenarioError(f"{where}: `{kind}.{typos[0]}` is not a field of {body['type']}")
        return Step(line=line, at_ns=at_ns, kind=kind, pattern=body)
    if "ts" in body or "seq" in body:
        raise ScenarioError(f"{where}: `send` must not set `ts` or `seq`; the line's `at` is the message time")
    try:
        message = from_builtins(body)
    except MessageDecodeError as exc:
        raise ScenarioError(f"{where}: `send`: {exc}") from None
    if isinstance(message, OptionQuotes):  # it would pass the quote gate unjudged
        raise ScenarioError(f"{where}: `send` OptionQuotes: send each quote as an OptionQuote line (the broker makes "
                            "its own bursts, after the quote gate)")
    message = msgspec.structs.replace(message, ts=at_ns)
    if isinstance(message, MARKET_INPUT):
        message = RawQuote(ts=at_ns, quote=message)  # the feed: it reaches the node through the broker's quote gate
    return Step(line=line, at_ns=at_ns, kind="send", message=message)


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    numbered = [(number, text) for number, text in enumerate(lines, start=1) if text.strip()]
    if not numbered:
        raise ScenarioError(f"{path}: empty scenario")
    header: tuple[str, int, NodeConfig] | None = None
    steps: list[Step] = []
    previous_ns = 0
    for number, text in numbered:
        where = f"{path}:{number}"
        try:
            obj = msgspec.json.decode(text)
        except msgspec.DecodeError as exc:
            raise ScenarioError(f"{where}: not valid JSON: {exc}") from None
        if header is None:
            header = _parse_header(obj, where, path)
            previous_ns = header[1]
            continue
        step = _parse_step(obj, number, previous_ns, where)
        previous_ns = step.at_ns
        steps.append(step)
    name, start_ns, config = header
    return Scenario(path=path, name=name, start_ns=start_ns, config=config, steps=tuple(steps))
