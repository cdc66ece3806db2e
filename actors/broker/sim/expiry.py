"""The simulated exchange's expiry: at an expiry's session close every option $0.01 or more in the money is
exercised or assigned (shares delivered, cash moved at the strike), the rest vanish. Pure: the core applies it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from actors.settlement import delivered_shares, exercised_at, settles_at_ns
from messages import OptionContract


@dataclass(frozen=True)
class Settlement:
    contract: OptionContract
    quantity: int
    """Contracts held (signed) that left the account."""
    shares: int
    """Shares delivered (signed; 0 when the option expired worthless)."""


def due_settlements(positions: Mapping[OptionContract, int], now_ns: int,
                    underlying_price: Callable[[str], float | None]) -> list[Settlement]:
    """Settlements of every held option whose expiry has settled by `now_ns`, in contract order. An underlying with
    no known price settles nothing yet: the exchange would not guess a closing price."""
    settled = []
    for contract in sorted(positions, key=str):
        quantity = positions[contract]
        if not quantity or now_ns < settles_at_ns(contract.expiry):
            continue
        price = underlying_price(contract.symbol)
        if price is None:
            continue
        shares = delivered_shares(contract, quantity) if exercised_at(contract, price) else 0
        settled.append(Settlement(contract=contract, quantity=quantity, shares=shares))
    return settled
