"""The orders table tells an order's life as the broker answered it: a limit step shows only once the broker took it,
and a refused one shows as refused. After every event the limit column is what the order works at: the dashboard's
and `status`'s working orders read the last one."""

from __future__ import annotations

from messages import ModifyOrder, ModifyRefused, OrderModified
from storage.tables import project


def test_a_refused_step_is_a_row_of_its_own_and_only_a_taken_one_reads_modified():
    asked = ModifyOrder(client_order_id="IC-1-C1", limit_price=-1.40, seq=1, ts=10)
    refused = ModifyRefused(client_order_id="IC-1-C1", limit_price=-1.40, working_price=-1.50, code=2102,
                            reason="Unable to modify this order as it is still being processed.", seq=2, ts=20)
    taken = OrderModified(client_order_id="IC-1-C1", limit_price=-1.40, seq=3, ts=30)
    rows = project("run-1", [asked, refused, taken])["orders"].to_pylist()
    assert [(r["seq"], r["event"], r["limit_price"]) for r in rows] == [(2, "modify_refused", -1.50),
                                                                       (3, "modified", -1.40)]
    assert rows[0]["detail"] == "-1.40 refused: 2102: Unable to modify this order as it is still being processed."
