"""IB link policy: what an error code means for the connection, when the daily gateway restart pauses order
submission, and the link state the broker core keeps from IB's notices."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from actors.broker.ib.config import IbSection
from actors.market_time import NEW_YORK, NS_PER_S
from actors.runtime.core import Context
from messages import Alert, BrokerConnectionChanged, IbConnected, IbError, StopNode, TimerKey
from messages.system import AlertLevel

CLIENT_ID_REFUSALS = 3
"""326s in a row (no successful login between) after which the node stops instead of retrying."""


class Notice(StrEnum):
    LINK_LOST = "link_lost"
    """1100, 2110: TWS/Gateway lost IB's servers; the socket may stay up but order outcomes are unknown."""
    API_DOWN = "api_down"
    """502, 504: the API connection itself is unusable: the session reconnects."""
    CLIENT_ID_IN_USE = "client_id_in_use"
    """326: another program is logged in with this client id; IB closes the socket."""
    RESTORED_DATA_LOST = "restored_data_lost"
    """1101: back, market-data subscriptions are gone: resubscribe and reconcile."""
    RESTORED_DATA_KEPT = "restored_data_kept"
    """1102: back with subscriptions intact: reconcile orders and executions."""
    FARM_BROKEN = "farm_broken"
    """2103/2105/2157: a market or historical data farm is down: data only, never a disconnect."""
    FARM_OK = "farm_ok"
    """2104/2106/2158: a data farm is fine again."""
    COMPETING_SESSION = "competing_session"
    """10197: another login took the market data."""
    PACING = "pacing"
    """100: IB's message rate limit was exceeded."""
    INFORMATIONAL = "informational"
    """2100-2199 notices that need no action."""
    MARKET_DATA = "market_data"
    """Line limit and market-data permissions: the IB session handles them, alerting once per contract."""
    OTHER = "other"


LINK_CODES = {1100: Notice.LINK_LOST, 2110: Notice.LINK_LOST, 502: Notice.API_DOWN, 504: Notice.API_DOWN,
              326: Notice.CLIENT_ID_IN_USE, 1101: Notice.RESTORED_DATA_LOST, 1102: Notice.RESTORED_DATA_KEPT,
              2103: Notice.FARM_BROKEN, 2105: Notice.FARM_BROKEN, 2157: Notice.FARM_BROKEN,
              2104: Notice.FARM_OK, 2106: Notice.FARM_OK, 2158: Notice.FARM_OK, 2107: Notice.FARM_OK,
              2108: Notice.FARM_OK, 2119: Notice.FARM_OK, 10197: Notice.COMPETING_SESSION, 100: Notice.PACING}

MARKET_DATA_CODES = frozenset({101, 300, 354, 10089, 10090, 10167, 10168})
"""101 too many lines; 300 cancel of a request IB never started; 354/10089/10090/10167/10168 market data not (or
only partly, or only delayed) subscribed."""

ORDER_CANCELLED = 202
CANCEL_FAILED_CODES = frozenset({161, 10147, 10148})
"""The order could not be cancelled: not found, or not in a cancellable state (it filled first)."""


def classify(code: int) -> Notice:
    notice = LINK_CODES.get(code)
    if notice is not None:
        return notice
    if code in MARKET_DATA_CODES:
        return Notice.MARKET_DATA
    return Notice.INFORMATIONAL if 2100 <= code < 2200 else Notice.OTHER


def restart_window(now_ns: int, restart: dt.time, before_min: float, after_min: float) -> tuple[bool, int]:
    """Whether `now_ns` lies in the pause around the daily gateway restart (New York time), and when that changes."""
    now = dt.datetime.fromtimestamp(now_ns / NS_PER_S, NEW_YORK)
    windows = []
    for day_offset in (-1, 0, 1):
        day = now.date() + dt.timedelta(days=day_offset)
        at = dt.datetime.combine(day, restart, NEW_YORK)
        windows.append((at - dt.timedelta(minutes=before_min), at + dt.timedelta(minutes=after_min)))
    for start, end in windows:
        if start <= now < end:
            return True, int(end.timestamp() * NS_PER_S)
    upcoming = min(start for start, _ in windows if start > now)
    return False, int(upcoming.timestamp() * NS_PER_S)


