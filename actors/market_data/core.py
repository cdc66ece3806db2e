"""Market-data core: quote subscriptions for open strategies, stale-quote detection, IV rank, greeks aggregation.

It only needs the latest quote per contract, so its mailbox conflates market data under load.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from actors.market_data.config import MarketDataSection
from actors.market_data.greeks import GreekTotals, structure_greeks
from actors.market_data.iv_history import IvHistory, atm_iv
from actors.market_data.staleness import StalenessTracker
from actors.market_time import NS_PER_S, market_hours, new_york_date
from actors.runtime.core import ActorCore, Context
from messages import (
    ChainSnapshot,
    IvHistoryRestored,
    IvPoint,
    IvSample,
    Leg,
    Message,
    OptionContract,
    OptionQuote,
    PortfolioGreeks,
    QuoteStale,
    StrategyClosed,
    StrategyGreeks,
    StrategyOpened,
    StrategyPositionChanged,
    SubscribeQuotes,
    TimerFired,
    TimerKey,
    UnderlyingQuote,
    UnsubscribeQuotes,
    VolatilityStats,
)


@dataclass
class HeldStrategy:
    symbol: str
    legs: tuple[Leg, ...]
    quantity: int


class MarketDataCore(ActorCore):
    name = "market_data"
    subscriptions = (
        StrategyOpened,
        StrategyPositionChanged,
        StrategyClosed,
        UnderlyingQuote,
        OptionQuote,
        ChainSnapshot,
        IvHistoryRestored,
        TimerFired,
    )
    lossless = False

    def __init__(self, params: MarketDataSection | None = None) -> None:
        self._params = params or MarketDataSection()
        self._strategies: dict[str, HeldStrategy] = {}
        self._holders: Counter[OptionContract] = Counter()
        self._quotes: dict[OptionContract, OptionQuote] = {}
        self._staleness = StalenessTracker(int(self._params.stale_after_s * NS_PER_S))
        self._iv: dict[str, IvHistory] = {}
        self._published_greeks: dict[str, GreekTotals] = {}
        self._published_portfolio: GreekTotals | None = None

    def on_start(self, ctx: Context) -> None:
        self._arm(TimerKey.STALE, self._params.stale_check_interval_s, ctx)
        self._arm(TimerKey.GREEKS, self._params.greeks_interval_s, ctx)

    def handle(self, message: Message, ctx: Context) -> None:
        match message:
            case OptionQuote():
                if message.contract in self._holders:
                    self._quotes[message.contract] = message
                    self._staleness.quoted(str(message.contract), message.ts)
            case UnderlyingQuote():
                self._staleness.watch(message.symbol, message.ts)
                self._staleness.quoted(message.symbol, message.ts)
            case ChainSnapshot():
                self._on_chain(message, ctx)
            case IvHistoryRestored():
                self._history(message.symbol).restore(message.points)
            case StrategyOpened():
                self._hold(message, ctx)
            case StrategyPositionChanged() if message.strategy_id in self._strategies:
                self._strategies[message.strategy_id].quantity = message.quantity
            case StrategyClosed():
                self._release(message.strategy_id, ctx)
            case TimerFired(key=key) if key == TimerKey.STALE:
                self._check_staleness(ctx)
                self._arm(TimerKey.STALE, self._params.stale_check_interval_s, ctx)
            case TimerFired(key=key) if key == TimerKey.GREEKS:
                self._publish_greeks(ctx)
                self._arm(TimerKey.GREEKS, self._params.greeks_interval_s, ctx)

    def _arm(self, key: str, interval_s: float, ctx: Context) -> None:
        """Next check after `interval_s` while the market is open, else at the next open: nights stay quiet."""
        hours = market_hours()
        due = ctx.now() + int(interval_s * NS_PER_S)
        ctx.set_timer(key, due if hours.is_open(due) else hours.next_open(ctx.now()))

    # subscriptions ---------------------------------------------------------------------------------------------------
    def _hold(self, opened: StrategyOpened, ctx: Context) -> None:
        self._strategies[opened.strategy_id] = HeldStrategy(opened.symbol, opened.legs, opened.quantity)
        contracts = tuple(leg.contract for leg in opened.legs)
        new = tuple(c for c in contracts if self._holders[c] == 0)
        self._holders.update(contracts)
        for contract in new:
            self._staleness.watch(str(contract), opened.ts)
        if new:
            ctx.publish(SubscribeQuotes(contracts=new))

    def _release(self, strategy_id: str, ctx: Context) -> None:
        held = self._strategies.pop(strategy_id, None)
        self._published_greeks.pop(strategy_id, None)
        if held is None:
            return
        contracts = tuple(leg.contract for leg in held.legs)
        self._holders.subtract(contracts)
        released = tuple(c for c in contracts if self._holders[c] <= 0)
        self._holders = +self._holders
        for contract in released:
            self._quotes.pop(contract, None)
            self._staleness.forget(str(contract))
        if released:
            ctx.publish(UnsubscribeQuotes(contracts=released))

    # staleness -------------------------------------------------------------------------------------------------------
    def _check_staleness(self, ctx: Context) -> None:
        hours = market_hours()
        now = ctx.now()
        if not hours.is_open(now):
            return
        for key, age in self._staleness.newly_stale(now, hours.session_open(now)):
            ctx.publish(QuoteStale(key=key, age_ns=age))

    # implied volatility ----------------------------------------------------------------------------------------------
    def _history(self, symbol: str) -> IvHistory:
        if symbol not in self._iv:
            self._iv[symbol] = IvHistory(self._params.iv_history_days)
        return self._iv[symbol]

    def _on_chain(self, chain: ChainSnapshot, ctx: Context) -> None:
        current = atm_iv(chain.quotes, chain.underlying_price, ctx.now(), self._params.iv_sample_target_dte)
        if current is None:
            return
        history = self._history(chain.symbol)
        point = IvPoint(session_date=new_york_date(ctx.now()), atm_iv=round(current, 6))
        if history.record(point):
            ctx.publish(IvSample(symbol=chain.symbol, point=point))
        rank, percentile = history.rank_and_percentile(point.atm_iv)
        ctx.publish(
            VolatilityStats(
                symbol=chain.symbol,
                atm_iv=point.atm_iv,
                iv_rank=rank,
                iv_percentile=percentile,
                history_days=len(history),
            )
        )

    # greeks ------------------------------------------------------------------------------------------------------------
    def _publish_greeks(self, ctx: Context) -> None:
        portfolio = GreekTotals()
        counted = 0
        for strategy_id in sorted(self._strategies):
            held = self._strategies[strategy_id]
            totals = structure_greeks(held.legs, held.quantity, self._quotes)
            if totals is None:
                continue
            portfolio = portfolio + totals
            counted += 1
            if self._published_greeks.get(strategy_id) != totals:
                self._published_greeks[strategy_id] = totals
                ctx.publish(StrategyGreeks(strategy_id=strategy_id, symbol=held.symbol, **vars(totals)))
        portfolio = portfolio.rounded()
        if portfolio != self._published_portfolio and (counted or self._published_portfolio is not None):
            self._published_portfolio = portfolio
            ctx.publish(PortfolioGreeks(strategies=counted, **vars(portfolio)))
