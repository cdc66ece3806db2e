"""Prove tests/ib/wire/ request parsing against ib_async's own Client: over a real socket, captured, cut short."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from ib_async.client import Client
from ib_async.contract import ComboLeg, Contract, Option, TagValue
from ib_async.objects import ExecutionFilter
from ib_async.order import LimitOrder

from tests.ib import wire
from tests.ib.wire import (
    SERVER_VERSION,
    CancelAccountUpdatesMulti,
    CancelMktData,
    CancelOrder,
    CancelPositions,
    FrameReader,
    Handshake,
    PlaceOrder,
    ReqAccountUpdates,
    ReqAccountUpdatesMulti,
    ReqAllOpenOrders,
    ReqAutoOpenOrders,
    ReqCompletedOrders,
    ReqContractDetails,
    ReqCurrentTime,
    ReqExecutions,
    ReqIds,
    ReqManagedAccts,
    ReqMarketDataType,
    ReqMktData,
    ReqOpenOrders,
    ReqPositions,
    ReqSecDefOptParams,
    StartApi,
    UnknownRequest,
    WireContract,
    WireError,
    WireOrder,
    frame,
    parse_request,
)
from tests.ib.wire_checks import (
    ACCOUNT,
    Recorder,
    no_decoder_errors,  # noqa: F401  (autouse fixture, applies by being imported)
    order_leg_prices,
)

# --------------------------------------------------------------------------
# client -> server: produced by the real ib_async Client


def _option() -> Option:
    return Option(
        "SPY", "20261218", 580.0, "P", "SMART", multiplier="100", currency="USD",
        tradingClass="SPY",
    )


def _bag() -> Contract:
    return Contract(
        secType="BAG",
        symbol="SPY",
        exchange="SMART",
        currency="USD",
        comboLegs=[
            ComboLeg(conId=700001, ratio=1, action="SELL", exchange="SMART"),
            ComboLeg(conId=700002, ratio=1, action="BUY", exchange="SMART"),
            ComboLeg(conId=700003, ratio=1, action="SELL", exchange="SMART"),
            ComboLeg(conId=700004, ratio=1, action="BUY", exchange="SMART"),
        ],
    )


def _limit_order() -> LimitOrder:
    return LimitOrder(
        "BUY",
        1,
        -1.23,
        orderRef="IC-SPY-1-O1",
        tif="DAY",
        account=ACCOUNT,
        orderComboLegs=order_leg_prices(),
        smartComboRoutingParams=[TagValue("NonGuaranteed", "1")],
    )


EXPECTED_OPTION = WireContract(
    symbol="SPY",
    sec_type="OPT",
    last_trade_date="20261218",
    strike=580.0,
    right="P",
    multiplier="100",
    exchange="SMART",
    currency="USD",
    trading_class="SPY",
)


def _check_place_order(req: PlaceOrder, order_id: int) -> None:
    assert req.order_id == order_id
    assert req.contract.sec_type == "BAG" and req.contract.symbol == "SPY"
    assert [(leg.con_id, leg.ratio, leg.action) for leg in req.contract.combo_legs] == [
        (700001, 1, "SELL"),
        (700002, 1, "BUY"),
        (700003, 1, "SELL"),
        (700004, 1, "BUY"),
    ]
    for leg in req.contract.combo_legs:
        assert (leg.exchange, leg.open_close, leg.exempt_code) == ("SMART", 0, -1)
    assert (req.action, req.total_quantity, req.order_type) == ("BUY", 1.0, "LMT")
    assert req.lmt_price == -1.23
    assert req.aux_price is None
    assert (req.tif, req.account, req.order_ref) == ("DAY", ACCOUNT, "IC-SPY-1-O1")
    assert (req.transmit, req.parent_id) == (True, 0)
    assert (req.outside_rth, req.hidden) == (False, False)
    assert (req.open_close, req.origin, req.oca_group) == ("O", 0, "")
    assert req.combo_leg_prices == [None, 0.45, None, 0.12]
    assert req.smart_combo_routing_params == [("NonGuaranteed", "1")]


async def _until(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def _gateway_session() -> tuple[list[object], Recorder, int]:
    received: asyncio.Queue[object] = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames = FrameReader()
        client_id = -1
        try:
            while data := await reader.read(65536):
                for fields in frames.feed(data):
                    req = parse_request(fields)
                    await received.put(req)
                    if isinstance(req, Handshake):
                        writer.write(frame([SERVER_VERSION, "20261125 14:30:00 UTC"]))
                    elif isinstance(req, StartApi):
                        client_id = req.client_id
                        writer.write(
                            frame(wire.next_valid_id(1))
                            + frame(wire.managed_accounts([ACCOUNT]))
                        )
                    elif isinstance(req, PlaceOrder):
                        echo = WireOrder(
                            req.order_id, client_id, 5550001, req.contract, req.action,
                            req.total_quantity, req.order_type, req.lmt_price, req.tif,
                            req.account, req.order_ref, req.transmit, req.combo_leg_prices,
                        )
                        writer.write(
                            frame(wire.open_order(echo, "PreSubmitted"))
                            + frame(
                                wire.order_status(
                                    req.order_id, "PreSubmitted", 0.0, req.total_quantity,
                                    0.0, 5550001, 0, 0.0, client_id,
                                )
                            )
                        )
                    await writer.drain()
        except Exception as exc:  # hand server-side failures to the test
            await received.put(exc)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    recorder = Recorder()
    client = Client(recorder)
    try:
        await client.connectAsync("127.0.0.1", port, clientId=7, timeout=5)
        assert client.serverVersion() == SERVER_VERSION
        assert client.getAccounts() == [ACCOUNT]
        order_id = client.getReqId()

        client.reqMktData(1001, _option(), "100,101,106", False, False, [])
        client.reqMktData(1002, _bag(), "", True, False, [])
        client.cancelMktData(1001)
        client.placeOrder(order_id, _bag(), _limit_order())
        client.cancelOrder(order_id)
        client.reqContractDetails(1003, _option())
        client.reqSecDefOptParams(1004, "SPY", "", "STK", 756733)
        client.reqExecutions(1005, ExecutionFilter())
        client.reqPositions()
        client.cancelPositions()
        client.reqAccountUpdates(True, ACCOUNT)
        client.reqAccountUpdatesMulti(1006, ACCOUNT, "", False)
        client.cancelAccountUpdatesMulti(1006)
        client.reqCompletedOrders(False)
        client.reqOpenOrders()
        client.reqAllOpenOrders()
        client.reqAutoOpenOrders(True)
        client.reqIds(-1)
        client.reqCurrentTime()
        client.reqMarketDataType(3)
        client.reqManagedAccts()
        client.reqPnL(1007, ACCOUNT, "")
        sent_after_connect = 22

        requests = []
        for _ in range(2 + sent_after_connect):
            item = await asyncio.wait_for(received.get(), 5)
            if isinstance(item, Exception):
                raise item
            requests.append(item)
        await _until(lambda: recorder.named("orderStatus"), "orderStatus echo")
    finally:
        client.disconnect()
        await _until(lambda: recorder.named("setEventsDone"), "client disconnect", 2.0)
        server.close()
        await server.wait_closed()
    assert received.empty()
    return requests, recorder, order_id


def test_real_client_over_socket():
    requests, recorder, order_id = asyncio.run(asyncio.wait_for(_gateway_session(), 30))
    it = iter(requests)

    assert next(it) == Handshake(157, 178, "")
    assert next(it) == StartApi(client_id=7, optional_capabilities="")

    assert next(it) == ReqMktData(1001, EXPECTED_OPTION, "100,101,106", False, False)
    bag_md = next(it)
    assert isinstance(bag_md, ReqMktData) and bag_md.snapshot is True
    legs = bag_md.contract.combo_legs
    assert [(leg.con_id, leg.ratio, leg.action, leg.exchange) for leg in legs] == [
        (700001, 1, "SELL", "SMART"),
        (700002, 1, "BUY", "SMART"),
        (700003, 1, "SELL", "SMART"),
        (700004, 1, "BUY", "SMART"),
    ]
    assert next(it) == CancelMktData(1001)
    place = next(it)
    assert isinstance(place, PlaceOrder)
    _check_place_order(place, order_id)
    assert next(it) == CancelOrder(order_id, "")
    assert next(it) == ReqContractDetails(1003, EXPECTED_OPTION, False)
    assert next(it) == ReqSecDefOptParams(1004, "SPY", "", "STK", 756733)
    assert next(it) == ReqExecutions(1005, 0, "", "", "", "", "", "")
    assert next(it) == ReqPositions()
    assert next(it) == CancelPositions()
    assert next(it) == ReqAccountUpdates(True, ACCOUNT)
    assert next(it) == ReqAccountUpdatesMulti(1006, ACCOUNT, "", False)
    assert next(it) == CancelAccountUpdatesMulti(1006)
    assert next(it) == ReqCompletedOrders(False)
    assert next(it) == ReqOpenOrders()
    assert next(it) == ReqAllOpenOrders()
    assert next(it) == ReqAutoOpenOrders(True)
    assert next(it) == ReqIds(-1)
    assert next(it) == ReqCurrentTime()
    assert next(it) == ReqMarketDataType(3)
    assert next(it) == ReqManagedAccts()
    assert next(it) == UnknownRequest(92, ["1007", ACCOUNT, ""])
    assert next(it, None) is None

    # The gateway's replies went through the client's own decoder too.
    assert recorder.named("nextValidId") == [(1,)]
    assert recorder.named("managedAccounts") == [(ACCOUNT,)]
    ((echo_id, contract, order, state),) = recorder.named("openOrder")
    assert echo_id == order_id and order.clientId == 7 and order.permId == 5550001
    assert order.orderRef == "IC-SPY-1-O1" and order.lmtPrice == -1.23
    assert [leg.conId for leg in contract.comboLegs] == [700001, 700002, 700003, 700004]
    assert state.status == "PreSubmitted"
    assert recorder.named("orderStatus")[0][:3] == (order_id, "PreSubmitted", 0.0)


# --------------------------------------------------------------------------
# malformed input


def captured(call: Callable[[Client], None]) -> list[str]:
    """Fields ib_async's Client would put on the wire, without a socket."""
    client = Client(Recorder())
    client._serverVersion = SERVER_VERSION  # as the handshake would set it
    client.connState = Client.CONNECTED
    sent: list[str] = []
    client.sendMsg = sent.append  # type: ignore[method-assign]  # skip socket/throttle
    call(client)
    (msg,) = sent
    return msg.split("\0")[:-1]


