"""IB's what-if order, as the IB broker core asks and reads it: pure, from messages alone.

A what-if (Order.whatIf) is IB's own margin calculation for the exact order: initial and maintenance margin and
equity with loan value before, change and after, and the commission. IB sends them as text and marks an unknown one
with Java's Double.MAX_VALUE ("1.7976931348623157E308") or leaves it empty; such a value is unknown (None), never a
number — a check that needs it refuses.
"""

from __future__ import annotations

import math

from messages import IbWhatIf, IbWhatIfResult, Message, WhatIfAnswered, WhatIfRequested

IB_UNSET = 1e300
"""At or above this a value is IB's unset marker (Double.MAX_VALUE), not an amount."""


def ib_amount(text: str | float | None) -> float | None:
    """A dollar amount IB sent, or None when it is empty, not a number, infinite or IB's unset marker."""
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and abs(value) < IB_UNSET else None


def ask(request: WhatIfRequested, refusal: str | None, min_order_id: int) -> Message:
    """What the core does with a what-if request: the session's command, or at once an answer that it cannot be asked
    (the link is down, read-only, synchronising, or inside the daily restart)."""
    if refusal is not None:
        return WhatIfAnswered(strategy_id=request.strategy_id, error=f"not asked: {refusal}")
    return IbWhatIf(strategy_id=request.strategy_id, legs=request.legs, quantity=request.quantity,
                    limit_price=request.limit_price, min_order_id=min_order_id)


def answered(result: IbWhatIfResult) -> WhatIfAnswered:
    if result.error_code or result.error:
        code = f"IB {result.error_code}: " if result.error_code else ""
        return WhatIfAnswered(strategy_id=result.strategy_id, error=f"{code}{result.error}", code=result.error_code)
    return WhatIfAnswered(strategy_id=result.strategy_id,
                          init_margin_before_usd=ib_amount(result.init_margin_before),
                          init_margin_change_usd=ib_amount(result.init_margin_change),
                          init_margin_after_usd=ib_amount(result.init_margin_after),
                          maint_margin_after_usd=ib_amount(result.maint_margin_after),
                          equity_with_loan_after_usd=ib_amount(result.equity_with_loan_after),
                          commission_usd=ib_amount(result.commission))
