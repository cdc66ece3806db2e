"""Node configuration: TOML sections as frozen structs. Unknown keys and bad values are errors naming the field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import msgspec

from actors.alerts.config import AlertsSection
from actors.broker.ib.config import IbSection
from actors.broker.sim.config import SimSection
from actors.config_section import ConfigError, Section, read_toml
from actors.decision.config import EntrySection, ExitSection
from actors.event_calendar import EventDefaults, load_events
from actors.execution.config import ExecutionSection
from actors.market_data.config import MarketDataSection
from actors.persistence.config import PersistenceSection
from actors.risk.config import RiskSection
from actors.runtime.config import MailboxSection, SupervisorSection
from actors.service.config import ServiceSection


class NodeSection(Section, frozen=True, kw_only=True):
    session_id: str = ""
    broker: Literal["sim", "ib"] = "sim"
    clock: Literal["wall", "virtual", "shifted"] = "wall"
    """`virtual` runs `thetanode run` as fast as the actors go, continuing from the lake's last instant (or
    `sim.start`): accelerated paper sessions and recovery drills. `shifted` runs at wall-clock speed from
    `clock_start` (drills against a test gateway outside market hours). Live trading uses `wall`."""
    clock_start: dt.datetime = dt.datetime(2026, 3, 2, 14, 35, tzinfo=dt.UTC)
    lake_uri: str = "thetanode-data/lake"
    storage_options: dict[str, str] = {}

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.lake_uri.strip():
            raise ValueError("`lake_uri` must name a lake (a directory or an object-store URI)")


class NodeConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    node: NodeSection = NodeSection()
    sim: SimSection = SimSection()
    entry: EntrySection = EntrySection()
    exits: ExitSection = ExitSection()
    risk: RiskSection = RiskSection()
    execution: ExecutionSection = ExecutionSection()
    market_data: MarketDataSection = MarketDataSection()
    persistence: PersistenceSection = PersistenceSection()
    mailbox: MailboxSection = MailboxSection()
    supervisor: SupervisorSection = SupervisorSection()
    alerts: AlertsSection = AlertsSection()
    service: ServiceSection = ServiceSection()
    ib: IbSection = IbSection()

    def __post_init__(self) -> None:
        if self.ib.live and self.node.clock != "wall":
            raise ValueError(f"`ib.live = true` trades real money on the wall clock only, not `node.clock = "
                             f"\"{self.node.clock}\"`")
        if self.node.clock == "shifted" and self.node.broker == "sim":
            raise ValueError("`node.clock = \"shifted\"` is for drills against an IB test gateway; the simulated "
                             "broker runs on `wall` or `virtual`")


DEFAULT_CONFIG = NodeConfig()


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def config_from_mapping(
    overrides: dict[str, Any], *, source: str = "config", base: NodeConfig = DEFAULT_CONFIG,
    base_dir: Path | None = None, read_events: bool = True,
) -> NodeConfig:
    """`base` (the defaults) overlaid with `overrides` (nested tables merge key by key). With `read_events`, the
    `entry.events_file` (relative to `base_dir`, else the working directory) is read into `entry.events`; a recorded
    session's config is rebuilt without it, keeping the events it ran with."""
    if not isinstance(overrides, dict):
        raise ConfigError(f"{source}: expected a table of sections, got {type(overrides).__name__}")
    merged = _merge(msgspec.to_builtins(base), overrides)
    try:
        config = msgspec.convert(merged, NodeConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return _with_events(config, base_dir or Path.cwd()) if read_events and config.entry.events_file else config


def _with_events(config: NodeConfig, base_dir: Path) -> NodeConfig:
    """The events file read once, here: its absolute path and its events land in the config (a later overlay on this
    config reads the same file again, wherever it runs from)."""
    entry = config.entry
    path = (base_dir / Path(entry.events_file).expanduser()).resolve()
    defaults = EventDefaults(before_days=entry.event_before_days, after_days=entry.event_after_days,
                             hold_through_market=entry.event_hold_through_market,
                             hold_through_symbol=entry.event_hold_through_symbol)
    events = load_events(path, defaults)
    entry = msgspec.structs.replace(entry, events_file=str(path), events=events)
    return msgspec.structs.replace(config, entry=entry)


def load_config(path: str | Path) -> NodeConfig:
    path = Path(path)
    raw = read_toml(path, "config file")
    return config_from_mapping(raw, source=str(path), base_dir=path.parent)
