"""Entry discipline's pure parts: when a cool-down ends, which exits start one, and the config that names them."""

from __future__ import annotations

import datetime as dt

import pytest

from actors.config import config_from_mapping
from actors.config_section import ConfigError
from actors.decision.config import EntrySection
from actors.decision.entry_gates import Cooldowns, cooldown_end_ns, inputs_before_session
from actors.market_time import NEW_YORK, NS_PER_S


def _ns(*parts: int) -> int:
    return int(dt.datetime(*parts, tzinfo=NEW_YORK).timestamp()) * NS_PER_S


def test_cooldown_counts_sessions_not_calendar_days():
    friday_exit = _ns(2018, 2, 2, 11, 0)
    # Friday and Monday flat; Tuesday's open is the second session after Friday's
    assert cooldown_end_ns(friday_exit, 2) == _ns(2018, 2, 6, 9, 30)
    # an exit on the Friday before Presidents' Day skips the holiday
    assert cooldown_end_ns(_ns(2018, 2, 16, 15, 0), 1) == _ns(2018, 2, 20, 9, 30)


def test_only_protective_exits_start_a_cooldown_per_symbol():
    cooldowns = Cooldowns(EntrySection())
    exit_ns = _ns(2018, 2, 5, 15, 0)
    cooldowns.on_closed("SPY", "take_profit", "IC-1", exit_ns)
    assert cooldowns.holding("SPY", exit_ns + NS_PER_S) is None
    cooldowns.on_closed("SPY", "vix_spike", "IC-2", exit_ns)
    held = cooldowns.holding("SPY", _ns(2018, 2, 6, 15, 0))
    assert held is not None and "vix_spike exit of IC-2" in held and "2018-02-07 09:30" in held
    assert cooldowns.holding("QQQ", _ns(2018, 2, 6, 15, 0)) is None
    assert cooldowns.holding("SPY", _ns(2018, 2, 7, 9, 30)) is None


def test_cooldown_of_zero_sessions_is_off():
    cooldowns = Cooldowns(EntrySection(protective_cooldown_sessions=0))
    cooldowns.on_closed("SPY", "catastrophe", "IC-1", _ns(2018, 2, 5, 15, 0))
    assert cooldowns.holding("SPY", _ns(2018, 2, 5, 15, 1)) is None


def test_inputs_from_before_the_open_are_named():
    session_open = _ns(2018, 2, 6, 9, 30)
    quoted = {"SPY": _ns(2018, 2, 5, 16, 0), "VIX": _ns(2018, 2, 6, 9, 31), "SPY chain": 0}
    assert inputs_before_session(quoted, session_open) == ["SPY"]


def test_unknown_protective_rule_is_a_config_error():
    with pytest.raises(ConfigError, match="protective_exit_rules.*'crash'"):
        config_from_mapping({"entry": {"protective_exit_rules": ["crash"]}}, source="t.toml")
