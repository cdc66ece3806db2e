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
off a client that sends more than 50 messages in a second (error 100), and answers reqExecutions with the current
trading day only. Faults are scriptable per test (`Faults`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field

from actors.broker.sim.config import SimSection
from actors.broker.sim.scripted import ScriptedQuoteSource
from actors.market_data.chain import listed_expiries, listed_strikes
from actors.portfolio.margin import worst_expiry_value_usd
from messages import IndexQuote, OptionContract, OptionQuote, UnderlyingQuote
from tests.ib import wire
from tests.ib.behaviour import CONNECT_NOTICES, Faults, GatewaySettings, ib_text
from tests.ib.dividends import DividendDesk
from tests.ib.market_feed import FeedClient, MarketFeed
from tests.ib.order_desk import WORKING, OrderDesk
from tests.ib.stock_desk import StockDesk, stock_quote
from tests.ib.what_if import WhatIfDesk

PACING_LIMIT = 50
STOCK_CON_IDS = {"SPY": 756733, "QQQ": 320227571, "IWM": 9579970}
VIX_CON_ID = 13455763
INDEX_CON_IDS = {"VIX": VIX_CON_ID, "SPX": 416904}
MONTHLY_CLASS = {"SPX": "SPX"}
"""Index options listed in two classes: AM-settled monthlies (third Fridays) and PM-settled weeklies (every expiry,
third Fridays included) — the same symbol, expiry, strike and right, told apart only by the trading class."""
WEEKLY_CLASS = {"SPX": "SPXW"}
FIRST_OPTION_CON_ID = 700_000_000


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

    def send(self, fields: list[object]) -> None:
        if not self.writer.is_closing():
            self.writer.write(wire.frame(fields))


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
        self._con_ids: dict[tuple[OptionContract, str], int] = {}
        self.option_by_con_id: dict[int, OptionContract] = {}
        self.holdings: Counter[OptionContract] = Counter()
        self.costs: Counter[OptionContract] = Counter()
        self.desk = OrderDesk(self)
        self.stocks = StockDesk(self, STOCK_CON_IDS)  # stock orders, and the shares fills and deliveries left
        self.what_ifs = WhatIfDesk(self)
        self._occupied_client_ids: set[int] = set()
        self._was_open = True
        self.port = 0
        self.connections = 0
        self.generic_ticks_requested: list[str] = []
        self.handshake_client_ids: list[int] = []
        self.message_times: list[float] = []
        self.pacing_violations = 0
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
        return self._call(lambda: {c: q for c, q in self.holdings.items() if q})

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

    def max_messages_per_second(self) -> int:
        times = list(self.message_times)
        best, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best

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
            for req_id in list(client.feed.streams):
                self.feed.quote(client.feed, client.send, req_id)
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

    def _con_id(self, contract: OptionContract, trading_class: str) -> int:
        key = (contract, trading_class)
        if key not in self._con_ids:
            con_id = FIRST_OPTION_CON_ID + len(self._con_ids)
            self._con_ids[key], self.option_by_con_id[con_id] = con_id, contract
        return self._con_ids[key]

    def settle(self, contract: OptionContract, exercised: bool, contracts: int | None = None) -> None:
        """OCC settles an option overnight (expiry, exercise, assignment): the option's position row goes to 0 (or,
        when OCC assigned only `contracts` of a short position early, to what is left) and, when exercised, the shares
        appear in their own STK row, as IB reports them the next morning."""
        def settle_now() -> None:
            held = self.holdings.get(contract, 0)
            quantity = held if contracts is None else -contracts if held < 0 else contracts
            left = held - quantity
            if left:
                self.holdings[contract] = left
                self.costs[contract] = self.costs.get(contract, 0.0) * left / held
            else:
                self.holdings.pop(contract, None)
                self.costs.pop(contract, None)
            sign = 1 if contract.right == "C" else -1
            if exercised:
                self.stocks.deliver(contract.symbol, sign * quantity * 100, contract.strike)
            for client in self.clients:
                if client.positions:
                    client.send(wire.position(self.account, self.wire_option(contract), left,
                                              self._avg_cost(contract) if left else 0.0))
            if exercised:
                self.stocks.send_position(contract.symbol)
        self._call(settle_now)

    @staticmethod
    def wire_stock(symbol: str) -> wire.WireContract:
        return wire.WireContract(con_id=STOCK_CON_IDS[symbol], symbol=symbol, sec_type="STK", exchange="SMART",
                                 primary_exchange="ARCA", currency="USD", local_symbol=symbol, trading_class=symbol)

    def wire_option(self, contract: OptionContract, trading_class: str = "") -> wire.WireContract:
        trading_class = trading_class or WEEKLY_CLASS.get(contract.symbol, contract.symbol)
        return wire.WireContract(con_id=self._con_id(contract, trading_class), symbol=contract.symbol, sec_type="OPT",
                                 last_trade_date=f"{contract.expiry:%Y%m%d}", strike=contract.strike,
                                 right=contract.right, multiplier="100", exchange="SMART", currency="USD",
                                 local_symbol=f"{contract.symbol} {contract.expiry:%y%m%d}{contract.right}"
                                              f"{int(contract.strike * 1000):08d}",
                                 trading_class=trading_class)

    def _listed(self, symbol: str) -> tuple[list[dt.date], list[float]]:
        spot = self._spots[symbol]
        return listed_expiries(self.clock(), 0, 70), listed_strikes(spot)

    def _classes(self, symbol: str) -> list[tuple[str, list[dt.date], list[float]]]:
        """(trading class, expiries, strikes) as reqSecDefOptParams lists them: one class for an equity; for SPX the
        third-Friday monthlies (SPX) and the weeklies of every expiry (SPXW)."""
        expiries, strikes = self._listed(symbol)
        if symbol not in MONTHLY_CLASS:
            return [(symbol, expiries, strikes)]
        monthly = [e for e in expiries if e.weekday() == 4 and 15 <= e.day <= 21]
        return [(MONTHLY_CLASS[symbol], monthly, strikes), (WEEKLY_CLASS[symbol], expiries, strikes)]

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
                    if not isinstance(request, wire.Handshake) and self._over_pacing(client):
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

    def _over_pacing(self, client: _Client) -> bool:
        now = time.monotonic()
        self.message_times.append(now)
        client.sent_times.append(now)
        while now - client.sent_times[0] >= 1.0:
            client.sent_times.popleft()
        if len(client.sent_times) > PACING_LIMIT:
            self.pacing_violations += 1
            return True
        return False

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
                self._contract_details(client, req_id, contract)
            case wire.ReqSecDefOptParams(req_id=req_id, underlying_symbol=symbol, underlying_con_id=con_id):
                if symbol in self._spots:
                    for trading_class, expiries, strikes in self._classes(symbol):
                        for exchange in ("SMART", "CBOE"):
                            client.send(wire.sec_def_opt_params(req_id, exchange, con_id, trading_class, "100",
                                                                [f"{e:%Y%m%d}" for e in expiries], strikes))
                client.send(wire.sec_def_opt_params_end(req_id))
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
                client.positions = True
                for contract, quantity in sorted(self.holdings.items(), key=lambda item: str(item[0])):
                    client.send(wire.position(self.account, self.wire_option(contract), quantity,
                                              self._avg_cost(contract)))
                for symbol, quantity in sorted(self.stocks.shares.items()):
                    client.send(wire.position(self.account, self.wire_stock(symbol), quantity,
                                              self.stocks.avg_cost(symbol)))
                client.send(wire.position_end())
            case wire.CancelPositions():
                client.positions = False
            case wire.ReqAccountUpdates(subscribe=subscribe):
                client.account_updates = subscribe
                if subscribe:
                    self._send_account(client)
                    client.send(wire.account_download_end(self.account))
            case wire.ReqAccountUpdatesMulti(req_id=req_id):
                for key, value in self._account_values():
                    client.send(wire.account_update_multi(req_id, self.account, "", key, value, "USD"))
                client.send(wire.account_update_multi_end(req_id))
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

    # contracts and quotes ------------------------------------------------------------------------------------------
    def _contract_details(self, client: _Client, req_id: int, contract: wire.WireContract) -> None:
        found: list[tuple[wire.WireContract, int]] = []
        if contract.sec_type == "STK" and contract.symbol in STOCK_CON_IDS:
            found.append((wire.WireContract(con_id=STOCK_CON_IDS[contract.symbol], symbol=contract.symbol,
                                            sec_type="STK", exchange="SMART", primary_exchange="ARCA",
                                            currency="USD", local_symbol=contract.symbol,
                                            trading_class=contract.symbol), 0))
        elif contract.sec_type == "IND" and contract.symbol in INDEX_CON_IDS:
            found.append((wire.WireContract(con_id=INDEX_CON_IDS[contract.symbol], symbol=contract.symbol,
                                            sec_type="IND", exchange="CBOE", currency="USD",
                                            local_symbol=contract.symbol), 0))
        elif contract.sec_type == "OPT" and contract.symbol in self._spots:
            under_con_id = STOCK_CON_IDS.get(contract.symbol) or INDEX_CON_IDS[contract.symbol]
            for trading_class, expiries, strikes in self._classes(contract.symbol):
                if contract.trading_class and contract.trading_class != trading_class:
                    continue
                for expiry in expiries:
                    if contract.last_trade_date and contract.last_trade_date[:8] != f"{expiry:%Y%m%d}":
                        continue
                    for strike in strikes:
                        if contract.strike and abs(contract.strike - strike) > 1e-9:
                            continue
                        for right in ("C", "P"):
                            if contract.right and contract.right[0] != right:
                                continue
                            option = OptionContract(contract.symbol, expiry, strike, right)
                            found.append((self.wire_option(option, trading_class), under_con_id))
        if not found:
            client.send(wire.error(req_id, 200, "No security definition has been found for the request"))
            return
        for details, under_con_id in found:
            client.send(wire.contract_details(req_id, details, market_name=details.symbol, min_tick=0.01,
                                              long_name=details.symbol, under_con_id=under_con_id,
                                              under_symbol=details.symbol if under_con_id else "",
                                              under_sec_type="STK" if under_con_id else "",
                                              real_expiration_date=details.last_trade_date))
        client.send(wire.contract_details_end(req_id))

    def _resolve_option(self, contract: wire.WireContract) -> OptionContract | None:
        if contract.con_id in self.option_by_con_id:
            return self.option_by_con_id[contract.con_id]
        if contract.sec_type != "OPT" or not contract.last_trade_date:
            return None
        expiry = dt.datetime.strptime(contract.last_trade_date[:8], "%Y%m%d").date()
        return OptionContract(contract.symbol, expiry, float(contract.strike), contract.right[:1])  # type: ignore[arg-type]

    def _subscribe(self, client: _Client, req_id: int, contract: wire.WireContract, generic_ticks: str) -> None:
        if contract.sec_type == "STK" or contract.con_id in STOCK_CON_IDS.values():
            stream: tuple[str, object] = ("stock", contract.symbol)
        elif contract.sec_type == "IND" or contract.con_id in INDEX_CON_IDS.values():
            stream = ("index", contract.symbol or next(s for s, c in INDEX_CON_IDS.items() if c == contract.con_id))
        else:
            option = self._resolve_option(contract)
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
            self._generic_ticks(client, req_id, stream[1], generic_ticks)

    def _generic_ticks(self, client: _Client, req_id: int, option: OptionContract, generic_ticks: str) -> None:
        """Open interest (101) and the option's implied volatility (106), as IB answers those generic ticks."""
        quote = self.option_quotes([option]).get(option)
        requested = set(generic_ticks.split(","))
        if quote is None:
            return
        if "101" in requested:
            client.send(wire.tick_size(req_id, 27 if option.right == "C" else 28, 1000.0))
        if "106" in requested:
            client.send(wire.tick_generic(req_id, 24, quote.iv))

    def after_fill(self, contracts: list[OptionContract]) -> None:
        for client in self.clients:
            for contract in contracts:
                if client.positions:
                    client.send(wire.position(self.account, self.wire_option(contract), self.holdings[contract],
                                              self._avg_cost(contract)))
                if client.account_updates:
                    self._send_portfolio_row(client, contract)
            if client.account_updates:
                self._send_account(client)

    def _avg_cost(self, contract: OptionContract) -> float:
        quantity = self.holdings[contract]
        return round(self.costs[contract] / quantity, 4) if quantity else 0.0

    # account -----------------------------------------------------------------------------------------------------
    def cash_usd(self) -> float:
        return 100_000.0 - sum(self.costs.values()) + self.stocks.cash_usd

    def net_liquidation_usd(self) -> float:
        return (self.cash_usd() + sum(q * self._mark(c) * 100 for c, q in self.holdings.items())
                + self.stocks.value_usd(self._spots.get))

    def stock_quote(self, symbol: str) -> UnderlyingQuote | None:
        return stock_quote(symbol, self._spots.get(symbol))

    def send_account(self) -> None:
        for client in self.clients:
            if client.account_updates:
                self._send_account(client)

    @staticmethod
    def margin_usd(holdings: Mapping[OptionContract, int]) -> float:
        """Reg T: a defined-risk spread holds its width × 100 × quantity (the credit is cash, not a margin offset)."""
        return -sum(worst_expiry_value_usd({c: q for c, q in holdings.items() if (c.symbol, c.expiry) == group and q})
                    or 0.0 for group in {(c.symbol, c.expiry) for c, q in holdings.items() if q})

    def _account_values(self) -> list[tuple[str, str]]:
        cash, net, margin = self.cash_usd(), self.net_liquidation_usd(), self.margin_usd(self.holdings)
        return [("NetLiquidation", f"{net:.2f}"), ("TotalCashValue", f"{cash:.2f}"),
                ("BuyingPower", f"{4 * (net - margin):.2f}"), ("InitMarginReq", f"{margin:.2f}"),
                ("MaintMarginReq", f"{margin:.2f}"), ("AvailableFunds", f"{net - margin:.2f}"),
                ("ExcessLiquidity", f"{net - margin:.2f}")]

    def _mark(self, contract: OptionContract) -> float:
        quote = self.option_quotes([contract]).get(contract)
        return (quote.bid + quote.ask) / 2 if quote else 0.0

    def _send_account(self, client: _Client) -> None:
        for key, value in self._account_values():
            client.send(wire.update_account_value(key, value, "USD", self.account))
        for contract in self.holdings:
            self._send_portfolio_row(client, contract)
        client.send(wire.update_account_time(dt.datetime.fromtimestamp(self.clock() / 1e9, dt.UTC).strftime("%H:%M")))

    def _send_portfolio_row(self, client: _Client, contract: OptionContract) -> None:
        quantity, mark = self.holdings[contract], self._mark(contract)
        value = quantity * mark * 100
        client.send(wire.update_portfolio(self.wire_option(contract), quantity, mark, value,
                                          self._avg_cost(contract), value - self.costs[contract], 0.0, self.account))

    def ib_time(self) -> str:
        return dt.datetime.fromtimestamp(self.clock() / 1e9, dt.UTC).strftime("%Y%m%d %H:%M:%S UTC")