CLIENT_CALLS: dict[str, Callable[[Client], None]] = {
    "reqMktData": lambda c: c.reqMktData(1, _bag(), "100,101,106", False, False, []),
    "cancelMktData": lambda c: c.cancelMktData(1),
    "placeOrder": lambda c: c.placeOrder(5, _bag(), _limit_order()),
    "cancelOrder": lambda c: c.cancelOrder(5),
    "reqOpenOrders": lambda c: c.reqOpenOrders(),
    "reqAccountUpdates": lambda c: c.reqAccountUpdates(True, ACCOUNT),
    "reqExecutions": lambda c: c.reqExecutions(3, ExecutionFilter()),
    "reqIds": lambda c: c.reqIds(1),
    "reqContractDetails": lambda c: c.reqContractDetails(4, _option()),
    "reqAutoOpenOrders": lambda c: c.reqAutoOpenOrders(True),
    "reqAllOpenOrders": lambda c: c.reqAllOpenOrders(),
    "reqManagedAccts": lambda c: c.reqManagedAccts(),
    "reqCurrentTime": lambda c: c.reqCurrentTime(),
    "reqMarketDataType": lambda c: c.reqMarketDataType(1),
    "reqPositions": lambda c: c.reqPositions(),
    "cancelPositions": lambda c: c.cancelPositions(),
    "startApi": lambda c: c.startApi(),
    "reqAccountUpdatesMulti": lambda c: c.reqAccountUpdatesMulti(6, ACCOUNT, "", True),
    "cancelAccountUpdatesMulti": lambda c: c.cancelAccountUpdatesMulti(6),
    "reqSecDefOptParams": lambda c: c.reqSecDefOptParams(7, "SPY", "", "STK", 756733),
    "reqCompletedOrders": lambda c: c.reqCompletedOrders(True),
}


