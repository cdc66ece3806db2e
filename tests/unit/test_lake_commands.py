"""status, report and compact read (and tidy) the lake, never the running node."""

from pathlib import Path

import pytest

from actors.cli import main
from actors.replay.runner import replay_deterministic
from actors.replay.scenario import load_scenario
from storage.journal import DeltaJournal
from actors.lake_state import read_lake_state
from storage.lake_writer import LakeWriter

SCENARIOS = Path(__file__).parents[1] / "scenarios"


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    writer = LakeWriter(DeltaJournal(str(root)))  # the journal and the derived tables, as the node writes them
    history = replay_deterministic(load_scenario(SCENARIOS / "take_profit.jsonl")).history
    for batch, start in enumerate(range(0, len(history), 2_000), start=1):  # several commits, like group commit
        writer.append("s1", history[start:start + 2_000], batch)
    return root


def test_lake_state_folds_strategies_orders_and_pnl(lake):
    state = read_lake_state(DeltaJournal(str(lake)))
    assert [c.rule for c in state.closed_strategies] == ["take_profit"]
    assert len(state.open_strategies) == 1  # the node re-entered after taking profit
    assert state.working_orders == []
    assert sum(state.realized_by_day().values()) == pytest.approx(state.closed_strategies[0].realized_pnl_usd)


def test_status_report_and_compact(lake, tmp_path, capsys):
    assert main(["status", "--lake", str(lake)]) == 0
    status = capsys.readouterr().out
    assert "open positions" in status and "realised P&L by day" in status and "portfolio greeks" in status
    out = tmp_path / "report.html"
    assert main(["report", "--lake", str(lake), "--out", str(out)]) == 0
    page = out.read_text()
    assert 'id="chart-pnl"' in page and 'id="stat-win-rate">100.0%' in page and "take_profit" in page
    assert "<script src=" not in page  # plotly.js is inlined: the file opens offline
    files_before = len(list((lake / "journal").rglob("*.parquet")))
    assert main(["compact", "--lake", str(lake)]) == 0
    assert "compaction removed" in capsys.readouterr().out
    assert len(list((lake / "journal").rglob("*.parquet"))) >= files_before  # vacuum keeps 7 days of history
    assert list(DeltaJournal(str(lake)).read("s1"))  # still readable after compaction


def test_lake_commands_refuse_a_missing_lake_and_short_retention(lake, tmp_path, capsys):
    assert main(["status", "--lake", str(tmp_path / "nothing")]) == 2
    assert main(["compact", "--lake", str(lake), "--retention-hours", "1"]) == 2
    assert "safety window" in capsys.readouterr().err


def test_status_lists_recent_alerts(tmp_path, capsys):
    from messages import Alert

    journal = DeltaJournal(str(tmp_path))
    journal.append("s", [Alert(ts=10**18 + n, seq=n + 1, level="critical", source="risk", text=f"HALTED {n}")
                         for n in range(25)])
    state = read_lake_state(journal)
    assert [a.text for a in state.recent_alerts][-1] == "HALTED 24" and len(state.recent_alerts) == 20
    assert main(["status", "--lake", str(tmp_path)]) == 0
    assert "latest alerts" in capsys.readouterr().out


def test_scheduled_compaction_covers_every_existing_table(lake):
    from actors.service.compaction import ScheduledCompaction

    results = ScheduledCompaction([str(lake / "journal"), str(lake / "absent")], None, 0).run_once()
    assert [r.table for r in results] == [str(lake / "journal")]


def test_status_fits_a_narrow_terminal_without_breaking_rows(lake):
    from rich.console import Console

    from actors.status import print_status

    state = read_lake_state(DeltaJournal(str(lake)))
    strategy = state.open_strategies[0].strategy_id
    for width in (60, 100, 200):
        console = Console(record=True, width=width)
        print_status(state, console, "no-heartbeat-file")
        lines = console.export_text().splitlines()
        assert max(len(line) for line in lines) <= width
        row = next(line for line in lines if strategy in line)  # the whole id on one line, with its entry
        assert f"{state.open_strategies[0].entry_price:+.2f}" in row
    assert "max loss $" in "\n".join(lines)  # a wide terminal shows every column


def test_dashboard_refuses_bad_arguments_in_one_line(lake, tmp_path, capsys):
    assert main(["dashboard", "--lake", str(tmp_path / "nothing")]) == 2
    assert main(["dashboard", "--lake", str(lake), "--port", "70000"]) == 2
    assert main(["dashboard", "--lake", str(lake), "--host", "192.0.2.1"]) == 2  # not loopback, no token
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(e.startswith("thetanode: error:") for e in errors)
    assert "token" in errors[2]
