from pathlib import Path

import pytest

from actors.replay.expect import matches
from actors.replay.scenario import ScenarioError, load_scenario
from messages import StrategyClosed

HEADER = '{"scenario": {"name": "t", "start": "2026-03-02T14:30:00Z"}}'
QUOTE = '{"type": "UnderlyingQuote", "symbol": "SPY", "bid": 579.9, "ask": 580.1, "last": 580.0}'


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_parses_header_offsets_and_steps(tmp_path):
    path = _write(
        tmp_path,
        HEADER,
        '{"at": "+0s", "send": ' + QUOTE + "}",
        '{"at": "+15m", "expect": {"type": "StrategyOpened", "symbol": "SPY"}}',
        '{"at": "2026-03-03T15:00:00Z", "expect_none": {"type": "StrategyClosed"}}',
    )
    scenario = load_scenario(path)
    assert scenario.config.sim.market == "scripted"
    first, second, third = scenario.steps
    assert first.message is not None and first.message.ts == scenario.start_ns
    assert second.at_ns == scenario.start_ns + 15 * 60 * 10**9
    assert third.kind == "expect_none" and third.line == 4


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "s.jsonl:2: not valid JSON"),
        ('{"at": "+1m", "send": {"type": "UnderlyingQuote", "symbol": "SPY", "bid": "x", "ask": 1, "last": 1}}',
         r"s.jsonl:2: `send`: Expected `float`, got `str` - at `\$.bid`"),
        ('{"at": "+1m", "send": {"type": "Nope"}}', "s.jsonl:2: `send`"),
        ('{"at": "soon", "send": ' + QUOTE + "}", "s.jsonl:2: `at` 'soon'"),
        ('{"at": "+1m"}', "exactly one of"),
        ('{"at": "+1m", "expect": {"type": "StrategyClosed", "pnl": 3}}', "`expect.pnl` is not a field"),
        ('{"at": "+1m", "expect": {"type": "Bogus"}}', "not a message type"),
        ('{"at": "2020-01-01T00:00:00Z", "send": ' + QUOTE + "}", "earlier than the previous line"),
        ('{"at": "+1m", "sned": {}}', "unknown field `sned`"),
    ],
)
def test_bad_lines_name_file_line_and_field(tmp_path, line, problem):
    with pytest.raises(ScenarioError, match=problem):
        load_scenario(_write(tmp_path, HEADER, line))


def test_bad_header_and_config(tmp_path):
    with pytest.raises(ScenarioError, match="s.jsonl:1: the first line must be"):
        load_scenario(_write(tmp_path, '{"at": "+1m"}'))
    with pytest.raises(ScenarioError, match=r"s.jsonl:1: config: .*take_profit"):
        load_scenario(_write(tmp_path, '{"scenario": {"start": "2026-03-02T14:30:00Z", '
                                       '"config": {"exits": {"take_profit_pct": 7}}}}'))
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "missing.jsonl")


def test_expectation_patterns_compare_fields_and_bounds():
    closed = StrategyClosed(strategy_id="IC-1", exit_price=-0.5, realized_pnl_usd=70.0, commissions_usd=5.2,
                            rule="take_profit")
    assert matches({"type": "StrategyClosed", "rule": "take_profit", "realized_pnl_usd": {">": 0}}, closed)
    assert matches({"type": "StrategyClosed", "exit_price": {"approx": -0.49, "tol": 0.02}}, closed)
    assert not matches({"type": "StrategyClosed", "realized_pnl_usd": {"<": 0}}, closed)
    assert not matches({"type": "StrategyOpened"}, closed)
