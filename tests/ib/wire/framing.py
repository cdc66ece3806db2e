"""The TWS API socket framing: length-prefixed NUL-separated fields, the handshake, and the constants every
layout shares."""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Sequence
from decimal import Decimal

# 176 is the newest version whose layouts are still the "classic" ones
# (openOrder keeps faProfile, execDetails has no pendingPriceRevision) while
# already carrying errorMsg's advancedOrderRejectJson, size rules in
# contractDetails and issuerId in reqContractDetails.
SERVER_VERSION = 176

# TWS marks "no value" with these sentinels rather than empty fields in most
# order/commission messages; ib_async's dataclass defaults use the same
# values, so sending them makes decoded objects equal ib_async's defaults.
UNSET_DOUBLE = sys.float_info.max
UNSET_INTEGER = 2**31 - 1

# Same ceiling the official API client enforces (MAX_MSG_LEN); a length above
# it means the stream is desynchronised, not that a huge message is coming.
MAX_MESSAGE_BYTES = 0xFFFFFF

API_SIGN = b"API\0"

_LENGTH = struct.Struct(">I")


class WireError(ValueError):
    """Raised for bytes or fields that do not form a valid message.

    A ValueError subclass so callers that already treat bad input as a value
    problem keep working, but distinct so a gateway can tell protocol faults
    from its own bugs (which must never surface as IndexError).
    """


# --------------------------------------------------------------------------
# framing


def _format_float(value: float) -> str:
    # Integral values go out without ".0" so a field the peer parses with
    # int() (sizes, ids passed as floats) still parses; everything else uses
    # repr, the shortest string float() reads back to the identical double.
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def _format_field(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "1" if value else "0"
    if isinstance(value, int):
        return str(int(value))  # int() so IntEnum members render as numbers
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        if "\0" in value:
            raise WireError(f"field {value!r} contains NUL, which would split it")
        return value
    # Refuse rather than str(): a stray list or dataclass would otherwise be
    # sent as its repr and desynchronise the peer's field count silently.
    raise TypeError(f"cannot encode field of type {type(value).__name__}: {value!r}")


def frame(fields: Sequence[object]) -> bytes:
    """Serialise one message: length prefix plus NUL-terminated fields.

    bool -> "1"/"0", None -> "", int -> decimal, float -> shortest round-trip
    text ("1" rather than "1.0"), str verbatim.  Other types raise TypeError.
    """
    if not fields:
        raise WireError("cannot frame an empty message")
    payload = "".join(_format_field(f) + "\0" for f in fields).encode("utf-8")
    if len(payload) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(payload)} bytes exceeds {MAX_MESSAGE_BYTES}")
    return _LENGTH.pack(len(payload)) + payload


def client_handshake(
    min_version: int = 157, max_version: int = 178, options: str = ""
) -> bytes:
    """Bytes a client opens with; lets tests drive FrameReader without ib_async."""
    text = f"v{min_version}..{max_version}" + (f" {options}" if options else "")
    payload = text.encode("ascii")
    return API_SIGN + _LENGTH.pack(len(payload)) + payload


class FrameReader:
    """Incremental splitter of a byte stream into field lists.

    Socket reads split and merge messages arbitrarily, so bytes are buffered
    until a whole frame is present.  The client's opening handshake is
    recognised only at the very start of the stream and is returned in-band
    as ``["API", "v157..178"]`` (connect options, if any, stay in the second
    string) so a server loop can treat it like any other message and
    :func:`parse_request` turns it into :class:`Handshake`.  A stream that
    does not start with ``API\\0`` (e.g. server -> client traffic) is read as
    plain frames, which makes the reader usable on both sides.

    After a WireError the stream is unrecoverable (there is no resync marker
    in the protocol); drop the connection, as TWS does.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._at_start = True

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[list[str]]:
        """Add received bytes; return every message now complete, in order."""
        self._buf += data
        messages: list[list[str]] = []
        while True:
            if self._at_start:
                if len(self._buf) < len(API_SIGN):
                    # Can't yet tell a handshake from a frame; a real frame
                    # starting with 'API\0' would be ~1 GB, beyond the limit.
                    if not API_SIGN.startswith(bytes(self._buf)):
                        self._at_start = False
                        continue
                    break
                if self._buf.startswith(API_SIGN):
                    payload = self._take_frame(len(API_SIGN))
                    if payload is None:
                        break
                    self._at_start = False
                    messages.append(["API", self._decode(payload).rstrip("\0")])
                    continue
                self._at_start = False
            payload = self._take_frame(0)
            if payload is None:
                break
            if not payload.endswith(b"\0"):
                raise WireError(
                    f"frame of {len(payload)} bytes is not NUL-terminated: "
                    f"{bytes(payload[:40])!r}"
                )
            messages.append(self._decode(payload[:-1]).split("\0"))
        return messages

    def _take_frame(self, offset: int) -> bytes | None:
        header_end = offset + _LENGTH.size
        if len(self._buf) < header_end:
            return None
        (length,) = _LENGTH.unpack_from(self._buf, offset)
        if length > MAX_MESSAGE_BYTES:
            raise WireError(f"frame length {length} exceeds {MAX_MESSAGE_BYTES}")
        end = header_end + length
        if len(self._buf) < end:
            return None
        payload = bytes(self._buf[header_end:end])
        del self._buf[:end]
        return payload

    @staticmethod
    def _decode(payload: bytes) -> str:
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WireError(f"frame is not valid UTF-8: {exc}") from None
