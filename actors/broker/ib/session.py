"""The IB session: the actor that owns ib_async on its own asyncio thread. Pure I/O, no policy.

Requests arrive as messages on the actor's thread and are handed to the asyncio loop in order; everything IB says
is published back as messages (Ib* events for the broker core, quotes, chains, positions, portfolio and account
values for everyone). It keeps the connection alive (reconnect with exponential backoff and jitter, however many
disconnect events one outage raises), keeps the market-data lines it uses within the account's limit, and sweeps
the day's executions periodically so a fill whose callback was missed is still delivered. What IB reports is
translated in its own modules: orders and fills (`order_reports.py`), the account (`account_reports.py`), market data
(`market_data.py`), what-ifs (`what_if_session.py`).
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections import Counter

from ib_async import IB, Contract, Trade
from ib_async.ib import StartupFetch
from loguru import logger
from tenacity import AsyncRetrying, retry_if_not_exception_type, wait_exponential_jitter

from actors.broker.ib import translate
from actors.broker.ib.account_reports import AccountReports
from actors.broker.ib.config import IbSection
from actors.broker.ib.market_data import IbMarketData
from actors.broker.ib.order_contracts import OrderContracts
from actors.broker.ib.order_reports import OrderReports
from actors.broker.ib.what_if_session import WhatIfAsker
from actors.market_data.config import MarketDataSection
from actors.runtime.core import ActorCore, Context
from messages import (
    Alert,
    ChainRequest,
    Halt,
    IbCancelOrder,
    IbConnected,
    IbDisconnected,
    IbError,
    IbOpenOrders,
    IbOrderNotSent,
    IbOrderSubmitted,
    IbPlaceOrder,
    IbResync,
    IbWhatIf,
    Message,
    OptionContract,
    SubscribeQuotes,
    UnsubscribeQuotes,
)
from messages.system import AlertLevel

CONNECT_ERRORS = (OSError, asyncio.TimeoutError, ConnectionError)
STOP_TIMEOUT_S = 5.0
PACING_BURST = 3
CONNECT_SYNC = StartupFetch.POSITIONS | StartupFetch.ACCOUNT_UPDATES | StartupFetch.SUB_ACCOUNT_UPDATES
"""What ib_async fetches while connecting. Orders and executions are not among them: ib_async only logs when that
sync times out, so the broker core asks for them itself (`IbResync`) and learns whether IB answered in full."""
API_DOWN_CODES = frozenset({502, 504})


class Refused(Exception):
    """The login is not one this config may trade (unknown account, live account on a paper config)."""


class IbSessionCore(ActorCore):
    """Its only state is which legs to stream, rebuilt from the journal on a restart like every core's; requests
    replayed before the link starts are history and are never sent to IB again."""

    name = "ib_session"
    SNAPSHOT_FRESH = ("_client_id", "_symbols", "_link")  # config, and the process's live connection
    subscriptions = (IbPlaceOrder, IbCancelOrder, IbResync, IbWhatIf, SubscribeQuotes, UnsubscribeQuotes, ChainRequest)

    def __init__(self, params: IbSection, client_id: int, symbols: tuple[str, ...],
                 market_data: MarketDataSection | None = None) -> None:
        self._params = params
        self._client_id = client_id
        self._symbols = symbols
        self._market_data = market_data or MarketDataSection()
        self._held: Counter[OptionContract] = Counter()
        self._link: IbLink | None = None

    def on_start(self, ctx: Context) -> None:
        self._link = IbLink(self._params, self._client_id, self._symbols, Counter(self._held), ctx,
                            self._market_data)
        self._link.start()

    def on_stop(self, ctx: Context) -> None:
        if self._link is not None:
            self._link.stop()

    def handle(self, message: Message, ctx: Context) -> None:
        match message:
            case SubscribeQuotes():
                self._held.update(message.contracts)
            case UnsubscribeQuotes():
                self._held.subtract(message.contracts)
                self._held = +self._held
        if self._link is not None:
            self._link.submit(message)


class IbLink:
    """ib_async on a dedicated asyncio thread; `submit` is the only way in from other threads."""

    def __init__(self, params: IbSection, client_id: int, symbols: tuple[str, ...], held: Counter[OptionContract],
                 ctx: Context, market_data: MarketDataSection) -> None:
        self._params = params
        self._client_id = client_id
        self._ctx = ctx
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="ib-session", daemon=True)
        self._ib = IB()
        # ib_async lets MaxRequests go out at once per interval; a burst of 45 plus arrival jitter can exceed IB's
        # 50 per second at the gateway, so pace in small bursts at the same average rate.
        self._ib.client.MaxRequests = PACING_BURST
        self._ib.client.RequestsInterval = PACING_BURST / params.max_requests_per_s
        self._account = params.account
        self._lost = asyncio.Event()
        self._stopping = False
        self._commands: asyncio.Queue[Message] = asyncio.Queue()
        self._qualified: dict[OptionContract, Contract] = {}
        self._market = IbMarketData(self._ib, params, market_data, symbols, held, ctx, self._spawn, self._qualify,
                                    self._qualified)
        self._what_if = WhatIfAsker(self._ib, params, self._publish, self._qualify, self._qualified,
                                    lambda: self._account)
        self._contracts = OrderContracts(self._ib, params.chain_quote_timeout_s, self._qualify, self._qualified)
        self._order_reports = OrderReports(client_id, self._publish)
        self._account_reports = AccountReports(self._ib, self._loop, params.positions_settle_s, lambda: self._account,
                                               self._publish, self._alert)
        self._tasks: set[asyncio.Task] = set()
        ib = self._ib
        ib.errorEvent += self._on_error
        ib.disconnectedEvent += self._lost.set
        ib.disconnectedEvent += self._account_reports.on_disconnected
        ib.openOrderEvent += self._order_reports.on_order
        ib.orderStatusEvent += self._order_reports.on_order
        ib.execDetailsEvent += self._order_reports.on_execution
        ib.commissionReportEvent += self._order_reports.on_commission
        ib.pendingTickersEvent += self._market.on_tickers
        ib.positionEvent += self._account_reports.on_position
        ib.updatePortfolioEvent += self._account_reports.on_portfolio
        ib.accountValueEvent += self._account_reports.on_account_value

    # thread plumbing ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def submit(self, message: Message) -> None:
        self._loop.call_soon_threadsafe(self._commands.put_nowait, message)

    def stop(self) -> None:
        def shutdown() -> None:
            self._stopping = True
            self._disconnect()
            for task in self._tasks:
                task.cancel()
            self._loop.call_later(0.05, self._loop.stop)

        if self._loop.is_running():
            self._loop.call_soon_threadsafe(shutdown)
        self._thread.join(timeout=STOP_TIMEOUT_S)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._spawn(self._keep_connected())
        self._spawn(self._serve_commands())
        self._spawn(self._sweep_executions())
        try:
            self._loop.run_forever()
        finally:
            # tasks still pending when the loop stopped (a cancel not yet delivered on a busy machine) are finished
            # here: closed with the loop, they would be torn down later by the garbage collector, on a closed loop
            pending = [task for task in asyncio.all_tasks(self._loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                self._loop.run_until_complete(asyncio.wait(pending, timeout=STOP_TIMEOUT_S / 2))
            self._loop.close()

    def _spawn(self, coroutine) -> asyncio.Task:  # noqa: ANN001 - any coroutine
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(self._report_crash)
        return task

    def _report_crash(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None and not self._stopping:
            error = task.exception()
            logger.opt(exception=error).error(f"IB session task failed: {error!r}")
            self._alert("critical", f"IB session task failed: {error!r}")

    def _publish(self, message: Message) -> None:
        self._ctx.publish(message)

    def _disconnect(self) -> None:
        try:
            self._ib.disconnect()
        except ConnectionError:  # a login IB refused mid-handshake: ib_async raises reading its own statistics
            pass

    def _alert(self, level: AlertLevel, text: str) -> None:
        self._publish(Alert(level=level, source="ib_session", text=text))

    # connection --------------------------------------------------------------------------------------------------
    async def _keep_connected(self) -> None:
        params = self._params
        while not self._stopping:
            retrying = AsyncRetrying(
                wait=wait_exponential_jitter(multiplier=params.reconnect_initial_s, max=params.reconnect_max_s,
                                             jitter=params.reconnect_initial_s),
                retry=retry_if_not_exception_type(Refused),  # anything else: try again, the link must come back
                before_sleep=lambda state: self._publish(IbDisconnected(
                    reason=f"connect to {params.host}:{params.port} failed: {state.outcome.exception()!r}")),
                reraise=True,
            )
            try:
                async for attempt in retrying:
                    with attempt:
                        await self._connect()
            except Refused as refusal:
                self._refuse(str(refusal))
                return
            await self._lost.wait()
            self._lost.clear()
            if self._stopping:
                return
            self._publish(IbDisconnected(reason="IB closed the connection"))
            await asyncio.sleep(params.reconnect_initial_s)

    async def _connect(self) -> None:
        params = self._params
        ib = self._ib
        if ib.isConnected():
            self._disconnect()
        self._lost.clear()
        await ib.connectAsync(params.host, params.port, clientId=self._client_id, timeout=params.connect_timeout_s,
                              readonly=params.readonly, account=params.account, fetchFields=CONNECT_SYNC)
        accounts = tuple(ib.managedAccounts())
        self._account = self._choose_account(accounts)
        self._account_reports.publish_positions()
        self._publish(IbConnected(next_valid_id=ib.client.getReqId(), accounts=accounts,
                                  server_version=ib.client.serverVersion()))
        await self._market.on_connect()

    def _choose_account(self, accounts: tuple[str, ...]) -> str:
        account = self._params.account or (accounts[0] if len(accounts) == 1 else "")
        if not account:
            raise Refused(f"the login manages {len(accounts)} accounts ({', '.join(accounts)}); set ib.account")
        if account not in accounts:
            raise Refused(f"ib.account {account} is not managed by this login ({', '.join(accounts)})")
        if not self._params.live and not account.startswith("D"):
            raise Refused(f"account {account} is not a paper account; set ib.live = true to trade real money")
        return account

    def _refuse(self, reason: str) -> None:
        self._disconnect()
        self._alert("critical", f"IB login refused: {reason}")
        self._publish(Halt(reason=f"IB login refused: {reason}"))
        self._publish(IbDisconnected(reason=f"refused: {reason}"))

    # requests from the node --------------------------------------------------------------------------------------
    async def _serve_commands(self) -> None:
        while True:
            message = await self._commands.get()
            try:
                await self._serve(message)
            except Exception as exc:  # noqa: BLE001 - one failed request must not stop the ones behind it
                logger.opt(exception=exc).warning(f"IB request {type(message).__name__} failed: {exc!r}")
                placing = isinstance(message, IbPlaceOrder) and not message.modify
                if placing and self._trade(message.client_order_id) is None:
                    self._publish(IbOrderNotSent(client_order_id=message.client_order_id, reason=repr(exc)))
                elif isinstance(message, IbPlaceOrder):
                    self._publish(IbOrderNotSent(client_order_id=message.client_order_id, reason=repr(exc),
                                                 modify=True))
                elif isinstance(message, IbResync):  # the core waits for an answer: say it is not a full one
                    self._publish(IbOpenOrders(sync_id=message.sync_id, judged=message.judge, working=(),
                                               complete=False))
                elif not isinstance(exc, CONNECT_ERRORS):
                    self._alert("warning", f"IB request {type(message).__name__} failed: {exc!r}")

    async def _serve(self, message: Message) -> None:
        match message:
            case IbPlaceOrder(modify=False):
                await self._place(message)
            case IbPlaceOrder(modify=True):
                self._modify(message)
            case IbCancelOrder():
                # by id, whatever ib_async believes of the order: IB itself answers whether it still works it
                trade = self._trade(message.client_order_id)
                self._ib.client.cancelOrder(trade.order.orderId if trade is not None else message.order_id)
            case IbResync():
                await self._resync(message)
            case IbWhatIf():
                self._spawn(self._what_if.ask(message))
            case SubscribeQuotes() | UnsubscribeQuotes() | ChainRequest():
                await self._market.serve(message)

    def _trade(self, client_order_id: str) -> Trade | None:
        """The order in this connection's book, whatever its local status (ib_async marks an order Cancelled on
        any error, even one refusing only a modification); completed orders IB replays carry no order id."""
        return next((t for t in reversed(self._ib.trades()) if t.order.orderRef == client_order_id
                     and t.order.orderId > 0), None)

    def _modify(self, request: IbPlaceOrder) -> None:
        trade = self._trade(request.client_order_id)
        if trade is None:
            self._publish(IbOrderNotSent(client_order_id=request.client_order_id, modify=True,
                                         reason="the order is not in this connection's book"))
            return
        # A copy: the trade's own order is what IB last reported (its openOrder), so a status arriving before IB
        # answers the modification still carries the limit IB works at, never the one only asked for.
        # Through the client, not IB.placeOrder: ib_async asserts on a modification of an order it marked done.
        modified = copy.copy(trade.order)  # a LimitOrder: dataclasses.replace cannot rebuild its positional fields
        modified.lmtPrice = round(request.limit_price, 2)
        self._ib.client.placeOrder(modified.orderId, trade.contract, modified)

    async def _place(self, request: IbPlaceOrder) -> None:
        if not self._ib.isConnected():
            self._publish(IbOrderNotSent(client_order_id=request.client_order_id, reason="not connected"))
            return
        contract = await self._contracts.of(request)
        if isinstance(contract, str):
            self._publish(IbOrderNotSent(client_order_id=request.client_order_id, reason=contract))
            return
        order = translate.combo_order(request.client_order_id, request.quantity, request.limit_price, self._account)
        self._ib.client.updateReqId(request.min_order_id)  # a rolled-back nextValidId never reissues an old id
        trade = self._ib.placeOrder(contract, order)
        self._publish(IbOrderSubmitted(client_order_id=request.client_order_id, order_id=trade.order.orderId))

    async def _qualify(self, contracts: list[OptionContract]) -> list[OptionContract]:
        wanted = [c for c in dict.fromkeys(contracts) if c not in self._qualified]
        if wanted:
            classes = self._params.trading_classes
            results = await asyncio.wait_for(
                self._ib.qualifyContractsAsync(*(translate.option(c, classes.get(c.symbol, "")) for c in wanted)),
                self._params.chain_quote_timeout_s)
            for contract, qualified in zip(wanted, results):
                if isinstance(qualified, Contract) and qualified.conId:
                    self._qualified[contract] = qualified
        return contracts

    async def _resync(self, request: IbResync) -> None:
        """IB's open and completed orders and the day's executions, then which orders IB works: only an open-orders
        answer that arrived in full within the timeout may say an order is not working."""
        ib, timeout = self._ib, self._params.connect_timeout_s
        try:
            open_trades = await asyncio.wait_for(ib.reqOpenOrdersAsync(), timeout)
            complete = True
        except asyncio.TimeoutError:
            open_trades, complete = [], False
        completed = await self._optional(ib.reqCompletedOrdersAsync(True), "completed orders")
        fills = await self._optional(ib.reqExecutionsAsync(), "executions")
        self._order_reports.publish_orders_and_fills([*open_trades, *completed], fills)
        self._publish(IbOpenOrders(sync_id=request.sync_id, judged=request.judge, complete=complete,
                                   working=tuple(sorted({t.order.orderRef for t in open_trades if t.order.orderRef}))))
        await self._optional(ib.reqPositionsAsync(), "positions")
        self._account_reports.publish_positions()
        if request.resubscribe:
            await self._market.resubscribe()

    async def _optional(self, request, what: str) -> list:  # noqa: ANN001 - an ib_async request awaitable
        try:
            return await asyncio.wait_for(request, self._params.connect_timeout_s)
        except asyncio.TimeoutError:
            logger.warning(f"IB did not answer the {what} request within {self._params.connect_timeout_s:g}s")
            return []

    async def _sweep_executions(self) -> None:
        while True:
            await asyncio.sleep(self._params.executions_sweep_s)
            if not self._ib.isConnected():
                continue
            try:
                fills = await asyncio.wait_for(self._ib.reqExecutionsAsync(), self._params.connect_timeout_s)
            except Exception as exc:  # noqa: BLE001 - the next sweep tries again
                logger.warning(f"IB execution sweep failed: {exc!r}")
                continue
            self._order_reports.publish_orders_and_fills([], fills)

    # IB's errors -------------------------------------------------------------------------------------------------
    def _on_error(self, req_id: int, code: int, text: str, contract: Contract | None) -> None:
        self._publish(IbError(req_id=req_id, code=code, text=text))
        self._what_if.on_error(req_id, code, text)
        if code in API_DOWN_CODES and req_id == -1 and self._ib.isConnected():
            self._disconnect()  # the API link is unusable: start over (the reconnect loop takes it from here)
        self._market.on_error(code, text, contract)
