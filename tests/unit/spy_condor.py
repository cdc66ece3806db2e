"""The SPY iron condor the decision's tests hold, and the Monday noon they hold it at."""

from __future__ import annotations

import datetime as dt

from messages import Leg, OptionContract

NOON = int(dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC).timestamp() * 1e9)  # 12:00 New York, a Monday
SECOND = 1_000_000_000
EXPIRY = dt.date(2026, 4, 10)  # 39 days to expiry at NOON
CONDOR = tuple(Leg(OptionContract("SPY", EXPIRY, k, r), q)
               for k, r, q in ((545.0, "P", 1), (550.0, "P", -1), (610.0, "C", -1), (615.0, "C", 1)))
