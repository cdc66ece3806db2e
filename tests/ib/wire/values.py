"""Contract, order and combo-leg values as the gateway keeps them, and how a contract is laid out on the wire."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.ib.wire.framing import UNSET_DOUBLE


@dataclass
class WireComboLeg:
    """One BAG leg; the trailing four fields only travel in order messages."""

    con_id: int
    ratio: int
    action: str
    exchange: str
    open_close: int = 0
    short_sale_slot: int = 0
    designated_location: str = ""
    exempt_code: int = -1


@dataclass
class WireContract:
    """The contract fields the wire carries, independent of ib_async's class."""

    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    last_trade_date: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""
    combo_legs: list[WireComboLeg] = field(default_factory=list)


@dataclass
class WireOrder:
    """An order as the gateway reports it back in openOrder/completedOrder.

    ``transmit`` is kept for the gateway's bookkeeping only: TWS never echoes
    it, so no encoder sends it.  ``lmt_price``/``aux_price`` None means unset.
    """

    order_id: int
    client_id: int
    perm_id: int
    contract: WireContract
    action: str
    total_quantity: float
    order_type: str
    lmt_price: float | None
    tif: str = "DAY"
    account: str = ""
    order_ref: str = ""
    transmit: bool = True
    combo_leg_prices: list[float | None] = field(default_factory=list)
    aux_price: float | None = None
    oca_group: str = ""
    open_close: str = "O"
    origin: int = 0
    parent_id: int = 0
    outside_rth: bool = False
    smart_combo_routing_params: list[tuple[str, str]] = field(default_factory=list)
    filled_quantity: float | None = None  # completedOrder only


def unset_double(value: float | None) -> float:
    return UNSET_DOUBLE if value is None else value


def contract_fields(c: WireContract, venue: str) -> list[object]:
    # The 11-field contract block used by openOrder, completedOrder,
    # execDetails, position and (with primaryExchange as venue) portfolio.
    return [
        c.con_id,
        c.symbol,
        c.sec_type,
        c.last_trade_date,
        c.strike,
        c.right,
        c.multiplier,
        venue,
        c.currency,
        c.local_symbol,
        c.trading_class,
    ]
