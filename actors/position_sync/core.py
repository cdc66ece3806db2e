"""Position sync core: strategy-level positions and realised P&L built from fills (unique by execution id)."""

from __future__ import annotations

from dataclasses import dataclass, field

from msgspec import UNSET, UnsetType

from actors.position_sync.assignment import Holding, describe, left_after
from actors.position_sync.reconcile import expected_positions, mismatches
from actors.position_sync.roll_fills import split_roll_fill
from actors.position_sync.settlements import BrokerSettlements
from actors.runtime.announcements import Announcements
from actors.runtime.core import ActorCore, Context
from messages import (
    CONTRACT_MULTIPLIER,
    Alert,
    AssignedStockClosed,
    BrokerPositionsSnapshot,
    CloseStrategy,
    Halt,
    IntentApproved,
    Leg,
    Message,
    OpenStrategy,
    OrderFilled,
    OrderOutcome,
    OrderPurpose,
    OrderTerminated,
    PlaceOrder,
    ReconciliationResult,
    RollStrategy,
    StockDividend,
    StrategyClosed,
    StrategyOpened,
    StrategyPositionChanged,
    StrategyReduced,
    StrategyRolled,
    StrategySettled,
    TimerFired,
    TimerKey,
    UnderlyingQuote,
)

ANNOUNCED = (StrategyOpened, StrategyClosed, StrategyPositionChanged, StrategyReduced, StrategyRolled)


def _announcement_key(message: Message) -> tuple:
    """A strategy opens and closes once; its quantity only shrinks while it closes."""
    if isinstance(message, StrategyPositionChanged):
        return ("changed", message.strategy_id, message.quantity)
    if isinstance(message, StrategyReduced):
        return ("reduced", message.strategy_id, message.remaining_quantity)
    return (type(message).__name__, message.strategy_id)


@dataclass
class CloseOrderFills:
    """The fills of one close order not booked yet: a partial close is booked when its order ends."""

    quantity: int = 0
    value: float = 0.0
    commissions_usd: float = 0.0


@dataclass
class StrategyBook:
    strategy_id: str
    kind: str
    symbol: str
    legs: tuple[Leg, ...]
    intended_quantity: int
    intended_price: float
    max_profit_usd: float
    max_loss_usd: float
    quantity: int = 0
    opened_quantity: float = 0  # units opened; restated in new units after a partial settlement
    opened_value: float = 0.0
    closed_quantity: int = 0
    closed_value: float = 0.0
    cash_usd: float = 0.0
    commissions_usd: float = 0.0
    opening_commissions_usd: float = 0.0
    opened: bool = False
    open_order_done: bool = False
    close_rule: str = ""
    exec_ids: set[str] = field(default_factory=set)

    @property
    def avg_entry_price(self) -> float:
        return round(self.opened_value / self.opened_quantity, 4) if self.opened_quantity else 0.0

    def settled_in_part(self, legs_left: tuple[Leg, ...], quantity_left: int | UnsetType) -> None:
        """Hold only the legs a settlement left, as `quantity_left` units of them (unset: as many as now). The opening
        stays whole and is restated in the new units, so a later partial close books its share of it."""
        self.legs = legs_left
        if quantity_left and quantity_left != self.quantity:
            self.opened_quantity = self.opened_quantity * quantity_left / self.quantity
            self.quantity = quantity_left