class LinkState:
    """The link to IB as the broker core sees it: connected, degraded or disconnected; synchronised (IB has said
    which orders it works since the link came up) or not; inside the daily gateway restart pause or not. It turns
    IB's link-wide notices into state, alerts and `BrokerConnectionChanged`; orders are the core's business."""

    def __init__(self, params: IbSection, source: str) -> None:
        self._params = params
        self._source = source
        self.link = "disconnected"
        self.synced = False
        self._in_restart_window = False
        self._published = ""
        self._broken_farms: set[str] = set()
        self._client_id_refusals = 0

    def start(self, ctx: Context) -> None:
        """A (re)started core runs in a new process or actor: the link starts down whatever the journal said."""
        self.link, self.synced, self._published = "disconnected", False, ""
        self.arm_restart_window(ctx)
        self.publish("connecting to IB", ctx)

    def state(self) -> str:
        if self.link == "connected" and (self._in_restart_window or not self.synced):
            return "degraded"
        return self.link

    def refusal(self) -> str | None:
        """Why a new order may not go out now, if it may not."""
        if self._params.readonly:
            return "the IB connection is read-only"
        if self.link != "connected":
            return f"IB link {self.link}"
        if self._in_restart_window:
            return "daily gateway restart window"
        if not self.synced:
            return "IB link synchronising (IB has not yet said which orders it works)"
        return None

    def publish(self, reason: str, ctx: Context) -> None:
        state = self.state()
        if state == self._published:
            return
        self._published = state
        if state == "degraded" and self.link == "connected":
            reason = ("daily gateway restart window: no new orders" if self._in_restart_window
                      else "synchronising orders with IB: no new orders")
        ctx.publish(BrokerConnectionChanged(state=state, reason=reason))

    def arm_restart_window(self, ctx: Context) -> None:
        restart = self._params.restart_time()
        if restart is None:
            return
        self._in_restart_window, change_ns = restart_window(
            ctx.now(), restart, self._params.restart_pause_before_min, self._params.restart_pause_after_min)
        ctx.set_timer(TimerKey.IB_RESTART_WINDOW, change_ns)

    def up(self, connected: IbConnected, ctx: Context) -> None:
        self.link, self.synced, self._client_id_refusals = "connected", False, 0
        self.publish(f"connected (server version {connected.server_version}, "
                     f"accounts {', '.join(connected.accounts)})", ctx)

    def down(self, state: str, reason: str, ctx: Context) -> None:
        if self.link == "connected" and state == "disconnected":
            self._alert("warning", f"IB link lost ({reason}): reconnecting; no new orders", ctx)
        self.link = state
        if state == "disconnected":
            self.synced = False
        self.publish(reason, ctx)

    def synchronised(self, ctx: Context) -> None:
        if not self.synced and self.link == "connected":
            self.synced = True
            self.publish("IB's open orders synchronised", ctx)

    def on_notice(self, error: IbError, ctx: Context) -> Notice:
        """A link-wide IB message (not about one order): state, alerts, and a stop for an operator on a client id
        IB keeps refusing. The caller resyncs on the restored notices."""
        notice = classify(error.code)
        text = f"{error.code} {error.text}"
        match notice:
            case Notice.LINK_LOST if self.link == "connected":
                self._alert("critical", f"IB {text}: working orders' outcomes unknown; no new orders", ctx)
                self.down("degraded", text, ctx)
            case Notice.API_DOWN:
                self.down("disconnected", text, ctx)
            case Notice.CLIENT_ID_IN_USE:
                self._client_id_refused(error, ctx)
            case Notice.RESTORED_DATA_LOST | Notice.RESTORED_DATA_KEPT:
                self.link = "connected"
                resubscribe = " and resubscribing market data" if notice is Notice.RESTORED_DATA_LOST else ""
                self._alert("warning", f"IB {text}: reconciling{resubscribe}", ctx)
                self.publish(text, ctx)
            case Notice.FARM_BROKEN if error.text not in self._broken_farms:
                self._broken_farms.add(error.text)
                self._alert("warning", f"IB data farm {text}: market data only, orders unaffected", ctx)
            case Notice.FARM_OK:
                farm = error.text.rsplit(":", 1)[-1]
                broken = {t for t in self._broken_farms if t.rsplit(":", 1)[-1] == farm}
                if broken:
                    self._broken_farms -= broken
                    self._alert("info", f"IB data farm {text}", ctx)
            case Notice.PACING:
                self._alert("critical", f"IB pacing violation 100: {error.text}", ctx)
            case Notice.COMPETING_SESSION:
                self._alert("warning", f"IB 10197 {error.text}", ctx)
            case Notice.OTHER:
                self._alert("warning", f"IB error {error.code} (request {error.req_id}): {error.text}", ctx)
        return notice

    def _client_id_refused(self, error: IbError, ctx: Context) -> None:
        self._client_id_refusals += 1
        if self._client_id_refusals < CLIENT_ID_REFUSALS:
            self._alert("warning", f"IB 326 {error.text}: retrying", ctx)
        elif self._client_id_refusals == CLIENT_ID_REFUSALS:
            reason = (f"IB refused the client id {self._client_id_refusals} times (326: {error.text}): another "
                      f"program (TWS, a second node) is logged in with service.client_id; stopping")
            self._alert("critical", reason, ctx)
            ctx.publish(StopNode(reason=reason, restart=False))

    def _alert(self, level: AlertLevel, text: str, ctx: Context) -> None:
        ctx.publish(Alert(level=level, source=self._source, text=text))
