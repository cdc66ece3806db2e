"""The replay journal file: every published message, msgpack-encoded, length-prefixed, in seq order.

Byte-for-byte comparable across runs, which is how replay determinism is checked.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

from messages import Message
from messages.codec import from_msgpack, to_msgpack

_LENGTH = struct.Struct(">I")


def write_journal_file(messages: Iterable[Message], path: str | Path) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("wb") as out:
        for message in messages:
            payload = to_msgpack(message)
            out.write(_LENGTH.pack(len(payload)))
            out.write(payload)
            count += 1
    return count


def read_journal_file(path: str | Path) -> Iterator[Message]:
    with Path(path).open("rb") as source:
        while header := source.read(_LENGTH.size):
            if len(header) != _LENGTH.size:
                raise ValueError(f"{path}: truncated record header")
            (size,) = _LENGTH.unpack(header)
            payload = source.read(size)
            if len(payload) != size:
                raise ValueError(f"{path}: truncated record of {size} bytes")
            yield from_msgpack(payload)
