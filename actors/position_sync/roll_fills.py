"""How one execution of a roll combo is booked on the two strategies it trades.

The broker reports a roll fill as one net price for the whole combo. The held strategy's closing part is booked at the
close's mark when the roll was decided (`RollStrategy.close.mid_price`); the replacement's opening part at the rest of
the net price. So the old strategy's realised P&L is what it was worth when the roll was decided, and whatever the
walk conceded to get the roll filled is the new strategy's entry cost (its slippage, as for any opening). Commissions
are shared by contracts traded.
"""

from __future__ import annotations

import msgspec

from messages import OrderFilled, RollStrategy


def split_roll_fill(roll: RollStrategy, fill: OrderFilled) -> tuple[OrderFilled, OrderFilled]:
    """(closing part, opening part) of `fill` (`fill.quantity` combo units at the net `fill.price`), each in its own
    strategy's units and signed net price, under the fill's execution id."""
    close_price = roll.close.mid_price
    open_price = (fill.price - roll.close_sign * close_price) * roll.open_sign
    close_contracts = sum(abs(leg.ratio) for leg in roll.close.legs)
    open_contracts = sum(abs(leg.ratio) for leg in roll.open.legs)
    close_commission = round(fill.commission_usd * close_contracts / (close_contracts + open_contracts), 2)
    closing = msgspec.structs.replace(fill, quantity=fill.quantity * roll.close_sign, price=round(close_price, 4),
                                      commission_usd=close_commission)
    opening = msgspec.structs.replace(fill, quantity=fill.quantity * roll.open_sign, price=round(open_price, 4),
                                      commission_usd=round(fill.commission_usd - close_commission, 2))
    return closing, opening
