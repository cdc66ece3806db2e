"""What every config section shares: unknown keys and out-of-range numbers are errors naming the field."""

from __future__ import annotations

import datetime as dt
import math
from typing import ClassVar

import msgspec


class ConfigError(ValueError):
    """A config that cannot be used; the text names the file and the field."""


DEFAULT_MAX = 1e9
"""Any number without a stated range must stay below this: a 23-digit integer is a typo, never a setting."""
EARLIEST = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


class Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    LIMITS: ClassVar[dict[str, tuple[float, float]]] = {}
    """Inclusive ranges of the section's limits; other numbers must be finite and within [0, DEFAULT_MAX]."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, dt.datetime) and not EARLIEST <= value < LATEST:
                raise ValueError(f"`{name}` must fall within {EARLIEST:%Y}-{LATEST:%Y}, got {value:%Y-%m-%d}")
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            if not math.isfinite(value):
                raise ValueError(f"`{name}` must be a finite number, got {value}")
            low, high = self.LIMITS.get(name, (0, DEFAULT_MAX))
            if not low <= value <= high:
                raise ValueError(f"`{name}` must be within [{low:g}, {high:g}], got {value}")

    @staticmethod
    def _ordered(low_name: str, low: float, high_name: str, high: float, strict: bool = True) -> None:
        if low > high or (strict and low == high):
            raise ValueError(f"`{low_name}` ({low:g}) must be {'below' if strict else 'at most'} `{high_name}` "
                             f"({high:g})")
