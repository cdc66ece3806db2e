"""The wire type: one tagged Union over every concrete message class."""

from __future__ import annotations

from typing import Union

from messages import decisions, ib, market, orders, positions, risk, system
from messages.base import Command, Event, Message

_MODULES = (market, orders, positions, decisions, risk, system, ib)


def _concrete_messages() -> tuple[type[Message], ...]:
    found: list[type[Message]] = []
    for module in _MODULES:
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Message)
                and value not in (Message, Command, Event)
                and value.__module__ == module.__name__
                and not value.__name__.startswith("_")  # shared field sets, never sent themselves
            ):
                found.append(value)
    return tuple(found)


MESSAGE_TYPES: tuple[type[Message], ...] = _concrete_messages()
MESSAGE_BY_NAME: dict[str, type[Message]] = {cls.__name__: cls for cls in MESSAGE_TYPES}
AnyMessage = Union[MESSAGE_TYPES]  # noqa: UP007 - a runtime Union built from a tuple
