"""Simulated broker core: quotes from a QuoteSource, combo limit orders filled by the simulated exchange rule.

The simulated exchange lives in the node's process and dies with it. A restart rebuilds it from the journal: the
commands it was sent and the answers the node heard (its own events, which it subscribes to for that alone). It makes
no decision while being rebuilt; a command whose answer never reached the journal is answered at start, as IB reports
an order's state on reconnect. What the dead exchange did that nobody journaled died with it."""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter

from msgspec import UNSET

from actors.broker.order_desk import ORDER_COMMANDS, BrokerCore
from actors.broker.sim.account import account_values
from actors.broker.sim.closing_prices import ClosingPrices
from actors.broker.sim.config import SimSection
from actors.broker.sim.dividend_cash import DividendCash
from actors.broker.sim.dividend_feed import DividendFeed
from actors.broker.sim.expiry import EarlyAssignment, due_at, nights_of
from actors.broker.sim.fills import commission_usd, fill_threshold, limit_crosses
from actors.broker.sim.orders import SimOrder
from actors.broker.sim.settled import apply_settlement, settled_before
from actors.broker.sim.source import QuoteSource
from actors.broker.sim.stock import SimShares, stock_fill
from actors.market_data.config import MarketDataSection
from actors.market_data.quote_gate import QuoteGate
from actors.market_time import NS_PER_S
from actors.runtime.core import Context
from actors.settlement import settles_at_ns
from messages import (
    CONTRACT_MULTIPLIER,
    BrokerConnectionChanged,
    BrokerPosition,
    BrokerPositionsSnapshot,
    CancelOrder,
    CancelRejected,
    ChainRequest,
    IndexQuote,
    Message,
    ModifyOrder,
    ModifyRefused,
    OptionContract,
    OptionQuote,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderModified,
    OrderRejected,
    PlaceOrder,
    RawQuote,
    StockDividend,
    SubscribeQuotes,
    TimerFired,
    TimerKey,
    UnderlyingQuote,
    UnsubscribeQuotes,
)

SIM_ORDER_EVENTS = (OrderAccepted, OrderRejected, OrderModified, ModifyRefused, OrderFilled, OrderCancelled,
                    CancelRejected)
ANSWERED_BY = {OrderAccepted: (PlaceOrder,), OrderRejected: (PlaceOrder, ModifyOrder), OrderModified: (ModifyOrder,),
               ModifyRefused: (ModifyOrder,), OrderCancelled: (CancelOrder,), CancelRejected: (CancelOrder,)}
"""Which journaled command each of the exchange's answers settles, when the node is rebuilt."""
FILL_AGGRESSIVENESS = 0.25