@pytest.mark.parametrize("call", CLIENT_CALLS.values(), ids=CLIENT_CALLS.keys())
def test_every_truncation_is_a_wire_error(call):
    fields = captured(call)
    full = parse_request(fields)
    assert not isinstance(full, UnknownRequest)
    for cut in range(1, len(fields)):
        try:
            partial = parse_request(fields[:cut])
        except WireError as exc:
            assert "\n" not in str(exc)
            assert str(exc).startswith(f"message {fields[0]} (")
            continue
        # Only placeOrder may parse when cut, and only past the prefix we read.
        assert isinstance(full, PlaceOrder) and partial == full, (cut, partial)


def test_truncated_place_order():
    fields = captured(lambda c: c.placeOrder(5, _bag(), _limit_order()))
    _check_place_order(parse_request(fields), 5)
    # id, orderId, 12 contract fields, secIdType/secId, 19 order fields, then
    # legs (count + 4*8), order leg prices (count + 4), params (count + 2).
    prefix = 1 + 1 + 12 + 2 + 19 + (1 + 32) + (1 + 4) + (1 + 2)
    with pytest.raises(WireError, match=r"^message 3 \(placeOrder\): truncated.*sharesAllocation"):
        parse_request(fields[:prefix])  # the order's middle is read on, up to its whatIf flag
    with pytest.raises(WireError, match=r"^message 3 \(placeOrder\): .*param count 1"):
        parse_request(fields[: prefix - 1])
    with pytest.raises(WireError, match=r"^message 3 \(placeOrder\): truncated.*hidden"):
        parse_request(fields[: 1 + 1 + 12 + 2 + 18])
    with pytest.raises(WireError, match=r"placeOrder.*totalQuantity"):
        parse_request(fields[:17])


