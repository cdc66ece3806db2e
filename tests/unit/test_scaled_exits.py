"""The predecessor's two missing exits: the scaled take-profit (tiers closing part of a position, each part's realised
P&L booked) and the IV-percentile exit (held underlyings' volatility refreshed so it can fire)."""

from __future__ import annotations

import datetime as dt

import pytest
from msgspec.structs import replace

from actors.config import config_from_mapping
from actors.config_section import ConfigError
from actors.decision.config import ExitSection, TakeProfitTier
from actors.decision.held_positions import held_vol_requests, percentile_since
from actors.decision.profit_tiers import TierClose, due_tier, units_left_after
from actors.decision.rules import EXIT_RULES, PositionState, first_exit
from actors.portfolio.view import PortfolioView
from actors.position_sync.core import PositionSyncCore
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    IntentApproved,
    OpenStrategy,
    OrderFilled,
    OrderTerminated,
    PlaceOrder,
    StrategyClosed,
    StrategyOpened,
    StrategyPositionChanged,
    StrategyReduced,
    VolatilityStats,
)
from messages.decisions import CloseStrategy
from tests.unit.spy_condor import CONDOR

HALF_AND_REST = (TakeProfitTier(profit_pct=0.5, close_fraction=0.5), TakeProfitTier(profit_pct=0.8, close_fraction=0.5))
THIRDS = (TakeProfitTier(profit_pct=0.3, close_fraction=0.3), TakeProfitTier(profit_pct=0.5, close_fraction=0.3),
          TakeProfitTier(profit_pct=0.7, close_fraction=0.4))
NOW = int(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC).timestamp() * 1e9)
# a 4-lot condor sold at 1.60: max profit 640; mark -0.80 is half of it
FOUR_LOT = PositionState(strategy_id="IC-1", legs=CONDOR, quantity=4, entry_price=-1.60, max_profit_usd=640.0,
                         mark_price=-1.40, days_to_expiry=35, opened_quantity=4)


# tier arithmetic ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("opened", "tiers", "left"), [
    (4, HALF_AND_REST, [2, 0]),
    (3, HALF_AND_REST, [2, 0]),  # half of 3 rounds down to 1; the last tier takes the 2 left
    (1, HALF_AND_REST, [0, 0]),  # a 1-lot cannot be halved: the first tier closes all of it
    (10, THIRDS, [7, 4, 0]),
    (2, THIRDS, [1, 0, 0]),  # 30% of 2 rounds down to 0: at least one unit
])
def test_tier_quantities_round_down_to_whole_units_but_at_least_one(opened, tiers, left):
    assert units_left_after(opened, tiers) == left


def test_the_tier_due_is_judged_from_the_quantities_alone():
    assert due_tier(0.49, 4, 4, HALF_AND_REST) is None
    assert due_tier(0.5, 4, 4, HALF_AND_REST) == TierClose(tier=1, units=2)
    assert due_tier(0.6, 4, 2, HALF_AND_REST) is None  # tier 1 done, tier 2 not reached
    assert due_tier(0.8, 4, 2, HALF_AND_REST) == TierClose(tier=2, units=2)
    assert due_tier(0.55, 4, 3, HALF_AND_REST) == TierClose(tier=1, units=1)  # its close filled 1 of 2: 1 more
    assert due_tier(0.9, 4, 4, HALF_AND_REST) == TierClose(tier=2, units=4)  # a gap through both: one close of all
    assert due_tier(0.9, 4, 0, HALF_AND_REST) is None and due_tier(0.9, 4, 4, ()) is None


def test_tiered_take_profit_closes_a_part_then_the_rest():
    params = ExitSection(take_profit_tiers=HALF_AND_REST)
    assert first_exit(FOUR_LOT, params) is None
    first = first_exit(replace(FOUR_LOT, mark_price=-0.80), params)
    assert first.rule == "take_profit" and first.units == 2 and "tier 1/2" in first.reason
    # two units left: P&L and max profit are both those of the two left, so the yardstick is unchanged
    reduced = replace(FOUR_LOT, quantity=2, max_profit_usd=320.0, mark_price=-0.60)
    assert first_exit(reduced, params) is None
    last = first_exit(replace(reduced, mark_price=-0.30), params)
    assert last.rule == "take_profit" and last.units == 0 and "closing the rest" in last.reason


def test_a_one_lot_is_closed_whole_by_the_first_tier():
    one_lot = replace(FOUR_LOT, quantity=1, max_profit_usd=160.0, mark_price=-0.80, opened_quantity=1)
    signal = first_exit(one_lot, ExitSection(take_profit_tiers=HALF_AND_REST))
    assert signal.units == 0 and "closing the rest" in signal.reason


def test_without_tiers_the_single_take_profit_is_unchanged():
    signal = EXIT_RULES["take_profit"](replace(FOUR_LOT, mark_price=-0.80), ExitSection())
    assert signal.units == 0 and signal.reason == "P&L +320.00 reached 50% of max profit 640.00"


