"""Settlements in the simulated account: applied when the exchange makes them, and recalled from the positions reports
it journaled when it is rebuilt after a crash (a report is the exchange's own fact: what it held after settling).

A rebuilt exchange makes no decision while being rebuilt, so it cannot settle again from the prices it replays: it
learns from each of its reports which options had left the account, and settles exactly those, as it did live — an
expired one at its expiry's closing price, one that left before its expiry as assigned early (shares delivered)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from actors.broker.sim.expiry import Settlement, due_settlements
from actors.broker.sim.stock import SimShares
from actors.settlement import delivered_shares, settles_at_ns
from messages import BrokerPositionsSnapshot, OptionContract


def apply_settlement(positions: Counter[OptionContract], costs: Counter[OptionContract], shares: SimShares,
                     settlement: Settlement) -> float:
    """Take the settled contracts out of the account and deliver their shares at the strike; returns the cash moved."""
    contract, quantity = settlement.contract, settlement.quantity
    held = positions[contract]
    if quantity == held:
        del positions[contract], costs[contract]
    else:  # part of a position assigned: the rest keeps its average cost
        costs[contract] *= (held - quantity) / held
        positions[contract] = held - quantity
    if not settlement.shares:
        return 0.0
    shares.trade(contract.symbol, settlement.shares, contract.strike)
    return -(settlement.shares * contract.strike)


def settled_before(positions: Counter[OptionContract], report: BrokerPositionsSnapshot,
                   closing_price: Callable[[str, int], float | None]) -> list[Settlement]:
    """The settlements the exchange made before publishing `report`, its own: every expired option held that the report
    no longer shows, and every short call it shows fewer of before its expiry (assigned early: marked `early`). Anything
    else (more contracts, the other side, a long or a put gone early) is none of its settlements and changes nothing."""
    if not report.complete:
        return []
    shown: Counter[OptionContract] = Counter()
    for position in report.positions:
        shown[position.contract] += position.quantity
    settled = []
    for contract in sorted(positions, key=str):
        held, left = positions[contract], shown[contract]
        if not held or left == held or (left and (left > 0) != (held > 0)) or abs(left) > abs(held):
            continue
        if report.ts >= settles_at_ns(contract.expiry):  # expired: exercised or not at its closing price
            if not left:
                settled += due_settlements({contract: held}, report.ts, closing_price)
        elif held < 0 and contract.right == "C":  # the only options it assigns early (`due_early_assignments`)
            gone = held - left
            settled.append(Settlement(contract=contract, quantity=gone, shares=delivered_shares(contract, gone),
                                      early=True))
    return settled
