"""The order state machine: an explicit transition table from (state, event) to the next state.

Broker reality it encodes: a fill can arrive before the acknowledgement, while a cancel is pending, or even after
the order was reported cancelled (a late fill, which must still be booked); a cancel can be refused, returning the
order to work. Anything not in the table is illegal: reported, never applied, never a crash.
"""

from __future__ import annotations

from enum import StrEnum


class OrderState(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCEL_PENDING = "cancel_pending"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class OrderEvent(StrEnum):
    ACCEPTED = "accepted"
    PARTIAL_FILL = "partial_fill"
    FULL_FILL = "full_fill"
    CANCEL_REQUESTED = "cancel_requested"
    CANCELLED = "cancelled"
    CANCEL_REJECTED = "cancel_rejected"
    REJECTED = "rejected"


S, E = OrderState, OrderEvent
TRANSITIONS: dict[tuple[OrderState, OrderEvent], OrderState] = {
    (S.SUBMITTED, E.ACCEPTED): S.ACCEPTED,
    (S.SUBMITTED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.SUBMITTED, E.FULL_FILL): S.FILLED,
    (S.SUBMITTED, E.REJECTED): S.REJECTED,
    (S.SUBMITTED, E.CANCEL_REQUESTED): S.CANCEL_PENDING,
    (S.ACCEPTED, E.ACCEPTED): S.ACCEPTED,
    (S.ACCEPTED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.ACCEPTED, E.FULL_FILL): S.FILLED,
    (S.ACCEPTED, E.REJECTED): S.REJECTED,
    (S.ACCEPTED, E.CANCEL_REQUESTED): S.CANCEL_PENDING,
    (S.PARTIALLY_FILLED, E.ACCEPTED): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.FULL_FILL): S.FILLED,
    (S.PARTIALLY_FILLED, E.CANCEL_REQUESTED): S.CANCEL_PENDING,
    (S.CANCEL_PENDING, E.ACCEPTED): S.CANCEL_PENDING,
    (S.CANCEL_PENDING, E.PARTIAL_FILL): S.CANCEL_PENDING,
    (S.CANCEL_PENDING, E.FULL_FILL): S.FILLED,
    (S.CANCEL_PENDING, E.CANCELLED): S.CANCELLED,
    (S.CANCEL_PENDING, E.CANCEL_REJECTED): S.ACCEPTED,
    (S.CANCEL_PENDING, E.REJECTED): S.REJECTED,
    (S.ACCEPTED, E.CANCELLED): S.CANCELLED,
    (S.PARTIALLY_FILLED, E.CANCELLED): S.CANCELLED,
    (S.SUBMITTED, E.CANCELLED): S.CANCELLED,
    (S.CANCELLED, E.PARTIAL_FILL): S.CANCELLED,
    (S.CANCELLED, E.FULL_FILL): S.FILLED,
}
TERMINAL = frozenset({S.FILLED, S.CANCELLED, S.REJECTED})
WORKING = frozenset({S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED})


class IllegalTransition(ValueError):
    """An event the order's state cannot take; the text names both."""


def next_state(state: OrderState, event: OrderEvent) -> OrderState:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(f"{event.value} is not possible in state {state.value}") from None
