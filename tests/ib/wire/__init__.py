"""Server side of the TWS API legacy text socket protocol, for a fake gateway.

The test gateway speaks to the *real* ``ib_async`` client over a real socket,
so everything here is written against what ib_async 2.1's ``Decoder`` (for
server -> client messages) and ``Client`` (for client -> server messages)
actually do at ``SERVER_VERSION``.  Field layouts were derived from reading
those two modules; when ib_async is upgraded, ``tests/ib/test_wire_*.py`` are
the tripwire that tells us a layout moved.

Wire format, both directions: a 4-byte big-endian payload length, then the
payload, which is a sequence of fields each terminated by a NUL byte.  The one
exception is the very first thing a client sends: ``b"API\\0"`` followed by a
length-prefixed, *not* NUL-terminated version range such as ``b"v157..178"``.

Encoders return plain field lists (not bytes) so a test can inspect or tamper
with a message before handing it to :func:`frame`.
"""

from __future__ import annotations

from tests.ib.wire.account_encoders import (
    account_download_end,
    account_update_multi,
    account_update_multi_end,
    position,
    position_end,
    update_account_time,
    update_account_value,
    update_portfolio,
)
from tests.ib.wire.framing import (
    API_SIGN,
    MAX_MESSAGE_BYTES,
    SERVER_VERSION,
    UNSET_DOUBLE,
    UNSET_INTEGER,
    FrameReader,
    WireError,
    client_handshake,
    frame,
)
from tests.ib.wire.market_encoders import (
    contract_details,
    contract_details_end,
    current_time,
    error,
    managed_accounts,
    market_data_type,
    next_valid_id,
    sec_def_opt_params,
    sec_def_opt_params_end,
    tick_generic,
    tick_option_computation,
    tick_price,
    tick_req_params,
    tick_size,
    tick_string,
)
from tests.ib.wire.order_encoders import (
    commission_report,
    completed_order,
    completed_orders_end,
    exec_details,
    exec_details_end,
    open_order,
    open_order_end,
    order_status,
)
from tests.ib.wire.parsing import parse_request
from tests.ib.wire.requests import (
    CancelAccountUpdatesMulti,
    CancelMktData,
    CancelOrder,
    CancelPositions,
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
    Request,
    StartApi,
    UnknownRequest,
)
from tests.ib.wire.values import WireComboLeg, WireContract, WireOrder

__all__ = [
    "API_SIGN",
    "MAX_MESSAGE_BYTES",
    "SERVER_VERSION",
    "UNSET_DOUBLE",
    "UNSET_INTEGER",
    "CancelAccountUpdatesMulti",
    "CancelMktData",
    "CancelOrder",
    "CancelPositions",
    "FrameReader",
    "Handshake",
    "PlaceOrder",
    "ReqAccountUpdates",
    "ReqAccountUpdatesMulti",
    "ReqAllOpenOrders",
    "ReqAutoOpenOrders",
    "ReqCompletedOrders",
    "ReqContractDetails",
    "ReqCurrentTime",
    "ReqExecutions",
    "ReqIds",
    "ReqManagedAccts",
    "ReqMarketDataType",
    "ReqMktData",
    "ReqOpenOrders",
    "ReqPositions",
    "ReqSecDefOptParams",
    "Request",
    "StartApi",
    "UnknownRequest",
    "WireComboLeg",
    "WireContract",
    "WireError",
    "WireOrder",
    "account_download_end",
    "account_update_multi",
    "account_update_multi_end",
    "client_handshake",
    "commission_report",
    "completed_order",
    "completed_orders_end",
    "contract_details",
    "contract_details_end",
    "current_time",
    "error",
    "exec_details",
    "exec_details_end",
    "frame",
    "managed_accounts",
    "market_data_type",
    "next_valid_id",
    "open_order",
    "open_order_end",
    "order_status",
    "parse_request",
    "position",
    "position_end",
    "sec_def_opt_params",
    "sec_def_opt_params_end",
    "tick_generic",
    "tick_option_computation",
    "tick_price",
    "tick_req_params",
    "tick_size",
    "tick_string",
    "update_account_time",
    "update_account_value",
    "update_portfolio",
]
