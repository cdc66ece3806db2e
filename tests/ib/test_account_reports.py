"""The IB session's account reports (actors/broker/ib/account_reports.py) never report an account ib_async emptied as it
disconnected: position sync would judge every held leg missing and halt the node."""

from __future__ import annotations

import asyncio

from ib_async import IB

from actors.broker.ib.account_reports import AccountReports
from messages import BrokerPositionsSnapshot, Message


def test_no_positions_report_is_published_once_the_link_is_gone():
    published: list[Message] = []
    loop = asyncio.new_event_loop()
    try:
        ib = IB()  # as ib_async is once disconnected: not connected, its positions emptied
        reports = AccountReports(ib, loop, 0.2, lambda: "DU1234567", published.append, lambda level, text: None)
        reports.publish_positions()  # a resync's last step, answered as the node stopped
    finally:
        loop.close()
    assert not [m for m in published if isinstance(m, BrokerPositionsSnapshot)]
