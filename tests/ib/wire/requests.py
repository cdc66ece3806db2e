"""Client -> server requests: one frozen dataclass per request the gateway acts on, named after the ib_async
`Client` method that sends it. They keep only what a gateway needs to answer; fields the client always sends but we
never act on are checked for shape and dropped."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.ib.wire.values import WireContract


@dataclass(frozen=True)
class Handshake:
    """The ``API\\0`` preamble, as returned in-band by FrameReader."""

    min_client_version: int
    max_client_version: int
    connect_options: str = ""


@dataclass(frozen=True)
class StartApi:
    """Second step of connecting; the client id scopes order ids and echoes."""

    client_id: int
    optional_capabilities: str


@dataclass(frozen=True)
class ReqMktData:
    """BAG contracts carry their legs (4 fields each) only in this request."""

    req_id: int
    contract: WireContract
    generic_ticks: str
    snapshot: bool
    regulatory_snapshot: bool
    delta_neutral: tuple[int, float, float] | None = None  # conId, delta, price
    mkt_data_options: str = ""


@dataclass(frozen=True)
class CancelMktData:
    req_id: int


@dataclass(frozen=True)
class PlaceOrder:
    """The leading part of placeOrder a gateway needs; the rest is ignored.

    Unset prices (ib_async sends UNSET_DOUBLE as "") arrive as None, both for
    lmt/aux price and per-leg combo prices.
    """

    order_id: int
    contract: WireContract
    action: str
    total_quantity: float
    order_type: str
    lmt_price: float | None
    aux_price: float | None
    tif: str
    oca_group: str
    account: str
    open_close: str
    origin: int
    order_ref: str
    transmit: bool
    parent_id: int
    outside_rth: bool
    combo_leg_prices: list[float | None]
    hidden: bool = False
    smart_combo_routing_params: list[tuple[str, str]] = field(default_factory=list)
    what_if: bool = False
    """Order.whatIf: IB only reports the margin and commission the order would have; nothing is placed."""


@dataclass(frozen=True)
class CancelOrder:
    """manual_cancel_time is always sent from server 169 on, usually empty."""

    order_id: int
    manual_cancel_time: str


@dataclass(frozen=True)
class ReqOpenOrders:
    pass


@dataclass(frozen=True)
class ReqAllOpenOrders:
    pass


@dataclass(frozen=True)
class ReqAutoOpenOrders:
    auto_bind: bool


@dataclass(frozen=True)
class ReqCompletedOrders:
    """One of the few requests sent without a version field."""

    api_only: bool


@dataclass(frozen=True)
class ReqAccountUpdates:
    subscribe: bool
    account: str


@dataclass(frozen=True)
class ReqAccountUpdatesMulti:
    req_id: int
    account: str
    model_code: str
    ledger_and_nlv: bool


@dataclass(frozen=True)
class CancelAccountUpdatesMulti:
    req_id: int


@dataclass(frozen=True)
class ReqExecutions:
    """Filter fields are empty strings (client_id 0) when not filtering."""

    req_id: int
    client_id: int
    account: str
    time: str
    symbol: str
    sec_type: str
    exchange: str
    side: str


@dataclass(frozen=True)
class ReqIds:
    """TWS ignores the count and answers with a single nextValidId."""

    num_ids: int


@dataclass(frozen=True)
class ReqContractDetails:
    """issuer_id is only on the wire because SERVER_VERSION >= 176."""

    req_id: int
    contract: WireContract
    include_expired: bool
    sec_id_type: str = ""
    sec_id: str = ""
    issuer_id: str = ""


@dataclass(frozen=True)
class ReqSecDefOptParams:
    """Sent without a version field; fut_fop_exchange is empty for stocks."""

    req_id: int
    underlying_symbol: str
    fut_fop_exchange: str
    underlying_sec_type: str
    underlying_con_id: int


@dataclass(frozen=True)
class ReqPositions:
    pass


@dataclass(frozen=True)
class CancelPositions:
    pass


@dataclass(frozen=True)
class ReqMarketDataType:
    data_type: int


@dataclass(frozen=True)
class ReqCurrentTime:
    pass


@dataclass(frozen=True)
class ReqManagedAccts:
    pass


@dataclass(frozen=True)
class UnknownRequest:
    """A well-formed message we do not model; fields exclude the id."""

    msg_id: int
    fields: list[str]


Request = (
    Handshake
    | StartApi
    | ReqMktData
    | CancelMktData
    | PlaceOrder
    | CancelOrder
    | ReqOpenOrders
    | ReqAllOpenOrders
    | ReqAutoOpenOrders
    | ReqCompletedOrders
    | ReqAccountUpdates
    | ReqAccountUpdatesMulti
    | CancelAccountUpdatesMulti
    | ReqExecutions
    | ReqIds
    | ReqContractDetails
    | ReqSecDefOptParams
    | ReqPositions
    | CancelPositions
    | ReqMarketDataType
    | ReqCurrentTime
    | ReqManagedAccts
    | UnknownRequest
)
