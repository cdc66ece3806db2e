"""How the test gateway behaves: IB Gateway's own settings (a fresh installation's by default), the faults a test
can script, and IB's texts for the codes it sends.

Everything realistic is on by default — split and shuffled execution reports, commission reports that come late,
cancels that pass through PendingCancel, DAY orders that expire at the close, the burst of data-farm notices at
connect — so a test that wants the happy path has to say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

READ_ONLY_TEXT = ("Error validating request.-'bN' : cause - The API interface is currently in Read-Only mode.")
INSTITUTIONAL_LEG_TEXT = ("Error validating request.-'bH' : cause - The combo details for leg '{leg}' are invalid. - "
                          "Not an institutional account, or an away clearing order")
"""IB Gateway refuses a combo leg only an institutional account may send with its 321 "validating request" error and
the leg check's text as the cause, legs counted from 0 (a capture of IB Gateway 10.x quoted in /work/coord/ib_facts.md,
section 9) — not with the bare 313 of IB's message table."""
IB_TEXT = {
    103: "Duplicate order id",
    104: "Can't modify a filled order.",
    107: "Cannot transmit incomplete order.",
    110: "The price does not conform to the minimum price variation for this contract.",
    163: "The following order \"{order_id}\" price exceeds the Percentage constraint of 3%. Restriction is specified "
         "in Precautionary Settings of Global Configuration/Presets.",
    200: "No security definition has been found for the request",
    201: "Order rejected - reason:The account has insufficient margin.",
    202: "Order Canceled - reason:",
    203: "The security <SPY> is not available or allowed for this account.",
    321: READ_ONLY_TEXT,
    326: "Unable to connect as the client id is already in use. Retry with a unique client id.",
    383: "The size (1000) exceeds the size limit of 500. Restriction is specified in Precautionary Settings of "
         "Global Configuration/Presets.",
    434: "The order size cannot be zero.",
    399: "Order Message:\nWarning: your order will not be placed at the exchange until 2026-03-02 09:30:00 US/Eastern",
    2102: "Unable to modify this order as it is still being processed.",
    10147: "OrderId {order_id} that needs to be cancelled is not found.",
    10148: "OrderId {order_id} that needs to be cancelled cannot be cancelled, state: {state}.",
}
CONNECT_NOTICES = ((2104, "Market data farm connection is OK:usfarm"),
                   (2106, "HMDS data farm connection is OK:ushmds"),
                   (2158, "Sec-def data farm connection is OK:secdefil"))
"""What IB Gateway says, unasked, right after every API login."""


def ib_text(code: int, **values: object) -> str:
    return IB_TEXT[code].format(**values)


@dataclass
class GatewaySettings:
    """Configure → Settings → API in IB Gateway. The defaults are a fresh installation's: the README tells the
    operator to turn Read-Only API off and to bypass order precautions for API orders."""

    read_only_api: bool = True
    bypass_order_precautions: bool = False
    price_increment: float = 0.01
    """SPY, QQQ and IWM options (and their combos) trade in pennies at every price."""
    cancel_delay_s: float = 0.2
    """A cancel reports PendingCancel at once and Cancelled this much later."""
    commission_delay_s: float = 0.3
    """How late a commission report follows its execution when IB does not know the commission yet."""


@dataclass
class Reject:
    """An order IB refuses: error `code` with IB's text; `status` is the orderStatus IB sends after it, if any."""

    code: int
    text: str = ""
    status: str = ""

    def message(self, order_id: int) -> str:
        return self.text or ib_text(self.code, order_id=order_id)


@dataclass
class Faults:
    """What goes wrong next; each one-shot fault is used up once it has happened."""

    rejects: list[Reject] = field(default_factory=list)
    """The next new orders are refused, one entry each."""
    refuse_modifies: list[Reject] = field(default_factory=list)
    """The next modifications are refused (e.g. 201, 2102) while the original order keeps working unchanged."""
    held_at_ib: int = 0
    """The next new orders stay PreSubmitted (IB holds a SMART combo on its own servers) until a modification comes;
    then they go Submitted, and that status reaches the client before the modification's own answer."""
    drop_socket: str = ""
    """"on_order": close the socket as the order arrives (IB never gets it); "after_fill": fill it, then close
    before the client hears anything."""
    partial_units: int = 0
    """The next crossing order fills only this many combo units; the rest keep working unfilled (`hold_fills`)."""
    ack_delay_s: float = 0.0
    """openOrder/orderStatus of new orders come this late: executions arrive before the client knows the order."""
    next_valid_id: int | None = None
    """The next handshake announces this nextValidId (a gateway restart that rolled its ids back)."""
    hold_fills: bool = False
    """Orders rest without filling."""
    ignore_cancels: bool = False
    """Cancel requests get no answer at all (an unresponsive gateway)."""
    unset_commissions: int = 0
    """The next leg executions' commission reports carry IB's unset value first; the real one follows later."""
    no_bag_execution: bool = False
    """Fills report only the leg executions (no execution for the BAG itself)."""
    bag_price_offset: float = 0.0
    """The BAG execution reports a net price this far from its legs' (an inconsistency the client must catch)."""
    correct_executions: int = 0
    """The next fills are followed by a correction of their first leg execution (same id, last field .02)."""
    slow_syncs: int = 0
    """The next logins answer open orders, completed orders and executions only `sync_delay_s` after the login."""
    sync_delay_s: float = 0.0
    shuffle_seed: int | None = 7
    """Execution, commission and status reports of a fill reach the client in an order shuffled by this seed
    (None: IB's usual order: executions, then commission reports, then status)."""
    split_executions: bool = True
    """A leg of more than one contract fills in two executions."""
    what_if_rejects: list[Reject] = field(default_factory=list)
    """The next what-if orders are refused, one entry each: an error on their id and no margin report."""
    what_if_silent: int = 0
    """The next what-if orders get no answer at all."""
    house_margin_usd: float = 0.0
    """Margin IB's what-if adds above Reg T for a new position (house requirements, concentration): the account's
    reported margin only shows it after the fill."""
