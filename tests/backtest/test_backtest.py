"""Backtests on real history (the `arch` sample): through the February 2018 volatility shock the node's own cores
never open and close a position within one evaluation interval and never enter inside a protective cool-down; the
journal is on disk; the command prints the trade table and statistics, writes the report, and refuses bad input on
one line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec
import pytest
from deltalake import DeltaTable

from actors.backtest import BacktestOutcome, backtest_config, history_range, run_backtest
from actors.cli import main
from actors.decision.entry_gates import cooldown_end_ns
from actors.market_time import NS_PER_S
from messages import StrategyClosed, StrategyOpened
from storage.journal import DeltaJournal
from storage.lake_writer import LakeWriter
from storage.tables import SCHEMAS

SHOCK = (dt.date(2018, 1, 16), dt.date(2018, 3, 16))
"""The calm January rally, the 5 February crash (S&P -4.1%, VIX 17 -> 37) and its aftershocks."""


def _run(lake: Path, entry: dict | None = None) -> tuple[BacktestOutcome, object]:
    config = backtest_config({"node": {"lake_uri": str(lake)}, "entry": entry or {}}, source="test")
    outcome = run_backtest(config, history_range(config, *SHOCK), "shock")
    return outcome, config


def _same_interval(outcome: BacktestOutcome, interval_ns: int) -> list[str]:
    opened = {o.strategy_id: o.ts for o in outcome.opened}
    return [c.strategy_id for c in outcome.closed if c.ts - opened[c.strategy_id] < interval_ns]


def _inside_cooldown(outcome: BacktestOutcome, config) -> list[str]:  # noqa: ANN001 - NodeConfig
    protective = [c for c in outcome.closed if c.rule in config.entry.protective_exit_rules]
    sessions = config.entry.protective_cooldown_sessions or 2  # gates off: judged by the default cool-down
    return [f"{o.strategy_id} after {c.strategy_id} ({c.rule})" for c in protective for o in outcome.opened
            if c.ts < o.ts < cooldown_end_ns(c.ts, sessions)]


@pytest.mark.timeout(600)
def test_through_a_crash_no_instant_round_trip_and_no_entry_inside_the_cooldown(tmp_path: Path):
    outcome, config = _run(tmp_path / "lake")
    assert outcome.stop_reason is None and outcome.unflushed is None
    protective = [c for c in outcome.closed if c.rule in config.entry.protective_exit_rules]
    assert protective, "the period must contain protective exits, or the cool-down is not exercised"
    assert outcome.gates.get("entry_cooldown", 0) > 0
    assert _same_interval(outcome, int(config.entry.evaluate_interval_s * NS_PER_S)) == []
    assert _inside_cooldown(outcome, config) == []
    # the journal is on disk, whole: read back from the lake, not from the run's memory
    journal = DeltaJournal(config.node.lake_uri)
    on_disk = list(journal.read("shock"))
    assert len(on_disk) == outcome.messages - 1  # all but the JournalFlushed that confirms the last commit
    assert [m.strategy_id for m in on_disk if isinstance(m, StrategyOpened)] == [o.strategy_id for o in outcome.opened]
    assert [m.strategy_id for m in on_disk if isinstance(m, StrategyClosed)] == [c.strategy_id for c in outcome.closed]
    # a finished backtest commits no more and no later start folds it: its idempotency marks are retired
    lake = LakeWriter(journal)
    tables = [(lake.table_uri(t), f"shock/{t}") for t in SCHEMAS if DeltaTable.is_deltatable(lake.table_uri(t))]
    assert len(tables) > 2, "the backtest wrote its derived tables"
    for uri, app_id in [(journal.uri, "shock"), *tables]:
        assert DeltaTable(uri).transaction_version(app_id) is None, uri


@pytest.mark.timeout(600)
def test_without_entry_discipline_the_same_period_reenters_inside_the_cooldown(tmp_path: Path):
    """The test above can fail: with the gates off the node re-enters right after protective exits."""
    outcome, config = _run(tmp_path / "lake", {"protective_cooldown_sessions": 0, "exit_rules_gate": False,
                                               "session_quotes_gate": False})
    assert _inside_cooldown(outcome, config) != []


def test_the_same_config_and_data_give_the_same_trades(tmp_path: Path):
    config = backtest_config({"node": {"lake_uri": str(tmp_path / "a")}}, source="test")
    bars = history_range(config, dt.date(2018, 2, 1), dt.date(2018, 2, 9))
    first = run_backtest(config, bars, "a")
    second = run_backtest(msgspec.structs.replace(config, node=msgspec.structs.replace(
        config.node, lake_uri=str(tmp_path / "b"))), bars, "a")
    assert [msgspec.to_builtins(m) for m in first.opened + first.closed] == \
           [msgspec.to_builtins(m) for m in second.opened + second.closed]
    assert first.messages == second.messages


@pytest.mark.timeout(600)
def test_the_command_prints_trades_and_statistics_and_writes_the_report(tmp_path: Path, capsys):
    report = tmp_path / "report.html"
    code = main(["backtest", "--from", "2018-01-22", "--to", "2018-02-16", "--lake", str(tmp_path / "lake"),
                 "--report", str(report)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "closed trades" in out and "statistics" in out and "win rate" in out
    assert "entry decisions held back" in out
    assert report.read_text(encoding="utf-8").lower().startswith("<!doctype html>")


@pytest.mark.parametrize(("args", "error"), [
    (["--from", "2018-13-01"], "is not a date"),
    (["--from", "2030-01-02", "--to", "2030-02-01"], "no bars between 2030-01-02 and 2030-02-01"),
    (["--from", "2018-02-01", "--to", "2018-01-01"], "is before --from"),
    (["--history", "/nonexistent/bars.csv"], "no such file"),
])
def test_bad_arguments_are_one_line(tmp_path: Path, capsys, args: list[str], error: str):
    assert main(["backtest", "--lake", str(tmp_path / "lake"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert error in err and "\n" not in err and "Traceback" not in err


def test_a_config_for_another_market_or_a_used_lake_is_refused(tmp_path: Path, capsys):
    config = tmp_path / "node.toml"
    config.write_text('[sim]\nmarket = "generated"\n', encoding="utf-8")
    assert main(["backtest", "--config", str(config), "--lake", str(tmp_path / "lake")]) == 2
    assert 'sim.market is "generated"' in capsys.readouterr().err
    lake = tmp_path / "used"
    assert main(["backtest", "--from", "2018-02-01", "--to", "2018-02-02", "--lake", str(lake), "--report", ""]) == 0
    capsys.readouterr()
    assert main(["backtest", "--from", "2018-02-01", "--to", "2018-02-02", "--lake", str(lake)]) == 2
    assert "already holds a journal" in capsys.readouterr().err
