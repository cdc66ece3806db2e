"""A simulated exchange rebuilt after a crash reports what the live one would have: the settlements it made before the
crash once (recalled from the positions reports it journaled, not made again at whatever price it heard last), an
expiry that settled while it was down at the expiry's closing price, and a dividend it paid whose `StockDividend` died
in its latency outbox paid once more — and only then.

Each case runs a scenario live, cuts its journal where a kill could have cut it, rebuilds a fresh exchange from that
journal as a restart does, starts it, and compares what the rebuilt exchange reports (positions, shares, cash) with
what the live exchange reported at the same instant: nothing is read from either exchange's memory."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import msgspec
import pytest

from actors.broker.sim.closing_prices import CLOSES_KEPT, ClosingPrices
from actors.broker.sim.settled import settled_before
from actors.node import broker_factories
from actors.replay.runner import replay_deterministic
from actors.replay.scenario import load_scenario
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from actors.runtime.rebuild import replay_quietly
from actors.settlement import settles_at_ns
from messages import (
    BrokerAccountValues,
    BrokerPosition,
    BrokerPositionsSnapshot,
    Message,
    OptionContract,
    RawQuote,
    StockDividend,
)

SCENARIOS = Path(__file__).parents[1] / "scenarios"
EXPIRY = dt.date(2026, 3, 6)  # the condor assignment_keep opens expires that Friday
CLOSE_NS = settles_at_ns(EXPIRY)
MONDAY = "2026-03-09T14:00:00Z"


def _ns(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp()) * 1_000_000_000


def _scenario(tmp_path: Path, base: str, sim: dict, extra: list[dict], until: str):
    """`base`'s header (with `sim` merged into its config) and inputs, then `extra` inputs, run up to `until`."""
    lines = [json.loads(text) for text in (SCENARIOS / f"{base}.jsonl").read_text().splitlines() if text.strip()]
    header = lines[0]
    header["scenario"]["config"].setdefault("sim", {}).update(sim)
    sends = [line for line in lines[1:] if "send" in line]
    steps = [header, *sends, *extra, {"at": until, "expect_none": {"type": "Halt"}}]
    path = tmp_path / f"{base}.jsonl"
    path.write_text("".join(json.dumps(step) + "\n" for step in steps))
    scenario = load_scenario(path)
    return scenario, replay_deterministic(scenario).history


def _restarted(scenario, journal: list[Message], at_ns: int) -> list[Message]:
    """A fresh exchange rebuilt from `journal` (what the node had journaled when it died), started at `at_ns`: what it
    publishes until its first report is out."""
    [new_exchange] = broker_factories(scenario.config, scenario.start_ns)
    runtime = DeterministicRuntime([new_exchange], VirtualClock(at_ns))
    replay_quietly({"broker": runtime.core("broker")}, runtime.routes, journal)
    runtime.start()
    runtime.run_until(at_ns + 1_000_000_000)  # its first positions report, after any latency
    return runtime.history


def _report(messages: list[Message], which: int = -1) -> tuple:
    """The last (or `which`) positions report and cash among `messages`: what the account looks like from outside."""
    positions = [m for m in messages if isinstance(m, BrokerPositionsSnapshot) and m.origin == "broker"][which]
    account = [m for m in messages if isinstance(m, BrokerAccountValues) and m.origin == "broker"][which]
    cash = next(v.value for v in account.values if v.key == "TotalCashValue")
    return positions.positions, positions.stock_positions, cash


def _live_at(history: list[Message], at_ns: int) -> tuple:
    return _report([m for m in history if m.ts <= at_ns])


@pytest.fixture(scope="module")
def expiry(tmp_path_factory):
    """assignment_keep: the short put is in the money at the close (SPY 568), and a print after the close (SPY 590,
    every option out of the money) is the first thing the exchange hears after it: the expiry settles then, at 568."""
    after_close = {"at": "2026-03-06T22:00:00Z",
                   "send": {"type": "UnderlyingQuote", "symbol": "SPY", "bid": 589.95, "ask": 590.05, "last": 590.0}}
    return _scenario(tmp_path_factory.mktemp("expiry"), "assignment_keep", {}, [after_close], MONDAY)


