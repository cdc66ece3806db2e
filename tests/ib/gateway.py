"""A test gateway that speaks the TWS API socket protocol on 127.0.0.1, backed by the simulated exchange.

The real ib_async client connects to it over a real socket. It prices stocks, the VIX and option chains with the
node's own chain model from prices the test sets, streams them the way IB does (`market_feed.py`: changes only,
one-sided far wings, not-computed greeks, permissions, delayed data, the line limit), and handles orders the way IB
does (`order_desk.py`): refusals
as bare errors, refused modifications, PendingCancel, DAY orders expiring at the close, combo fills reported per
leg and for the BAG in a shuffled order. Its settings default to a fresh IB Gateway's (Read-Only API on, order
precautions not bypassed; `behaviour.py`), so a test that trades must configure it as the README tells the
operator to. Like IB it refuses a client id already in use (326), sends the data-farm notices at every login,
refuses reused order ids (103), answers what-if orders with their margin and places nothing (`what_if.py`), cuts
off a client that sends more than 50 messages in a second (error 100, `pacing.py`), and answers reqExecutions with
the current trading day only. Contracts, con ids and trading classes are `contracts.py`'s; positions, account values
and portfolio rows `account_desk.py`'s. Faults are scriptable per test (`Faults`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from actors.broker.sim.config import SimSection
from actors.broker.sim.scripted import ScriptedQuoteSource
from messages import IndexQuote, OptionContract, OptionQuote, UnderlyingQuote
from tests.ib import wire
from tests.ib.account_desk import AccountDesk
from tests.ib.behaviour import CONNECT_NOTICES, Faults, GatewaySettings, ib_text
from tests.ib.contracts import INDEX_CON_IDS, STOCK_CON_IDS, ContractDirectory
from tests.ib.dividends import DividendDesk
from tests.ib.gateway_orders import WORKING
from tests.ib.market_feed import FeedClient, MarketFeed
from tests.ib.order_desk import OrderDesk
from tests.ib.pacing import Pacing
from tests.ib.stock_desk import StockDesk, stock_quote
from tests.ib.what_if import WhatIfDesk


def shifted_clock(start: dt.datetime) -> Callable[[], int]:
    """Wall-clock speed from `start`: the gateway's market keeps the node's (shifted) time."""
    start_ns, origin = int(start.timestamp() * 1e9), time.monotonic_ns()
    return lambda: start_ns + time.monotonic_ns() - origin


@dataclass
class _Client:
    writer: asyncio.StreamWriter
    client_id: int = -1
    feed: FeedClient = field(default_factory=FeedClient)
    positions: bool = False
    account_updates: bool = False
    sync_ready_at: float = 0.0
    """Loop time before which this login answers nothing about orders and executions (a slow gateway)."""
    sent_times: deque[float] = field(default_factory=deque)
    """When its messages of the last second arrived (`Pacing`)."""

    def send(self, fields: list[object]) -> None:
        if not self.writer.is_closing():
            self.writer.write(wire.frame(fields))

    def send_together(self, messages: list[list[object]]) -> None:
        """In one write, as IB's gateway sends a quote interval's ticks: the client reads them in one go."""
        if messages and not self.writer.is_closing():
            self.writer.write(b"".join(wire.frame(fields) for fields in messages))


class TestGateway:
    """Start it, point the node (or ib_async) at `port`, drive prices and faults from the test."""

    __test__ = False  # not a pytest test class

    def __init__(self, clock: Callable[[], int], *, account: str = "DU1234567", spot: float = 580.0,
                 vix: float = 18.0, first_order_id: int = 1, quote_interval_s: float = 1.0,
                 params: SimSection | None = None, settings: GatewaySettings | None = None) -> None:
        self.clock = clock
        self.account = account
        self.settings = settings or GatewaySettings()
        self.faults = Faults()
        self.sim = params or SimSection(market="scripted")
        self._source = ScriptedQuoteSource(self.sim)
        self._spots: dict[str, float] = {}
        self.dividends = DividendDesk(self.sim.dividends, lambda: self.clock(),
                                      lambda symbol: self.stocks.shares[symbol])
        self.feed = MarketFeed(self._spots.get, lambda: self._vix, lambda c: self.option_quotes([c]).get(c))
        self.data_faults = self.feed.faults
        """Market-data faults: permissions per symbol, options without a bid or greeks, other clients' lines."""
        self._next_valid_id = first_order_id
        self._quote_interval_s = quote_interval_s
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="ib-test-gateway", daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self.clients: list[_Client] = []
        self.contracts = ContractDirectory(self._spots, lambda: self.clock())
        self.account_desk = AccountDesk(self, self._spots)  # option positions, account values, portfolio rows
        self.desk = OrderDesk(self)
        self.stocks = StockDesk(self, STOCK_CON_IDS)  # stock orders, and the shares fills and deliveries left
        self.what_ifs = WhatIfDesk(self)
        self._occupied_client_ids: set[int] = set()
        self._was_open = True
        self.port = 0
        self.connections = 0
        self.generic_ticks_requested: list[str] = []
        self.handshake_client_ids: list[int] = []
        self.pacing = Pacing()  # more than 50 messages a second: error 100 and cut off
        self.execution_requests = 0
        self.set_underlying("SPY", spot)
        self.set_vix(vix)

    @property
    def on_place(self) -> Callable[[wire.PlaceOrder], None] | None:
        """Called (on the gateway's thread) the moment a placeOrder arrives, before it is worked or answered."""
        return self.desk.on_place

    @on_place.setter
    def on_place(self, hook: Callable[[wire.PlaceOrder], None] | None) -> None:
        self.desk.on_place = hook

    @property
    def what_ifs_received(self) -> list[wire.PlaceOrder]:
        """What-if orders (answered with margin, never placed): not among `orders_received`."""
        return self.what_ifs.received

    @property
    def orders_received(self) -> list[wire.PlaceOrder]:
        return self.desk.orders_received

    @property
    def cancels_received(self) -> list[int]:
        return self.desk.cancels_received

    # lifecycle and controls (any thread) ---------------------------------------------------------------------------
    def start(self, port: int = 0) -> int:
        self._thread.start()
        self.port = self._call(self._listen, port)
        return self.port

    def stop(self) -> None:
        async def close() -> None:
            self._ticking.cancel()
            if self._server is not None:
                self._server.close()
            for client in list(self.clients):
                client.writer.close()

        if self._thread.is_alive():
            self._call(close)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)

    def _call(self, fn: Callable, *args):  # noqa: ANN202 - whatever fn returns
        """Run `fn` on the gateway's loop and return its result (a coroutine function is awaited)."""
        if not self._thread.is_alive():  # before start: nothing else touches the state yet
            return fn(*args)
        done: Future = Future()

        async def run() -> None:
            try:
                result = fn(*args)
                done.set_result(await result if asyncio.iscoroutine(result) else result)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                done.set_exception(exc)

        self.loop.call_soon_threadsafe(lambda: self.loop.create_task(run()))
        return done.result(timeout=10)

    def set_underlying(self, symbol: str, price: float) -> None:
        self._call(self._set_underlying, symbol, price)

    def set_vix(self, value: float) -> None:
        self._call(self._set_vix, value)

    def set_dividend_tick(self, symbol: str, value: str) -> None:
        """IB's tick 456 value for `symbol` changes (any string: IB's format or a malformed one)."""
        self._call(self.dividends.set, symbol, value)

    def requote(self) -> None:
        """What the gateway does every `quote_interval_s`: send every stream's changes (none if nothing moved)."""
        self._call(self._requote)

    def send_error(self, code: int, text: str, req_id: int = -1) -> None:
        self._call(self._broadcast, wire.error(req_id, code, text))

    def flap_farms(self) -> None:
        for code, text in ((2103, "Market data farm connection is broken:usfarm"),
                           (2105, "HMDS data farm connection is broken:ushmds"),
                           (2104, "Market data farm connection is OK:usfarm"),
                           (2106, "HMDS data farm connection is OK:ushmds")):
            self.send_error(code, text)

    def drop_connections(self) -> None:
        self._call(self._drop_all)

    def occupy_client_id(self, client_id: int) -> None:
        """Another program (TWS, a second node) is logged in with this client id."""
        self._occupied_client_ids.add(client_id)

    def nightly_reset(self) -> None:
        """IB's nightly reset: a new trading day for reqExecutions, and the link to IB's servers blinks."""
        self._call(self.desk.new_trading_day)
        self.send_error(1100, "Connectivity between IB and Trader Workstation has been lost.")
        self.send_error(1102, "Connectivity between IB and Trader Workstation has been restored - data maintained.")

    def positions(self) -> dict[OptionContract, int]:
        return self._call(lambda: {c: q for c, q in self.account_desk.holdings.items() if q})

    def executions(self) -> list[tuple[str, str, float, float]]:
        return self._call(lambda: [(e.exec_id, e.contract.sec_type, e.shares, e.price) for e in self.desk.executions])

    def stock_position(self, symbol: str) -> tuple[int, float]:
        """Shares held and their average cost."""
        return self._call(lambda: (self.stocks.shares[symbol], self.stocks.avg_cost(symbol)))

    def filled_units(self) -> dict[str, int]:
        """Combo units IB executed, by order reference."""
        return self._call(lambda: {o.request.order_ref: o.filled for o in self.desk.orders.values() if o.filled})

    def open_orders(self) -> list[tuple[int, str, str, float]]:
        """(order id, order ref, status, limit) of every order IB is working."""
        return self._call(lambda: [(o.order_id, o.request.order_ref, o.status, o.limit)
                                   for o in self.desk.orders.values() if o.status in WORKING])

    def lines_in_use(self) -> int:
        return self._call(lambda: self.feed.lines_in_use([c.feed for c in self.clients]))

    @property
    def most_streams(self) -> int:
        """The most market-data lines this login's clients held at once."""
        return self.feed.most_lines

    # market ------------------------------------------------------------------------------------------------------
    def _set_underlying(self, symbol: str, price: float) -> None:
        self._spots[symbol] = price
        self._source.on_market_input(UnderlyingQuote(symbol=symbol, bid=round(price - 0.01, 2),
                                                     ask=round(price + 0.01, 2), last=price))
        self._requote()

    def _set_vix(self, value: float) -> None:
        self._vix = value
        self._source.on_market_input(IndexQuote(symbol="VIX", value=value))
        self._requote()

    def _requote(self) -> None:
        for client in self.clients:
            ticks: list[list[object]] = []
            for req_id in list(client.feed.streams):
                self.feed.quote(client.feed, ticks.append, req_id)
            client.send_together(ticks)
        self.dividends.refresh()  # an ex-date passed: the next dividend
        is_open = self.market_open()
        if self._was_open and not is_open:
            self.desk.expire_day_orders()
        self._was_open = is_open
        self.desk.match_working()

    def market_open(self) -> bool:
        return self._source.is_open(self.clock())

    def option_quotes(self, contracts: list[OptionContract]) -> dict[OptionContract, OptionQuote]:
        return {q.contract: q for q in self._source.option_quotes(contracts, self.clock())}

    def settle(self, contract: OptionContract, exercised: bool, contracts: int | None = None) -> None:
        """OCC settles an option overnight (expiry, exercise, assignment): the option's position row goes to 0 (or,
        when OCC assigned only `contracts` of a short position early, to what is left) and, when exercised, the shares
        appear in their own STK row, as IB reports them the next morning."""
        self._call(self.account_desk.settle, contract, exercised, contracts)

    # server ------------------------------------------------------------------------------------------------------
    async def _listen(self, port: int) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self._ticking = self.loop.create_task(self._stream_ticks())
        return self._server.sockets[0].getsockname()[1]

    async def _stream_ticks(self) -> None:
        while True:  # a live market keeps quoting even when nothing moves
            await asyncio.sleep(self._quote_interval_s)
            self._requote()

    def _broadcast(self, fields: list[object]) -> None:
        for client in self.clients:
            client.send(fields)

    def _drop_all(self) -> None:
        for client in list(self.clients):
            client.writer.close()
        self.clients.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = _Client(writer)
        frames = wire.FrameReader()
        self.connections += 1
        try:
            while not writer.is_closing():
                data = await reader.read(65536)
                if not data:
                    break
                for fields in frames.feed(data):
                    request = wire.parse_request(fields)
                    if not isinstance(request, wire.Handshake) and self.pacing.over(client.sent_times):
                        client.send(wire.error(-1, 100, "Max rate of messages per second has been exceeded"))
                        writer.close()
                        break
                    self._handle(client, request)
                await writer.drain()
        except (ConnectionError, wire.WireError):
            pass
        finally:
            if client in self.clients:
                self.clients.remove(client)
            writer.close()

    def _handle(self, client: _Client, request: object) -> None:  # noqa: C901 - one branch per request type
        match request:
            case wire.Handshake():
                stamp = dt.datetime.fromtimestamp(self.clock() / 1e9, dt.UTC)
                client.send([wire.SERVER_VERSION, f"{stamp:%Y%m%d %H:%M:%S} UTC"])
            case wire.StartApi(client_id=client_id):
                self._start_api(client, client_id)
            case wire.ReqIds():
                client.send(wire.next_valid_id(self.desk.highest_order_id.get(client.client_id, 0) + 1))
            case wire.ReqCurrentTime():
                client.send(wire.current_time(self.clock() / 1e9))
            case wire.ReqMarketDataType(data_type=data_type):
                client.feed.data_type = data_type
            case wire.ReqAutoOpenOrders() | wire.ReqManagedAccts():
                pass
            case wire.ReqContractDetails(req_id=req_id, contract=contract):
                self.contracts.answer_details(client.send, req_id, contract)
            case wire.ReqSecDefOptParams(req_id=req_id, underlying_symbol=symbol, underlying_con_id=con_id):
                self.contracts.answer_option_params(client.send, req_id, symbol, con_id)
            case wire.ReqMktData(req_id=req_id, contract=contract, generic_ticks=generic_ticks):
                self._subscribe(client, req_id, contract, generic_ticks)
            case wire.CancelMktData(req_id=req_id):
                self.feed.cancel(client.feed, client.send, req_id)
            case wire.PlaceOrder(what_if=True):
                self.what_ifs.answer(client, request)
            case wire.PlaceOrder():
                self.desk.place(client, request)
            case wire.CancelOrder(order_id=order_id):
                self.desk.cancel(client, order_id)
            case wire.ReqOpenOrders() | wire.ReqAllOpenOrders():
                self._sync_answer(client, self.desk.answer_open_orders, client,
                                  isinstance(request, wire.ReqAllOpenOrders))
            case wire.ReqCompletedOrders():
                self._sync_answer(client, self.desk.answer_completed_orders, client)
            case wire.ReqExecutions(req_id=req_id):
                self.execution_requests += 1
                self._sync_answer(client, self.desk.answer_executions, client, req_id)
            case wire.ReqPositions():
                self.account_desk.answer_positions(client)
            case wire.CancelPositions():
                client.positions = False
            case wire.ReqAccountUpdates(subscribe=subscribe):
                self.account_desk.answer_account_updates(client, subscribe)
            case wire.ReqAccountUpdatesMulti(req_id=req_id):
                self.account_desk.answer_account_multi(client, req_id)
            case wire.CancelAccountUpdatesMulti():
                pass
            case wire.UnknownRequest(msg_id=62, fields=fields):  # reqAccountSummary, asked by ib_async after 1102
                client.send([64, 1, int(fields[1])])

    def _start_api(self, client: _Client, client_id: int) -> None:
        if client_id in self._occupied_client_ids or any(c.client_id == client_id for c in self.clients):
            client.send(wire.error(-1, 326, ib_text(326)))
            client.writer.close()
            return
        client.client_id = client_id
        self.handshake_client_ids.append(client_id)
        self.clients.append(client)
        if self.faults.slow_syncs:
            self.faults.slow_syncs -= 1
            client.sync_ready_at = self.loop.time() + self.faults.sync_delay_s
        announced = self.faults.next_valid_id
        self.faults.next_valid_id = None
        next_id = announced if announced is not None else max(
            self._next_valid_id, self.desk.highest_order_id.get(client_id, 0) + 1)
        client.send(wire.next_valid_id(next_id))
        client.send(wire.managed_accounts([self.account]))
        for code, text in CONNECT_NOTICES:
            client.send(wire.error(-1, code, text))

    def _sync_answer(self, client: _Client, answer: Callable, *args: object) -> None:
        """Open orders, completed orders and executions: at once, or, on a slow login, not before it is ready."""
        delay = client.sync_ready_at - self.loop.time()
        if delay > 0:
            self.loop.call_later(delay, answer, *args)
        else:
            answer(*args)

    # market-data requests ------------------------------------------------------------------------------------------
    def _subscribe(self, client: _Client, req_id: int, contract: wire.WireContract, generic_ticks: str) -> None:
        if contract.sec_type == "STK" or contract.con_id in STOCK_CON_IDS.values():
            stream: tuple[str, object] = ("stock", contract.symbol)
        elif contract.sec_type == "IND" or contract.con_id in INDEX_CON_IDS.values():
            stream = ("index", contract.symbol or next(s for s, c in INDEX_CON_IDS.items() if c == contract.con_id))
        else:
            option = self.contracts.resolve_option(contract)
            if option is None:
                client.send(wire.error(req_id, 200, "No security definition has been found for the request"))
                return
            stream = ("option", option)
        if not self.feed.subscribe(client.feed, [c.feed for c in self.clients], client.send, req_id, stream):
            return
        if stream[0] == "stock":
            self.dividends.subscribed(client.feed, client.send, req_id, contract.symbol, generic_ticks)
        if stream[0] == "option" and contract.sec_type != "BAG":
            self.generic_ticks_requested.append(generic_ticks)
            self.feed.generic_ticks(client.send, req_id, stream[1], generic_ticks)

    def stock_quote(self, symbol: str) -> UnderlyingQuote | None:
        return stock_quote(symbol, self._spots.get(symbol))

    def ib_time(self) -> str:
        return dt.datetime.fromtimestamp(self.clock() / 1e9, dt.UTC).strftime("%Y%m%d %H:%M:%S UTC")
