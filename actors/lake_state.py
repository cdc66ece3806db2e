"""What the lake says about the node, for `thetanode status` and `thetanode report` (never the running process).

Strategies, orders and risk state are folded from the journal across every session, because a restarted node
carries its open strategies forward without re-journaling how they were opened.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from actors.market_time import NEW_YORK
from messages import (
    Alert,
    OrderTerminated,
    PlaceOrder,
    PortfolioGreeks,
    StrategyClosed,
    StrategyGreeks,
    StrategyOpened,
    UnderlyingQuote,
)
from messages.risk import RiskStateSnapshot
from storage.journal import DeltaJournal
from storage.lake_views import LakeViews
from storage.session_index import SessionIndex

RECENT_ALERTS = 20


@dataclass
class LakeState:
    open_strategies: list[StrategyOpened] = field(default_factory=list)
    closed_strategies: list[StrategyClosed] = field(default_factory=list)
    working_orders: list[PlaceOrder] = field(default_factory=list)
    strategy_greeks: dict[str, StrategyGreeks] = field(default_factory=dict)
    portfolio_greeks: list[PortfolioGreeks] = field(default_factory=list)
    risk: RiskStateSnapshot | None = None
    last_quote_ns: int = 0
    sessions: list[str] = field(default_factory=list)
    recent_alerts: list[Alert] = field(default_factory=list)

    def realized_by_day(self) -> dict[dt.date, float]:
        days: dict[dt.date, float] = {}
        for closed in self.closed_strategies:
            day = dt.datetime.fromtimestamp(closed.ts / 1e9, tz=NEW_YORK).date()
            days[day] = round(days.get(day, 0.0) + closed.realized_pnl_usd, 2)
        return days


FOLDED = {StrategyClosed: "strategies", StrategyOpened: "strategies", OrderTerminated: "orders", PlaceOrder: "orders",
          StrategyGreeks: "greeks_snapshots", PortfolioGreeks: "greeks_snapshots", RiskStateSnapshot: "risk_state",
          Alert: "alerts"}
"""The message types the state is folded from, and the derived table each is projected into."""


def sessions_to_fold(journal: DeltaJournal, index: SessionIndex) -> set[str] | None:
    """The sessions holding any message the state is folded from (None: all, read from the journal), so that a lake
    of a thousand sessions, most of them without a trade, is not scanned file by file for these types.

    Found from the derived tables' session column (each a few rows per trade) once the session index is complete,
    plus the newest session: after a crash its last batch may reach the derived tables only at the next start."""
    if not index.complete():
        return None
    views = LakeViews(journal.uri.rsplit("/", 1)[0], journal.storage_options)
    holding = {session for table in set(FOLDED.values())
               for session in views.read(table, ("session_id",))["session_id"].to_pylist()}
    newest = index.newest()
    return holding | ({newest} if newest else set())


def read_lake_state(journal: DeltaJournal) -> LakeState:
    """One scan of the few message types the state is folded from (each type's messages in time order)."""
    index = SessionIndex(journal)
    state = LakeState(sessions=index.sessions())
    found: dict[type, list] = defaultdict(list)
    for message in journal.read_types(tuple(FOLDED), sessions_to_fold(journal, index)):
        found[type(message)].append(message)
    closed = {m.strategy_id: m for m in found[StrategyClosed]}
    state.closed_strategies = sorted(closed.values(), key=lambda m: m.ts)
    state.open_strategies = [m for m in found[StrategyOpened] if m.strategy_id not in closed]
    terminated = {m.client_order_id for m in found[OrderTerminated]}
    state.working_orders = [m for m in found[PlaceOrder] if m.client_order_id not in terminated]
    open_ids = {m.strategy_id for m in state.open_strategies}
    for greeks in found[StrategyGreeks]:
        if greeks.strategy_id in open_ids:
            state.strategy_greeks[greeks.strategy_id] = greeks
    state.portfolio_greeks = found[PortfolioGreeks]
    state.risk = found[RiskStateSnapshot][-1] if found[RiskStateSnapshot] else None
    state.recent_alerts = found[Alert][-RECENT_ALERTS:]
    state.last_quote_ns = journal.last_ts(UnderlyingQuote)  # the quotes' times only, never their payloads
    return state
