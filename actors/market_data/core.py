"""Market-data core: quote subscriptions for open strategies, stale-quote detection, IV rank, greeks aggregation.

It only needs the latest quote per contract, so its mailbox conflates market data under load.
"""

from __future__ import annotations

from actors.market_data.config import MarketDataSection
from actors.market_data.iv_history import IvHistory, atm_iv
from actors.market_data.staleness import StalenessTracker
from actors.market_time import NS_PER_S, market_hours, new_york_date
from actors.portfolio.greeks import GreekTotals
from actors.portfolio.view import PortfolioView
from actors.runtime.core import ActorCore, Context
from messages import (
    ChainSnapshot,
    IvHistoryRestored,
    IvPoint,
    IvSample,
    Message,
    OptionQuote,
    OptionQuotes,
    PortfolioGreeks,
    QuoteStale,
    StrategyClosed,
    StrategyGreeks,
    StrategyOpened,
    StrategyPositionChanged,
    StrategySettled,
    SubscribeQuotes,
    TimerFired,
    TimerKey,
    UnderlyingQuote,
    UnsubscribeQuotes,
    VolatilityStats,
)


class MarketDataCore(ActorCore):
    name = "market_data"
    subscriptions = (
        StrategyOpened,
        StrategyPositionChanged,
        StrategyClosed,
        StrategySettled,
        UnderlyingQuote,
        OptionQuote,
        OptionQuotes,
        ChainSnapshot,
        IvHistoryRestored,
        TimerFired,
    )
    lossless = False

    def __init__(self, params: MarketDataSection | None = None) -> None:
        self._params = params or MarketDataSection()
        self._portfolio = PortfolioView()
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
                self._on_quote(message)
            case OptionQuotes():
                for quote in message.quotes:
                    self._on_quote(quote)
            case UnderlyingQuote():
                self._staleness.watch(message.symbol, message.ts)
                self._staleness.quoted(message.symbol, message.ts)
            case ChainSnapshot():
                self._on_chain(message, ctx)
            case IvHistoryRestored():
                self._history(message.symbol).restore(message.points)
            case StrategyOpened():
                self._hold(message, ctx)
            case StrategyPositionChanged():
                self._portfolio.apply(message)
            case StrategyClosed() | StrategySettled():  # all of it, or the legs the broker settled
                self._release(message, ctx)
            case TimerFired(key=key) if key == TimerKey.STALE:
                self._check_staleness(ctx)
                self._arm(TimerKey.STALE, self._params.stale_check_interval_s, ctx)
            case TimerFired(key=key) if key == TimerKey.GREEKS:
                self._publish_greeks(ctx)
                self._arm(TimerKey.GREEKS, self._params.greeks_interval_s, ctx)

    def _on_quote(self, quote: OptionQuote) -> None:
        if self._portfolio.holds(quote.contract):
            self._portfolio.apply(quote)
            self._staleness.quoted(str(quote.contract), quote.ts)

    def _arm(self, key: str, interval_s: float, ctx: Context) -> None:
        """Next check after `interval_s` while the market is open, else at the next open: nights stay quiet."""
        hours = market_hours()
        due = ctx.now() + int(interval_s * NS_PER_S)
        ctx.set_timer(key, due if hours.is_open(due) else hours.next_open(ctx.now()))

    # subscriptions ---------------------------------------------------------------------------------------------------
    def _hold(self, opened: StrategyOpened, ctx: Context) -> None:
        new = self._portfolio.apply(opened).held
        for contract in new:
            self._staleness.watch(str(contract), opened.ts)
        if new:
            ctx.publish(SubscribeQuotes(contracts=new))

    def _release(self, gone: StrategyClosed | StrategySettled, ctx: Context) -> None:
        self._published_greeks.pop(gone.strategy_id, None)
        released = self._portfolio.apply(gone).released
        for contract in released:
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
        for strategy_id in self._portfolio.open_ids():
            totals = self._portfolio.strategy_greeks(strategy_id)
            if totals is None:
                continue
            portfolio = portfolio + totals
            counted += 1
            if self._published_greeks.get(strategy_id) != totals:
                self._published_greeks[strategy_id] = totals
                ctx.publish(StrategyGreeks(strategy_id=strategy_id, symbol=self._portfolio.holding(strategy_id).symbol,
                                           **vars(totals)))
        portfolio = portfolio.rounded()
        if portfolio != self._published_portfolio and (counted or self._published_portfolio is not None):
            self._published_portfolio = portfolio
            ctx.publish(PortfolioGreeks(strategies=counted, **vars(portfolio)))