class PositionSyncCore(ActorCore):
    name = "positions"
    subscriptions = (IntentApproved, PlaceOrder, OrderFilled, OrderTerminated, BrokerPositionsSnapshot,
                     UnderlyingQuote, StrategySettled, AssignedStockClosed, StockDividend, *ANNOUNCED)

    def __init__(self) -> None:
        self._announcements = Announcements(key=_announcement_key)
        self._books: dict[str, StrategyBook] = {}
        self._strategy_of_order: dict[str, str] = {}
        self._purpose_of_order: dict[str, str] = {}
        self._working_orders: set[str] = set()
        self._unbooked_closes: dict[str, CloseOrderFills] = {}  # client order id -> its fills so far
        self._rolls: dict[str, RollStrategy] = {}  # held strategy id -> the approved roll replacing it
        self._halted_for_mismatch = False
        self._settlements = BrokerSettlements()  # expiries, exercises, assignments and the shares they left

    def on_start(self, ctx: Context) -> None:
        self._announcements.on_start(ctx)

    def handle(self, message: Message, ctx: Context) -> None:
        match message:
            case StrategyOpened() | StrategyClosed() | StrategyPositionChanged() | StrategyReduced() | StrategyRolled():
                self._announcements.heard(message)
            case TimerFired(key=key) if key == TimerKey.ANNOUNCE_AGAIN:
                self._announcements.announce_again(ctx)
            case IntentApproved(intent=RollStrategy() as roll):
                self._rolls[roll.strategy_id] = roll
                self._on_approved(roll.close)
                self._on_approved(roll.open)
                self._books[roll.open.strategy_id].open_order_done = True  # its roll fills open it at once
            case IntentApproved(intent=intent):
                self._on_approved(intent)
            case UnderlyingQuote():
                self._settlements.note_price(message)
            case StockDividend():
                self._on_dividend(message, ctx)
            case StrategySettled() | AssignedStockClosed():
                # its own facts heard back: no-ops, except in a rebuild from the write-ahead log alone, which keeps no
                # positions snapshot to recognise the settlement from again
                self._settlements.restore(message)
                book = self._books.get(message.strategy_id)
                if (isinstance(message, StrategySettled) and book is not None and message.legs_left
                        and book.legs != message.legs_left):
                    book.settled_in_part(message.legs_left, message.quantity_left)
            case PlaceOrder() if message.stock is not UNSET:
                self._working_orders.add(message.client_order_id)
                self._settlements.on_stock_order(message)
            case OrderFilled() if self._settlements.owns(message.client_order_id):
                closed = self._settlements.on_stock_fill(message)
                if closed is not None:
                    ctx.publish(closed)
            case PlaceOrder():
                self._working_orders.add(message.client_order_id)
                self._strategy_of_order[message.client_order_id] = message.strategy_id
                self._purpose_of_order[message.client_order_id] = message.purpose
            case OrderFilled() if self._purpose_of_order.get(message.client_order_id) == OrderPurpose.ROLL:
                self._on_roll_fill(message, ctx)
            case OrderFilled():
                self._on_fill(message, ctx)
            case OrderTerminated():
                self._working_orders.discard(message.client_order_id)
                if message.purpose == OrderPurpose.OPEN:
                    self._on_open_done(message, ctx)
                elif message.purpose == OrderPurpose.ROLL:
                    self._on_roll_done(message, ctx)
                else:
                    self._book_reduction(message.client_order_id, ctx)
            case BrokerPositionsSnapshot(complete=True):
                self._reconcile(message, ctx)

    def _on_approved(self, intent: OpenStrategy | CloseStrategy) -> None:
        match intent:
            case OpenStrategy():
                self._books[intent.strategy_id] = StrategyBook(
                    strategy_id=intent.strategy_id,
                    kind=intent.kind,
                    symbol=intent.symbol,
                    legs=intent.legs,
                    intended_quantity=intent.quantity,
                    intended_price=intent.mid_price,
                    max_profit_usd=intent.max_profit_usd,
                    max_loss_usd=intent.max_loss_usd,
                )
            case CloseStrategy():
                book = self._books.get(intent.strategy_id)
                if book is not None:
                    book.close_rule = intent.rule

    def _on_roll_fill(self, fill: OrderFilled, ctx: Context) -> None:
        """One execution of a roll: the held strategy's closing part and the replacement's opening part, booked
        together (announced as `StrategyRolled`, then the old strategy's change, then the new one's)."""
        roll = self._rolls.get(self._strategy_of_order[fill.client_order_id])
        if roll is None:
            return
        old, new = self._books.get(roll.strategy_id), self._books.get(roll.open.strategy_id)
        if old is None or new is None or fill.exec_id in new.exec_ids:
            return
        if not new.exec_ids:  # its first fill: the roll happened (later parts only change the two quantities)
            self._announcements.announce(StrategyRolled(strategy_id=roll.strategy_id,
                                                        replacement=roll.open.strategy_id,
                                                        client_order_id=fill.client_order_id, rule=roll.close.rule),
                                         ctx)
        closing, opening = split_roll_fill(roll, fill)
        self._on_fill(closing, ctx, book=old, opening=False)
        self._on_fill(opening, ctx, book=new, opening=True)

    def _on_roll_done(self, done: OrderTerminated, ctx: Context) -> None:
        """The held strategy's part is a close (booked as one); the replacement's an opening that never filled."""
        self._book_reduction(done.client_order_id, ctx)
        roll = self._rolls.get(done.strategy_id)
        if roll is not None:
            self._on_open_done(OrderTerminated(client_order_id=done.client_order_id, strategy_id=roll.open.strategy_id,
                                               purpose=OrderPurpose.OPEN, status=done.status,
                                               filled_quantity=done.filled_quantity, avg_price=0.0), ctx)

    def _on_fill(self, fill: OrderFilled, ctx: Context, book: StrategyBook | None = None,
                 opening: bool | None = None) -> None:
        """A fill of the order's own strategy; a roll's parts name their `book` and whether they open it."""
        if book is None:
            strategy_id = self._strategy_of_order.get(fill.client_order_id)
            book = self._books.get(strategy_id) if strategy_id else None
        if book is None or fill.exec_id in book.exec_ids:
            return
        book.exec_ids.add(fill.exec_id)
        book.quantity += fill.quantity
        book.cash_usd += -fill.quantity * fill.price * CONTRACT_MULTIPLIER
        book.commissions_usd += fill.commission_usd
        if opening if opening is not None else self._purpose_of_order[fill.client_order_id] == OrderPurpose.OPEN:
            book.opened_quantity += fill.quantity
            book.opened_value += fill.quantity * fill.price
            book.opening_commissions_usd += fill.commission_usd
        else:
            book.closed_quantity += fill.quantity
            book.closed_value += fill.quantity * fill.price
            part = self._unbooked_closes.setdefault(fill.client_order_id, CloseOrderFills())
            part.quantity += fill.quantity
            part.value += fill.quantity * fill.price
            part.commissions_usd += fill.commission_usd
        if not book.opened and book.open_order_done:
            self._open(book, ctx)
        elif book.opened:
            self._announcements.announce(StrategyPositionChanged(
                strategy_id=book.strategy_id, quantity=book.quantity, avg_entry_price=book.avg_entry_price), ctx)
            if book.quantity == 0:
                self._close(book, ctx)
            elif fill.client_order_id not in self._working_orders:
                self._book_reduction(fill.client_order_id, ctx)  # a fill that arrived after its order ended

    def _book_reduction(self, client_order_id: str, ctx: Context) -> None:
        """A close order ended with the strategy still open: book the part it closed. Its share of the opening is
        the units closed over the units opened, at the average opening price (commissions likewise)."""
        part = self._unbooked_closes.pop(client_order_id, None)
        book = self._books.get(self._strategy_of_order.get(client_order_id, ""))
        if part is None or book is None or not part.quantity or not book.opened_quantity:
            return
        share = -part.quantity / book.opened_quantity
        commissions = part.commissions_usd + share * book.opening_commissions_usd
        gross = (-part.value - share * book.opened_value) * CONTRACT_MULTIPLIER
        self._announcements.announce(StrategyReduced(
            strategy_id=book.strategy_id, closed_quantity=part.quantity, remaining_quantity=book.quantity,
            exit_price=round(part.value / part.quantity, 4), realized_pnl_usd=round(gross - commissions, 2),
            commissions_usd=round(commissions, 2), rule=book.close_rule), ctx)

    def _on_open_done(self, done: OrderTerminated, ctx: Context) -> None:
        book = self._books.get(done.strategy_id)
        book_ended = book is not None and not book.opened
        if book_ended and done.status == OrderOutcome.REJECTED and book.opened_quantity == 0:
            del self._books[done.strategy_id]
        elif book_ended:
            # a cancelled opening order keeps its book: a late fill after the cancel still opens the strategy
            book.open_order_done = True
            if book.opened_quantity:
                self._open(book, ctx)

    def _open(self, book: StrategyBook, ctx: Context) -> None:
        book.opened = True
        # The intent's extremes assume a fill at mid; every cent of slippage moves both by the same amount.
        units = abs(book.opened_quantity)
        slippage_usd = (book.avg_entry_price - book.intended_price) * CONTRACT_MULTIPLIER
        max_profit_per_unit = book.max_profit_usd / abs(book.intended_quantity) - slippage_usd
        max_loss_per_unit = book.max_loss_usd / abs(book.intended_quantity) + slippage_usd
        self._announcements.announce(
            StrategyOpened(
                strategy_id=book.strategy_id,
                kind=book.kind,
                symbol=book.symbol,
                legs=book.legs,
                quantity=book.quantity,
                entry_price=book.avg_entry_price,
                max_profit_usd=round(max_profit_per_unit * units, 2),
                max_loss_usd=round(max_loss_per_unit * units, 2),
            ),
            ctx,
        )

    def _close(self, book: StrategyBook, ctx: Context) -> None:
        exit_price = round(book.closed_value / book.closed_quantity, 4) if book.closed_quantity else 0.0
        self._announcements.announce(
            StrategyClosed(
                strategy_id=book.strategy_id,
                exit_price=exit_price,
                realized_pnl_usd=round(book.cash_usd - book.commissions_usd, 2),
                commissions_usd=round(book.commissions_usd, 2),
                rule=book.close_rule,
            ),
            ctx,
        )
        del self._books[book.strategy_id]
        for order_id in [o for o in self._unbooked_closes if self._strategy_of_order.get(o) == book.strategy_id]:
            del self._unbooked_closes[order_id]  # part of the whole life StrategyClosed has just booked

    def _reconcile(self, snapshot: BrokerPositionsSnapshot, ctx: Context) -> None:
        """Fail closed: with no order in flight, any difference halts the node. While orders work, the broker's
        report may lead or lag our fills by a message, so a difference then is not yet evidence. What the broker
        settled by itself (expiry, exercise, assignment: actors/position_sync/assignment.py) is booked, not a
        difference."""
        if not self._working_orders:
            self._settle(snapshot, ctx)
            for closed in self._settlements.closed_outside(snapshot):
                ctx.publish(Alert(level="warning", source=self.name, text=(
                    f"{abs(closed.closed_quantity)} {closed.symbol} shares of {closed.strategy_id} left the account "
                    f"without an order of ours (closed by hand?): booked at the last price {closed.exit_price:.2f}, "
                    "an approximate P&L")))
                ctx.publish(closed)
        holdings = ((book.legs, book.quantity) for book in self._books.values() if book.quantity)
        problems = mismatches(expected_positions(holdings), snapshot.positions)
        problems += self._settlements.stock_mismatches(snapshot)
        if problems and self._working_orders:
            return
        ctx.publish(ReconciliationResult(ok=not problems, mismatches=tuple(problems)))
        if problems and not self._halted_for_mismatch:
            self._halted_for_mismatch = True
            text = f"broker positions differ from strategies: {'; '.join(problems)}"
            ctx.publish(Alert(level="critical", source=self.name, text=text))
            ctx.publish(Halt(reason=f"reconciliation failed ({len(problems)} differences)"))
        elif not problems:
            self._halted_for_mismatch = False

    # what the broker settled by itself --------------------------------------------------------------------------------
    def _on_dividend(self, dividend: StockDividend, ctx: Context) -> None:
        booked, unowned = self._settlements.on_dividend(dividend)
        for booking in booked:
            ctx.publish(booking)
        if unowned:
            ctx.publish(Alert(level="warning", source=self.name, text=(
                f"dividend of {dividend.amount:.2f} on {unowned:+d} {dividend.symbol} shares held over "
                f"{dividend.ex_date} belongs to no strategy: not booked")))

    def _settle(self, snapshot: BrokerPositionsSnapshot, ctx: Context) -> None:
        holdings = [Holding(b.strategy_id, b.symbol, b.legs, b.quantity) for b in self._books.values() if b.quantity]
        for strategy_id, legs in sorted(self._settlements.recognise(holdings, snapshot, ctx.now()).items()):
            book = self._books[strategy_id]
            shares, cost_usd, offset_usd = self._settlements.hold(strategy_id, book.symbol, legs)
            book.cash_usd += offset_usd
            left, units = left_after(book.legs, book.quantity, legs)
            resized = bool(left) and units != book.quantity
            if left:
                book.settled_in_part(left, units)  # reconciliation expects only these from now on
            assigned = any(leg.shares for leg in legs)
            ctx.publish(StrategySettled(
                strategy_id=strategy_id, symbol=book.symbol, settled=legs, stock_quantity=shares,
                stock_avg_price=round(cost_usd / shares, 4) if shares else 0.0,
                realized_pnl_usd=round(offset_usd if left else book.cash_usd - book.commissions_usd, 2),
                legs_left=left, quantity_left=units if resized else UNSET))
            text = describe(strategy_id, legs, shares, cost_usd) + (
                f"; {len(left)} legs left, to be closed" if left else "")
            ctx.publish(Alert(level="warning" if assigned or left else "info", source=self.name, text=text))
            if not left:
                book.quantity = 0
                book.close_rule = "assigned" if assigned else "expired"
                self._close(book, ctx)