def test_place_order_what_if_flag():
    assert parse_request(captured(lambda c: c.placeOrder(5, _bag(), _limit_order()))).what_if is False
    what_if = _limit_order()
    what_if.whatIf = True
    assert parse_request(captured(lambda c: c.placeOrder(5, _bag(), what_if))).what_if is True


def test_non_numeric_and_malformed_fields():
    with pytest.raises(WireError, match="message id 'abc' is not an integer"):
        parse_request(["abc", "1"])
    with pytest.raises(WireError, match="empty message"):
        parse_request([])

    place = captured(lambda c: c.placeOrder(5, _bag(), _limit_order()))
    bad_id = ["3", "five", *place[2:]]
    with pytest.raises(WireError, match=r"placeOrder.*orderId.*'five'"):
        parse_request(bad_id)
    bad_count = list(place)
    bad_count[1 + 1 + 12 + 2 + 19] = "999"
    with pytest.raises(WireError, match="combo leg count 999"):
        parse_request(bad_count)

    with pytest.raises(WireError, match=r"cancelOrder.*trailing"):
        parse_request(["4", "1", "5", "", "extra"])
    with pytest.raises(WireError, match=r"reqMktData.*version 10"):
        parse_request(["1", "10", "1"])
    with pytest.raises(WireError, match=r"reqIds.*numIds"):
        parse_request(["8", "1", "1.5"])
    with pytest.raises(WireError, match="handshake"):
        parse_request(["API", "157-178"])

    assert parse_request(["92", "1", "DU1", ""]) == UnknownRequest(92, ["1", "DU1", ""])
