"""What every config section shares: unknown keys and out-of-range numbers are errors naming the field; TOML files
read with one-line errors."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any, ClassVar

import msgspec


class ConfigError(ValueError):
    """A config that cannot be used; the text names the file and the field."""


def read_input_file(path: Path, what: str, error: type[ValueError] = ConfigError) -> bytes:
    """A file the operator named, or `error` in one line naming the file and why it cannot be read (`what`: the kind
    of file, e.g. "config file")."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except IsADirectoryError:
        article = "an" if what[:1] in "aeiou" else "a"
        raise error(f"{path}: is a directory, not {article} {what}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None


def read_toml(path: Path, what: str, error: type[ValueError] = ConfigError) -> Any:
    """A TOML file's tables, or `error` in one line naming the file and what is wrong with it."""
    data = read_input_file(path, what, error)
    try:
        return msgspec.toml.decode(data)
    except UnicodeDecodeError:
        raise error(f"{path}: not a text file (TOML must be UTF-8)") from None
    except msgspec.DecodeError as exc:
        raise error(f"{path}: not valid TOML: {' '.join(str(exc).split())}") from None


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