def test_the_live_exchange_settles_the_expiry_at_its_closing_price(expiry):
    _, history = expiry
    positions, stock, _ = _live_at(history, _ns("2026-03-06T22:00:01+00:00"))
    assert positions == () and [(s.symbol, s.quantity, s.avg_cost) for s in stock] == [("SPY", 100, 569.0)]


@pytest.mark.parametrize("cut", ["settlement journaled", "settled, report lost", "down over the close"])
def test_a_rebuilt_exchange_settles_an_expiry_once_at_its_closing_price(expiry, cut):
    scenario, history = expiry
    after_close = next(i for i, m in enumerate(history) if isinstance(m, RawQuote) and m.ts > CLOSE_NS)
    settled = next(i for i, m in enumerate(history) if isinstance(m, BrokerPositionsSnapshot) and m.ts > CLOSE_NS)
    journal = {"settlement journaled": history[:settled + 1],
               "settled, report lost": history[:after_close + 1],  # killed after the print, before its report left
               "down over the close": [m for m in history if m.ts < CLOSE_NS]}[cut]
    restart_ns = max(journal[-1].ts, _ns("2026-03-09T13:00:00+00:00"))
    restarted = _restarted(scenario, journal, restart_ns)
    assert _report(restarted, 0) == _report(restarted) == _live_at(history, restart_ns)


@pytest.fixture(scope="module")
def dividend(tmp_path_factory):
    """assignment_keep's expiry leaves +100 SPY, which receive a $2.00 dividend at the open of its ex-date, Tuesday;
    the exchange's answers leave 0.5 s late."""
    sim = {"latency_ms": 500, "dividends": [{"symbol": "SPY", "ex_date": "2026-03-10", "amount": 2.0}]}
    return _scenario(tmp_path_factory.mktemp("dividend"), "assignment_keep", sim, [], "2026-03-10T16:00:00Z")


@pytest.fixture(scope="module")
def early_dividend(tmp_path_factory):
    """assignment_dividend_keep with a latency: the short call assigned early at the ex-date's open leaves -100 SPY,
    which owe the $2.00 dividend in the same report."""
    return _scenario(tmp_path_factory.mktemp("early"), "assignment_dividend_keep", {"latency_ms": 500}, [],
                     "2026-03-05T16:00:00Z")


def _journaled(history: list[Message], paid: StockDividend, cut: str) -> list[Message]:
    if cut == "report and payment in the outbox":
        return [m for m in history if m.ts < paid.ts]
    if cut == "report journaled, payment lost":
        return history[:history.index(paid)]
    return history[:history.index(paid) + 1]


@pytest.mark.parametrize("case", ["dividend", "early_dividend"])
@pytest.mark.parametrize("cut", ["report and payment in the outbox", "report journaled, payment lost",
                                 "payment journaled"])
def test_a_rebuilt_exchange_pays_a_dividend_once(request, case, cut):
    scenario, history = request.getfixturevalue(case)
    [paid] = [m for m in history if isinstance(m, StockDividend)]
    assert abs(paid.cash_usd) == 200.0
    journal = _journaled(history, paid, cut)
    restarted = _restarted(scenario, journal, paid.ts)
    if case == "early_dividend" and cut == "report and payment in the outbox":
        # the early assignment died in the outbox too: the rebuilt exchange holds what the node heard of (the short
        # call, no shares), and nothing is owed on shares nobody knows of
        assert not [m for m in journal + restarted if isinstance(m, StockDividend)]
        assert _report(restarted)[:2] == _report(journal)[:2]
        return
    payments = [m for m in journal + restarted if isinstance(m, StockDividend)]
    assert [(p.symbol, p.ex_date, p.cash_usd) for p in payments] == [("SPY", paid.ex_date, paid.cash_usd)]
    assert _report(restarted, 0) == _report(restarted) == _live_at(history, paid.ts)


