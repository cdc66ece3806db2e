"""The account as IB reports it, published by the IB session: positions, portfolio rows and account values. Runs on
the session's asyncio thread only.

IB sends each of them one row at a time; a kind is published once its round is over (`ib.positions_settle_s` without
a new row of it), so a reconciliation never judges half of a combo's legs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ib_async import IB, AccountValue, PortfolioItem, Position

from actors.broker.ib import translate
from messages import Message
from messages.system import AlertLevel


class AccountReports:
    def __init__(self, ib: IB, loop: asyncio.AbstractEventLoop, settle_s: float, account: Callable[[], str],
                 publish: Callable[[Message], None], alert: Callable[[AlertLevel, str], None]) -> None:
        self._ib = ib
        self._loop = loop
        self._settle_s = settle_s
        self._account = account
        self._publish = publish
        self._alert = alert
        self._settle: dict[str, asyncio.TimerHandle] = {}
        """The publication each kind's round waits for: put off by every new row of that kind."""

    # ib_async's events: one row each -----------------------------------------------------------------------------
    def on_position(self, _position: Position) -> None:
        self._after_round("positions", self.publish_positions)

    def on_portfolio(self, _item: PortfolioItem) -> None:
        self._after_round("portfolio", self._publish_portfolio)

    def on_account_value(self, _value: AccountValue) -> None:
        self._after_round("account", self._publish_account)

    def _after_round(self, kind: str, publish: Callable[[], None]) -> None:
        pending = self._settle.pop(kind, None)
        if pending is not None:
            pending.cancel()
        self._settle[kind] = self._loop.call_later(self._settle_s, publish)

    def on_disconnected(self) -> None:
        """The link is gone (lost, or closed at a stop): a round cut short is not published. ib_async empties its
        positions and account values as it disconnects, and a round published after that reported the account
        empty: position sync then found every strategy missing at the broker (test_write_ahead_kills, at a stop).
        The reconnect's own sync publishes them whole."""
        for pending in self._settle.values():
            pending.cancel()  # one that already ran is not affected
        self._settle.clear()

    # publications ------------------------------------------------------------------------------------------------
    def publish_positions(self) -> None:
        """Now, whole: also on connect and after a resync, which asked IB for every position first. Not once the link
        is gone: ib_async empties its positions as it disconnects, and a resync whose answer came back as the node
        stopped published that empty cache as a complete report; position sync found every leg missing and halted
        (test_write_ahead_kills, at a stop, stop 34). The reconnect's own sync publishes them whole."""
        if not self._ib.isConnected():
            return
        account = self._account()
        snapshot, other = translate.positions_snapshot(self._ib.positions(), account)
        for holding in other:
            self._alert("critical", f"account {account} holds {holding}: no strategy of this node can leave it")
        self._publish(snapshot)

    def _publish_portfolio(self) -> None:
        account = self._account()
        self._publish(translate.portfolio(self._ib.portfolio(account), account))

    def _publish_account(self) -> None:
        account = self._account()
        self._publish(translate.account_values(self._ib.accountValues(account), account))
