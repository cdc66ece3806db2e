"""Decision core: turns timer ticks, chains, quotes and positions into open/close intents."""

from __future__ import annotations

from actors.decision import roll as rolls
from actors.decision.assigned_stock import AssignedStockDesk
from actors.decision.config import EntrySection, ExitSection
from actors.decision.entry import judge_entry, waiting_for_fresh_inputs
from actors.decision.entry_gates import Cooldowns, entry_calendar
from actors.decision.exit_memory import ExitMemory
from actors.decision.held_positions import held_on, held_vol_requests, percentile_since
from actors.decision.leg_plan import LegPlan, LegPlans, legs_marked
from actors.decision.market_context import MarketContext
from actors.decision.portfolio_exits import delta_exit
from actors.decision.position_state import (
    combo_mark,
    conservative_note,
    leg_views,
    position_state,
    strategy_marked,
)
from actors.decision.rules import first_exit
from actors.decision.strategies import NoCandidate
from actors.market_data.config import MarketDataSection
from actors.market_data.marks import LegView, MarkBook
from actors.market_time import NS_PER_MS, NS_PER_S, market_hours, new_york_date
from actors.portfolio.account import Account
from actors.portfolio.delta_book import DeltaBook
from actors.portfolio.view import Holding, PortfolioView
from actors.runtime.core import ActorCore, Context
from messages import (
    CONTRACT_MULTIPLIER,
    Alert,
    AssignedStockClosed,
    BrokerAccountValues,
    BrokerConnectionChanged,
    ChainRequest,
    ChainSnapshot,
    CloseStrategy,
    DecisionRecord,
    Dividends,
    IndexQuote,
    IntentApproved,
    IntentDenied,
    Message,
    NodeStopping,
    OpenStrategy,
    OptionContract,
    OptionQuote,
    OptionQuotes,
    OrderOutcome,
    OrderPurpose,
    OrderTerminated,
    ReconciliationResult,
    RollStrategy,
    StrategyClosed,
    StrategyOpened,
    StrategyPositionChanged,
    StrategySettled,
    TimerFired,
    TimerKey,
    TradingState,
    TradingStateChanged,
    UnderlyingQuote,
    VolatilityStats,
)