def test_the_closing_price_is_the_last_one_heard_before_the_close():
    prices = ClosingPrices()
    prices.note("SPY", 570.0, _ns("2026-03-06T15:00:00+00:00"))
    prices.note("SPY", 568.0, _ns("2026-03-06T20:59:00+00:00"))
    prices.note("SPY", 590.0, CLOSE_NS)  # at the close: after it, like the first look that settles it
    prices.note("SPY", 591.0, _ns("2026-03-09T15:00:00+00:00"))
    prices.note("QQQ", 480.0, _ns("2026-03-09T15:00:00+00:00"))
    assert prices.at("SPY", CLOSE_NS) == 568.0
    assert prices.at("SPY", settles_at_ns(dt.date(2026, 3, 9))) == 591.0
    assert prices.at("SPY", settles_at_ns(dt.date(2026, 3, 10))) == 591.0  # nothing heard since: the last
    assert prices.at("QQQ", CLOSE_NS) == 480.0  # none before it: the one heard after it
    assert prices.at("IWM", CLOSE_NS) is None
    for day in range(2 * CLOSES_KEPT):  # weeks later the Friday's close is forgotten
        prices.note("SPY", 600.0 + day, _ns(f"2026-03-{10 + day:02d}T15:00:00+00:00"))
    assert prices.at("SPY", CLOSE_NS) == 600.0 + 2 * CLOSES_KEPT - 1  # the last heard


def test_a_report_showing_fewer_contracts_than_held_is_a_settlement():
    call, put = OptionContract("SPY", EXPIRY, 560.0, "C"), OptionContract("SPY", EXPIRY, 569.0, "P")
    held = {call: -3, put: -1}

    def report(at_ns: int, *positions: tuple) -> BrokerPositionsSnapshot:
        return BrokerPositionsSnapshot(ts=at_ns, complete=True, positions=tuple(
            BrokerPosition(contract=c, quantity=q, avg_cost=1.0) for c, q in positions))

    before_expiry = _ns("2026-03-05T14:30:00+00:00")
    # two of three short calls assigned early: 200 shares delivered short; the put untouched
    [early] = settled_before(held, report(before_expiry, (call, -1), (put, -1)), lambda s, at: None)
    assert (early.contract, early.quantity, early.shares) == (call, -2, -200)
    # after the close both left: each settles at the close's price (568: the put is assigned, the call too)
    expired = settled_before(held, report(CLOSE_NS + 1), lambda s, at: 568.0 if at == CLOSE_NS else None)
    assert [(s.contract, s.quantity, s.shares) for s in expired] == [(call, -3, -300), (put, -1, 100)]
    # more than held, the other way round, or a put gone early is no settlement of this exchange's
    assert settled_before(held, report(before_expiry, (call, -4), (put, 1)), lambda s, at: 568.0) == []
    assert settled_before(held, report(before_expiry, (call, -3)), lambda s, at: 568.0) == []
    assert settled_before(held, msgspec.structs.replace(report(CLOSE_NS + 1), complete=False), lambda s, at: 568.0) == []


def test_a_rebuilt_exchange_keeps_the_rest_of_a_position_assigned_in_part_through_that_night(tmp_path):
    """OCC assigned 2 of 3 short calls in the night before the ex-date; a crash later that night must not have the
    rebuilt exchange assign the third: it recalls the assignment, and which night it belonged to, from its report."""
    night_quote = {"at": "2026-03-04T22:00:00Z",
                   "send": {"type": "UnderlyingQuote", "symbol": "SPY", "bid": 599.95, "ask": 600.05, "last": 600.0}}
    scenario, history = _scenario(tmp_path, "early_assignment_partial", {}, [night_quote], "2026-03-05T01:00:00Z")
    night = _ns("2026-03-04T22:00:00+00:00")
    assigned = next(i for i, m in enumerate(history) if isinstance(m, BrokerPositionsSnapshot) and m.ts >= night
                    and m.stock_positions)
    assert [(s.symbol, s.quantity) for s in history[assigned].stock_positions] == [("SPY", -200)]  # 2 of the 3
    restart_ns = _ns("2026-03-04T23:30:00+00:00")  # still in that night's exercise window
    restarted = _restarted(scenario, history[:assigned + 1], restart_ns)
    assert _report(restarted, 0) == _report(restarted) == _live_at(history, restart_ns)
