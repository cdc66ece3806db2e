"""Which part of an option chain to quote: IB lists every expiry and strike, but market-data lines and the 50
messages/s pacing make quoting all of them slow, so a chain request quotes the expiries nearest the middle of the
wanted DTE window and the strikes near spot — the ones a strategy can choose from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable


def choose_expiries(expirations: Iterable[str], today: dt.date, min_dte: int, max_dte: int, count: int) -> list[str]:
    """Up to `count` IB expiries (YYYYMMDD) inside the window, nearest its middle first, returned in date order."""
    middle = (min_dte + max_dte) / 2
    inside = []
    for text in set(expirations):
        days = (dt.datetime.strptime(text[:8], "%Y%m%d").date() - today).days
        if min_dte <= days <= max_dte:
            inside.append((abs(days - middle), days, text))
    return [text for _, _, text in sorted(sorted(inside)[:count], key=lambda item: item[1])]


def choose_strikes(strikes: Iterable[float], spot: float, range_pct: float) -> list[float]:
    low, high = spot * (1 - range_pct), spot * (1 + range_pct)
    return sorted({float(k) for k in strikes if low <= k <= high})