class DecisionCore(ActorCore):
    name = "decision"
    SNAPSHOT_FRESH = ("_stale_after_ns", "_refusals_alert_after", "_max_contracts_per_order", "_events")  # config
    subscriptions = (
        TimerFired,
        ChainSnapshot,
        OptionQuote,
        OptionQuotes,
        StrategyOpened,
        StrategyPositionChanged,
        StrategyClosed,
        IntentDenied,
        IntentApproved,
        OrderTerminated,
        TradingStateChanged,
        UnderlyingQuote,
        IndexQuote,
        VolatilityStats,
        NodeStopping,
        ReconciliationResult,
        BrokerConnectionChanged,
        BrokerAccountValues,
        StrategySettled,
        AssignedStockClosed,
        Dividends,
    )
    lossless = False
    delivered_in_full = (UnderlyingQuote, VolatilityStats)  # the move window's history; each judges held positions

    def __init__(self, entry: EntrySection, exits: ExitSection, market_data: MarketDataSection | None = None,
                 refusals_alert_after: int = 5, max_contracts_per_order: int = 10) -> None:
        self._entry = entry
        self._exits = exits
        self._market_data = market_data or MarketDataSection()
        self._stale_after_ns = int(self._market_data.stale_after_s * NS_PER_S)
        self._marks = MarkBook(self._market_data)
        self._plans = LegPlans()
        self._refusals_alert_after = refusals_alert_after
        """Refused closes of one position after which a critical alert calls for a human (the breaker's threshold)."""
        self._memory = ExitMemory()
        self._portfolio = PortfolioView()
        self._delta_book = DeltaBook()  # the book's net deltas, kept one changed strategy at a time
        self._awaiting_chain: dict[str, tuple[EntrySection, int]] = {}  # symbol -> (entry parameters, requested at)
        self._trading_state = TradingState.ACTIVE
        self._opened_count = 0
        self._exit_pending = False
        self._requoted: set[str] = set()  # strategies a quote moved since exits were last judged
        self._market = MarketContext(int(exits.catastrophe_window_s * NS_PER_S))
        self._vol_stats: dict[str, VolatilityStats] = {}
        self._stopping = False
        self._reconciled = False  # no new position before the broker's positions have matched ours once
        self._roll_chains: dict[str, tuple[CloseStrategy, int]] = {}  # symbol -> (roll's close part, asked at)
        self._rolling: set[str] = set()  # strategies whose RollStrategy is out (approval, order)
        self._roll_failed: dict[str, str] = {}  # strategy id -> why its roll failed: it is closed instead
        self._broker_state = "connected"  # until the broker says otherwise; no entries while it is not
        self._cooldowns = Cooldowns(entry)
        self._events = entry_calendar(entry)  # the config's data, built once: no file is read here
        self._account = Account()
        self._max_contracts_per_order = max_contracts_per_order
        self._assigned = AssignedStockDesk(exits.assignment_policy)

    def on_start(self, ctx: Context) -> None:
        self._exit_pending = False  # a rebuilt core's pending exit timer died with the old process
        self._stopping = False  # a NodeStopping in the rebuilt history belongs to the previous run
        ctx.set_timer(TimerKey.ENTRY, ctx.now())
        self._warn_if_calendar_is_past(ctx)

    def _warn_if_calendar_is_past(self, ctx: Context) -> None:
        """An events file with nothing ahead protects nothing: most likely last quarter's, never updated."""
        if not self._entry.events:
            return
        last = max(event.window_end for event in self._entry.events)
        if last < new_york_date(ctx.now()):
            ctx.publish(Alert(level="warning", source=self.name,
                              text=f"events file {self._entry.events_file}: its last event window ended {last}, "
                                   "so entries avoid no event; update it (it is read when the node starts)"))

    def handle(self, message: Message, ctx: Context) -> None:
        match message:
            case TimerFired(key=key) if key == TimerKey.ENTRY:
                self._on_evaluate(ctx)
            case ChainSnapshot():
                self._on_chain(message, ctx)
            case OptionQuotes() | OptionQuote():
                self._on_quotes(message, ctx)
            case TimerFired(key=key) if key == TimerKey.EXITS:
                # only the positions a quote moved: the entry timer still judges every position each interval
                self._exit_pending = False
                requoted, self._requoted = self._requoted, set()
                for strategy_id in sorted(s for s in requoted if self._portfolio.holding(s) is not None):
                    self._evaluate_exit(strategy_id, ctx)
                self._book_exits(ctx)
            case StrategyOpened():
                self._memory.opened(message.strategy_id, message.quantity, message.ts)
                self._note_approved(message.strategy_id, message)  # a roll never hands out a held strategy's id
            case StrategyPositionChanged():
                held = self._portfolio.holding(message.strategy_id)
                if held is not None:
                    self._memory.resized(message.strategy_id, held.quantity, message.quantity)
                self._portfolio.apply(message)
            case IntentDenied():
                self._portfolio.apply(message)
                self._assigned.order_ended(message.strategy_id)
                if message.strategy_id in self._rolling:
                    self._fail_roll(message.strategy_id, f"denied by {message.check}: {message.reason}", ctx)
            case StrategySettled() | AssignedStockClosed():
                self._portfolio.apply(message)  # settled in part: the strategy holds fewer legs
                for record in self._assigned.apply(message):
                    ctx.publish(record)
                self._flatten_assigned(ctx)
            case StrategyClosed():
                closed = self._portfolio.holding(message.strategy_id)
                if closed is not None:
                    self._cooldowns.on_closed(closed.symbol, message.rule, message.strategy_id, message.ts)
                self._untrack(message)
                self._assigned.forget(message.strategy_id)  # its legs are closed: its shares may go now
                self._flatten_assigned(ctx)
            case IntentApproved(intent=OpenStrategy() | RollStrategy() as intent):
                self._note_approved((intent.open if isinstance(intent, RollStrategy) else intent).strategy_id, message)
            case OrderTerminated() if message.purpose == OrderPurpose.ROLL and message.status != OrderOutcome.FILLED:
                self._portfolio.apply(message)  # a part filled: closed once the position shows it (next judgement)
                self._fail_roll(message.strategy_id, rolls.order_failure(message), ctx, message.filled_quantity == 0)
            case OrderTerminated():
                self._portfolio.apply(message)
                self._rolling.discard(message.strategy_id)
                self._assigned.order_ended(message.strategy_id)
                if message.purpose == OrderPurpose.CLOSE and message.status == OrderOutcome.REJECTED:
                    self._close_refused(message.strategy_id, ctx)
            case TradingStateChanged():
                self._trading_state = message.state
            case UnderlyingQuote():
                self._market.on_underlying(message)
                self._assigned.on_underlying(message)
            case VolatilityStats():
                self._vol_stats[message.symbol] = message
                if self._exits.iv_percentile_exit:  # judge the held positions on the new percentile at once
                    for strategy_id in held_on(self._portfolio, message.symbol):
                        self._evaluate_exit(strategy_id, ctx)
            case ReconciliationResult():
                self._reconciled = self._reconciled or message.ok
            case BrokerConnectionChanged():
                self._broker_state = message.state
            case BrokerAccountValues():
                self._account = Account.from_values(message)
            case NodeStopping():
                self._stopping = True  # a node on its way down opens nothing new; exits still run
            case IndexQuote():
                self._market.on_index(message)
            case Dividends():
                self._market.on_dividends(message)

    def _on_quotes(self, message: OptionQuotes | OptionQuote, ctx: Context) -> None:
        self._portfolio.apply(message)  # a burst in one pass
        held = False
        for quote in message.quotes if type(message) is OptionQuotes else (message,):
            holders = self._portfolio.holders_of(quote.contract)
            if holders:
                self._requoted |= holders
                held = True
        if held and not self._exit_pending:
            # A market move requotes every leg at once; judging after each single leg would mix old and new prices
            # into a fictitious mark. Coalesce: evaluate once the burst has been delivered.
            self._exit_pending = True
            ctx.set_timer(TimerKey.EXITS, ctx.now() + int(self._exits.evaluation_delay_ms * NS_PER_MS))

    # entries ---------------------------------------------------------------------------------------------------
    def _on_evaluate(self, ctx: Context) -> None:
        hours = market_hours()
        next_at = ctx.now() + int(self._entry.evaluate_interval_s * NS_PER_S)
        if not hours.is_open(next_at):  # nights and weekends: next at the open (years of history pass quicker)
            next_at = max(next_at, hours.next_open(ctx.now()))
        ctx.set_timer(TimerKey.ENTRY, next_at)
        if not hours.is_open(ctx.now()):
            return  # orders sent while the exchange is closed only rest and expire; judge again at the open
        self._flatten_assigned(ctx)
        for close, why in rolls.overdue_chains(self._roll_chains, ctx.now(), self._entry.evaluate_interval_s):
            self._awaiting_chain.pop(close.symbol, None)  # a chain that comes after all is not a roll's any more
            self._fail_roll(close.strategy_id, why, ctx, at_once=False)  # judged just below
        for strategy_id in self._portfolio.open_ids():
            self._evaluate_exit(strategy_id, ctx)
        self._book_exits(ctx)
        if self._exits.iv_percentile_exit and self._broker_state == "connected":
            for request in held_vol_requests(self._portfolio, self._entry, set(self._awaiting_chain)):
                ctx.publish(request)
        if self._trading_state != TradingState.ACTIVE or self._stopping or not self._reconciled:
            return
        if self._broker_state != "connected":
            return  # orders would be refused (link down, outcomes unknown, gateway restart): ask for no chain
        interval_ns = int(self._entry.evaluate_interval_s * NS_PER_S)
        for symbol in self._entry.symbols:
            awaited = self._awaiting_chain.get(symbol)
            if self._has_exposure(symbol) or (awaited is not None and ctx.now() - awaited[1] < interval_ns):
                continue  # a chain that never came (broker down) is asked for again one interval later
            cooling = self._cooldowns.holding(symbol, ctx.now()) if awaited is None else None
            if cooling is not None:
                ctx.publish(DecisionRecord(strategy_id="", action="skip", rule="entry_cooldown", detail=cooling))
                continue
            if self._waiting_for_fresh_inputs(symbol, None, ctx):
                continue
            self._request_chain(symbol, self._entry, ctx)

    def _request_chain(self, symbol: str, params: EntrySection, ctx: Context) -> None:
        self._awaiting_chain[symbol] = (params, ctx.now())
        ctx.publish(ChainRequest(symbol=symbol, min_dte=params.dte_min, max_dte=params.dte_max))

    def _waiting_for_fresh_inputs(self, symbol: str, chain: ChainSnapshot | None, ctx: Context) -> bool:
        waiting = waiting_for_fresh_inputs(symbol, chain, self._market, ctx.now(), self._market_data.stale_after_s,
                                           self._entry.session_quotes_gate)
        if waiting is not None:
            ctx.publish(waiting)
        return waiting is not None

    def _note_approved(self, strategy_id: str, approved: IntentApproved | StrategyOpened) -> None:
        """Its own intent (or roll) approved, or a strategy opened: its id is never handed out again (after a crash the
        write-ahead log may hold an approval whose intent the lake lost: the strategy is then pending again here)."""
        number = strategy_id.rpartition("-")[2]
        self._opened_count = max(self._opened_count, int(number) if number.isdigit() else 0)
        self._portfolio.apply(approved)

    def _has_exposure(self, symbol: str) -> bool:
        return self._portfolio.exposure(symbol) > 0

    def _on_chain(self, chain: ChainSnapshot, ctx: Context) -> None:
        awaited = self._awaiting_chain.pop(chain.symbol, None)
        if awaited is None:
            return
        params = awaited[0]
        if chain.symbol in self._roll_chains:
            self._roll_on_chain(chain, params, ctx)
            return
        if self._trading_state != TradingState.ACTIVE or self._has_exposure(chain.symbol):
            return
        if self._waiting_for_fresh_inputs(chain.symbol, chain, ctx):
            return
        judged = judge_entry(chain, params, self._exits, self._market, self._vol_stats.get(chain.symbol), self._events,
                             ctx.now(), self._account.net_liquidation_usd, self._max_contracts_per_order,
                             self._opened_count + 1)
        if judged.cool_until_ns:
            self._cooldowns.hold(chain.symbol, judged.cool_until_ns, "catastrophe-scale move")
        if judged.intent is None:
            ctx.publish(judged.skipped)
            return
        self._opened_count += 1
        self._portfolio.add_pending(judged.intent)
        ctx.publish(judged.intent)

    # rolls (actors/decision/roll.py) ----------------------------------------------------------------------------------
    def _roll_on_chain(self, chain: ChainSnapshot, params: EntrySection, ctx: Context) -> None:
        close, _ = self._roll_chains.pop(chain.symbol)
        position = self._portfolio.holding(close.strategy_id)
        if position is None:
            return  # closed meanwhile (by a late fill): nothing left to roll
        candidate = rolls.replacement(chain, params, ctx.now(), self._stale_after_ns, self._events, self._exits)
        if isinstance(candidate, NoCandidate):
            self._fail_roll(close.strategy_id, f"no replacement: {candidate.reason}", ctx)
            return
        self._opened_count += 1
        self._rolling.add(close.strategy_id)
        ctx.publish(rolls.roll_intent(close, position.quantity, candidate, params, self._opened_count, ctx.now()))

    def _fail_roll(self, strategy_id: str, why: str, ctx: Context, at_once: bool = True) -> None:
        """Report it; the roll rule closes instead, at once or when next judged (a part-filled roll's position first)."""
        self._rolling.discard(strategy_id)
        if self._portfolio.holding(strategy_id) is not None:
            self._roll_failed[strategy_id] = why
            rolls.roll_failure_report(strategy_id, why, ctx)
            self._portfolio.release_close(strategy_id)
            if at_once:  # else the fills of a part-filled roll are not in the position yet
                self._evaluate_exit(strategy_id, ctx)

    # exits -----------------------------------------------------------------------------------------------------
    def _untrack(self, closed: StrategyClosed) -> None:
        strategy_id = closed.strategy_id
        self._memory.forget(strategy_id)
        self._roll_failed.pop(strategy_id, None)
        self._rolling.discard(strategy_id)
        for contract in self._portfolio.apply(closed).released:
            self._marks.forget(contract)
        self._plans.forget(strategy_id)

    def _flatten_assigned(self, ctx: Context) -> None:
        """What a settlement left (actors/decision/assigned_stock.py): the other legs of a strategy settled in part
        are closed; shares are flattened or kept under `exits.assignment_policy`."""
        if self._trading_state == TradingState.HALTED or self._stopping or not market_hours().is_open(ctx.now()):
            return
        for strategy_id in self._assigned.broken():
            position = self._portfolio.holding(strategy_id)
            if position is None:
                self._assigned.forget(strategy_id)
                continue
            views = None if position.closing else self._leg_views(self._plans.of(position), ctx.now())
            if views is not None:
                self._close(position, views, "assignment", "the broker settled the other legs (early assignment)",
                            conservative_note(position, views), False, ctx)
        for intent in self._assigned.closes():
            ctx.publish(intent)

    def _close_refused(self, strategy_id: str, ctx: Context) -> None:
        """The exit still stands and is tried again after a backoff (`ExitMemory.close_refused`)."""
        refusals = self._memory.close_refused(strategy_id, ctx.now(), self._exits)
        if refusals == self._refusals_alert_after:
            ctx.publish(Alert(level="critical", source=self.name, text=f"closing {strategy_id} was refused "
                              f"{refusals} times: the position stays open and the node keeps trying every "
                              f"{self._exits.close_retry_max_s:g}s at most; check the broker's messages and the account"))

    def _leg_views(self, plan: LegPlan, now_ns: int) -> dict[OptionContract, LegView] | None:
        return leg_views(plan, self._portfolio.quotes, self._marks, self._market.price(plan.holding.symbol),
                         self._exits.max_quote_age_s * NS_PER_S, now_ns)

    def _evaluate_exit(self, strategy_id: str, ctx: Context) -> None:
        position = self._portfolio.holding(strategy_id)
        if position.closing or position.quantity == 0:
            return
        if self._memory.backing_off(strategy_id, ctx.now()):
            return
        if self._trading_state == TradingState.HALTED or not market_hours().is_open(ctx.now()):
            return
        if ctx.now() - self._market.quoted_at(position.symbol) > self._exits.max_quote_age_s * NS_PER_S:
            return  # the underlying itself is stale (QuoteStale says so): no move, no mark to judge by
        plan = self._plans.of(position)
        views = self._leg_views(plan, ctx.now())
        if views is None:
            return
        marked = legs_marked(plan, views)
        conservative = marked.note
        if self._memory.conservative_changed(strategy_id, conservative):
            ctx.publish(DecisionRecord(strategy_id=strategy_id, action="mark", rule="conservative_mark",
                                       detail=conservative or "every leg marked at a fresh two-sided mid again"))
        pnl = (marked.mark - position.entry_price) * position.quantity * CONTRACT_MULTIPLIER
        baseline = self._memory.judged(strategy_id, marked, self._market.vix, pnl)
        state = position_state(plan, views, baseline, self._market, ctx.now(),
                               event=self._events.next_spanned(position.symbol, new_york_date(ctx.now()),
                                                               plan.furthest_expiry)
                               if self._exits.event_exit_days > 0 else None,
                               iv_percentile=percentile_since(self._vol_stats.get(position.symbol), baseline.opened_at),
                               exits=self._exits, model_rate=self._market_data.model_rate, marked=marked)
        if self._memory.mark_due(strategy_id, ctx.now(), int(self._market_data.greeks_interval_s * NS_PER_S)):
            # readers see the mark the rules judge by, without the journal growing by a row per quote
            ctx.publish(strategy_marked(position, baseline, state, bool(conservative),
                                        self._market.price(position.symbol)))
        signal = first_exit(state, self._exits)
        if signal is not None:
            self._close(position, views, signal.rule, signal.reason, conservative, signal.roll, ctx, signal.units)

    def _close(self, position: Holding, views: dict[OptionContract, LegView], rule: str, reason: str,
               conservative: str, roll: bool, ctx: Context, units: int = 0) -> None:
        """Close the position, or `units` of it (a take-profit tier: the strategy stays open with the rest); or roll it:
        ask for the chain its replacement comes from (unless a roll of it failed: then close)."""
        if roll and position.strategy_id in self._roll_failed:
            roll, reason = False, f"{reason}; roll failed ({self._roll_failed[position.strategy_id]}): closing"
        if roll and position.symbol in self._roll_chains:
            return  # one roll per underlying waits for its chain at a time: this one is judged again after it
        closing = -position.quantity if not units else -units if position.quantity > 0 else units
        self._portfolio.mark_closing(position.strategy_id, leaving=position.quantity + closing)
        mark, natural = combo_mark(position, views), combo_mark(position, views, natural=True)
        close = CloseStrategy(strategy_id=position.strategy_id, symbol=position.symbol, legs=position.legs,
                              quantity=closing, mid_price=round(mark, 4), natural_price=round(natural, 4), rule=rule,
                              reason=f"{reason} (conservative marks: {conservative})" if conservative else reason,
                              roll_to_dte=self._exits.roll_to_dte if roll else 0)
        if roll:
            self._roll_chains[position.symbol] = (close, ctx.now())
            self._request_chain(position.symbol, rolls.roll_window(self._entry, self._exits), ctx)
        else:
            ctx.publish(close)

    def _book_exits(self, ctx: Context) -> None:
        """After every position's own rules: the symbol and portfolio delta exits (one close at a time)."""
        if self._trading_state == TradingState.HALTED or not market_hours().is_open(ctx.now()):
            return
        chosen = delta_exit(self._portfolio, self._exits, self._delta_book)
        if chosen is None or self._memory.backing_off(chosen.strategy_id, ctx.now()):
            return
        position = self._portfolio.holding(chosen.strategy_id)
        views = self._leg_views(self._plans.of(position), ctx.now())
        if views is not None:
            self._close(position, views, chosen.rule, chosen.reason, conservative_note(position, views), False, ctx)
