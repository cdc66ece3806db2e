"""A test gateway that speaks the TWS API socket protocol on 127.0.0.1, backed by the simulated exchange.

The real ib_async client connects to it over a real socket. It prices stocks, the VIX and option chains with the
node's own chain model from prices the test sets, fills combo (BAG) limit orders by the simulated exchange's rule,
and answers the way IB does: openOrder/orderStatus, an execution per leg and one for the combo, commission reports
per leg, positions and account updates, executions replayed on request. Faults are scriptable: drop the socket
mid-order, reject, partial combo fills, delayed order status (executions first), nextValidId rollback, data-farm
flaps, link notices (1100/1101/1102). Like IB, it refuses reused order ids (103) and cuts off a client that sends
more than 50 messages in a second (error 100).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from actors.broker.sim.fills import commission_usd, fill_threshold, limit_crosses
from actors.broker.sim.scripted import ScriptedQuoteSource
from actors.market_data.chain import listed_expiries, listed_strikes
from messages import IndexQuote, Leg, OptionContract, OptionQuote, UnderlyingQuote
from messages.config import SimSection
from tests.ib import wire

PACING_LIMIT = 50
FILL_AGGRESSIVENESS = 0.25
STOCK_CON_IDS = {"SPY": 756733, "QQQ": 320227571, "IWM": 9579970}
VIX_CON_ID = 13455763
FIRST_OPTION_CON_ID = 700_000_000
TICK_BID, TICK_ASK, TICK_LAST, TICK_CLOSE = 1, 2, 4, 9
TICK_BID_SIZE, TICK_ASK_SIZE = 0, 3
OPTION_BID, OPTION_ASK, OPTION_MODEL = 10, 11, 13
WORKING = ("PreSubmitted", "Submitted")


def shifted_clock(start: dt.datetime) -> Callable[[], int]:
    """Wall-clock speed from `start`: the gateway's market keeps the node's (shifted) time."""
    start_ns, origin = int(start.timestamp() * 1e9), time.monotonic_ns()
    return lambda: start_ns + time.monotonic_ns() - origin


@dataclass
class Faults:
    """What goes wrong next; each one-shot fault resets itself once it has happened."""

    reject_orders: int = 0
    reject_reason: str = "Order rejected - reason: insufficient margin"
    drop_socket: str = ""
    """"on_order": close the socket as the order arrives (IB never gets it); "after_fill": fill it, then close
    before the client hears anything."""
    partial_units: int = 0
    """The next crossing order fills only this many combo units; the rest keep working."""
    ack_delay_s: float = 0.0
    """openOrder/orderStatus of new orders come this late: executions arrive before the client knows the order."""
    next_valid_id: int | None = None
    """The next handshake announces this nextValidId (a gateway restart that rolled its ids back)."""
    hold_fills: bool = False
    """Orders rest without filling."""
    ignore_cancels: bool = False
    """Cancel requests get no answer at all (an unresponsive gateway)."""


@dataclass
class GatewayOrder:
    order_id: int
    client_id: int
    perm_id: int
    request: wire.PlaceOrder
    legs: tuple[Leg, ...]
    """Signed per unit of the structure as bought: a SELL order sells this structure."""
    direction: int
    units: int
    limit: float
    status: str = "PreSubmitted"
    filled: int = 0
    fill_value: float = 0.0
    completed_time: str = ""

    def wire_order(self) -> wire.WireOrder:
        r = self.request
        return wire.WireOrder(order_id=self.order_id, client_id=self.client_id, perm_id=self.perm_id,
                              contract=r.contract, action=r.action, total_quantity=r.total_quantity,
                              order_type=r.order_type, lmt_price=self.limit, tif=r.tif, account=r.account,
                              order_ref=r.order_ref, filled_quantity=float(self.filled))


@dataclass
class Execution:
    order: GatewayOrder
    exec_id: str
    contract: wire.WireContract
    side: str
    shares: float
    price: float
    time: str
    cum_qty: float
    commission: float


@dataclass
class _Client:
    writer: asyncio.StreamWriter
    client_id: int = -1
    streams: dict[int, tuple[str, object]] = field(default_factory=dict)
    positions: bool = False
    account_updates: bool = False
    sent_times: deque[float] = field(default_factory=deque)

    def send(self, fields: list[object]) -> None:
        if not self.writer.is_closing():
            self.writer.write(wire.frame(fields))


class TestGateway:
    """Start it, point the node (or ib_async) at `port`, drive prices and faults from the test."""

    __test__ = False  # not a pytest test class

    def __init__(self, clock: Callable[[], int], *, account: str = "DU1234567", spot: float = 580.0,
                 vix: float = 18.0, first_order_id: int = 1, quote_interval_s: float = 1.0,
                 params: SimSection | None = None) -> None:
        self.clock = clock
        self.account = account
        self.faults = Faults()
        self._params = params or SimSection(market="scripted")
        self._source = ScriptedQuoteSource(self._params)
        self._spots: dict[str, float] = {}
        self._next_valid_id = first_order_id
        self._quote_interval_s = quote_interval_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ib-test-gateway", daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._clients: list[_Client] = []
        self._con_ids: dict[OptionContract, int] = {}
        self._options: dict[int, OptionContract] = {}
        self._orders: dict[tuple[int, int], GatewayOrder] = {}
        self._highest_order_id: dict[int, int] = {}
        self._executions: list[Execution] = []
        self._positions: Counter[OptionContract] = Counter()
        self._costs: Counter[OptionContract] = Counter()
        self._perm_ids = itertools.count(9_000_001)
        self._exec_serial = itertools.count(1)
        self.port = 0
        self.orders_received: list[wire.PlaceOrder] = []
        self.on_place: Callable[[wire.PlaceOrder], None] | None = None
        """Called (on the gateway's thread) the moment a placeOrder arrives, before it is worked or answered."""
        self.cancels_received: list[int] = []
        self.connections = 0
        self.most_streams = 0
        """The most market-data lines any client held at once."""
        self.generic_ticks_requested: list[str] = []
        self.handshake_client_ids: list[int] = []
        self.message_times: list[float] = []
        self.pacing_violations = 0
        self.set_underlying("SPY", spot)
        self.set_vix(vix)

    # lifecycle and controls (any thread) ---------------------------------------------------------------------------
    def start(self) -> int:
        self._thread.start()
        self.port = self._call(self._listen)
        return self.port

    def stop(self) -> None:
        async def close() -> None:
            self._ticking.cancel()
            if self._server is not None:
                self._server.close()
            for client in list(self._clients):
                client.writer.close()

        if self._thread.is_alive():
            self._call(close)
            self._loop.call_soon_threadsafe(self._loop.stop)
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

        self._loop.call_soon_threadsafe(lambda: self._loop.create_task(run()))
        return done.result(timeout=10)

    def set_underlying(self, symbol: str, price: float) -> None:
        self._call(self._set_underlying, symbol, price)

    def set_vix(self, value: float) -> None:
        self._call(self._set_vix, value)

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

    def positions(self) -> dict[OptionContract, int]:
        return self._call(lambda: {c: q for c, q in self._positions.items() if q})

    def executions(self) -> list[tuple[str, str, float, float]]:
        return self._call(lambda: [(e.exec_id, e.contract.sec_type, e.shares, e.price) for e in self._executions])

    def max_messages_per_second(self) -> int:
        times = list(self.message_times)
        best, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best

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
        for client in self._clients:
            for req_id, (kind, what) in list(client.streams.items()):
                self._quote(client, req_id, kind, what)
        self._match_working()

    def _option_quotes(self, contracts: list[OptionContract]) -> dict[OptionContract, OptionQuote]:
        return {q.contract: q for q in self._source.option_quotes(contracts, self.clock())}

    def _con_id(self, contract: OptionContract) -> int:
        if contract not in self._con_ids:
            con_id = FIRST_OPTION_CON_ID + len(self._con_ids)
            self._con_ids[contract], self._options[con_id] = con_id, contract
        return self._con_ids[contract]

    def _wire_option(self, contract: OptionContract) -> wire.WireContract:
        return wire.WireContract(con_id=self._con_id(contract), symbol=contract.symbol, sec_type="OPT",
                                 last_trade_date=f"{contract.expiry:%Y%m%d}", strike=contract.strike,
                                 right=contract.right, multiplier="100", exchange="SMART", currency="USD",
                                 local_symbol=f"{contract.symbol} {contract.expiry:%y%m%d}{contract.right}"
                                              f"{int(contract.strike * 1000):08d}",
                                 trading_class=contract.symbol)

    def _listed(self, symbol: str) -> tuple[list[dt.date], list[float]]:
        spot = self._spots[symbol]
        return listed_expiries(self.clock(), 0, 70), listed_strikes(spot)

    # server ------------------------------------------------------------------------------------------------------
    async def _listen(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self._ticking = self._loop.create_task(self._stream_ticks())
        return self._server.sockets[0].getsockname()[1]

    async def _stream_ticks(self) -> None:
        while True:  # a live market keeps quoting even when nothing moves
            await asyncio.sleep(self._quote_interval_s)
            self._requote()

    def _broadcast(self, fields: list[object]) -> None:
        for client in self._clients:
            client.send(fields)

    def _drop_all(self) -> None:
        for client in list(self._clients):
            client.writer.close()
        self._clients.clear()

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
            if client in self._clients:
                self._clients.remove(client)
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
                client.client_id = client_id
                self.handshake_client_ids.append(client_id)
                self._clients.append(client)
                announced = self.faults.next_valid_id
                self.faults.next_valid_id = None
                next_id = announced if announced is not None else max(
                    self._next_valid_id, self._highest_order_id.get(client_id, 0) + 1)
                client.send(wire.next_valid_id(next_id))
                client.send(wire.managed_accounts([self.account]))
            case wire.ReqIds():
                client.send(wire.next_valid_id(self._highest_order_id.get(client.client_id, 0) + 1))
            case wire.ReqCurrentTime():
                client.send(wire.current_time(self.clock() / 1e9))
            case wire.ReqMarketDataType() | wire.ReqAutoOpenOrders() | wire.ReqManagedAccts():
                pass
            case wire.ReqContractDetails(req_id=req_id, contract=contract):
                self._contract_details(client, req_id, contract)
            case wire.ReqSecDefOptParams(req_id=req_id, underlying_symbol=symbol, underlying_con_id=con_id):
                if symbol in self._spots:
                    expiries, strikes = self._listed(symbol)
                    for exchange in ("SMART", "CBOE"):
                        client.send(wire.sec_def_opt_params(req_id, exchange, con_id, symbol, "100",
                                                            [f"{e:%Y%m%d}" for e in expiries], strikes))
                client.send(wire.sec_def_opt_params_end(req_id))
            case wire.ReqMktData(req_id=req_id, contract=contract, generic_ticks=generic_ticks):
                self._subscribe(client, req_id, contract, generic_ticks)
            case wire.CancelMktData(req_id=req_id):
                client.streams.pop(req_id, None)
            case wire.PlaceOrder():
                self._place(client, request)
            case wire.CancelOrder(order_id=order_id):
                self._cancel(client, order_id)
            case wire.ReqOpenOrders() | wire.ReqAllOpenOrders():
                every_client = isinstance(request, wire.ReqAllOpenOrders)
                for order in self._orders.values():
                    if order.status in WORKING and (every_client or order.client_id == client.client_id):
                        self._report_order(client, order)
                client.send(wire.open_order_end())
            case wire.ReqCompletedOrders():
                for order in self._orders.values():
                    if order.status not in WORKING:
                        client.send(wire.completed_order(order.wire_order(), order.status, order.completed_time,
                                                         order.status))
                client.send(wire.completed_orders_end())
            case wire.ReqExecutions(req_id=req_id):
                for execution in self._executions:
                    self._send_execution(client, execution, req_id)
                    client.send(wire.commission_report(execution.exec_id, execution.commission))
                client.send(wire.exec_details_end(req_id))
            case wire.ReqPositions():
                client.positions = True
                for contract, quantity in sorted(self._positions.items(), key=lambda item: str(item[0])):
                    client.send(wire.position(self.account, self._wire_option(contract), quantity,
                                              self._avg_cost(contract)))
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

    # contracts and quotes ------------------------------------------------------------------------------------------
    def _contract_details(self, client: _Client, req_id: int, contract: wire.WireContract) -> None:
        found: list[tuple[wire.WireContract, int]] = []
        if contract.sec_type == "STK" and contract.symbol in STOCK_CON_IDS:
            found.append((wire.WireContract(con_id=STOCK_CON_IDS[contract.symbol], symbol=contract.symbol,
                                            sec_type="STK", exchange="SMART", primary_exchange="ARCA",
                                            currency="USD", local_symbol=contract.symbol,
                                            trading_class=contract.symbol), 0))
        elif contract.sec_type == "IND" and contract.symbol == "VIX":
            found.append((wire.WireContract(con_id=VIX_CON_ID, symbol="VIX", sec_type="IND", exchange="CBOE",
                                            currency="USD", local_symbol="VIX"), 0))
        elif contract.sec_type == "OPT" and contract.symbol in self._spots:
            expiries, strikes = self._listed(contract.symbol)
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
                        found.append((self._wire_option(option), STOCK_CON_IDS[contract.symbol]))
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
        if contract.con_id in self._options:
            return self._options[contract.con_id]
        if contract.sec_type != "OPT" or not contract.last_trade_date:
            return None
        expiry = dt.datetime.strptime(contract.last_trade_date[:8], "%Y%m%d").date()
        return OptionContract(contract.symbol, expiry, float(contract.strike), contract.right[:1])  # type: ignore[arg-type]

    def _subscribe(self, client: _Client, req_id: int, contract: wire.WireContract, generic_ticks: str) -> None:
        if contract.sec_type == "STK" or contract.con_id in STOCK_CON_IDS.values():
            stream: tuple[str, object] = ("stock", contract.symbol)
        elif contract.sec_type == "IND" or contract.con_id == VIX_CON_ID:
            stream = ("index", "VIX")
        else:
            option = self._resolve_option(contract)
            if option is None:
                client.send(wire.error(req_id, 200, "No security definition has been found for the request"))
                return
            stream = ("option", option)
        client.streams[req_id] = stream
        self.most_streams = max(self.most_streams, len(client.streams))
        client.send(wire.market_data_type(req_id, 1))
        self._quote(client, req_id, *stream)
        if stream[0] == "option" and contract.sec_type != "BAG":
            self.generic_ticks_requested.append(generic_ticks)
            self._generic_ticks(client, req_id, stream[1], generic_ticks)

    def _quote(self, client: _Client, req_id: int, kind: str, what: object) -> None:
        if kind == "stock":
            spot = self._spots.get(what)  # type: ignore[arg-type]
            if spot is None:
                return
            client.send(wire.tick_price(req_id, TICK_BID, round(spot - 0.01, 2), 100))
            client.send(wire.tick_price(req_id, TICK_ASK, round(spot + 0.01, 2), 100))
            client.send(wire.tick_price(req_id, TICK_LAST, spot, 1))
        elif kind == "index":
            client.send(wire.tick_price(req_id, TICK_LAST, self._vix, 0))
        else:
            quote = self._option_quotes([what]).get(what)  # type: ignore[list-item]
            if quote is None:
                return
            client.send(wire.tick_price(req_id, TICK_BID, quote.bid, 10))
            client.send(wire.tick_price(req_id, TICK_ASK, quote.ask, 10))
            mid = (quote.bid + quote.ask) / 2
            for tick_type in (OPTION_BID, OPTION_ASK, OPTION_MODEL):
                client.send(wire.tick_option_computation(req_id, tick_type, quote.iv, quote.delta, mid, 0.0,
                                                         quote.gamma, quote.vega, quote.theta,
                                                         quote.underlying_price))

    def _generic_ticks(self, client: _Client, req_id: int, option: OptionContract, generic_ticks: str) -> None:
        """Open interest (101) and the option's implied volatility (106), as IB answers those generic ticks."""
        quote = self._option_quotes([option]).get(option)
        requested = set(generic_ticks.split(","))
        if quote is None:
            return
        if "101" in requested:
            client.send(wire.tick_size(req_id, 27 if option.right == "C" else 28, 1000.0))
        if "106" in requested:
            client.send(wire.tick_generic(req_id, 24, quote.iv))

    # orders ------------------------------------------------------------------------------------------------------
    def _place(self, client: _Client, request: wire.PlaceOrder) -> None:
        self.orders_received.append(request)
        if self.on_place is not None:
            self.on_place(request)
        key = (client.client_id, request.order_id)
        existing = self._orders.get(key)
        if existing is not None and existing.status in WORKING:
            existing.limit = float(request.lmt_price or 0.0)  # a modification: same id, new limit
            self._report_order(client, existing)
            self._try_fill(existing)
            return
        if request.order_id <= self._highest_order_id.get(client.client_id, 0):
            client.send(wire.error(request.order_id, 103, "Duplicate order id"))
            return
        self._highest_order_id[client.client_id] = request.order_id
        if self.faults.drop_socket == "on_order":
            self.faults.drop_socket = ""
            client.writer.close()
            return
        legs = []
        for leg in request.contract.combo_legs:
            option = self._options.get(leg.con_id)
            if option is None:
                client.send(wire.error(request.order_id, 201, f"Order rejected - reason: unknown leg {leg.con_id}"))
                return
            legs.append(Leg(option, leg.ratio if leg.action == "BUY" else -leg.ratio))
        order = GatewayOrder(order_id=request.order_id, client_id=client.client_id, perm_id=next(self._perm_ids),
                             request=request, legs=tuple(legs), direction=1 if request.action == "BUY" else -1,
                             units=round(request.total_quantity), limit=float(request.lmt_price or 0.0))
        self._orders[key] = order
        if self.faults.reject_orders:
            self.faults.reject_orders -= 1
            order.status, order.completed_time = "Cancelled", self._ib_time()
            client.send(wire.error(order.order_id, 201, self.faults.reject_reason))
            self._send_status(client, order)
            return
        delay = self.faults.ack_delay_s
        self.faults.ack_delay_s = 0.0
        if delay:
            self._loop.call_later(delay, self._acknowledge, order)
        else:
            self._acknowledge(order)
        self._try_fill(order)

    def _acknowledge(self, order: GatewayOrder) -> None:
        for client in self._clients_of(order):
            self._report_order(client, order)
        if order.status == "PreSubmitted":
            order.status = "Submitted"
            for client in self._clients_of(order):
                self._send_status(client, order)

    def _clients_of(self, order: GatewayOrder) -> list[_Client]:
        return [c for c in self._clients if c.client_id == order.client_id]

    def _report_order(self, client: _Client, order: GatewayOrder) -> None:
        client.send(wire.open_order(order.wire_order(), order.status))
        self._send_status(client, order)

    def _send_status(self, client: _Client, order: GatewayOrder) -> None:
        avg = round(order.fill_value / order.filled, 4) if order.filled else 0.0
        client.send(wire.order_status(order.order_id, order.status, order.filled, order.units - order.filled, avg,
                                      order.perm_id, 0, avg, order.client_id))

    def _cancel(self, client: _Client, order_id: int) -> None:
        self.cancels_received.append(order_id)
        if self.faults.ignore_cancels:
            return
        order = self._orders.get((client.client_id, order_id))
        if order is None:
            client.send(wire.error(order_id, 10147, f"OrderId {order_id} that needs to be cancelled is not found."))
        elif order.status not in WORKING:
            client.send(wire.error(order_id, 10148, f"OrderId {order_id} that needs to be cancelled cannot be "
                                                    f"cancelled, state: {order.status}."))
        else:
            order.status, order.completed_time = "Cancelled", self._ib_time()
            client.send(wire.error(order_id, 202, "Order Canceled - reason:"))
            self._send_status(client, order)

    def _match_working(self) -> None:
        for order in list(self._orders.values()):
            if order.status in WORKING:
                self._try_fill(order)

    def _try_fill(self, order: GatewayOrder) -> None:
        if self.faults.hold_fills or order.status not in WORKING or not self._source.is_open(self.clock()):
            return
        contracts = [leg.contract for leg in order.legs]
        quotes = self._option_quotes(contracts)
        if len(quotes) != len(contracts):
            return
        if not limit_crosses(order.legs, quotes, order.direction, order.limit, FILL_AGGRESSIVENESS):
            return
        threshold = round(fill_threshold(order.legs, quotes, order.direction, FILL_AGGRESSIVENESS), 2)
        price = min(order.limit, threshold) if order.direction > 0 else max(order.limit, threshold)
        units = order.units - order.filled
        if self.faults.partial_units:
            units, self.faults.partial_units = min(units, self.faults.partial_units), 0
        self._execute(order, units, price, quotes)

    def _execute(self, order: GatewayOrder, units: int, price: float, quotes: dict[OptionContract, OptionQuote]) -> None:
        order.filled += units
        order.fill_value += units * price
        if order.filled == order.units:
            order.status, order.completed_time = "Filled", self._ib_time()
        stamp, serial = self._ib_time(), next(self._exec_serial)
        # leg prices: mids, with the first leg absorbing the difference to the combo's net price
        leg_prices = [(quotes[leg.contract].bid + quotes[leg.contract].ask) / 2 for leg in order.legs]
        residual = price - sum(leg.ratio * p for leg, p in zip(order.legs, leg_prices))
        leg_prices[0] += residual / order.legs[0].ratio
        executions = []
        for n, (leg, leg_price) in enumerate(zip(order.legs, leg_prices), start=1):
            side = "BOT" if leg.ratio * order.direction > 0 else "SLD"
            shares = abs(leg.ratio) * units
            executions.append(Execution(order, f"{order.perm_id:08x}.{serial:06x}{n:02d}.01.01",
                                        self._wire_option(leg.contract), side, shares, round(leg_price, 4), stamp,
                                        abs(leg.ratio) * order.filled,
                                        commission_usd((Leg(leg.contract, 1),), shares, self._params.commission_per_contract_usd)))
            self._positions[leg.contract] += leg.ratio * order.direction * units
            self._costs[leg.contract] += leg.ratio * order.direction * units * leg_price * 100
        bag = order.request.contract
        executions.append(Execution(order, f"{order.perm_id:08x}.{serial:06x}00.01.01", bag,
                                    "BOT" if order.direction > 0 else "SLD", units, price, stamp, order.filled, 0.0))
        self._executions += executions
        if self.faults.drop_socket == "after_fill":
            self.faults.drop_socket = ""
            for client in self._clients_of(order):
                client.writer.close()
            return
        for client in self._clients_of(order):
            for execution in executions:
                self._send_execution(client, execution, -1)
            for execution in executions[:-1]:
                client.send(wire.commission_report(execution.exec_id, execution.commission))
            if order.status != "PreSubmitted":  # an order whose acknowledgement is delayed reports status later
                self._report_order(client, order)
        self._after_fill([leg.contract for leg in order.legs])

    def _send_execution(self, client: _Client, execution: Execution, req_id: int) -> None:
        order = execution.order
        client.send(wire.exec_details(req_id, order.order_id, execution.contract, execution.exec_id, execution.time,
                                      self.account, "SMART", execution.side, execution.shares, execution.price,
                                      order.perm_id, order.client_id, execution.cum_qty, execution.price,
                                      order.request.order_ref))

    def _after_fill(self, contracts: list[OptionContract]) -> None:
        for client in self._clients:
            for contract in contracts:
                if client.positions:
                    client.send(wire.position(self.account, self._wire_option(contract), self._positions[contract],
                                              self._avg_cost(contract)))
                if client.account_updates:
                    self._send_portfolio_row(client, contract)
            if client.account_updates:
                self._send_account(client)

    def _avg_cost(self, contract: OptionContract) -> float:
        quantity = self._positions[contract]
        return round(self._costs[contract] / quantity, 4) if quantity else 0.0

    # account -----------------------------------------------------------------------------------------------------
    def _account_values(self) -> list[tuple[str, str]]:
        value = sum(q * self._mark(c) * 100 for c, q in self._positions.items())
        cash = 100_000.0 - sum(self._costs.values())
        return [("NetLiquidation", f"{cash + value:.2f}"), ("TotalCashValue", f"{cash:.2f}"),
                ("BuyingPower", f"{4 * (cash + value):.2f}"), ("MaintMarginReq", "0.00")]

    def _mark(self, contract: OptionContract) -> float:
        quote = self._option_quotes([contract]).get(contract)
        return (quote.bid + quote.ask) / 2 if quote else 0.0

    def _send_account(self, client: _Client) -> None:
        for key, value in self._account_values():
            client.send(wire.update_account_value(key, value, "USD", self.account))
        for contract in self._positions:
            self._send_portfolio_row(client, contract)
        client.send(wire.update_account_time(dt.datetime.fromtimestamp(self.clock() / 1e9, dt.UTC).strftime("%H:%M")))

    def _send_portfolio_row(self, client: _Client, contract: OptionContract) -> None:
        quantity, mark = self._positions[contract], self._mark(contract)
        value = quantity * mark * 100
        client.send(wire.update_portfolio(self._wire_option(contract), quantity, mark, value,
                                          self._avg_cost(contract), value - self._costs[contract], 0.0, self.account))

    def _ib_time(self) -> str:
        return dt.datetime.fromtimestamp(self.clock() / 1e9, dt.UTC).strftime("%Y%m%d %H:%M:%S UTC")
