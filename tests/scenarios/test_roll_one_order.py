"""The roll scenarios judged from the simulated exchange's side: one combo order, and the account's positions as the
exchange reports them never hold both structures, nor neither, while the roll is on its way."""

from __future__ import annotations

from pathlib import Path

from actors.replay.runner import replay_deterministic
from actors.replay.scenario import load_scenario
from messages import BrokerPositionsSnapshot, OrderFilled, OrderTerminated, PlaceOrder, StrategyOpened

HERE = Path(__file__).parent
OLD, NEW = "IC-SPY-20260302-1", "IC-SPY-20260320-2"


def _held(snapshot: BrokerPositionsSnapshot) -> dict:
    return {p.contract: p.quantity for p in snapshot.positions}


def _legs(opened: StrategyOpened) -> dict:
    return {leg.contract: leg.ratio * opened.quantity for leg in opened.legs}


def test_a_roll_is_one_combo_order_and_the_account_holds_the_old_structure_then_the_new_one(tmp_path):
    result = replay_deterministic(load_scenario(HERE / "roll.jsonl"), tmp_path / "journal")
    assert result.passed
    orders = [m for m in result.history if isinstance(m, PlaceOrder) and m.strategy_id == OLD]
    assert [o.purpose for o in orders] == ["open", "roll"]  # no close order: the roll closed it
    opened = {m.strategy_id: m for m in result.history if isinstance(m, StrategyOpened)}
    old, new = _legs(opened[OLD]), _legs(opened[NEW])
    assert orders[1].legs and {leg.contract for leg in orders[1].legs} == set(old) | set(new)
    after_entry = [m for m in result.history if isinstance(m, BrokerPositionsSnapshot) and m.seq > opened[OLD].seq]
    held = [_held(snapshot) for snapshot in after_entry]
    assert held and all(h in (old, new) for h in held), "the account held both structures, neither or half of one"
    first_new = held.index(new)
    assert old not in held[first_new:] and first_new > 0


def test_a_failed_roll_leaves_the_old_structure_alone_until_it_is_closed(tmp_path):
    result = replay_deterministic(load_scenario(HERE / "roll_fails_closes.jsonl"), tmp_path / "journal")
    assert result.passed
    orders = [m for m in result.history if isinstance(m, PlaceOrder) and m.strategy_id == OLD]
    assert [o.purpose for o in orders] == ["open", "roll", "close"]
    opened = next(m for m in result.history if isinstance(m, StrategyOpened) and m.strategy_id == OLD)
    old, opened_at, close_sent = _legs(opened), opened.seq, orders[2].seq
    ended = next(m for m in result.history if isinstance(m, OrderTerminated) and m.purpose == "roll")
    assert (ended.status, ended.filled_quantity) == ("cancelled", 0)
    assert not [m for m in result.history if isinstance(m, OrderFilled) and m.client_order_id == orders[1].client_order_id]
    # the exchange reports positions after every fill and on its interval: up to the close, only the old structure
    held = [_held(m) for m in result.history if isinstance(m, BrokerPositionsSnapshot) and opened_at < m.seq < close_sent]
    assert held and all(h == old for h in held)
    assert NEW not in {m.strategy_id for m in result.history if isinstance(m, StrategyOpened)}


def test_a_node_restored_mid_roll_is_the_node_replay_from_zero_builds():
    """Snapshots cut while the roll waits for its chain, while its order works, and right after its fill: every core
    restored there and replayed on is the core replay-from-zero builds (the roll is booked once, the links kept)."""
    from tests.unit.test_snapshots import _restored_at, _whole  # the snapshot suite's own comparison

    for name in ("roll.jsonl", "roll_fails_closes.jsonl"):
        scenario = load_scenario(HERE / name)
        history = replay_deterministic(scenario).history
        roll_sent = next(n for n, m in enumerate(history) if type(m).__name__ == "RollStrategy")
        order_sent = next(n for n, m in enumerate(history) if isinstance(m, PlaceOrder) and m.purpose == "roll")
        cuts = (roll_sent - 1, roll_sent + 1, order_sent + 1, order_sent + 4)
        for cut in cuts:
            from_zero, restored = _restored_at(history, cut, scenario.config, scenario.start_ns)
            for core in from_zero:
                now = history[-1].ts
                assert _whole(restored[core], now) == _whole(from_zero[core], now), f"{name}: {core} at {cut}"