@pytest.mark.parametrize(("exits", "error"), [
    ({"take_profit_tiers": [{"profit_pct": 0.8, "close_fraction": 0.5}, {"profit_pct": 0.5, "close_fraction": 0.5}]},
     "must rise strictly"),
    ({"take_profit_tiers": [{"profit_pct": 0.5, "close_fraction": 0.5}]}, "must add up to 1"),
    ({"take_profit_tiers": [{"profit_pct": 1.5, "close_fraction": 1}]}, "`profit_pct` must be within"),
    ({"take_profit_tiers": [{"profit_pct": 0.5, "close_fraction": 0}]}, "`close_fraction` must be within"),
    ({"take_profit_tiers": [{"profit_pct": 0.5, "fraction": 1}]}, "unknown field `fraction`"),
    ({"iv_percentile_exit": 150}, r"`iv_percentile_exit` must be within \[0, 100\]"),
    ({"iv_percentile_exit": -5}, r"`iv_percentile_exit` must be within \[0, 100\]"),
])
def test_bad_settings_are_one_line_config_errors(exits, error):
    with pytest.raises(ConfigError, match=error) as raised:
        config_from_mapping({"exits": exits})
    assert "\n" not in str(raised.value)


# IV percentile --------------------------------------------------------------------------------------------------------
def test_iv_percentile_exit_fires_only_below_its_threshold_and_only_when_on():
    on = ExitSection(iv_percentile_exit=20.0)
    assert EXIT_RULES["iv_percentile"](replace(FOUR_LOT, iv_percentile=12.5), on).rule == "iv_percentile"
    assert EXIT_RULES["iv_percentile"](replace(FOUR_LOT, iv_percentile=20.0), on) is None
    assert EXIT_RULES["iv_percentile"](replace(FOUR_LOT, iv_percentile=-1.0), on) is None  # none computed yet
    assert EXIT_RULES["iv_percentile"](replace(FOUR_LOT, iv_percentile=0.0), ExitSection()) is None  # off


def _stats(ts: int, percentile: float) -> VolatilityStats:
    return VolatilityStats(ts=ts, symbol="SPY", atm_iv=0.15, iv_rank=10.0, iv_percentile=percentile, history_days=60)


def test_only_a_percentile_computed_after_the_open_is_judged():
    assert percentile_since(_stats(NOW - 1, 5.0), NOW) == -1.0  # what the entry was judged on
    assert percentile_since(_stats(NOW + 1, 5.0), NOW) == 5.0
    assert percentile_since(None, NOW) == -1.0


def test_held_underlyings_get_a_chain_request_unless_one_is_on_its_way():
    from actors.decision.config import EntrySection

    view = PortfolioView()
    for strategy_id, symbol in (("IC-1", "SPY"), ("IC-2", "SPY"), ("IC-3", "QQQ")):
        view.apply(StrategyOpened(strategy_id=strategy_id, kind="iron_condor", symbol=symbol, legs=CONDOR,
                                  quantity=1, entry_price=-1.6, max_profit_usd=160.0, max_loss_usd=340.0))
    entry = EntrySection(dte_min=30, dte_max=45)
    requests = list(held_vol_requests(view, entry, awaited=set()))
    assert [(r.symbol, r.min_dte, r.max_dte) for r in requests] == [("QQQ", 30, 45), ("SPY", 30, 45)]
    assert [r.symbol for r in held_vol_requests(view, entry, awaited={"QQQ"})] == ["SPY"]


# the read side of a partial close -------------------------------------------------------------------------------------
def test_a_partial_close_ends_when_its_quantity_is_reached_and_keeps_per_unit_extremes():
    view = PortfolioView()
    view.apply(StrategyOpened(strategy_id="IC-1", kind="iron_condor", symbol="SPY", legs=CONDOR, quantity=4,
                              entry_price=-1.6, max_profit_usd=640.0, max_loss_usd=1360.0))
    view.mark_closing("IC-1", leaving=2)
    view.apply(StrategyPositionChanged(strategy_id="IC-1", quantity=3, avg_entry_price=-1.6))
    assert view.holding("IC-1").closing  # one of two filled so far
    view.apply(StrategyPositionChanged(strategy_id="IC-1", quantity=2, avg_entry_price=-1.6))
    held = view.holding("IC-1")
    assert not held.closing and held.quantity == 2
    assert held.max_profit_usd == pytest.approx(320.0) and held.max_loss_usd == pytest.approx(680.0)


# position sync books each tier ----------------------------------------------------------------------------------------
def _fill_order(runtime, order_id: str, purpose: str, fills: list[tuple[int, float]]) -> None:
    total = sum(q for q, _ in fills)
    runtime.inject(PlaceOrder(client_order_id=order_id, strategy_id="IC-1", purpose=purpose, legs=CONDOR,
                              quantity=total, limit_price=fills[0][1]))
    for n, (quantity, price) in enumerate(fills):
        runtime.inject(OrderFilled(client_order_id=order_id, exec_id=f"{order_id}-E{n}", quantity=quantity,
                                   price=price, commission_usd=1.30 * abs(quantity)))
    runtime.inject(OrderTerminated(client_order_id=order_id, strategy_id="IC-1", purpose=purpose, status="filled",
                                   filled_quantity=total, avg_price=fills[0][1]))


