"""Reconciliation: the broker's positions against what our strategies' fills say we hold, contract by contract."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from messages import BrokerPosition, Leg, OptionContract


def expected_positions(holdings: Iterable[tuple[tuple[Leg, ...], int]]) -> Counter[OptionContract]:
    """Contracts we should hold: every strategy's legs × its signed quantity."""
    expected: Counter[OptionContract] = Counter()
    for legs, quantity in holdings:
        for leg in legs:
            expected[leg.contract] += leg.ratio * quantity
    return expected


def mismatches(expected: Counter[OptionContract], reported: Iterable[BrokerPosition]) -> list[str]:
    """Human-readable differences; a short the strategies do not explain is called out as naked."""
    broker: Counter[OptionContract] = Counter()
    for position in reported:
        broker[position.contract] += position.quantity
    problems = []
    for contract in sorted(set(expected) | set(broker), key=str):
        ours, theirs = expected.get(contract, 0), broker.get(contract, 0)
        if ours != theirs:
            kind = "naked short" if theirs < 0 and theirs < ours else "unknown position" if ours == 0 else "mismatch"
            problems.append(f"{kind}: {contract} broker {theirs:+d}, strategies {ours:+d}")
    return problems
