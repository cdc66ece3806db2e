"""The last pre-trade check on a broker that can answer one (IB): its what-if of the exact opening order.

Risk asks after every other check passed and approves only on an answer whose numbers pass:
- `margin_utilisation`: IB's initial margin after the trade, plus the max loss of the other approved intents not
  filled yet (no what-if includes them), at most `max_margin_utilisation` of net liquidation;
- `buying_power`: IB's initial margin change, plus those pending intents' max loss, at most the available funds.
No answer within `what_if_timeout_s` (`what_if_timeout`), IB's refusal (`what_if_refused`) or an answer without the
initial margin after and change (`what_if_incomplete`) denies: without IB's number the trade is not made. IB's own
refusal (an error code on the what-if) counts as a broker failure toward the circuit breaker, like a rejected order.
"""

from __future__ import annotations

from actors.portfolio.account import Account
from actors.risk.checks import Denial
from actors.risk.config import RiskSection
from messages import WhatIfAnswered

TIMEOUT_CHECK = "what_if_timeout"
REFUSED_CHECK = "what_if_refused"
INCOMPLETE_CHECK = "what_if_incomplete"
FAILURE_CHECKS = frozenset({TIMEOUT_CHECK, REFUSED_CHECK, INCOMPLETE_CHECK})
"""Denials that are IB's or the link's failure, not the account's limits: each raises an alert."""


def what_if_denial(answer: WhatIfAnswered, account: Account, other_pending_usd: float,
                   params: RiskSection) -> Denial | None:
    if answer.error:
        return REFUSED_CHECK, f"IB's what-if gave no margin: {answer.error}"
    after, change = answer.init_margin_after_usd, answer.init_margin_change_usd
    if after is None or change is None:
        return INCOMPLETE_CHECK, "IB's what-if left the initial margin after or change unknown"
    net, funds = account.net_liquidation_usd, account.available_funds_usd
    if net is None or net <= 0:
        return "account_values", "net liquidation unknown or not positive when IB's what-if came"
    if funds is None:
        return "margin", "the broker reports no available funds: IB's what-if cannot be weighed"
    pending = f" with {other_pending_usd:.2f} pending" if other_pending_usd else ""
    in_use = after + other_pending_usd
    if in_use > params.max_margin_utilisation * net:
        return ("margin_utilisation", f"IB's what-if: initial margin {in_use:.2f}{pending} after this trade would be "
                f"{in_use / net:.1%} of net liquidation {net:.2f}, limit {params.max_margin_utilisation:.0%}")
    needed = change + other_pending_usd
    if needed > funds:
        return ("buying_power", f"IB's what-if: the trade needs {needed:.2f} of initial margin{pending}, available "
                f"funds {funds:.2f}")
    return None


def timeout_reason(params: RiskSection) -> str:
    return f"IB's what-if did not answer within {params.what_if_timeout_s:g}s"
