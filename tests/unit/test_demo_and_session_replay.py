"""The walking skeleton end to end: a demo session on real pykka actors, journaled to Delta, then replayed."""

from pathlib import Path

import pytest

from actors.config import config_from_mapping
from actors.demo import DEMO_DEFAULTS, run_demo
from actors.replay.session import SessionReplayError, replay_session
from messages import StrategyClosed, TimerFired
from storage.journal import DeltaJournal


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory) -> tuple[Path, str, object]:
    lake = tmp_path_factory.mktemp("lake")
    config = config_from_mapping({**DEMO_DEFAULTS, "node": {"lake_uri": str(lake)}})
    outcome = run_demo(config, "demo-test", max_days=60)
    return lake, "demo-test", outcome


@pytest.mark.timeout(180)
def test_demo_runs_one_iron_condor_from_entry_to_exit(demo_lake):
    lake, session, outcome = demo_lake
    assert outcome.stop_reason is None
    assert len(outcome.opened) == 1 and len(outcome.closed) == 1
    opened, closed = outcome.opened[0], outcome.closed[0]
    assert opened.kind == "iron_condor" and opened.entry_price < 0
    assert closed.strategy_id == opened.strategy_id and closed.rule
    expected_pnl = (closed.exit_price - opened.entry_price) * opened.quantity * 100 - closed.commissions_usd
    assert closed.realized_pnl_usd == pytest.approx(expected_pnl, abs=0.01)
    journaled = list(DeltaJournal(str(lake)).read(session))
    assert [m.seq for m in journaled] == sorted(m.seq for m in outcome.messages)
    assert any(isinstance(m, StrategyClosed) for m in journaled)


@pytest.mark.timeout(180)
def test_recorded_demo_session_replays_to_the_same_decisions(demo_lake):
    lake, session, _ = demo_lake
    replay = replay_session(DeltaJournal(str(lake)), session)
    assert replay.recorded, "the session made no decisions"
    assert replay.mismatches == []


def test_unknown_session_is_a_clear_error(demo_lake):
    lake, _, _ = demo_lake
    with pytest.raises(SessionReplayError, match="no session 'nope'"):
        replay_session(DeltaJournal(str(lake)), "nope")


def test_iv_history_is_restored_from_the_lake(demo_lake):
    from actors.node import restored_state
    from messages import IvHistoryRestored, IvSample

    lake, session, outcome = demo_lake
    samples = [m for m in outcome.messages if isinstance(m, IvSample)]
    assert samples, "the demo recorded no IV samples"
    restored = restored_state(DeltaJournal(str(lake)), mode="demo")
    assert [r.symbol for r in restored] == ["SPY"] and isinstance(restored[0], IvHistoryRestored)
    days = {s.point.session_date for s in samples}
    assert [p.session_date for p in restored[0].points] == sorted(days)


def test_the_demo_tells_its_story_and_says_where_to_look_next(demo_lake, tmp_path):
    from rich.console import Console

    from actors.config import config_from_mapping
    from actors.demo import print_outcome

    lake, _, outcome = demo_lake
    config = config_from_mapping({"node": {"lake_uri": str(lake)}})
    story = Console(record=True, width=120)
    print_outcome(outcome, config, story, verbose=False, report=tmp_path / "report.html")
    text = story.export_text()
    for shown in ("OpenStrategy", "PlaceOrder", "OrderModified", "OrderFilled", "StrategyOpened", "CloseStrategy",
                  "rule=", "StrategyClosed"):
        assert shown in text, shown
    for hidden in ("BrokerPositionsSnapshot", "ReconciliationResult", "config_json", "StrategyMarked",
                   "IntentApproved", "OptionQuote"):
        assert hidden not in text, hidden
    assert text.index("Trades") < text.index("Where to look next") < text.index("thetanode dashboard --lake")
    assert str(tmp_path / "report.html") in text
    assert max(len(line) for line in text.splitlines() if "│" in line) <= 120  # the trades table fits
    plumbing = Console(record=True, width=120)
    print_outcome(outcome, config, plumbing, verbose=True)
    assert "BrokerPositionsSnapshot" in plumbing.export_text() and "config_json" not in plumbing.export_text()


def test_reconciliations_and_order_verdicts_show_only_when_they_found_something():
    from actors.replay.timeline import tells_the_story
    from messages import OrderTerminated, ReconciliationResult

    assert not tells_the_story(ReconciliationResult(ok=True, mismatches=()))
    assert tells_the_story(ReconciliationResult(ok=False, mismatches=("SPY 580P: broker -1, node 0",)))
    verdict = {"client_order_id": "o", "strategy_id": "s", "purpose": "open", "filled_quantity": 0, "avg_price": 0.0}
    assert not tells_the_story(OrderTerminated(status="filled", **verdict))
    assert tells_the_story(OrderTerminated(status="cancelled", **verdict))


@pytest.mark.timeout(180)
def test_a_demo_with_the_node_s_own_flush_interval_commits_by_wall_time(tmp_path):
    """A config file keeps `persistence.flush_interval_ms` at 100: of virtual time, the clock would wait on a commit
    every simulated tick. The demo's persistence is wall-paced instead: it arms no flush timer of virtual time."""
    config = config_from_mapping({"node": {"lake_uri": str(tmp_path / "lake")}})
    outcome = run_demo(config, "demo-own-config", max_days=1)
    assert outcome.unflushed is None and outcome.messages
    assert not [m for m in outcome.messages if isinstance(m, TimerFired) and m.target == "persistence"]
    assert len(list(DeltaJournal(str(tmp_path / "lake")).read("demo-own-config"))) == len(outcome.messages)