def test_each_tier_books_its_own_realised_pnl_and_the_close_books_the_whole_life():
    runtime = DeterministicRuntime([PositionSyncCore], VirtualClock(NOW))
    runtime.start()
    intent = OpenStrategy(strategy_id="IC-1", kind="iron_condor", symbol="SPY", legs=CONDOR, quantity=4,
                          mid_price=-1.60, natural_price=-1.40, max_profit_usd=640.0, max_loss_usd=1360.0, reason="t")
    runtime.inject(IntentApproved(intent=intent))
    _fill_order(runtime, "O1", "open", [(4, -1.60)])
    runtime.inject(IntentApproved(intent=CloseStrategy(strategy_id="IC-1", symbol="SPY", legs=CONDOR, quantity=-2,
                                                       mid_price=-0.8, natural_price=-0.9, rule="take_profit",
                                                       reason="tier 1")))
    _fill_order(runtime, "C1", "close", [(-1, -0.80), (-1, -0.70)])  # one tier, two fills: one booking
    reduced = [m for m in runtime.history if isinstance(m, StrategyReduced)]
    assert len(reduced) == 1
    tier = reduced[0]
    # (1.60 - 0.80) + (1.60 - 0.70) = 1.70 per share x 100; commissions 2 x 1.30 closing + half of 4 x 1.30 opening
    assert (tier.closed_quantity, tier.remaining_quantity, tier.rule) == (-2, 2, "take_profit")
    assert tier.exit_price == pytest.approx(-0.75) and tier.commissions_usd == pytest.approx(5.20)
    assert tier.realized_pnl_usd == pytest.approx(170.0 - 5.20)
    assert not any(isinstance(m, StrategyClosed) for m in runtime.history)
    _fill_order(runtime, "C2", "close", [(-2, -0.30)])
    closed = next(m for m in runtime.history if isinstance(m, StrategyClosed))
    last_part = 2 * 1.30 * 100 - (2 * 1.30 + 2 * 1.30)  # (1.60 - 0.30) x 2 x 100, its own and its opening commissions
    assert closed.realized_pnl_usd == pytest.approx(tier.realized_pnl_usd + last_part)
    assert len([m for m in runtime.history if isinstance(m, StrategyReduced)]) == 1  # the last part is the close


def test_no_entry_when_the_percentile_is_already_below_the_exit_threshold():
    from actors.decision.config import EntrySection
    from actors.decision.entry_gates import exit_rule_at_entry
    from actors.decision.strategies import StructureCandidate

    candidate = StructureCandidate(kind="iron_condor", symbol="SPY", legs=CONDOR, mid_price=-1.6, natural_price=-1.4,
                                   max_profit_usd=160.0, max_loss_usd=340.0, reason="t")
    entry, on = EntrySection(), ExitSection(iv_percentile_exit=20.0)
    firing = exit_rule_at_entry(candidate, entry, on, NOW, 0.0, 18.0, iv_percentile=12.0)
    assert firing is not None and firing[0] == "iv_percentile"
    assert exit_rule_at_entry(candidate, entry, on, NOW, 0.0, 18.0, iv_percentile=35.0) is None
    assert exit_rule_at_entry(candidate, entry, ExitSection(), NOW, 0.0, 18.0, iv_percentile=12.0) is None


def test_a_restarted_decision_core_knows_which_tier_is_done():
    """Rebuilt from its journaled inputs between the tiers: the same reduced holding and baseline, and tier 1 is not
    due again (its quantity is reached), so the rebuilt core would not close a second half at the first level."""
    from pathlib import Path

    from actors.node import core_factories
    from actors.replay.scenario import load_scenario
    from actors.runtime.core import MutedContext

    scenario = load_scenario(Path(__file__).parents[1] / "scenarios" / "scaled_take_profit.jsonl")
    factories = core_factories(scenario.config, scenario.name, None, scenario.start_ns)
    runtime = DeterministicRuntime(factories, VirtualClock(scenario.start_ns))
    runtime.start()
    between = next(step for step in scenario.steps if step.kind == "expect" and step.pattern["type"] == "StrategyReduced")
    for step in scenario.steps:
        if step.at_ns > between.at_ns:
            break
        runtime.run_until(step.at_ns)
        if step.kind == "send":
            runtime.inject(step.message)
    live = runtime.core("decision")
    (strategy_id,) = live._portfolio.open_ids()
    held = live._portfolio.holding(strategy_id)
    assert held.quantity == 1 and not held.closing and live._memory.baselines[strategy_id].opened_quantity == 2

    rebuilt = next(f for f in factories if f().name == "decision")()
    muted = MutedContext(scenario.start_ns)
    for message in runtime.history:
        if "decision" in runtime.routes.subscribers(message):
            muted.clock_ns = message.ts
            rebuilt.handle(message, muted)
    assert rebuilt._portfolio.holding(strategy_id) == held
    assert rebuilt._memory.baselines[strategy_id] == live._memory.baselines[strategy_id]
    tiers = scenario.config.exits.take_profit_tiers
    assert due_tier(tiers[0].profit_pct, 2, held.quantity, tiers) is None