class SimBrokerCore(BrokerCore):
    name = "broker"
    SNAPSHOT_FRESH = ("subscriptions", "_live")  # wiring, and "being rebuilt" until on_start: never restored

    def __init__(self, source: QuoteSource, params: SimSection, symbols: tuple[str, ...],
                 market_data: MarketDataSection | None = None) -> None:
        self._source = source
        self._gate = QuoteGate(market_data or MarketDataSection(), source=self.name)
        self._params = params
        self._symbols = symbols
        self._subscribed: Counter[OptionContract] = Counter()
        self._working: dict[str, SimOrder] = {}
        self._known_order_ids: set[str] = set()
        self._next_order_id = 1
        self._exec_count = 0
        self._positions: Counter[OptionContract] = Counter()
        self._costs: Counter[OptionContract] = Counter()
        self._shares = SimShares()  # what exercises, assignments and stock orders left
        self._underlying_mid: dict[str, float] = {}  # the last accepted price
        self._closing = ClosingPrices()  # the last accepted price before each close: what an expiry settles at
        self._early_assigned: set[tuple[OptionContract, dt.date]] = set()  # (short call, ex-date) assigned early
        self._cash_usd = params.starting_cash_usd
        self._dividends = DividendFeed(params.dividends)
        self._dividend_cash = DividendCash(params.dividends)  # what shares held over an ex-date receive or owe
        self._outbox: list[tuple[int, int, Message]] = []  # (due, order of emission, message) for simulated latency
        self._emitted = 0
        self._live = False
        """False while being rebuilt from the journal (until `on_start`): no decisions, no fills."""
        self._unanswered: list[PlaceOrder | ModifyOrder | CancelOrder] = []
        commands = (*ORDER_COMMANDS, SubscribeQuotes, UnsubscribeQuotes, ChainRequest)
        own_facts = (*SIM_ORDER_EVENTS, StockDividend, BrokerPositionsSnapshot)  # heard back only to be rebuilt
        self.subscriptions = commands + own_facts + ((RawQuote,) if source.scripted else ())

    def settled(self) -> bool:
        return not self._outbox

    def on_start(self, ctx: Context) -> None:
        self._live = True
        ctx.publish(BrokerConnectionChanged(state="connected", reason="simulated exchange (in process)"))
        if not self._source.scripted:
            ctx.set_timer(TimerKey.SIM_TICK, ctx.now())
        ctx.set_timer(TimerKey.SIM_POSITIONS, ctx.now())
        unanswered, self._unanswered = self._unanswered, []
        for command in unanswered:
            self.handle_order_command(command, ctx)

    def _emit(self, message: Message, ctx: Context) -> None:
        if self._params.latency_ms == 0:
            ctx.publish(message)
            return
        self._emitted += 1
        due = ctx.now() + self._params.latency_ms * 1_000_000
        heapq.heappush(self._outbox, (due, self._emitted, message))
        ctx.set_timer(TimerKey.SIM_DELIVER, self._outbox[0][0])

    def _deliver_due(self, ctx: Context) -> None:
        while self._outbox and self._outbox[0][0] <= ctx.now():
            ctx.publish(heapq.heappop(self._outbox)[2])
        if self._outbox:
            ctx.set_timer(TimerKey.SIM_DELIVER, self._outbox[0][0])

    def _report_positions(self, ctx: Context) -> None:
        if not self._live:  # rebuilding: it hears the reports it made back from the journal (`_recall_account`)
            return
        self._settle_expiries(ctx)
        positions = tuple(
            BrokerPosition(contract=c, quantity=q, avg_cost=round(self._costs[c] / q, 4))
            for c, q in sorted(self._positions.items(), key=lambda item: str(item[0]))
            if q
        )
        self._emit(BrokerPositionsSnapshot(positions=positions, complete=True, stock=self._shares.positions()), ctx)
        self._dividend_cash.owe(self._dividend_cash.due(ctx.now(), self._shares.quantity))
        for dividend in self._dividend_cash.take_owed():  # a rebuilt exchange's first: what the journal lacks too
            self._cash_usd += dividend.cash_usd
            self._emit(dividend, ctx)
        held = sorted(self._positions, key=str)
        marks = {q.contract: (q.bid + q.ask) / 2 for q in self._source.option_quotes(held, ctx.now())}
        self._emit(account_values(self._positions, self._costs, marks, self._cash_usd, self._shares,
                                  self._underlying_mid), ctx)

    def handle(self, message: Message, ctx: Context) -> None:
        if isinstance(message, SIM_ORDER_EVENTS):
            if not self._live and message.origin == self.name:  # live, it is its own answer coming back
                self._recall(message, ctx)
            return
        if isinstance(message, (StockDividend, BrokerPositionsSnapshot)):
            if not self._live and message.origin == self.name:
                self._recall_account(message)
            return
        if not self._live and isinstance(message, ORDER_COMMANDS):
            self._unanswered.append(message)
            return
        if self.handle_order_command(message, ctx):
            return
        match message:
            case TimerFired(key=key) if key == TimerKey.SIM_TICK:
                self._on_tick(ctx)
            case TimerFired(key=key) if key == TimerKey.SIM_DELIVER:
                self._deliver_due(ctx)
            case TimerFired(key=key) if key == TimerKey.SIM_POSITIONS:
                for announcement in self._dividends.changes(ctx.now()):  # like IB's tick 456: on news only
                    ctx.publish(announcement)
                self._report_positions(ctx)
                interval = int(self._params.positions_interval_s * NS_PER_S)
                ctx.set_timer(TimerKey.SIM_POSITIONS, self._source.next_tick(ctx.now(), interval))
            case RawQuote():
                # The scripted exchange moves only on what the gate accepts: a bad print is a feed glitch, and the
                # options it would have repriced must not move with it.
                accepted = self._admit(message.quote, ctx)
                if isinstance(accepted, (UnderlyingQuote, IndexQuote)):
                    self._source.on_market_input(accepted)
                    self._publish_subscribed(ctx)
                    self._match_working(ctx)
            case SubscribeQuotes():
                self._subscribed.update(message.contracts)
                self._publish_quotes(message.contracts, ctx)
            case UnsubscribeQuotes():
                self._subscribed.subtract(message.contracts)
                self._subscribed = +self._subscribed
            case ChainRequest():
                chain = self._source.chain(message.symbol, message.min_dte, message.max_dte, ctx.now())
                self._gate.admit_chain(chain, ctx.now()).publish(ctx)

    def _on_tick(self, ctx: Context) -> None:
        now = ctx.now()
        interval = int(self._params.tick_interval_s * NS_PER_S)
        if self._source.advance(now):
            symbols = sorted(set(self._symbols) | {c.symbol for c in self._subscribed})
            for quote in (*self._source.underlying_quotes(symbols, now), *self._source.index_quotes(now)):
                self._admit(quote, ctx)
            self._publish_subscribed(ctx)
            self._match_working(ctx)
        ctx.set_timer(TimerKey.SIM_TICK, self._source.next_tick(now, interval))

    def _publish_subscribed(self, ctx: Context) -> None:
        self._publish_quotes(sorted(self._subscribed, key=str), ctx)

    def _publish_quotes(self, contracts, ctx: Context) -> None:  # noqa: ANN001 - any sequence of contracts
        for quote in self._source.option_quotes(list(contracts), ctx.now()):
            self._admit(quote, ctx)

    def _admit(self, quote: UnderlyingQuote | IndexQuote | OptionQuote, ctx: Context) -> Message | None:
        """Every quote leaves through the gate, like a real feed's would. An expiry settles at the last price before
        the first one after its close."""
        if isinstance(quote, UnderlyingQuote) and self._settle_expiries(ctx):
            self._report_positions(ctx)
        accepted = self._gate.admit(quote, quote.ts or ctx.now()).publish(ctx)
        if isinstance(accepted, UnderlyingQuote):
            self._underlying_mid[accepted.symbol] = (accepted.bid + accepted.ask) / 2
            self._closing.note(accepted.symbol, self._underlying_mid[accepted.symbol], ctx.now())
        return accepted

    def _settle_expiries(self, ctx: Context) -> bool:
        """OCC's expiry (actors/broker/sim/expiry.py): options in the money by a cent or more at the close deliver
        shares, cash moves at the strike, the rest vanish, and orders for them end. Not while being rebuilt: it recalls
        what it settled from its journaled reports (`settled_before`), and settles the rest on its next report."""
        if not self._live:
            return False
        early = EarlyAssignment(self._params.dividends, self._params.early_assignment_share,
                                frozenset(self._early_assigned)) if self._params.early_assignment else None
        settled = due_at(self._positions, ctx.now(), early, self._underlying_mid.get, lambda c: next(
            ((q.bid + q.ask) / 2 for q in self._source.option_quotes([c], ctx.now())), None), self._closing.at)
        gone = {s.contract for s in settled if ctx.now() >= settles_at_ns(s.contract.expiry)}  # early: orders work on
        for client_order_id in sorted(self._working):
            if any(leg.contract in gone for leg in self._working[client_order_id].order.legs):
                working = self._working.pop(client_order_id)
                self._emit(OrderCancelled(client_order_id=client_order_id, filled_quantity=working.filled,
                                          reason="contract expired"), ctx)
        for settlement in settled:
            if settlement.ex_date is not None:
                self._early_assigned.add((settlement.contract, settlement.ex_date))
            self._cash_usd += apply_settlement(self._positions, self._costs, self._shares, settlement)
        return bool(settled)

    # orders --------------------------------------------------------------------------------------------------------
    def known_order_ids(self) -> set[str]:
        return self._known_order_ids

    def refuse(self, order: PlaceOrder, problem: str, ctx: Context) -> None:
        self._emit(OrderRejected(client_order_id=order.client_order_id, code=201, reason=problem), ctx)

    def place(self, order: PlaceOrder, ctx: Context) -> None:
        self._known_order_ids.add(order.client_order_id)
        broker_order_id = self._next_order_id
        self._next_order_id += 1
        working = SimOrder(order, broker_order_id, order.limit_price)
        if working.draw(self._params.seed) < self._params.reject_probability:
            self._emit(OrderRejected(client_order_id=order.client_order_id, code=201,
                                     reason="simulated exchange reject"), ctx)
            return
        self._working[order.client_order_id] = working
        self._emit(OrderAccepted(client_order_id=order.client_order_id, broker_order_id=broker_order_id), ctx)
        self._try_fill(working, ctx)

    def modify(self, modify: ModifyOrder, ctx: Context) -> None:
        working = self._working.get(modify.client_order_id)
        if working is None:
            self._emit(OrderRejected(client_order_id=modify.client_order_id, code=104,
                                     reason="modify of an order not working"), ctx)
            return
        refusing = self._params.modify_refuse_probability
        # no draw while it is off: the fills' draws stay as they were
        if refusing and working.draw(self._params.seed) < refusing:
            self._emit(ModifyRefused(client_order_id=modify.client_order_id, limit_price=modify.limit_price,
                                     working_price=working.limit_price, code=201,
                                     reason="simulated exchange: modification refused"), ctx)
            return
        working.limit_price = modify.limit_price
        self._emit(OrderModified(client_order_id=modify.client_order_id, limit_price=modify.limit_price), ctx)
        self._try_fill(working, ctx)

    def cancel(self, cancel: CancelOrder, ctx: Context) -> None:
        working = self._working.pop(cancel.client_order_id, None)
        if working is None:
            self._emit(CancelRejected(client_order_id=cancel.client_order_id, reason="order is not working"), ctx)
            return
        self._emit(OrderCancelled(client_order_id=cancel.client_order_id, filled_quantity=working.filled,
                                  reason=cancel.reason), ctx)

    def _match_working(self, ctx: Context) -> None:
        if not self._live:
            return
        for client_order_id in sorted(self._working):
            self._try_fill(self._working[client_order_id], ctx)

    def _try_fill(self, working: SimOrder, ctx: Context) -> None:
        if not self._source.is_open(ctx.now()):
            return
        order = working.order
        if order.stock is not UNSET:
            self._try_fill_stock(working, ctx)
            return
        contracts = [leg.contract for leg in order.legs]
        quotes = {q.contract: q for q in self._source.option_quotes(contracts, ctx.now())}
        if len(quotes) != len(contracts):
            return
        if not limit_crosses(order.legs, quotes, order.quantity, working.limit_price, FILL_AGGRESSIVENESS):
            return
        # a limit more generous than the market fills at the market's price, as on an exchange (price improvement)
        direction = 1 if order.quantity > 0 else -1
        threshold = round(fill_threshold(order.legs, quotes, direction, FILL_AGGRESSIVENESS), 2)
        fill_price = min(working.limit_price, threshold) if direction > 0 else max(working.limit_price, threshold)
        remaining = order.quantity - working.filled
        quantity = remaining
        if abs(remaining) > 1 and working.draw(self._params.seed) < self._params.partial_fill_probability:
            quantity = (1 if remaining > 0 else -1) * (1 + int(working.draw(self._params.seed) * (abs(remaining) - 1)))
        self._exec_count += 1
        fill = OrderFilled(
            client_order_id=order.client_order_id,
            exec_id=f"SIM-{working.broker_order_id}-{self._exec_count}",
            quantity=quantity,
            price=fill_price,
            commission_usd=commission_usd(order.legs, quantity, self._params.commission_per_contract_usd),
        )
        self._book(working, fill, quotes)
        self._emit(fill, ctx)
        self._report_positions(ctx)

    def _try_fill_stock(self, working: SimOrder, ctx: Context) -> None:
        quote = next(iter(self._source.underlying_quotes([working.order.stock], ctx.now())), None)
        fill = stock_fill(working.order, working.filled, working.limit_price, quote,
                          f"SIM-{working.broker_order_id}-{self._exec_count + 1}")
        if fill is None:
            return
        self._exec_count += 1
        self._book(working, fill, {})
        self._emit(fill, ctx)
        self._report_positions(ctx)

    def _book(self, working: SimOrder, fill: OrderFilled, quotes: dict[OptionContract, OptionQuote]) -> None:
        order = working.order
        working.filled += fill.quantity
        multiplier = 1 if order.stock is not UNSET else CONTRACT_MULTIPLIER
        self._cash_usd -= fill.price * fill.quantity * multiplier + fill.commission_usd
        if working.filled == order.quantity:
            del self._working[order.client_order_id]
        if order.stock is not UNSET:
            self._shares.trade(order.stock, fill.quantity, fill.price)
            return
        for leg in order.legs:
            quote = quotes.get(leg.contract)
            mark = (quote.bid + quote.ask) / 2 if quote is not None else 0.0
            self._positions[leg.contract] += leg.ratio * fill.quantity
            self._costs[leg.contract] += leg.ratio * fill.quantity * mark
            if self._positions[leg.contract] == 0:
                del self._positions[leg.contract], self._costs[leg.contract]

    # rebuilding from the journal -----------------------------------------------------------------------------------
    def _recall_account(self, fact: StockDividend | BrokerPositionsSnapshot) -> None:
        """A payment it made (once), or a positions report of its own: what it had settled by then (`settled_before`),
        and its look at the dividend schedule with it, on the shares it held then (owed until heard paid)."""
        if isinstance(fact, StockDividend):
            self._cash_usd += fact.cash_usd
            self._dividend_cash.heard(fact)
            return
        looked_ns = fact.ts - self._params.latency_ms * 1_000_000  # when it reported: it left that much later
        for settlement in settled_before(self._positions, fact, self._closing.at):
            if settlement.early:  # the rest is kept through that night
                self._early_assigned |= nights_of(settlement.contract, self._params.dividends, looked_ns)
            self._cash_usd += apply_settlement(self._positions, self._costs, self._shares, settlement)
        self._dividend_cash.owe(self._dividend_cash.due(looked_ns, self._shares.quantity))

    def _recall(self, event: Message, ctx: Context) -> None:
        """Apply an answer the node journaled: it settles the first unanswered command it answers."""
        client_order_id = event.client_order_id
        settles = ANSWERED_BY.get(type(event), ())
        command = next((c for c in self._unanswered if c.client_order_id == client_order_id and
                        isinstance(c, settles)), None)
        if command is not None:
            self._unanswered.remove(command)
        if isinstance(command, PlaceOrder):
            self._known_order_ids.add(client_order_id)
        match event:
            case OrderAccepted() if isinstance(command, PlaceOrder):
                self._working[client_order_id] = SimOrder(command, event.broker_order_id, command.limit_price)
                self._next_order_id = max(self._next_order_id, event.broker_order_id + 1)
            case OrderModified() if client_order_id in self._working:
                self._working[client_order_id].limit_price = event.limit_price
            case OrderCancelled():
                self._working.pop(client_order_id, None)
            case OrderFilled() if client_order_id in self._working:
                working = self._working[client_order_id]
                contracts = [leg.contract for leg in working.order.legs]
                quotes = {q.contract: q for q in self._source.option_quotes(contracts, ctx.now())}
                self._book(working, event, quotes)
                number = event.exec_id.rpartition("-")[2]
                self._exec_count = max(self._exec_count, int(number) if number.isdigit() else 0)
